// reelseal: a peer given when a torrent is added (`initial_peers`) that is not up yet is
// dialled again (0.5 s, 1 s, 2 s …) until it is — for a magnet link (metadata search) and
// for a torrent file (live peer table). The seeder starts 3 s after the downloader.
// Loopback only, no trackers, DHT or LSD.

use std::{net::Ipv4Addr, time::Duration};

use anyhow::Context;
use tokio::time::{Instant, timeout};

use crate::{
    AddTorrentOptions, ListenerMode, Session, SessionOptions, create_torrent,
    listen::ListenerOptions,
    spawn_utils::BlockingSpawner,
    tests::test_util::{create_default_random_dir_with_torrents, setup_test_logging},
};

fn opts(port: u16) -> SessionOptions {
    SessionOptions {
        dht: None,
        persistence: None,
        disable_local_service_discovery: true,
        disable_trackers: true,
        listen: Some(ListenerOptions {
            mode: ListenerMode::TcpOnly,
            listen_addr: (Ipv4Addr::LOCALHOST, port).into(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_e2e_initial_peers_that_come_up_late() {
    timeout(Duration::from_secs(90), _test_e2e_initial_peers_that_come_up_late())
        .await
        .context("test timed out")
        .unwrap()
        .unwrap()
}

async fn _test_e2e_initial_peers_that_come_up_late() -> anyhow::Result<()> {
    setup_test_logging();
    let data = create_default_random_dir_with_torrents(1, 256 * 1024, Some("rqbit_late"));
    let torrent = create_torrent(
        data.path(),
        crate::CreateTorrentOptions {
            piece_length: Some(16 * 1024),
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;
    let info_hash = torrent.info_hash();
    for magnet in [true, false] {
        let port = free_port();
        let seeder_addr = (Ipv4Addr::LOCALHOST, port).into();
        let out = tempfile::TempDir::with_prefix("rqbit_late_out")?;
        let leecher = Session::new_with_opts(out.path().to_owned(), opts(0)).await?;
        let add = {
            let leecher = leecher.clone();
            let what = if magnet {
                crate::AddTorrent::from_url(format!("magnet:?xt=urn:btih:{}", info_hash.as_string()))
            } else {
                crate::AddTorrent::TorrentFileBytes(torrent.as_bytes()?)
            };
            let out = out.path().to_str().unwrap().to_owned();
            tokio::spawn(async move {
                let h = leecher
                    .add_torrent(
                        what,
                        Some(AddTorrentOptions {
                            overwrite: true,
                            output_folder: Some(out),
                            initial_peers: Some(vec![seeder_addr]),
                            ..Default::default()
                        }),
                    )
                    .await?
                    .into_handle()
                    .context("handle")?;
                h.wait_until_completed().await?;
                Ok::<_, anyhow::Error>(())
            })
        };
        tokio::time::sleep(Duration::from_secs(3)).await;
        if magnet {
            let p = leecher
                .magnet_resolve_progress(info_hash)
                .context("the metadata search is still on")?;
            assert!(p.failed >= 2, "dialled more than once already: {p:?}");
        }
        assert!(!add.is_finished(), "gave up on the missing peer");
        let seeder = Session::new_with_opts(data.path().to_owned(), opts(port)).await?;
        seeder
            .add_torrent(
                crate::AddTorrent::TorrentFileBytes(torrent.as_bytes()?),
                Some(AddTorrentOptions {
                    overwrite: true,
                    output_folder: Some(data.path().to_str().unwrap().to_owned()),
                    ..Default::default()
                }),
            )
            .await?;
        let started = Instant::now();
        timeout(Duration::from_secs(30), add).await???;
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "found the late seeder only after {:?} (magnet={magnet})",
            started.elapsed()
        );
        seeder.stop().await;
        leecher.stop().await;
    }
    Ok(())
}
