//! Selling access: the filmmaker runs the key server and mints one-time codes for a shop;
//! a buyer redeems a code with their own viewer key, gets a grant bound to it, and opens the
//! film; the same code is then useless to anyone else. All HTTP stays on 127.0.0.1.
//!
//! `cargo run --example selling`

use anyhow::{ensure, Context, Result};
use reelseal::cli::{self, publisher, viewer};
use reelseal::demo;
use reelseal::feedback::{Announcements, Silent};
use reelseal::home::{PublisherHome, ViewerHome};
use reelseal::ops::studio::{serve, Studio};
use reelseal::ops::viewer::Viewer;
use reelseal::ops::{Event, Interrupt};
use reelseal::render::{self, Mode};

#[tokio::main]
async fn main() -> Result<()> {
    let work = tempfile::tempdir()?;
    let root = work.path().to_path_buf();
    let home = PublisherHome::resolve(Some(&demo::copy_identity("publisher", &root)?))?;

    println!("== start the key server on loopback");
    let (announcements, mut events) = Announcements::channel();
    let stop = Interrupt::manual();
    let server = {
        let (home, stop) = (home.clone(), stop.clone());
        let plan = serve::ServePlan {
            listen: "127.0.0.1:0".parse()?,
            redeem_rate: 5,
            list_validity: reelseal_core::revocation::DEFAULT_VALIDITY,
            database: None,
            pool_size: 1,
            key_file: None,
            trusted_proxies: vec![],
        };
        tokio::spawn(async move { serve::serve(&home, &plan, &announcements, stop).await })
    };
    let Some(Event::Serving(s)) = events.recv().await else {
        anyhow::bail!("the key server did not start: {:?}", server.await);
    };
    let url = s.listening;
    println!("key server at {url}");

    let url2 = url.clone();
    tokio::task::spawn_blocking(move || -> Result<()> {
        println!("\n== seal a film that names the key server, mint 3 codes for the shop");
        let mut studio = Studio::open(home, &Silent)?;
        let film = root.join("feature.mp4");
        std::fs::write(&film, demo::film_bytes(3_000_000, 7))?;
        let dir = root.join("Feature.reelseal");
        let path = |p: &std::path::Path| p.to_str().map(String::from).context("utf-8 path");
        let seal = cli::parse::<publisher::SealArgs>([
            path(&film)?,
            "--title".into(),
            "Feature".into(),
            "--out".into(),
            path(&dir)?,
            "--key-server".into(),
            url2.clone(),
        ])?;
        render::emit(&studio.seal(&seal.plan()?, &Silent)?, Mode::Human);
        let codes_file = root.join("codes.txt");
        let codes = cli::parse::<publisher::CodesArgs>([
            path(&dir)?,
            "--count".into(),
            "3".into(),
            "--out".into(),
            path(&codes_file)?,
        ])?;
        let minted = studio.codes(&codes.plan()?)?;
        ensure!(std::fs::read_to_string(&codes_file)?.lines().count() == 3);
        let code = minted.codes[0].clone();
        println!("3 codes written to {} (0600)", codes_file.display());

        println!("\n== a buyer redeems a code with their own key, then opens the film");
        let publisher_key = demo::public_key("publisher")?;
        let buyer = Viewer::new(ViewerHome::resolve(Some(&demo::copy_identity(
            "buyer-1", &root,
        )?))?);
        let key = root.join("buyer.rskey");
        let redeem = cli::parse::<viewer::RedeemArgs>([
            url2.clone(),
            code.clone(),
            "--out".into(),
            path(&key)?,
            "--publisher".into(),
            publisher_key.clone(),
        ])?;
        let redeemed = redeem.run(
            &buyer,
            &cli::Global {
                json: false,
                quiet: true,
            },
        )?;
        render::emit(&redeemed, Mode::Human);
        let open = cli::parse::<viewer::OpenArgs>([
            path(&key)?,
            "--from".into(),
            path(&dir)?,
            "--out".into(),
            path(&root.join("buyer-copy"))?,
            "--publisher".into(),
            publisher_key.clone(),
        ])?;
        open.run(
            &buyer,
            &cli::Global {
                json: false,
                quiet: true,
            },
        )?;
        ensure!(std::fs::read(root.join("buyer-copy/feature.mp4"))? == std::fs::read(&film)?);
        println!("buyer-1's copy is byte-identical");

        println!("\n== the same code is useless to anyone else");
        let other = Viewer::new(ViewerHome::resolve(Some(&demo::copy_identity(
            "jury-1", &root,
        )?))?);
        let again = cli::parse::<viewer::RedeemArgs>([
            url2.clone(),
            code,
            "--out".into(),
            path(&root.join("x.rskey"))?,
            "--publisher".into(),
            publisher_key,
        ])?;
        match again.run(
            &other,
            &cli::Global {
                json: false,
                quiet: true,
            },
        ) {
            Err(e) => println!("jury-1: {e:#}"),
            Ok(_) => anyhow::bail!("a code was redeemed twice"),
        }
        Ok(())
    })
    .await??;
    stop.trigger();
    server.await??;
    println!("\nDone.");
    Ok(())
}
