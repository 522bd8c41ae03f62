//! `reelview inspect`: what a grant or access key is for, without decrypting anything.

use std::path::Path;

use anyhow::Result;
use reelseal_core::grant::{Grant, KeyFile};
use reelseal_core::validity::fmt_time;
use serde::Serialize;

use super::authorize::read_key_file;
use super::Viewer;

/// What a key file says about itself.
#[derive(Clone, Debug, Serialize)]
pub struct InspectReport {
    /// `grant` or `access_key`.
    pub kind: &'static str,
    /// Title.
    pub title: String,
    /// Release id.
    pub release_id: String,
    /// Publisher key the grant claims.
    pub publisher: String,
    /// Whether that key is pinned here.
    pub publisher_pinned: bool,
    /// Whether card and grant verify with that key.
    pub signatures_valid: bool,
    /// Grant id.
    pub grant_id: String,
    /// Label.
    pub label: String,
    /// Viewer key.
    pub viewer: String,
    /// RFC 3339.
    pub not_before: Option<String>,
    /// RFC 3339.
    pub not_after: Option<String>,
    /// RFC 3339.
    pub issued: String,
    /// Infohash.
    pub infohash: String,
    /// Magnet link.
    pub magnet: String,
    /// The release this one re-keys.
    pub supersedes: Option<String>,
    /// Key server.
    pub key_server: Option<String>,
    /// Ciphertext files (names and sizes of the film files are in the encrypted manifest).
    pub ciphertext_files: Vec<CiphertextEntry>,
    /// The name the publisher was pinned under.
    #[serde(skip)]
    pub pinned_name: Option<String>,
    /// The window in words.
    #[serde(skip)]
    pub window: String,
}

/// One ciphertext file.
#[derive(Clone, Debug, Serialize)]
pub struct CiphertextEntry {
    /// Opaque name.
    pub name: String,
    /// Length.
    pub bytes: u64,
}

impl Viewer {
    /// Inspect a key file.
    pub fn inspect(&self, key_file: &Path) -> Result<InspectReport> {
        let kf = read_key_file(key_file)?;
        let claims = Grant::inspect(kf.grant_bytes())?;
        let c = &claims.card;
        let publisher = c.publisher_key();
        let pinned_name = self.pinned(&publisher)?;
        let p = &claims.params;
        Ok(InspectReport {
            kind: if matches!(kf, KeyFile::Access(_)) {
                "access_key"
            } else {
                "grant"
            },
            title: c.title.clone(),
            release_id: c.release_id().to_hex(),
            publisher: publisher.to_bech32(),
            publisher_pinned: pinned_name.is_some(),
            signatures_valid: Grant::verify(kf.grant_bytes(), &publisher).is_ok(),
            grant_id: p.id.to_hex(),
            label: p.label.clone(),
            viewer: p.viewer.to_bech32(),
            not_before: p.validity.not_before().map(fmt_time),
            not_after: p.validity.not_after().map(fmt_time),
            issued: fmt_time(p.issued),
            infohash: c.infohash_hex(),
            magnet: c.magnet(""),
            supersedes: c.supersedes_id().map(|s| s.to_hex()),
            key_server: c.key_server.clone(),
            ciphertext_files: c
                .files
                .iter()
                .map(|f| CiphertextEntry {
                    name: f.name.clone(),
                    bytes: f.len,
                })
                .collect(),
            pinned_name,
            window: p.validity.describe(),
        })
    }
}
