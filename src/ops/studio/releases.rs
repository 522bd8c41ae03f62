//! `reelseal ls` and `reelseal show`: what the ledger knows about releases.

use std::path::PathBuf;

use anyhow::Result;
use reelseal_core::seal::{CARD_FILE, TORRENT_FILE};
use reelseal_core::torrent::Metainfo;
use reelseal_core::validity::fmt_time;
use reelseal_keyserver::api::GrantSummary;
use serde::Serialize;

use super::{resolve_release, Studio};
use crate::home::PublisherHome;

/// Every release in the ledger.
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseList {
    /// Oldest first.
    pub releases: Vec<ReleaseItem>,
}

/// One release in [`ReleaseList`].
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseItem {
    /// Release id.
    pub release_id: String,
    /// Title.
    pub title: String,
    /// RFC 3339.
    pub created: String,
    /// Infohash.
    pub infohash: String,
    /// Release directory.
    pub dir: PathBuf,
    /// Whether the directory still holds the card.
    pub dir_present: bool,
    /// Grants issued.
    pub grants: usize,
    /// The release this one re-keys.
    pub supersedes: Option<String>,
    /// The newest release that re-keys this one (`reelseal rotate`): this one is
    /// superseded, and `seed` skips it unless named.
    pub superseded_by: Option<String>,
    /// When it was retired (`reelseal retire`), RFC 3339: `seed` skips it unless named.
    pub retired: Option<String>,
}

/// List the releases (no key needed).
pub fn list(home: &PublisherHome) -> Result<ReleaseList> {
    let ledger = home.ledger()?;
    let mut releases = Vec::new();
    for r in ledger.releases()? {
        releases.push(ReleaseItem {
            release_id: r.id.to_hex(),
            title: r.title.clone(),
            created: fmt_time(r.created),
            infohash: r.infohash.to_hex(),
            dir_present: r.dir.join(CARD_FILE).is_file(),
            dir: r.dir,
            grants: ledger.grants(&r.id)?.len(),
            supersedes: r.supersedes.map(|s| s.to_hex()),
            superseded_by: ledger.newest_successor(&r.id)?.map(|s| s.to_hex()),
            retired: ledger.retired(&r.id)?.map(fmt_time),
        });
    }
    Ok(ReleaseList { releases })
}

/// One release in detail.
#[derive(Clone, Debug, Serialize)]
pub struct ReleaseShow {
    /// Release id.
    pub release_id: String,
    /// Title.
    pub title: String,
    /// Publisher key.
    pub publisher: String,
    /// RFC 3339.
    pub created: String,
    /// Infohash.
    pub infohash: String,
    /// Magnet link.
    pub magnet: String,
    /// Piece length.
    pub piece_length: u64,
    /// Trackers.
    pub trackers: Vec<String>,
    /// Key server.
    pub key_server: Option<String>,
    /// Web seeds (BEP 19) on the card.
    pub web_seeds: Vec<String>,
    /// The release this one re-keys.
    pub supersedes: Option<String>,
    /// Release directory.
    pub dir: PathBuf,
    /// Grants issued.
    pub grants: usize,
    /// Torrent name.
    pub torrent_name: String,
    /// Pieces, if the torrent is readable.
    pub torrent_pieces: Option<usize>,
    /// BEP 27 flag, if the torrent is readable.
    pub private: Option<bool>,
    /// Tracing code, for variant releases.
    pub tracing: Option<TracingSummary>,
    /// Ciphertext files as the swarm sees them.
    pub files: Vec<CiphertextFile>,
}

/// A release's tracing code in brief.
#[derive(Clone, Debug, Serialize)]
pub struct TracingSummary {
    /// Traced segments.
    pub positions: usize,
    /// Viewers.
    pub viewers: u64,
    /// Colluders.
    pub colluders: u32,
    /// ε.
    pub epsilon: f64,
    /// Cutoff δ.
    pub cutoff: f64,
}

