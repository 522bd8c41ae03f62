//! A leak, handled: seal with the demo publisher, grant two jurors, revoke juror 2 (whose
//! screener "leaked"), show that the official client refuses juror 2's grant while juror 1
//! still watches, then rotate the release so the leaked key opens nothing new.
//!
//! `cargo run --example revoke_leak`

use std::path::PathBuf;

use anyhow::{ensure, Context, Result};
use reelseal::publisher::{self, GrantArgs, SealArgs};
use reelseal::viewer::{self, TrustArgs};

fn main() -> Result<()> {
    let work = tempfile::tempdir()?;
    let root = work.path();
    let home = publisher::Home::new(Some(&reelseal::demo::copy_identity("publisher", root)?))?;
    let film = root.join("screener.mp4");
    std::fs::write(
        &film,
        (0..4_000_000u64)
            .map(|i| (i * 7919 % 251) as u8)
            .collect::<Vec<_>>(),
    )?;

    println!("== seal and grant two jurors");
    let dir = root.join("Screener.reelseal");
    publisher::seal(
        &home,
        SealArgs {
            inputs: vec![film.clone()],
            title: "Screener".into(),
            out: Some(dir.clone()),
            trackers: vec![],
            piece_size: None,
            private: false,
            public_name: None,
            key_server: None,
            force: false,
            json: false,
            quiet: true,
            variants: None,
        },
    )?;
    let grant = |juror: &str| -> Result<PathBuf> {
        let out = root.join(format!("{juror}.rskey"));
        publisher::grant(
            &home,
            GrantArgs {
                release: dir.display().to_string(),
                to: Some(reelseal::demo::public_key(juror)?),
                name: Some(juror.into()),
                recipients: None,
                out_dir: None,
                out: Some(out.clone()),
                new_viewer: false,
                not_before: None,
                not_after: None,
                strict: false,
                force: false,
                json: false,
                quiet: true,
            },
        )?;
        Ok(out)
    };
    let (g1, g2) = (grant("jury-1")?, grant("jury-2")?);

    println!("\n== jury-2's screener shows up online: revoke that grant");
    let ledger = home.ledger()?;
    let g2_id = ledger
        .grants(&ledger.releases()?[0].id)?
        .into_iter()
        .find(|g| g.label == "jury-2")
        .context("jury-2's grant")?
        .id;
    publisher::revoke(
        &home,
        &g2_id.to_hex(),
        "screener found on a public tracker",
        false,
    )?;
    let list = home.dir.join(publisher::REVOCATIONS_FILE);

    println!("\n== the official client now refuses jury-2, and still serves jury-1");
    let trust = TrustArgs {
        publisher: Some(reelseal::demo::public_key("publisher")?),
        revocations: Some(list.clone()),
        ..Default::default()
    };
    let j2 = viewer::Home::new(Some(&reelseal::demo::copy_identity("jury-2", root)?))?;
    match viewer::authorize(&j2, &g2, &trust) {
        Err(e) => println!("jury-2: {e:#}"),
        Ok(_) => anyhow::bail!("a revoked grant was accepted"),
    }
    let j1 = viewer::Home::new(Some(&reelseal::demo::copy_identity("jury-1", root)?))?;
    viewer::open(
        &j1,
        &g1,
        &dir,
        &root.join("jury-1"),
        &trust,
        false,
        false,
        true,
    )?;

    println!("\n== rotate: new keys and torrent; grants re-issued to everyone not revoked");
    let new_dir = root.join("Screener-rotated.reelseal");
    let grants_dir = root.join("rotated-grants");
    publisher::rotate(
        &home,
        &dir.display().to_string(),
        Some(new_dir.clone()),
        Some(grants_dir.clone()),
        false,
        false,
        true,
    )?;
    let reissued: Vec<_> = std::fs::read_dir(&grants_dir)?
        .flatten()
        .map(|e| e.path())
        .collect();
    ensure!(reissued.len() == 1, "only jury-1 gets a new grant");
    viewer::open(
        &j1,
        &reissued[0],
        &new_dir,
        &root.join("jury-1-new"),
        &trust,
        false,
        false,
        true,
    )?;
    ensure!(std::fs::read(root.join("jury-1-new/screener.mp4"))? == std::fs::read(&film)?);
    match viewer::open(
        &j2,
        &g2,
        &new_dir,
        &root.join("jury-2-new"),
        &TrustArgs {
            publisher: Some(reelseal::demo::public_key("publisher")?),
            ..Default::default()
        },
        false,
        false,
        true,
    ) {
        Err(e) => println!("jury-2's old key on the new release: {e:#}"),
        Ok(_) => anyhow::bail!("the leaked key opened the rotated release"),
    }
    println!("\nDone. What cryptography cannot do: jury-2 keeps whatever was decrypted before the revocation (see SECURITY.md).");
    Ok(())
}
