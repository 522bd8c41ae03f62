//! How much a filmmaker's seeder uploads to a crowd, with and without super-seeding: one
//! seeder (upload-limited) and N leechers in this process, all librqbit sessions on
//! 127.0.0.1 (TCP, no DHT, no trackers), every leecher given every other peer and the
//! seeder, all started together. Prints one JSON line: the seeder's upload in file-sizes
//! when the last leecher completed, and the time that took.
//!
//!   swarm_upload LEECHERS FILE_MIB PIECE_KIB UPLOAD_MIB_S [super]
//!   e.g. swarm_upload 10 64 256 8 super
//!
//! Files go to a temporary folder (LEECHERS + 1 copies), removed at the end. Bounded: gives
//! up after 30 minutes.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reelseal_swarm::{SeedOptions, Swarm, SwarmOptions, SwarmSettings};
use sha1::{Digest, Sha1};

fn make_torrent(name: &str, data: &[u8], piece_len: usize) -> Vec<u8> {
    fn bstr(out: &mut Vec<u8>, s: &[u8]) {
        out.extend_from_slice(format!("{}:", s.len()).as_bytes());
        out.extend_from_slice(s);
    }
    let mut pieces = Vec::new();
    for chunk in data.chunks(piece_len) {
        pieces.extend_from_slice(&Sha1::digest(chunk));
    }
    let mut t = b"d".to_vec();
    bstr(&mut t, b"info");
    t.push(b'd');
    bstr(&mut t, b"length");
    t.extend_from_slice(format!("i{}e", data.len()).as_bytes());
    bstr(&mut t, b"name");
    bstr(&mut t, name.as_bytes());
    bstr(&mut t, b"piece length");
    t.extend_from_slice(format!("i{piece_len}e").as_bytes());
    bstr(&mut t, b"pieces");
    bstr(&mut t, &pieces);
    t.extend_from_slice(b"ee");
    t
}

fn opts(upload: Option<u32>) -> SwarmOptions {
    let mut o = SwarmOptions::loopback();
    o.upload_limit_bps = upload;
    o
}

#[tokio::main(flavor = "multi_thread")]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let [_, n, mib, piece_kib, up_mib, rest @ ..] = args.as_slice() else {
        bail!("usage: swarm_upload LEECHERS FILE_MIB PIECE_KIB UPLOAD_MIB_S [super]");
    };
    let n: usize = n.parse()?;
    let size: usize = mib.parse::<usize>()? << 20;
    let piece: usize = piece_kib.parse::<usize>()? << 10;
    let up: u32 = up_mib.parse::<u32>()? << 20;
    let super_seed = rest.first().is_some_and(|s| s == "super");

    let tmp = tempfile::tempdir()?;
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let data: Vec<u8> = (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let seed_dir = tmp.path().join("seed");
    std::fs::create_dir_all(&seed_dir)?;
    std::fs::write(seed_dir.join("film.bin"), &data)?;
    let torrent = make_torrent("film.bin", &data, piece);
    drop(data);

    let seeder = Swarm::start_with(opts(Some(up)), SwarmSettings::loopback()).await?;
    let seed = seeder
        .seed_unchecked_with(
            &torrent,
            &seed_dir,
            &[],
            &SeedOptions {
                super_seed,
                only_files: None,
            },
        )
        .await?;
    seed.wait_until_completed().await?;

    let mut leechers = Vec::new();
    for _ in 0..n {
        leechers.push(Swarm::start_with(opts(None), SwarmSettings::loopback()).await?);
    }
    let mut all: Vec<SocketAddr> = leechers
        .iter()
        .map(|s| s.listen_addr().context("listening"))
        .collect::<Result<_>>()?;
    all.push(seeder.listen_addr().context("listening")?);

    let started = Instant::now();
    let mut torrents = Vec::new();
    for (i, l) in leechers.iter().enumerate() {
        let me = l.listen_addr().context("listening")?;
        let peers: Vec<_> = all.iter().copied().filter(|a| *a != me).collect();
        let dir = tmp.path().join(format!("l{i}"));
        torrents.push(l.fetch_unchecked(&torrent, &dir, &peers).await?);
    }
    tokio::time::timeout(Duration::from_secs(1800), async {
        for t in &torrents {
            t.wait_until_completed().await?;
        }
        Ok::<_, anyhow::Error>(())
    })
    .await
    .context("gave up after 30 minutes")??;
    let secs = started.elapsed().as_secs_f64();
    let uploaded = seed.stats().uploaded_bytes as f64 / size as f64;
    println!(
        "{{\"leechers\": {n}, \"file_mib\": {mib}, \"piece_kib\": {piece_kib}, \"upload_mib_s\": {up_mib}, \"super_seed\": {super_seed}, \"seeder_uploaded_file_sizes\": {uploaded:.2}, \"seconds\": {secs:.1}}}"
    );
    futures_stop(leechers, seeder).await;
    Ok(())
}

async fn futures_stop(leechers: Vec<Swarm>, seeder: Swarm) {
    let mut tasks = Vec::new();
    for l in leechers {
        tasks.push(tokio::spawn(l.stop()));
    }
    tasks.push(tokio::spawn(seeder.stop()));
    for t in tasks {
        let _ = t.await;
    }
}
