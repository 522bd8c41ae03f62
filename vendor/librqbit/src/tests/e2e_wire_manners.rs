// A raw BitTorrent client on 127.0.0.1 talks to librqbit and checks that
// - a seeder sends `unchoke` only after we declared `interested`;
// - keep-alives come within the read timeout (an idle peer is not dropped);
// - a downloading peer sends HAVEs to a peer that started with nothing (and so sent no
//   bitfield), which is what lets viewers that join together trade pieces.
// Loopback only, no trackers, DHT or LSD.

use std::{net::Ipv4Addr, num::NonZeroU32, time::Duration};

use anyhow::{Context, bail};
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

const MSG_KEEPALIVE: Option<u8> = None;
const MSG_UNCHOKE: u8 = 1;
const MSG_INTERESTED: u8 = 2;
const MSG_HAVE: u8 = 4;
const MSG_BITFIELD: u8 = 5;

fn loopback_session_opts() -> SessionOptions {
    SessionOptions {
        dht: None,
        persistence: None,
        disable_local_service_discovery: true,
        listen: Some(ListenerOptions {
            mode: ListenerMode::TcpOnly,
            listen_addr: (Ipv4Addr::LOCALHOST, 0).into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Connects and exchanges handshakes (no extensions, no bitfield from us).
async fn handshake(addr: std::net::SocketAddr, info_hash: &[u8; 20]) -> anyhow::Result<TcpStream> {
    let mut conn = TcpStream::connect(addr).await?;
    let mut hs = Vec::with_capacity(68);
    hs.push(19u8);
    hs.extend_from_slice(b"BitTorrent protocol");
    hs.extend_from_slice(&[0u8; 8]); // no extensions
    hs.extend_from_slice(info_hash);
    hs.extend_from_slice(b"-XX0001-wiremanners0");
    conn.write_all(&hs).await?;
    let mut their_hs = [0u8; 68];
    timeout(Duration::from_secs(5), conn.read_exact(&mut their_hs))
        .await
        .context("no handshake")??;
    assert_eq!(&their_hs[28..48], &info_hash[..]);
    Ok(conn)
}

/// Reads one message: None for a keep-alive, else its id.
async fn read_message<R: AsyncReadExt + Unpin>(conn: &mut R) -> anyhow::Result<Option<u8>> {
    let len = conn.read_u32().await.context("reading message length")? as usize;
    if len == 0 {
        return Ok(MSG_KEEPALIVE);
    }
    let mut body = vec![0u8; len];
    conn.read_exact(&mut body)
        .await
        .context("reading message")?;
    Ok(Some(body[0]))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_e2e_unchoke_after_interested_and_keepalive() {
    timeout(
        Duration::from_secs(60),
        _test_e2e_unchoke_after_interested_and_keepalive(),
    )
    .await
    .context("test timed out")
    .unwrap()
    .unwrap()
}

async fn _test_e2e_unchoke_after_interested_and_keepalive() -> anyhow::Result<()> {
    setup_test_logging();
    let data = create_default_random_dir_with_torrents(1, 256 * 1024, Some("rqbit_wire"));
    let torrent = create_torrent(
        data.path(),
        crate::CreateTorrentOptions {
            piece_length: Some(64 * 1024),
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;

    let seeder = Session::new_with_opts(data.path().to_owned(), loopback_session_opts()).await?;
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

    let mut conn = handshake(
        seeder.listen_addr().context("listen addr")?,
        &torrent.info_hash().0,
    )
    .await?;

    // Not interested yet: a bitfield, but no unchoke.
    let quiet_until = Instant::now() + Duration::from_millis(1500);
    let mut before_interest = Vec::new();
    while let Ok(msg) = timeout_at(quiet_until, read_message(&mut conn)).await {
        before_interest.push(msg?);
    }
    assert!(
        before_interest.contains(&Some(MSG_BITFIELD)),
        "expected a bitfield, got {before_interest:?}"
    );
    assert!(
        !before_interest.contains(&Some(MSG_UNCHOKE)),
        "unchoke before we were interested: {before_interest:?}"
    );

    // Interested: now the unchoke.
    conn.write_all(&[0, 0, 0, 1, MSG_INTERESTED]).await?;
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        match timeout_at(deadline, read_message(&mut conn)).await {
            Ok(msg) => {
                if msg? == Some(MSG_UNCHOKE) {
                    break;
                }
            }
            Err(_) => bail!("no unchoke within 5s of declaring interest"),
        }
    }

    // Then silence, apart from keep-alives, which must come before the seeder's own
    // read timeout (10 s by default) would drop an equally quiet peer.
    let started = Instant::now();
    let deadline = started + Duration::from_secs(9);
    loop {
        match timeout_at(deadline, read_message(&mut conn)).await {
            Ok(msg) => {
                if msg? == MSG_KEEPALIVE {
                    break;
                }
            }
            Err(_) => bail!("no keep-alive within 9s of idling"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(9));

    drop(conn);
    seeder.stop().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_e2e_have_reaches_a_peer_that_sent_no_bitfield() {
    timeout(
        Duration::from_secs(60),
        _test_e2e_have_reaches_a_peer_that_sent_no_bitfield(),
    )
    .await
    .context("test timed out")
    .unwrap()
    .unwrap()
}

async fn _test_e2e_have_reaches_a_peer_that_sent_no_bitfield() -> anyhow::Result<()> {
    setup_test_logging();
    let data = create_default_random_dir_with_torrents(1, 512 * 1024, Some("rqbit_have"));
    let torrent = create_torrent(
        data.path(),
        crate::CreateTorrentOptions {
            piece_length: Some(64 * 1024),
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;

    let seeder = Session::new_with_opts(data.path().to_owned(), loopback_session_opts()).await?;
    let sh = seeder
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
    timeout(Duration::from_secs(20), sh.wait_until_completed())
        .await
        .context("seeder did not finish its check")??;

    // A downloader, slowed down (about 4 s for the file) so that we are connected before
    // it has its first piece.
    let out = tempfile::TempDir::with_prefix("rqbit_have_out")?;
    let downloader = Session::new_with_opts(out.path().to_owned(), loopback_session_opts()).await?;
    downloader
        .add_torrent(
            crate::AddTorrent::TorrentFileBytes(torrent.as_bytes()?),
            Some(AddTorrentOptions {
                overwrite: true,
                output_folder: Some(out.path().to_str().unwrap().to_owned()),
                initial_peers: Some(vec![seeder.listen_addr().context("seeder addr")?]),
                ratelimits: LimitsConfig {
                    upload_bps: None,
                    download_bps: NonZeroU32::new(128 * 1024),
                },
                ..Default::default()
            }),
        )
        .await?;

    // We have nothing and say nothing but keep-alives (so we are not dropped as idle).
    let conn = handshake(
        downloader.listen_addr().context("downloader addr")?,
        &torrent.info_hash().0,
    )
    .await?;
    let (mut rd, mut wr) = conn.into_split();
    let keepalive = tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            if wr.write_all(&[0, 0, 0, 0]).await.is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut seen = Vec::new();
    loop {
        match timeout_at(deadline, read_message(&mut rd)).await {
            Ok(msg) => {
                let msg = msg?;
                if msg == Some(MSG_HAVE) {
                    break;
                }
                seen.push(msg);
            }
            Err(_) => bail!("no HAVE within 20s from a downloading peer; got {seen:?}"),
        }
    }
    keepalive.abort();
    seeder.stop().await;
    downloader.stop().await;
    Ok(())
}
