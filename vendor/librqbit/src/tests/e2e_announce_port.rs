// A seeder listening on a loopback, OS-chosen port must tell the tracker that port, so a
// peer that only learns about it from the tracker can dial it and download.
// Loopback only: a tiny HTTP tracker on 127.0.0.1, no DHT, no LSD.

use std::{
    net::{Ipv4Addr, SocketAddr, SocketAddrV4},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use parking_lot::Mutex;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::TcpListener,
    time::timeout,
};
use tracing::info;

use crate::{
    AddTorrentOptions, ListenerMode, Session, SessionOptions, create_torrent,
    listen::ListenerOptions,
    spawn_utils::BlockingSpawner,
    tests::test_util::{create_default_random_dir_with_torrents, setup_test_logging},
};

/// Every announce the tracker got: (address it came from, `port` parameter).
type Announces = Arc<Mutex<Vec<(SocketAddr, u16)>>>;

/// A minimal HTTP tracker: records announces and answers with every other announced peer
/// (compact form, IP of the announcing connection + its `port` parameter).
async fn spawn_tracker() -> anyhow::Result<(SocketAddr, Announces, tokio::task::JoinHandle<()>)> {
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let addr = listener.local_addr()?;
    let announces: Announces = Default::default();
    let task = tokio::spawn({
        let announces = announces.clone();
        async move {
            loop {
                let Ok((mut conn, from)) = listener.accept().await else {
                    return;
                };
                let announces = announces.clone();
                tokio::spawn(async move {
                    let mut req = Vec::new();
                    let mut buf = [0u8; 4096];
                    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 65536 {
                        match timeout(Duration::from_secs(5), conn.read(&mut buf)).await {
                            Ok(Ok(n)) if n > 0 => req.extend_from_slice(&buf[..n]),
                            _ => return,
                        }
                    }
                    let req = String::from_utf8_lossy(&req);
                    let target = req.split_whitespace().nth(1).unwrap_or_default();
                    let port: Option<u16> = target
                        .split_once('?')
                        .map(|(_, q)| q)
                        .unwrap_or_default()
                        .split('&')
                        .find_map(|kv| kv.strip_prefix("port="))
                        .and_then(|p| p.parse().ok());
                    let Some(port) = port else { return };
                    let peers: Vec<u8> = {
                        let mut g = announces.lock();
                        g.push((from, port));
                        let mut peers: Vec<SocketAddrV4> = g
                            .iter()
                            .filter(|(_, p)| *p != port)
                            .map(|(_, p)| SocketAddrV4::new(Ipv4Addr::LOCALHOST, *p))
                            .collect();
                        peers.dedup();
                        peers
                            .iter()
                            .flat_map(|a| {
                                let mut b = a.ip().octets().to_vec();
                                b.extend_from_slice(&a.port().to_be_bytes());
                                b
                            })
                            .collect()
                    };
                    let mut body = format!("d8:intervali60e5:peers{}:", peers.len()).into_bytes();
                    body.extend_from_slice(&peers);
                    body.push(b'e');
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(&body).await;
                    let _ = conn.shutdown().await;
                });
            }
        }
    });
    Ok((addr, announces, task))
}

fn loopback_session_opts(announce_port: Option<u16>) -> SessionOptions {
    SessionOptions {
        dht: None,
        persistence: None,
        disable_local_service_discovery: true,
        listen: Some(ListenerOptions {
            mode: ListenerMode::TcpOnly,
            // Port 0: the OS picks one.
            listen_addr: (Ipv4Addr::LOCALHOST, 0).into(),
            announce_port,
            ..Default::default()
        }),
        ..Default::default()
    }
}

async fn wait_for_announce(
    announces: &Announces,
    n: usize,
) -> anyhow::Result<Vec<(SocketAddr, u16)>> {
    timeout(Duration::from_secs(20), async {
        loop {
            {
                let g = announces.lock();
                if g.len() >= n {
                    return g.clone();
                }
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .context("timed out waiting for an announce")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_e2e_tracker_peer_dials_the_bound_port() {
    timeout(
        Duration::from_secs(90),
        _test_e2e_tracker_peer_dials_the_bound_port(),
    )
    .await
    .context("test timed out")
    .unwrap()
    .unwrap()
}

async fn _test_e2e_tracker_peer_dials_the_bound_port() -> anyhow::Result<()> {
    setup_test_logging();
    let (tracker_addr, announces, tracker_task) = spawn_tracker().await?;
    let announce_url = format!("http://{tracker_addr}/announce");

    let data = create_default_random_dir_with_torrents(1, 1024 * 1024, Some("rqbit_announce"));
    let torrent = create_torrent(
        data.path(),
        crate::CreateTorrentOptions {
            piece_length: Some(64 * 1024),
            trackers: vec![announce_url],
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;
    let torrent_bytes = torrent.as_bytes()?;

    // Seeder: loopback, port 0, no explicit announce port.
    let seeder =
        Session::new_with_opts(data.path().to_owned(), loopback_session_opts(None)).await?;
    let seeder_port = seeder.listen_addr().context("seeder listens")?.port();
    assert_ne!(seeder_port, 0);
    assert_eq!(seeder.announce_port(), Some(seeder_port));
    seeder
        .add_torrent(
            crate::AddTorrent::TorrentFileBytes(torrent_bytes.clone()),
            Some(AddTorrentOptions {
                overwrite: true,
                output_folder: Some(data.path().to_str().unwrap().to_owned()),
                ..Default::default()
            }),
        )
        .await?;
    let first = wait_for_announce(&announces, 1).await?;
    info!(?first, seeder_port, "seeder announced");
    assert_eq!(
        first[0].1, seeder_port,
        "the seeder must announce the port it is bound to"
    );

    // Leecher: knows no peer but what the tracker tells it.
    let out = tempfile::TempDir::with_prefix("rqbit_announce_out")?;
    let leecher =
        Session::new_with_opts(out.path().to_owned(), loopback_session_opts(None)).await?;
    let handle = leecher
        .add_torrent(
            crate::AddTorrent::TorrentFileBytes(torrent_bytes),
            Some(AddTorrentOptions {
                overwrite: true,
                output_folder: Some(out.path().to_str().unwrap().to_owned()),
                ..Default::default()
            }),
        )
        .await?
        .into_handle()
        .context("into_handle")?;
    timeout(Duration::from_secs(30), handle.wait_until_completed())
        .await
        .context("leecher did not complete from the tracker's peer")??;
    let got = std::fs::read(out.path().join("0.data"))?;
    let want = std::fs::read(data.path().join("0.data"))?;
    assert!(got == want, "downloaded data differs");

    // An explicit announce port still wins over the bound one.
    let explicit_dir = tempfile::TempDir::with_prefix("rqbit_announce_explicit")?;
    let explicit = Session::new_with_opts(
        explicit_dir.path().to_owned(),
        loopback_session_opts(Some(41234)),
    )
    .await?;
    assert_eq!(explicit.announce_port(), Some(41234));
    assert_ne!(explicit.listen_addr().map(|a| a.port()), Some(41234));

    seeder.stop().await;
    leecher.stop().await;
    explicit.stop().await;
    tracker_task.abort();
    Ok(())
}