/// A ciphertext file of the torrent.
#[derive(Clone, Debug, Serialize)]
pub struct CiphertextFile {
    /// Opaque name.
    pub name: String,
    /// Length.
    pub ciphertext_bytes: u64,
    /// SHA-256, hex.
    pub sha256: String,
}

impl Studio {
    /// Show one release.
    pub fn show(&self, release: &str) -> Result<ReleaseShow> {
        let r = self.release(release)?;
        let card = self.card(&r)?;
        let c = card.card();
        let torrent = std::fs::read(r.dir.join(TORRENT_FILE))
            .ok()
            .and_then(|b| Metainfo::from_bytes(&b).ok());
        let tracing = self.ledger.trace_code(&r.id)?.map(|t| TracingSummary {
            positions: t.biases.len(),
            viewers: t.params.n,
            colluders: t.params.c,
            epsilon: t.params.eps,
            cutoff: t.cutoff,
        });
        Ok(ReleaseShow {
            release_id: r.id.to_hex(),
            title: c.title.clone(),
            publisher: c.publisher_key().to_bech32(),
            created: fmt_time(c.created),
            infohash: c.infohash_hex(),
            magnet: c.magnet(&r.torrent_name),
            piece_length: c.piece,
            trackers: c.trackers.clone(),
            key_server: c.key_server.clone(),
            web_seeds: c.web_seeds.clone(),
            supersedes: c.supersedes_id().map(|s| s.to_hex()),
            grants: self.ledger.grants(&r.id)?.len(),
            torrent_pieces: torrent.as_ref().map(|t| t.info.pieces.len() / 20),
            private: torrent.as_ref().map(|t| t.info.private == Some(1)),
            tracing,
            files: c
                .files
                .iter()
                .map(|f| CiphertextFile {
                    name: f.name.clone(),
                    ciphertext_bytes: f.len,
                    sha256: hex::encode(&f.sha256),
                })
                .collect(),
            dir: r.dir,
            torrent_name: r.torrent_name,
        })
    }
}

/// The grants of one release (no key needed).
#[derive(Clone, Debug, Serialize)]
pub struct GrantList {
    /// Release id.
    pub release_id: String,
    /// Title.
    pub title: String,
    /// In issue order.
    pub grants: Vec<GrantItem>,
}

/// One grant in [`GrantList`]: what the key server's admin API lists, and the e-mail.
#[derive(Clone, Debug, Serialize)]
pub struct GrantItem {
    /// Id, label, viewer, issue time and window.
    #[serde(flatten)]
    pub grant: GrantSummary,
    /// From the recipients CSV.
    pub email: Option<String>,
}

/// List a release's grants.
pub fn grants(home: &PublisherHome, release: &str) -> Result<GrantList> {
    let ledger = home.ledger()?;
    let r = resolve_release(&ledger, release)?;
    let grants = ledger
        .grants(&r.id)?
        .into_iter()
        .map(|g| GrantItem {
            grant: GrantSummary::from(&g),
            email: g.email,
        })
        .collect();
    Ok(GrantList {
        release_id: r.id.to_hex(),
        title: r.title,
        grants,
    })
}

/// A release retired or offered again.
#[derive(Clone, Debug, Serialize)]
pub struct RetireReport {
    /// Release id.
    pub release_id: String,
    /// Title.
    pub title: String,
    /// Whether it is retired now.
    pub retired: bool,
    /// Whether this command changed anything.
    pub changed: bool,
}

/// `reelseal retire RELEASE` (or `--undo`): stop offering a release — `seed` skips it
/// unless it is named — or offer it again. Grants stay valid; revoke them to stop viewers.
pub fn retire(home: &PublisherHome, release: &str, undo: bool) -> Result<RetireReport> {
    let ledger = home.ledger()?;
    let r = resolve_release(&ledger, release)?;
    let changed = if undo {
        ledger.unretire(&r.id, super::ACTOR)?
    } else {
        ledger.retire(&r.id, reelseal_core::validity::now(), super::ACTOR)?
    };
    Ok(RetireReport {
        release_id: r.id.to_hex(),
        title: r.title,
        retired: !undo,
        changed,
    })
}
