//! Selling access: the filmmaker runs the key server and mints one-time codes for a shop;
//! a buyer redeems a code with their own viewer key, gets a grant bound to it, and opens the
//! film; the same code is then useless to anyone else. All HTTP stays on 127.0.0.1.
//!
//! `cargo run --example selling`

use anyhow::{ensure, Context, Result};
use reelseal::keyserver::{self, ServeOptions};
use reelseal::publisher::{self, SealArgs};
use reelseal::viewer::{self, TrustArgs};

#[tokio::main]
async fn main() -> Result<()> {
    let work = tempfile::tempdir()?;
    let root = work.path().to_path_buf();
    let pub_dir = reelseal::demo::copy_identity("publisher", &root)?;

    println!("== start the key server on loopback");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let server_home = publisher::Home::new(Some(&pub_dir))?;
    let server = tokio::spawn(keyserver::serve(
        server_home,
        ServeOptions {
            listen: "127.0.0.1:0".parse()?,
            redeem_rate: 5,
        },
        move |a| {
            let _ = tx.send(a);
        },
    ));
    let url = format!("http://{}", rx.await.context("key server did not start")?);
    println!("key server at {url}");

    let root2 = root.clone();
    let url2 = url.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let root = root2;
        let home = publisher::Home::new(Some(&pub_dir))?;
        println!("\n== seal a film that names the key server, mint 3 codes for the shop");
        let film = root.join("feature.mp4");
        std::fs::write(
            &film,
            (0..3_000_000u64)
                .map(|i| (i * 31 % 253) as u8)
                .collect::<Vec<_>>(),
        )?;
        let dir = root.join("Feature.reelseal");
        publisher::seal(
            &home,
            SealArgs {
                inputs: vec![film.clone()],
                title: "Feature".into(),
                out: Some(dir.clone()),
                trackers: vec![],
                piece_size: None,
                private: false,
                public_name: None,
                key_server: Some(url2.clone()),
                force: false,
                json: false,
                quiet: true,
                variants: None,
            },
        )?;
        let codes_file = root.join("codes.txt");
        publisher::codes(
            &home,
            &dir.display().to_string(),
            3,
            None,
            None,
            Some(&codes_file),
            false,
        )?;
        let code = std::fs::read_to_string(&codes_file)?
            .lines()
            .next()
            .context("a code")?
            .to_string();

        println!("\n== a buyer redeems a code with their own key, then opens the film");
        let publisher_key = std::fs::read_to_string(pub_dir.join("publisher.pub"))?
            .trim()
            .to_string();
        let trust = TrustArgs {
            publisher: Some(publisher_key),
            ..Default::default()
        };
        let buyer = viewer::Home::new(Some(&reelseal::demo::copy_identity("buyer-1", &root)?))?;
        let key = root.join("buyer.rskey");
        viewer::redeem(&buyer, &url2, &code, Some(&key), &trust, false)?;
        viewer::open(
            &buyer,
            &key,
            &dir,
            &root.join("buyer-copy"),
            &trust,
            false,
            false,
            true,
        )?;
        ensure!(std::fs::read(root.join("buyer-copy/feature.mp4"))? == std::fs::read(&film)?);

        println!("\n== the same code is useless to anyone else");
        let other = viewer::Home::new(Some(&reelseal::demo::copy_identity("jury-1", &root)?))?;
        match viewer::redeem(
            &other,
            &url2,
            &code,
            Some(&root.join("x.rskey")),
            &trust,
            false,
        ) {
            Err(e) => println!("jury-1: {e:#}"),
            Ok(()) => anyhow::bail!("a code was redeemed twice"),
        }
        Ok(())
    })
    .await??;
    server.abort();
    println!("\nDone.");
    Ok(())
}
