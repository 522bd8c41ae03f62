//! reelseal patch K: whole pieces handed over from outside the peer protocol (a web
//! seed). No peer at all: a torrent is filled only through
//! `ManagedTorrent::write_external_piece`; bytes that do not hash right are never written,
//! and pieces that do reach streams, the on-disk files and completion like a peer's.

use std::time::Duration;

use anyhow::Context;
use tempfile::TempDir;
use tokio::{io::AsyncReadExt, time::timeout};

use crate::{
    AddTorrent, CreateTorrentOptions, ExternalPiece, Session, create_torrent,
    spawn_utils::BlockingSpawner, tests::test_util::setup_test_logging,
};

use super::test_util::create_default_random_dir_with_torrents;

async fn external_pieces() -> anyhow::Result<()> {
    setup_test_logging();
    // Two files of 3000 bytes, 1024-byte pieces: piece 2 spans both files.
    let files = create_default_random_dir_with_torrents(2, 3000, Some("test_external_piece"));
    let torrent = create_torrent(
        files.path(),
        CreateTorrentOptions {
            name: None,
            piece_length: Some(1024),
            ..Default::default()
        },
        &BlockingSpawner::new(1),
    )
    .await?;
    let client_dir = TempDir::with_prefix("test_external_piece_client")?;
    let session = Session::new_with_opts(
        client_dir.path().into(),
        crate::SessionOptions {
            dht: None,
            persistence: None,
            disable_trackers: true,
            ..Default::default()
        },
    )
    .await?;
    let out = client_dir.path().join("out");
    let handle = session
        .add_torrent(
            AddTorrent::from_bytes(torrent.as_bytes()?),
            Some(crate::AddTorrentOptions {
                output_folder: Some(out.to_str().unwrap().to_owned()),
                ..Default::default()
            }),
        )
        .await?
        .into_handle()
        .context("no handle")?;
    handle.wait_until_initialized().await?;

    // The torrent's bytes, in its file order.
    let names: Vec<_> = handle.with_metadata(|m| {
        m.file_infos
            .iter()
            .map(|f| f.relative_filename.clone())
            .collect()
    })?;
    let mut all = Vec::new();
    for n in &names {
        all.extend(std::fs::read(files.path().join(n))?);
    }
    assert_eq!(all.len(), 6000);
    let pieces: Vec<&[u8]> = all.chunks(1024).collect();
    assert_eq!(pieces.len(), 6);

    // Everything is wanted, nothing is had.
    let mut wanted = handle.wanted_pieces(100);
    wanted.sort();
    assert_eq!(wanted, vec![0, 1, 2, 3, 4, 5]);

    // A stream over the second file waits for pieces 2..=5.
    let h = handle.clone();
    let reader = tokio::spawn(async move {
        let mut s = h.stream(1).await?;
        let mut buf = Vec::new();
        s.read_to_end(&mut buf).await?;
        anyhow::Ok(buf)
    });

    // Wrong bytes: refused, nothing written, still wanted.
    let mut bad = pieces[2].to_vec();
    bad[100] ^= 1;
    assert_eq!(
        handle.write_external_piece(2, &bad)?,
        ExternalPiece::HashMismatch
    );
    for n in &names {
        if let Ok(b) = std::fs::read(out.join(n)) {
            assert!(b.iter().all(|x| *x == 0), "refused bytes were written");
        }
    }
    assert!(handle.wanted_pieces(100).contains(&2));
    // Wrong length, unknown piece: errors.
    assert!(handle.write_external_piece(2, &pieces[2][..1000]).is_err());
    assert!(handle.write_external_piece(6, pieces[0]).is_err());

    // Right bytes: written and had (piece 5 is the short last one).
    for i in [2u32, 5, 0, 1, 3, 4] {
        assert_eq!(
            handle.write_external_piece(i, pieces[i as usize])?,
            ExternalPiece::Written,
            "piece {i}"
        );
        assert!(!handle.wanted_pieces(100).contains(&i));
    }
    assert_eq!(
        handle.write_external_piece(0, pieces[0])?,
        ExternalPiece::AlreadyHave
    );
    timeout(Duration::from_secs(5), handle.wait_until_completed())
        .await
        .context("not completed")??;
    assert_eq!(handle.stats().progress_bytes, 6000);
    assert!(handle.wanted_pieces(100).is_empty());
    let streamed = timeout(Duration::from_secs(5), reader).await???;
    assert_eq!(streamed, std::fs::read(files.path().join(&names[1]))?);
    for n in &names {
        assert_eq!(
            std::fs::read(out.join(n))?,
            std::fs::read(files.path().join(n))?
        );
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn test_e2e_external_pieces_are_verified_then_had() -> anyhow::Result<()> {
    timeout(Duration::from_secs(20), external_pieces()).await?
}
