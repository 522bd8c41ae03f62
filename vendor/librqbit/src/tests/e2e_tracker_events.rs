// reelseal: what trackers hear, over HTTP and UDP (BEP 15), from sessions on 127.0.0.1:
// `started` on the first announce, `completed` once when a download completes (never
// from a seeder), `stopped` when a torrent is deleted or the session stops; and
// `Session::tracker_status` reports each tracker's answers.
// Loopback only: tiny HTTP and UDP trackers on 127.0.0.1, no DHT, no LSD.

use std::{
    collections::HashMap,
    net::{Ipv4Addr, SocketAddr, SocketAddrV4},
    sync::Arc,
    time::Duration,
};

use anyhow::Context;
use parking_lot::Mutex;
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, UdpSocket},
    time::timeout,
};

use crate::{
    AddTorrentOptions, ListenerMode, Session, SessionOptions, create_torrent,
    listen::ListenerOptions,
    spawn_utils::BlockingSpawner,
    tests::test_util::{create_default_random_dir_with_torrents, setup_test_logging},
};

#[derive(Clone, Debug, PartialEq, Eq)]
struct Heard {
    udp: bool,
    port: u16,
    event: Option<String>,
    from: SocketAddr,
}

type Log = Arc<Mutex<Vec<Heard>>>;

/// Answers every announce with all other (port-distinct) peers, interval 1 s.
fn peers_for(log: &Log, h: Heard) -> Vec<u8> {
    let mut g = log.lock();
    g.push(h.clone());
    let mut alive: HashMap<u16, bool> = HashMap::new();
    for a in g.iter() {
        alive.insert(a.port, a.event.as_deref() != Some("stopped"));
    }
    alive
        .into_iter()
        .filter(|(p, live)| *live && *p != h.port)
        .flat_map(|(p, _)| {
            let a = SocketAddrV4::new(Ipv4Addr::LOCALHOST, p);
            let mut b = a.ip().octets().to_vec();
            b.extend_from_slice(&a.port().to_be_bytes());
            b
        })
        .collect()
}

async fn spawn_trackers() -> anyhow::Result<(String, String, Log)> {
    let log: Log = Default::default();
    let http = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let http_addr = http.local_addr()?;
    tokio::spawn({
        let log = log.clone();
        async move {
            while let Ok((mut conn, from)) = http.accept().await {
                let log = log.clone();
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
                    let q = req
                        .split_whitespace()
                        .nth(1)
                        .and_then(|t| t.split_once('?'))
                        .map(|(_, q)| q.to_owned())
                        .unwrap_or_default();
                    let param = |k: &str| {
                        q.split('&')
                            .find_map(|kv| kv.strip_prefix(&format!("{k}=")))
                            .map(str::to_owned)
                    };
                    let Some(port) = param("port").and_then(|p| p.parse().ok()) else {
                        return;
                    };
                    let peers = peers_for(
                        &log,
                        Heard {
                            udp: false,
                            port,
                            event: param("event"),
                            from,
                        },
                    );
                    let mut body =
                        format!("d8:intervali1e5:peers{}:", peers.len()).into_bytes();
                    body.extend_from_slice(&peers);
                    body.push(b'e');
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    );
                    let _ = conn.write_all(head.as_bytes()).await;
                    let _ = conn.write_all(&body).await;
                    let _ = conn.shutdown().await;
                });
            }
        }
    });
    let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let udp_addr = udp.local_addr()?;
    tokio::spawn({
        let log = log.clone();
        async move {
            let mut buf = [0u8; 2048];
            while let Ok((n, from)) = udp.recv_from(&mut buf).await {
                let b = &buf[..n];
                if n < 16 {
                    continue;
                }
                let action = u32::from_be_bytes(b[8..12].try_into().unwrap());
                let mut out = Vec::new();
                if action == 0 {
                    out.extend_from_slice(&0u32.to_be_bytes());
                    out.extend_from_slice(&b[12..16]);
                    out.extend_from_slice(&7u64.to_be_bytes());
                } else if action == 1 && n >= 98 {
                    let event = match u32::from_be_bytes(b[80..84].try_into().unwrap()) {
                        1 => Some("completed".to_owned()),
                        2 => Some("started".to_owned()),
                        3 => Some("stopped".to_owned()),
                        _ => None,
                    };
                    let port = u16::from_be_bytes(b[96..98].try_into().unwrap());
                    let peers = peers_for(
                        &log,
                        Heard {
                            udp: true,
                            port,
                            event,
                            from,
                        },
                    );
                    out.extend_from_slice(&1u32.to_be_bytes());
                    out.extend_from_slice(&b[12..16]);
                    out.extend_from_slice(&1u32.to_be_bytes()); // interval (min 5 s applies)
                    out.extend_from_slice(&0u32.to_be_bytes());
                    out.extend_from_slice(&0u32.to_be_bytes());
                    out.extend_from_slice(&peers);
                } else {
                    continue;
                }
                let _ = udp.send_to(&out, from).await;
            }
        }
    });
    Ok((
        format!("http://{http_addr}/announce"),
        format!("udp://{udp_addr}/announce"),
        log,
    ))
}

