// reelseal patches L–N, end to end on 127.0.0.1 (no trackers, DHT or LSD):
// - L: a seeder drops queued chunk requests that the peer cancels (librqbit 9.1.0 sent
//   them all anyway);
// - M + N: a downloader spares the origin (a peer whose id has the given prefix) while
//   another peer feeds it.

use std::{net::Ipv4Addr, num::NonZeroU32, time::Duration};

use anyhow::{Context, bail};
use librqbit_core::hash_id::Id20;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpStream,
    time::{Instant, timeout, timeout_at},
};

use crate::{
    AddTorrentOptions, ListenerMode, Session, SessionOptions, create_torrent,
    limits::LimitsConfig,
    listen::ListenerOptions,
    spawn_utils::BlockingSpawner,
    tests::test_util::{create_default_random_dir_with_torrents, setup_test_logging},
};

const MSG_UNCHOKE: u8 = 1;
const MSG_INTERESTED: u8 = 2;
const MSG_REQUEST: u8 = 6;
const MSG_PIECE: u8 = 7;
const MSG_CANCEL: u8 = 8;

fn session_opts(upload_bps: Option<u32>, peer_id: Option<Id20>) -> SessionOptions {
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
        peer_id,
        ..Default::default()
    }
}

async fn read_message(conn: &mut TcpStream) -> anyhow::Result<Option<u8>> {
    let len = conn.read_u32().await.context("reading message length")? as usize;
    if len == 0 {
        return Ok(None);
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body)
        .await
        .context("reading message")?;
    Ok(Some(body[0]))
}

