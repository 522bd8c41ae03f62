//! A leak, handled: seal with the demo publisher, grant two jurors, revoke juror 2 (whose
//! screener "leaked"), show that the official client refuses juror 2's grant while juror 1
//! still watches, then rotate the release so the leaked key opens nothing new.
//!
//! `cargo run --example revoke_leak`

use std::path::{Path, PathBuf};

use anyhow::{ensure, Context, Result};
use reelseal::cli::{self, publisher, viewer};
use reelseal::demo;
use reelseal::feedback::Silent;
use reelseal::home::{PublisherHome, ViewerHome};
use reelseal::ops::studio::Studio;
use reelseal::ops::viewer::Viewer;
use reelseal::render::{self, Mode};

fn path(p: &Path) -> Result<String> {
    p.to_str().map(String::from).context("utf-8 path")
}

fn open(v: &Viewer, key: &Path, from: &Path, out: &Path, extra: &[String]) -> Result<()> {
    let mut words = vec![
        path(key)?,
        "--from".into(),
        path(from)?,
        "--out".into(),
        path(out)?,
        "--publisher".into(),
        demo::public_key("publisher")?,
    ];
    words.extend_from_slice(extra);
    let plan = cli::parse::<viewer::OpenArgs>(words)?;
    plan.run(
        v,
        &cli::Global {
            json: false,
            quiet: true,
        },
    )?;
    Ok(())
}

fn main() -> Result<()> {
    let work = tempfile::tempdir()?;
    let root = work.path();
    let home = PublisherHome::resolve(Some(&demo::copy_identity("publisher", root)?))?;
    let mut studio = Studio::open(home, &Silent)?;
    let film = root.join("screener.mp4");
    std::fs::write(&film, demo::film_bytes(4_000_000, 3))?;

    println!("== seal and grant two jurors");
    let dir = root.join("Screener.reelseal");
    let seal = cli::parse::<publisher::SealArgs>([
        path(&film)?,
        "--title".into(),
        "Screener".into(),
        "--out".into(),
        path(&dir)?,
    ])?;
    render::emit(&studio.seal(&seal.plan()?, &Silent)?, Mode::Human);
    let mut grant = |juror: &str| -> Result<PathBuf> {
        let out = root.join(format!("{juror}.rskey"));
        let args = cli::parse::<publisher::GrantArgs>([
            path(&dir)?,
            "--to".into(),
            demo::public_key(juror)?,
            "--name".into(),
            juror.into(),
            "--out".into(),
            path(&out)?,
        ])?;
        studio.grant(&args.plan()?, &Silent)?;
        Ok(out)
    };
    let (g1, g2) = (grant("jury-1")?, grant("jury-2")?);

    println!("\n== jury-2's screener shows up online: revoke that grant");
    let g2_id = reelseal::ops::studio::releases::grants(&studio.home, &path(&dir)?)?
        .grants
        .into_iter()
        .find(|g| g.grant.label == "jury-2")
        .context("jury-2's grant")?
        .grant
        .grant_id;
    let revoked = studio.revoke(
        &g2_id,
        "screener found on a public tracker",
        reelseal_core::revocation::DEFAULT_VALIDITY,
        &Silent,
    )?;
    render::emit(&revoked, Mode::Human);
    let with_list = ["--revocations".to_string(), path(&revoked.list)?];

    println!("\n== the official client now refuses jury-2, and still serves jury-1");
    let j2 = Viewer::new(ViewerHome::resolve(Some(&demo::copy_identity(
        "jury-2", root,
    )?))?);
    match open(&j2, &g2, &dir, &root.join("jury-2"), &with_list) {
        Err(e) => println!("jury-2: {e:#}"),
        Ok(()) => anyhow::bail!("a revoked grant was accepted"),
    }
    let j1 = Viewer::new(ViewerHome::resolve(Some(&demo::copy_identity(
        "jury-1", root,
    )?))?);
    open(&j1, &g1, &dir, &root.join("jury-1"), &with_list)?;
    println!("jury-1 still opens the release");

    println!("\n== rotate: new keys and torrent; grants re-issued to everyone not revoked");
    let new_dir = root.join("Screener-rotated.reelseal");
    let grants_dir = root.join("rotated-grants");
    let rotate = cli::parse::<publisher::RotateArgs>([
        path(&dir)?,
        "--out".into(),
        path(&new_dir)?,
        "--out-dir".into(),
        path(&grants_dir)?,
    ])?;
    let rotated = studio.rotate(&rotate.plan(), &Silent)?;
    render::emit(&rotated, Mode::Human);
    ensure!(rotated.reissued.len() == 1, "only jury-1 gets a new grant");
    open(
        &j1,
        &rotated.reissued[0].file,
        &new_dir,
        &root.join("jury-1-new"),
        &[],
    )?;
    ensure!(std::fs::read(root.join("jury-1-new/screener.mp4"))? == std::fs::read(&film)?);
    match open(&j2, &g2, &new_dir, &root.join("jury-2-new"), &[]) {
        Err(e) => println!("jury-2's old key on the new release: {e:#}"),
        Ok(()) => anyhow::bail!("the leaked key opened the rotated release"),
    }
    println!("\nDone. What cryptography cannot do: jury-2 keeps whatever was decrypted before the revocation (see SECURITY.md).");
    Ok(())
}