fn opts() -> SessionOptions {
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

async fn wait_heard(log: &Log, what: &str, f: impl Fn(&Heard) -> bool) -> anyhow::Result<()> {
    timeout(Duration::from_secs(20), async {
        while !log.lock().iter().any(&f) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .with_context(|| format!("the tracker never heard {what}: {:?}", log.lock()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_e2e_tracker_events() {
    timeout(Duration::from_secs(120), _test_e2e_tracker_events())
        .await
        .context("test timed out")
        .unwrap()
        .unwrap()
}

async fn _test_e2e_tracker_events() -> anyhow::Result<()> {
    setup_test_logging();
    let (http, udp, log) = spawn_trackers().await?;
    let data = create_default_random_dir_with_torrents(1, 512 * 1024, Some("rqbit_events"));
    let torrent = create_torrent(
        data.path(),
        crate::CreateTorrentOptions {
            piece_length: Some(64 * 1024),
            trackers: vec![http.clone(), udp.clone()],
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;
    let bytes = torrent.as_bytes()?;

    let seeder = Session::new_with_opts(data.path().to_owned(), opts()).await?;
    let sport = seeder.listen_addr().context("addr")?.port();
    let seed = seeder
        .add_torrent(
            crate::AddTorrent::TorrentFileBytes(bytes.clone()),
            Some(AddTorrentOptions {
                overwrite: true,
                output_folder: Some(data.path().to_str().unwrap().to_owned()),
                ..Default::default()
            }),
        )
        .await?
        .into_handle()
        .context("handle")?;
    for udp in [false, true] {
        wait_heard(&log, "the seeder", |h| h.udp == udp && h.port == sport).await?;
        let first = log
            .lock()
            .iter()
            .find(|h| h.udp == udp && h.port == sport)
            .cloned()
            .unwrap();
        assert_eq!(first.event.as_deref(), Some("started"), "{first:?}");
    }

    let out = tempfile::TempDir::with_prefix("rqbit_events_out")?;
    let leecher = Session::new_with_opts(out.path().to_owned(), opts()).await?;
    let lport = leecher.listen_addr().context("addr")?.port();
    let leech = leecher
        .add_torrent(
            crate::AddTorrent::TorrentFileBytes(bytes),
            Some(AddTorrentOptions {
                overwrite: true,
                output_folder: Some(out.path().to_str().unwrap().to_owned()),
                ..Default::default()
            }),
        )
        .await?
        .into_handle()
        .context("handle")?;
    timeout(Duration::from_secs(30), leech.wait_until_completed()).await??;
    for udp in [false, true] {
        wait_heard(&log, "completed", |h| {
            h.udp == udp && h.port == lport && h.event.as_deref() == Some("completed")
        })
        .await?;
    }
    let status = leecher.tracker_status(leech.info_hash());
    assert_eq!(status.len(), 2, "{status:?}");
    assert!(
        status
            .iter()
            .all(|t| t.successes >= 1 && matches!(t.last_result, Some(Ok(_)))),
        "{status:?}"
    );

    // Deleting the torrent says stopped; so does stopping the session.
    seeder.delete(seed.id().into(), false).await?;
    for udp in [false, true] {
        wait_heard(&log, "stopped after delete", |h| {
            h.udp == udp && h.port == sport && h.event.as_deref() == Some("stopped")
        })
        .await?;
    }
    leecher.stop().await;
    for udp in [false, true] {
        assert!(
            log.lock().iter().any(|h| h.udp == udp
                && h.port == lport
                && h.event.as_deref() == Some("stopped")),
            "no stopped (udp={udp}) before the session's sockets closed: {:?}",
            log.lock()
        );
    }
    let g = log.lock().clone();
    assert!(
        !g.iter()
            .any(|h| h.port == sport && h.event.as_deref() == Some("completed")),
        "a seeder said completed: {g:?}"
    );
    for port in [sport, lport] {
        for udp in [false, true] {
            let n = g
                .iter()
                .filter(|h| h.port == port && h.udp == udp && h.event.as_deref() == Some("started"))
                .count();
            assert_eq!(n, 1, "started (port {port}, udp={udp}): {g:?}");
        }
    }
    seeder.stop().await;
    Ok(())
}
