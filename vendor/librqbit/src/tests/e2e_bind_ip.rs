// reelseal: a session listening on a specific IP uses it for every socket: the DHT (with
// and without persistence), the UDP tracker socket, outgoing peer connections and HTTP
// tracker requests. 127.0.0.2 is used so that the default source address (127.0.0.1)
// would show. Loopback only: no DHT bootstrap nodes, no LSD.

use std::{net::Ipv4Addr, time::Duration};

use anyhow::Context;
use tokio::{
    io::AsyncReadExt,
    net::{TcpListener, UdpSocket},
    time::timeout,
};

use crate::{
    AddTorrentOptions, DhtSessionConfig, ListenerMode, Session, SessionOptions, create_torrent,
    listen::ListenerOptions,
    spawn_utils::BlockingSpawner,
    tests::test_util::{create_default_random_dir_with_torrents, setup_test_logging},
};

const IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 2);

fn opts(persist: Option<std::path::PathBuf>) -> SessionOptions {
    SessionOptions {
        dht: Some(DhtSessionConfig {
            bootstrap_addrs: Some(vec![]),
            port: None,
            persistence: persist.map(|f| dht::DhtPersistenceConfig {
                dump_interval: Some(Duration::from_secs(1)),
                config_filename: Some(f),
            }),
        }),
        persistence: None,
        disable_local_service_discovery: true,
        listen: Some(ListenerOptions {
            mode: ListenerMode::TcpOnly,
            listen_addr: (IP, 0).into(),
            ipv4_only: true,
            ..Default::default()
        }),
        ipv4_only: true,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_e2e_every_socket_uses_the_listen_ip() {
    timeout(Duration::from_secs(60), _test_e2e_every_socket_uses_the_listen_ip())
        .await
        .context("test timed out")
        .unwrap()
        .unwrap()
}

async fn _test_e2e_every_socket_uses_the_listen_ip() -> anyhow::Result<()> {
    setup_test_logging();
    // Where an HTTP tracker, a UDP tracker and a peer would be, on 127.0.0.1.
    let http = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).await?;
    let peer = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await?;

    let data = create_default_random_dir_with_torrents(1, 64 * 1024, Some("rqbit_bind"));
    let torrent = create_torrent(
        data.path(),
        crate::CreateTorrentOptions {
            piece_length: Some(16 * 1024),
            trackers: vec![
                format!("http://{}/announce", http.local_addr()?),
                format!("udp://{}/announce", udp.local_addr()?),
            ],
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;

    let state = tempfile::TempDir::with_prefix("rqbit_bind_state")?;
    let dht_file = state.path().join("dht.json");
    for persist in [None, Some(dht_file.clone())] {
        let out = tempfile::TempDir::with_prefix("rqbit_bind_out")?;
        let session = Session::new_with_opts(out.path().to_owned(), opts(persist.clone())).await?;
        assert_eq!(session.listen_addr().context("listen")?.ip(), IP);
        assert_eq!(session.get_dht().context("dht")?.listen_addr().ip(), IP);
        assert_eq!(session.udp_tracker_local_addr().ip(), IP);
        if persist.is_some() {
            // The persistent DHT writes its state where it was told (every second here).
            timeout(Duration::from_secs(10), async {
                while !dht_file.is_file() {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await
            .context("no DHT state file")?;
            session.stop().await;
            continue;
        }
        session
            .add_torrent(
                crate::AddTorrent::TorrentFileBytes(torrent.as_bytes()?),
                Some(AddTorrentOptions {
                    overwrite: true,
                    output_folder: Some(out.path().to_str().unwrap().to_owned()),
                    initial_peers: Some(vec![peer.local_addr()?]),
                    ..Default::default()
                }),
            )
            .await?;
        let (_, from) = timeout(Duration::from_secs(10), peer.accept()).await??;
        assert_eq!(from.ip(), IP, "outgoing peer connection");
        let (mut conn, from) = timeout(Duration::from_secs(10), http.accept()).await??;
        assert_eq!(from.ip(), IP, "HTTP tracker request");
        let mut buf = [0u8; 16];
        let _ = conn.read(&mut buf).await;
        let mut buf = [0u8; 128];
        let (_, from) = timeout(Duration::from_secs(10), udp.recv_from(&mut buf)).await??;
        assert_eq!(from.ip(), IP, "UDP tracker request");
        session.stop().await;
    }
    Ok(())
}