fn request(id: u8, piece: u32, begin: u32) -> Vec<u8> {
    let mut m = vec![0, 0, 0, 13, id];
    for v in [piece, begin, 16384] {
        m.extend_from_slice(&v.to_be_bytes());
    }
    m
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_e2e_cancelled_requests_are_not_sent() {
    timeout(
        Duration::from_secs(60),
        _test_e2e_cancelled_requests_are_not_sent(),
    )
    .await
    .context("test timed out")
    .unwrap()
    .unwrap()
}

async fn _test_e2e_cancelled_requests_are_not_sent() -> anyhow::Result<()> {
    setup_test_logging();
    let data = create_default_random_dir_with_torrents(1, 1024 * 1024, Some("rqbit_cancel"));
    let torrent = create_torrent(
        data.path(),
        crate::CreateTorrentOptions {
            piece_length: Some(64 * 1024),
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;
    // 64 KiB/s: the 32 chunks asked for below would take 8 s.
    let seeder =
        Session::new_with_opts(data.path().to_owned(), session_opts(Some(64 * 1024), None)).await?;
    let handle = seeder
        .add_torrent(
            crate::AddTorrent::TorrentFileBytes(torrent.as_bytes()?),
            Some(AddTorrentOptions {
                overwrite: true,
                output_folder: Some(data.path().to_str().unwrap().to_owned()),
                ..Default::default()
            }),
        )
        .await?
        .into_handle()
        .context("into_handle")?;
    timeout(Duration::from_secs(20), handle.wait_until_completed())
        .await
        .context("seeder did not finish its check")??;

    let mut conn = TcpStream::connect(seeder.listen_addr().context("listen addr")?).await?;
    let mut hs = vec![19u8];
    hs.extend_from_slice(b"BitTorrent protocol");
    hs.extend_from_slice(&[0u8; 8]);
    hs.extend_from_slice(&torrent.info_hash().0);
    hs.extend_from_slice(b"-XX0001-cancelcancel");
    conn.write_all(&hs).await?;
    let mut their_hs = [0u8; 68];
    conn.read_exact(&mut their_hs).await?;
    conn.write_all(&[0, 0, 0, 1, MSG_INTERESTED]).await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match timeout_at(deadline, read_message(&mut conn)).await {
            Ok(msg) => {
                if msg? == Some(MSG_UNCHOKE) {
                    break;
                }
            }
            Err(_) => bail!("no unchoke"),
        }
    }

    // 32 requests (8 pieces of 4 chunks), then cancel all but the first two.
    let chunks: Vec<(u32, u32)> = (0..8)
        .flat_map(|p| (0..4).map(move |c| (p, c * 16384)))
        .collect();
    let mut out = Vec::new();
    for &(p, b) in &chunks {
        out.extend(request(MSG_REQUEST, p, b));
    }
    for &(p, b) in &chunks[2..] {
        out.extend(request(MSG_CANCEL, p, b));
    }
    conn.write_all(&out).await?;

    // 5 s at 64 KiB/s: pristine 9.1.0 sends about 24 chunks (20 plus the limiter's
    // one-second burst); now the two that were not cancelled and those already past the
    // queue when the cancels came (the burst, and one waiting for the limiter): measured 5.
    let mut pieces = 0;
    let until = Instant::now() + Duration::from_secs(5);
    while let Ok(msg) = timeout_at(until, read_message(&mut conn)).await {
        if msg? == Some(MSG_PIECE) {
            pieces += 1;
        }
    }
    assert!(
        pieces >= 2,
        "got only {pieces} chunks: the two not cancelled must come"
    );
    assert!(
        pieces <= 8,
        "got {pieces} chunks: cancelled requests were sent"
    );
    drop(conn);
    seeder.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_e2e_the_origin_is_spared_while_another_peer_feeds_us() {
    timeout(
        Duration::from_secs(90),
        _test_e2e_the_origin_is_spared_while_another_peer_feeds_us(),
    )
    .await
    .context("test timed out")
    .unwrap()
    .unwrap()
}

async fn _test_e2e_the_origin_is_spared_while_another_peer_feeds_us() -> anyhow::Result<()> {
    const FILE_SIZE: usize = 8 * 1024 * 1024;
    setup_test_logging();
    let data = create_default_random_dir_with_torrents(1, FILE_SIZE, Some("rqbit_origin"));
    let torrent = create_torrent(
        data.path(),
        crate::CreateTorrentOptions {
            piece_length: Some(256 * 1024),
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;
    let torrent_bytes = torrent.as_bytes()?;
    let mut origin_id = [b'x'; 20];
    origin_id[..8].copy_from_slice(b"-RO0100-");

    // Two seeds of the same folder: the origin, unlimited, and another peer at 2 MiB/s.
    // Asked alike, the origin would send nearly everything.
    let mut seeds = Vec::new();
    for (upload, id, least_sent_first) in [
        (None, Some(Id20::new(origin_id)), true),
        (Some(2 * 1024 * 1024), None, false),
    ] {
        let session =
            Session::new_with_opts(data.path().to_owned(), session_opts(upload, id)).await?;
        let h = session
            .add_torrent(
                crate::AddTorrent::TorrentFileBytes(torrent_bytes.clone()),
                Some(AddTorrentOptions {
                    overwrite: true,
                    output_folder: Some(data.path().to_str().unwrap().to_owned()),
                    least_sent_first,
                    ..Default::default()
                }),
            )
            .await?
            .into_handle()
            .context("into_handle")?;
        timeout(Duration::from_secs(20), h.wait_until_completed())
            .await
            .context("a seed did not finish its check")??;
        seeds.push((session, h));
    }
    let peers = seeds
        .iter()
        .map(|(s, _)| s.listen_addr().context("seed addr"))
        .collect::<anyhow::Result<Vec<_>>>()?;

    let dir = tempfile::TempDir::with_prefix("rqbit_origin_out")?;
    let leecher = Session::new_with_opts(dir.path().to_owned(), session_opts(None, None)).await?;
    let h = leecher
        .add_torrent(
            crate::AddTorrent::TorrentFileBytes(torrent_bytes),
            Some(AddTorrentOptions {
                overwrite: true,
                output_folder: Some(dir.path().to_str().unwrap().to_owned()),
                initial_peers: Some(peers),
                origin_peer_id_prefix: Some(b"-RO".to_vec()),
                ..Default::default()
            }),
        )
        .await?
        .into_handle()
        .context("into_handle")?;
    timeout(Duration::from_secs(60), h.wait_until_completed())
        .await
        .context("the leecher did not complete")??;
    let want = std::fs::read(data.path().join("0.data"))?;
    assert!(std::fs::read(dir.path().join("0.data"))? == want);

    let origin = seeds[0].1.stats().uploaded_bytes as f64 / FILE_SIZE as f64;
    let other = seeds[1].1.stats().uploaded_bytes as f64 / FILE_SIZE as f64;
    assert!(
        origin < 0.3,
        "the origin sent {origin:.2} of the file (the other seed {other:.2}): it was not spared"
    );
    assert!(
        other > 0.7,
        "the other seed sent only {other:.2} of the file"
    );

    leecher.stop().await;
    for (s, _) in seeds {
        s.stop().await;
    }
    Ok(())
}
