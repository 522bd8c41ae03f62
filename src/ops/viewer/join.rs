//! Joining a release in the swarm: add it by magnet (from the signed card; or with the
//! torrent from a web seed, checked against the card), wait for its metadata, check the
//! torrent against the card, start its web seeds if it has any, and read the manifest
//! from the swarm, checked against the card before it is decrypted (the same checks as on
//! disk, in core).

use std::path::Path;

use anyhow::{Context, Result};
use reelseal_core::card::Card;
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::{Manifest, MANIFEST_NAME};
use reelseal_swarm::{Swarm, Torrent, TorrentFile, WebSeeds};
use tokio::io::AsyncReadExt;

use super::open::open_refusal;
use crate::exit::{refuse, Exit};
use crate::feedback::Feedback;

/// A release joined in the swarm: its torrent, checked against the signed card, and its
/// decrypted manifest.
pub struct Joined {
    /// The torrent in the session.
    pub torrent: Torrent,
    /// The decrypted manifest.
    pub manifest: Manifest,
    files: Vec<TorrentFile>,
    /// The release's web seeds at work (stopped when this is dropped).
    _web_seeds: Option<WebSeeds>,
}

impl Joined {
    /// The torrent's file index of a ciphertext file.
    pub fn index_of(&self, ct_name: &str) -> Result<usize> {
        self.files
            .iter()
            .find(|f| !f.padding && f.name() == ct_name)
            .map(|f| f.index)
            .with_context(|| format!("{ct_name} is missing from the torrent"))
    }
}

/// Add a release by magnet (from its card) and get its manifest.
pub async fn join_release(
    swarm: &Swarm,
    card: &Card,
    keys: &KeySet,
    cache: &Path,
    peers: &[std::net::SocketAddr],
    fb: &dyn Feedback,
) -> Result<Joined> {
    let added = super::webseed::add_release(swarm, card, cache, peers, fb).await?;
    let torrent = added.torrent.clone();
    // Peers that do not answer are explained by `watch` meanwhile (fetch and play).
    torrent
        .wait_until_initialized()
        .await
        .context("could not get the torrent's metadata from the swarm")?;
    let files = torrent.files()?;
    card.check_torrent_files(&files)
        .map_err(|e| refuse(Exit::Tampered, format!("{e}; refusing this release")))?;
    let web_seeds = super::webseed::start(swarm, card, &added)?;
    let joined = Joined {
        torrent,
        manifest: Manifest {
            release: card.release_id(),
            files: vec![],
            tracks: vec![],
        },
        files,
        _web_seeds: web_seeds,
    };
    // The manifest first (small), checked against the card before it is decrypted.
    let mut bytes = Vec::new();
    joined
        .torrent
        .stream(joined.index_of(MANIFEST_NAME)?)
        .await?
        .read_to_end(&mut bytes)
        .await
        .context("reading the manifest from the swarm")?;
    let label = Path::new("swarm")
        .join(card.infohash_hex())
        .join(MANIFEST_NAME);
    let manifest =
        reelseal_core::open::check_manifest(card, keys, &bytes, &label).map_err(open_refusal)?;
    Ok(Joined { manifest, ..joined })
}
