//! The festival-screener round trip, on this machine, with the demo keys in `keys/`:
//!
//! 1. make a short demo "film" (and subtitles),
//! 2. seal it as the demo filmmaker (encrypt + torrent + signed card),
//! 3. grant it to two demo jurors for a window around today,
//! 4. seed it from one BitTorrent session and fetch it from another over 127.0.0.1
//!    (no DHT, no trackers: nothing leaves the machine), decrypting as pieces arrive,
//! 5. check the result byte for byte, and show that juror 2's key cannot open juror 1's grant.
//!
//! Every step is the same operation the command line runs, with arguments parsed exactly
//! as `reelseal`/`reelview` parse them.
//!
//! `cargo run --example festival` (add `-- --size-mib 256` for a bigger film).

use std::time::Instant;

use anyhow::{ensure, Context, Result};
use reelseal::cli::{self, publisher, viewer};
use reelseal::demo;
use reelseal::feedback::{Announcements, Silent};
use reelseal::home::{PublisherHome, ViewerHome};
use reelseal::ops::studio::{seed, Studio};
use reelseal::ops::viewer::Viewer;
use reelseal::ops::{Event, Interrupt};
use reelseal::render::human_bytes;

fn step(title: &str) {
    println!("\n== {title}");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<()> {
    let size_mib: usize = std::env::args()
        .skip_while(|a| a != "--size-mib")
        .nth(1)
        .map(|s| s.parse())
        .transpose()
        .context("--size-mib takes a number")?
        .unwrap_or(64);
    let started = Instant::now();
    let work = tempfile::tempdir()?;
    let root = work.path();
    println!(
        "reelseal festival demo in {} (removed at the end)",
        root.display()
    );

    step(&format!(
        "1. a {size_mib} MiB demo film and English subtitles"
    ));
    let input = root.join("Nocturne");
    std::fs::create_dir_all(input.join("subtitles"))?;
    let film = demo::film_bytes(size_mib << 20, 42); // not a real video: only the size matters here
    std::fs::write(input.join("nocturne.mp4"), &film)?;
    let subs = b"1\n00:00:01,000 --> 00:00:04,000\nFor the jury only.\n".to_vec();
    std::fs::write(input.join("subtitles/en.srt"), &subs)?;

    step("2. seal it as the demo filmmaker (keys/publisher)");
    let pub_home = PublisherHome::resolve(Some(&demo::copy_identity("publisher", root)?))?;
    let mut studio = Studio::open(pub_home.clone(), &Silent)?;
    let release_dir = root.join("Nocturne.reelseal");
    let t = Instant::now();
    let plan = cli::parse::<publisher::SealArgs>([
        input.join("nocturne.mp4").to_str().context("utf-8 path")?,
        input.join("subtitles").to_str().context("utf-8 path")?,
        "--title",
        "Nocturne (festival screener)",
        "--piece-size",
        "1048576",
        "--out",
        release_dir.to_str().context("utf-8 path")?,
    ])?
    .plan()?;
    let sealed = studio.seal(&plan, &Silent)?;
    let seal_secs = t.elapsed().as_secs_f64();
    println!("sealed release {} ({})", sealed.release_id, sealed.infohash);

    step("3. grant it to two jurors, valid from yesterday for 30 days");
    let today = chrono::Utc::now().date_naive();
    let day = |d: i64| {
        (today + chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut grants = Vec::new();
    for juror in ["jury-1", "jury-2"] {
        let file = root.join(format!("{juror}.rskey"));
        let plan = cli::parse::<publisher::GrantArgs>([
            sealed.release_id.as_str(),
            "--to",
            &demo::public_key(juror)?,
            "--name",
            &format!("Festival {juror}"),
            "--out",
            file.to_str().context("utf-8 path")?,
            "--not-before",
            &day(-1),
            "--not-after",
            &day(30),
        ])?
        .plan()?;
        studio.grant(&plan, &Silent)?;
        grants.push(file);
    }
    drop(studio);

    step("4. seed from one session, fetch + decrypt from another, over 127.0.0.1 only");
    let loopback = ["--bind", "127.0.0.1", "--no-dht", "--no-trackers"];
    let seed_plan = seed::SeedPlan {
        releases: vec![sealed.release_id.clone()],
        net: cli::parse::<cli::net::NetArgs>(loopback)?.plan(),
        seconds: None,
        role: reelseal_swarm::Role::Origin,
        pointers: Default::default(),
    };
    let (announcements, mut events) = Announcements::channel();
    let stop_seeding = Interrupt::manual();
    let seeder = {
        let (home, stop) = (pub_home.clone(), stop_seeding.clone());
        tokio::spawn(
            async move { seed::seed(&home, &seed_plan, &announcements, stop.wait()).await },
        )
    };
    let Some(Event::Seeding(s)) = events.recv().await else {
        anyhow::bail!(
            "the seeder stopped before it announced itself: {:?}",
            seeder.await
        );
    };
    let seeder_addr = s.listening.context("the seeder listens")?;
    println!("seeder listening on {seeder_addr}");
    let jury1 = Viewer::new(ViewerHome::resolve(Some(&demo::copy_identity(
        "jury-1", root,
    )?))?);
    let out = root.join("jury-1-screening");
    let publisher_key = demo::public_key("publisher")?;
    let mut words = vec![
        grants[0].to_str().context("utf-8 path")?,
        "--out",
        out.to_str().context("utf-8 path")?,
        "--peer",
        &seeder_addr,
        "--publisher",
        &publisher_key,
        "--no-seed",
    ];
    words.extend(loopback);
    let fetch = cli::parse::<viewer::FetchArgs>(words)?;
    let t = Instant::now();
    let fetched = jury1
        .fetch(&fetch.plan(), &Silent, &Interrupt::manual())
        .await?;
    let fetch_secs = t.elapsed().as_secs_f64();
    stop_seeding.trigger();
    let uploaded: u64 = seeder.await??.uploaded.iter().map(|u| u.bytes).sum();

    step("5. check");
    ensure!(
        std::fs::read(out.join("nocturne.mp4"))? == film,
        "the decrypted film differs"
    );
    ensure!(
        std::fs::read(out.join("subtitles/en.srt"))? == subs,
        "the decrypted subtitles differ"
    );
    println!(
        "jury-1's copy ({} files) is byte-identical to the original",
        fetched.files.len()
    );
    let jury2 = Viewer::new(ViewerHome::resolve(Some(&demo::copy_identity(
        "jury-2", root,
    )?))?);
    let access = cli::parse::<cli::access::AccessArgs>(["--publisher", &publisher_key])?.plan();
    match jury2.authorize(&grants[0], &access, &Silent) {
        Err(e) => println!("jury-2's key refuses jury-1's grant, as it must: {e:#}"),
        Ok(_) => anyhow::bail!("jury-2 could open jury-1's grant"),
    }

    println!("\n== summary");
    println!(
        "film       {size_mib} MiB + subtitles, sealed in {seal_secs:.2} s ({:.0} MiB/s)",
        size_mib as f64 / seal_secs
    );
    println!(
        "swarm      {} uploaded by the seeder; fetched and decrypted in {fetch_secs:.2} s ({:.0} MiB/s)",
        human_bytes(uploaded),
        size_mib as f64 / fetch_secs
    );
    println!(
        "total      {:.1} s, nothing left behind",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
