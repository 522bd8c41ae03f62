//! Plain librqbit transfer of an ordinary (unencrypted) torrent, for `bench/swarm.sh` to
//! compare against `reelseal seed` + `reelview fetch` on the same bytes and settings:
//! one session per process, TCP on 127.0.0.1, no DHT, no trackers. Also the librqbit side
//! of the uTP and encryption probes against python libtorrent (`vendor/README.md`).
//!
//!   plain_transfer seed TORRENT DIR [FLAGS]        prints the listening address, seeds until killed
//!   plain_transfer fetch TORRENT DIR PEER [FLAGS]  downloads, prints seconds, exits
//!
//! FLAGS: `--utp` (listen and dial over uTP too), `--bind IP` (default 127.0.0.1),
//! `--timeout S` (fetch: give up after S seconds, print the swarm status, exit 1).

use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reelseal_swarm::{Swarm, SwarmOptions, SwarmSettings};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (mode, torrent, dir) = match args.as_slice() {
        [_, m, t, d, ..] => (
            m.as_str(),
            std::fs::read(t).with_context(|| format!("reading {t}"))?,
            std::path::PathBuf::from(d),
        ),
        _ => bail!(
            "usage: plain_transfer seed|fetch TORRENT DIR [PEER] [--utp] [--bind IP] [--timeout S]"
        ),
    };
    let flag = |name: &str| args.iter().position(|a| a == name);
    let value = |name: &str| flag(name).and_then(|i| args.get(i + 1)).cloned();
    let utp = flag("--utp").is_some();
    let mut opts = SwarmOptions::loopback();
    if let Some(ip) = value("--bind") {
        opts.listen = Some(std::net::SocketAddr::new(ip.parse()?, 0));
    }
    let settings = SwarmSettings {
        utp,
        ..SwarmSettings::loopback()
    };
    let swarm = Swarm::start_with(opts, settings).await?;
    match mode {
        "seed" => {
            // Plain torrents from mktorrent are not reelseal torrents: skip our own checks
            // by adding through a magnet-free path that still uses the same session setup.
            let t = swarm.seed_unchecked(&torrent, &dir).await?;
            t.wait_until_initialized().await?;
            println!("{}", swarm.listen_addr().context("listening")?);
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
        }
        "fetch" => {
            let peer = args.get(4).context("fetch needs PEER")?.parse()?;
            let limit = value("--timeout")
                .map(|s| s.parse::<u64>())
                .transpose()?
                .unwrap_or(3600);
            let start = Instant::now();
            let t = swarm.fetch_unchecked(&torrent, &dir, &[peer]).await?;
            let done =
                tokio::time::timeout(Duration::from_secs(limit), t.wait_until_completed()).await;
            let secs = start.elapsed().as_secs_f64();
            let status = t.status();
            swarm.stop().await;
            match done {
                Ok(r) => {
                    r?;
                    println!("{secs:.3}");
                }
                Err(_) => {
                    println!("gave up after {secs:.0} s: {status}");
                    std::process::exit(1);
                }
            }
        }
        _ => bail!("mode is seed or fetch"),
    }
    Ok(())
}
