//! The festival-screener round trip, on this machine, with the demo keys in `keys/`:
//!
//! 1. make a short demo "film" (and subtitles),
//! 2. seal it as the demo filmmaker (encrypt + torrent + signed card),
//! 3. grant it to two demo jurors for a window around today,
//! 4. seed it from one BitTorrent session and fetch it from another over 127.0.0.1
//!    (no DHT, no trackers: nothing leaves the machine), decrypting as pieces arrive,
//! 5. check the result byte for byte, and show that juror 2's key cannot open juror 1's grant.
//!
//! `cargo run --example festival` (add `-- --size-mib 256` for a bigger film).

use std::net::{IpAddr, Ipv4Addr};
use std::path::Path;
use std::time::Instant;

use anyhow::{ensure, Context, Result};
use reelseal::publisher::{self, GrantArgs, SealArgs};
use reelseal::swarm_cmds::{self, FetchArgs, NetArgs};
use reelseal::viewer::{self, TrustArgs};
use reelseal_swarm::{Swarm, SwarmOptions};

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
    let film = reelseal::demo::film_bytes(size_mib << 20, 42); // not a real video: only the size matters here
    std::fs::write(input.join("nocturne.mp4"), &film)?;
    let subs = b"1\n00:00:01,000 --> 00:00:04,000\nFor the jury only.\n".to_vec();
    std::fs::write(input.join("subtitles/en.srt"), &subs)?;

    step("2. seal it as the demo filmmaker (keys/publisher)");
    let pub_home = publisher::Home::new(Some(&reelseal::demo::copy_identity("publisher", root)?))?;
    let release_dir = root.join("Nocturne.reelseal");
    let t = Instant::now();
    publisher::seal(
        &pub_home,
        SealArgs {
            inputs: vec![input.join("nocturne.mp4"), input.join("subtitles")],
            title: "Nocturne (festival screener)".into(),
            out: Some(release_dir.clone()),
            trackers: vec![],
            piece_size: Some(1 << 20),
            private: false,
            public_name: None,
            key_server: None,
            force: false,
            json: false,
            quiet: true,
            variants: None,
        },
    )?;
    let seal_secs = t.elapsed().as_secs_f64();
    let release = pub_home
        .ledger()?
        .releases()?
        .pop()
        .context("sealed release is in the ledger")?;

    step("3. grant it to two jurors, valid from yesterday for 30 days");
    let today = chrono::Utc::now().date_naive();
    let window = |d: i64| {
        (today + chrono::Duration::days(d))
            .format("%Y-%m-%d")
            .to_string()
    };
    let mut grants = Vec::new();
    for juror in ["jury-1", "jury-2"] {
        let key = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("keys")
                .join(juror)
                .join("viewer.pub"),
        )?;
        let file = root.join(format!("{juror}.rskey"));
        publisher::grant(
            &pub_home,
            GrantArgs {
                release: release.id.to_hex(),
                to: Some(key.trim().to_string()),
                name: Some(format!("Festival {juror}")),
                recipients: None,
                out_dir: None,
                out: Some(file.clone()),
                new_viewer: false,
                not_before: Some(window(-1)),
                not_after: Some(window(30)),
                strict: false,
                force: false,
                json: false,
                quiet: true,
            },
        )?;
        grants.push(file);
    }

    step("4. seed from one session, fetch + decrypt from another, over 127.0.0.1 only");
    let seeder = Swarm::start(SwarmOptions::loopback()).await?;
    let torrent = std::fs::read(release.dir.join(reelseal_core::seal::TORRENT_FILE))?;
    let seeding = seeder
        .seed(
            &torrent,
            &reelseal_core::seal::payload_dir(&release.dir, &release.torrent_name),
            &[],
        )
        .await?;
    seeding.wait_until_initialized().await?;
    let seeder_addr = seeder.listen_addr().context("seeder listens")?;
    println!("seeder listening on {seeder_addr}");
    let jury1_home = reelseal::demo::copy_identity("jury-1", root)?;
    let out = root.join("jury-1-screening");
    let t = Instant::now();
    swarm_cmds::fetch(
        viewer::Home::new(Some(&jury1_home))?,
        FetchArgs {
            key: grants[0].clone(),
            out: out.clone(),
            net: NetArgs {
                bind: IpAddr::V4(Ipv4Addr::LOCALHOST),
                listen_port: 0,
                dht: false,
                trackers: false,
                extra_trackers: vec![],
                peers: vec![seeder_addr],
                upload_limit: None,
                download_limit: None,
                upnp: false,
            },
            keep_ciphertext: false,
            seed: false,
            force: false,
            trust: TrustArgs {
                publisher: Some(
                    std::fs::read_to_string(pub_home.dir.join("publisher.pub"))?
                        .trim()
                        .to_string(),
                ),
                ..Default::default()
            },
            json: false,
            quiet: true,
        },
    )
    .await?;
    let fetch_secs = t.elapsed().as_secs_f64();
    let uploaded = seeding.stats().uploaded_bytes;
    seeder.stop().await;

    step("5. check");
    ensure!(
        std::fs::read(out.join("nocturne.mp4"))? == film,
        "the decrypted film differs"
    );
    ensure!(
        std::fs::read(out.join("subtitles/en.srt"))? == subs,
        "the decrypted subtitles differ"
    );
    println!("jury-1's copy is byte-identical to the original");
    let jury2 = viewer::Home::new(Some(&reelseal::demo::copy_identity("jury-2", root)?))?;
    let trust = TrustArgs {
        publisher: Some(
            std::fs::read_to_string(pub_home.dir.join("publisher.pub"))?
                .trim()
                .to_string(),
        ),
        ..Default::default()
    };
    match viewer::authorize(&jury2, &grants[0], &trust) {
        Err(e) => println!("jury-2's key refuses jury-1's grant, as it must: {e:#}"),
        Ok(_) => anyhow::bail!("jury-2 could open jury-1's grant"),
    }

    println!("\n== summary");
    println!(
        "film       {size_mib} MiB + subtitles, sealed in {seal_secs:.2} s ({:.0} MiB/s)",
        size_mib as f64 / seal_secs
    );
    println!("swarm      {} uploaded by the seeder; fetched and decrypted in {fetch_secs:.2} s ({:.0} MiB/s)", reelseal::util::human_bytes(uploaded), size_mib as f64 / fetch_secs);
    println!(
        "total      {:.1} s, nothing left behind",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
