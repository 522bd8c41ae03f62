// Leechers that start together must trade pieces instead of each fetching the whole file
// from the one (slow) seeder: rarest-first picking with random tie-break, and HAVEs sent
// to peers that started with nothing. Loopback only, no trackers, DHT or LSD.

use std::{net::Ipv4Addr, num::NonZeroU32, time::Duration};

use anyhow::Context;
use tokio::time::timeout;
use tracing::info;

use crate::{
    AddTorrentOptions, ListenerMode, Session, SessionOptions, create_torrent,
    limits::LimitsConfig,
    listen::ListenerOptions,
    spawn_utils::BlockingSpawner,
    tests::test_util::{create_default_random_dir_with_torrents, setup_test_logging},
};

const LEECHERS: usize = 8;
const FILE_SIZE: usize = 12 * 1024 * 1024 + 12345;
const SEEDER_UPLOAD_BPS: u32 = 4 * 1024 * 1024;

fn loopback_session_opts(upload_bps: Option<u32>) -> SessionOptions {
    SessionOptions {
        dht: None,
        persistence: None,
        disable_local_service_discovery: true,
        listen: Some(ListenerOptions {
            mode: ListenerMode::TcpOnly,
            listen_addr: (Ipv4Addr::LOCALHOST, 0).into(),
            ..Default::default()
        }),
        ratelimits: LimitsConfig {
            upload_bps: upload_bps.and_then(NonZeroU32::new),
            download_bps: None,
        },
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_e2e_leechers_that_start_together_trade_pieces() {
    timeout(
        Duration::from_secs(120),
        _test_e2e_leechers_that_start_together_trade_pieces(),
    )
    .await
    .context("test timed out")
    .unwrap()
    .unwrap()
}

async fn _test_e2e_leechers_that_start_together_trade_pieces() -> anyhow::Result<()> {
    setup_test_logging();
    let data = create_default_random_dir_with_torrents(1, FILE_SIZE, Some("rqbit_trading"));
    let torrent = create_torrent(
        data.path(),
        crate::CreateTorrentOptions {
            piece_length: Some(64 * 1024),
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;
    let torrent_bytes = torrent.as_bytes()?;

    let seeder = Session::new_with_opts(
        data.path().to_owned(),
        loopback_session_opts(Some(SEEDER_UPLOAD_BPS)),
    )
    .await?;
    let seed = seeder
        .add_torrent(
            crate::AddTorrent::TorrentFileBytes(torrent_bytes.clone()),
            Some(AddTorrentOptions {
                overwrite: true,
                output_folder: Some(data.path().to_str().unwrap().to_owned()),
                ..Default::default()
            }),
        )
        .await?
        .into_handle()
        .context("into_handle")?;
    timeout(Duration::from_secs(20), seed.wait_until_completed())
        .await
        .context("seeder did not finish its check")??;

    // All leechers listen first, then all start at once, each knowing every other peer.
    let mut leechers = Vec::new();
    for _ in 0..LEECHERS {
        let dir = tempfile::TempDir::with_prefix("rqbit_trading_out")?;
        let session =
            Session::new_with_opts(dir.path().to_owned(), loopback_session_opts(None)).await?;
        leechers.push((session, dir));
    }
    let mut addrs: Vec<_> = leechers
        .iter()
        .map(|(s, _)| s.listen_addr().context("leecher addr"))
        .collect::<anyhow::Result<_>>()?;
    addrs.push(seeder.listen_addr().context("seeder addr")?);
    let mut handles = Vec::new();
    for (session, dir) in &leechers {
        let me = session.listen_addr().context("leecher addr")?;
        let h = session
            .add_torrent(
                crate::AddTorrent::TorrentFileBytes(torrent_bytes.clone()),
                Some(AddTorrentOptions {
                    overwrite: true,
                    output_folder: Some(dir.path().to_str().unwrap().to_owned()),
                    initial_peers: Some(addrs.iter().copied().filter(|a| *a != me).collect()),
                    ..Default::default()
                }),
            )
            .await?
            .into_handle()
            .context("into_handle")?;
        handles.push(h);
    }
    for h in &handles {
        timeout(Duration::from_secs(90), h.wait_until_completed())
            .await
            .context("a leecher did not complete")??;
    }

    let want = std::fs::read(data.path().join("0.data"))?;
    for (_, dir) in &leechers {
        assert!(std::fs::read(dir.path().join("0.data"))? == want);
    }

    // Without trading, the seeder uploads the file once per leecher (pristine librqbit 9.1:
    // 8 file-sizes here). With trading: about 3.7 (2 cores, debug build).
    let uploaded = seed.stats().uploaded_bytes as f64 / FILE_SIZE as f64;
    info!(uploaded, "seeder uploaded (file-sizes)");
    assert!(
        uploaded < 0.7 * LEECHERS as f64,
        "the seeder uploaded {uploaded:.2} file-sizes to {LEECHERS} leechers: they did not trade"
    );

    futures::future::join_all(
        leechers
            .iter()
            .map(|(s, _)| s.stop())
            .chain([seeder.stop()]),
    )
    .await;
    Ok(())
}
