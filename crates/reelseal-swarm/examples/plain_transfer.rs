//! Plain librqbit transfer of an ordinary (unencrypted) torrent, for `bench/swarm.sh` to
//! compare against `reelseal seed` + `reelview fetch` on the same bytes and settings:
//! one session per process, TCP on 127.0.0.1, no DHT, no trackers.
//!
//!   plain_transfer seed TORRENT DIR          prints the listening address, seeds until killed
//!   plain_transfer fetch TORRENT DIR PEER    downloads, prints seconds, exits

use std::time::Instant;

use anyhow::{bail, Context, Result};
use reelseal_swarm::{Swarm, SwarmOptions};

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let (mode, torrent, dir) = match args.as_slice() {
        [_, m, t, d, ..] => (
            m.as_str(),
            std::fs::read(t).with_context(|| format!("reading {t}"))?,
            std::path::PathBuf::from(d),
        ),
        _ => bail!("usage: plain_transfer seed|fetch TORRENT DIR [PEER]"),
    };
    let swarm = Swarm::start(SwarmOptions::loopback()).await?;
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
            let start = Instant::now();
            let t = swarm.fetch_unchecked(&torrent, &dir, &[peer]).await?;
            t.wait_until_completed().await?;
            let secs = start.elapsed().as_secs_f64();
            swarm.stop().await;
            println!("{secs:.3}");
        }
        _ => bail!("mode is seed or fetch"),
    }
    Ok(())
}
