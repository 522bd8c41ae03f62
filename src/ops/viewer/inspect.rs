//! `reelview inspect`: what a grant or access key is for, without decrypting anything.

use std::path::Path;

use anyhow::Result;
use reelseal_core::grant::{Grant, KeyFile};
use reelseal_core::validity::{fmt_time, now, Window};
use serde::Serialize;

use super::authorize::read_key_file;
use super::Viewer;
use crate::exit::Exit;

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
    /// Web seeds (BEP 19) on the card.
    pub web_seeds: Vec<String>,
    /// Ciphertext files (names and sizes of the film files are in the encrypted manifest).
    pub ciphertext_files: Vec<CiphertextEntry>,
    /// The name the publisher was pinned under.
    #[serde(skip)]
    pub pinned_name: Option<String>,
    /// The window in words.
    #[serde(skip)]
    pub window: String,
    /// Whether this viewer can use it now, and if not why.
    pub verdict: Verdict,
}

/// Can this viewer use the grant now? Checked offline: signatures (with the key the grant
/// names), whose it is, and the window — not revocations, which `open`/`fetch` check.
#[derive(Clone, Debug, Serialize)]
pub struct Verdict {
    /// Usable by this viewer now.
    pub ok: bool,
    /// `for_you_valid_now`, `bad_signature`, `not_your_key`, `not_yet_valid`, `expired`,
    /// or `no_viewer_key_here` (a grant, and no viewer key in this home to compare).
    pub status: &'static str,
    /// The verdict in words.
    pub message: String,
    /// The exit code it maps to.
    #[serde(skip)]
    pub exit: Exit,
}

fn verdict(signed: bool, mine: Option<bool>, window: Window, now: i64) -> Verdict {
    let v = |ok, status, message: String, exit| Verdict {
        ok,
        status,
        message,
        exit,
    };
    if !signed {
        return v(
            false,
            "bad_signature",
            "signatures invalid: this grant was edited or not made by the publisher it names"
                .into(),
            Exit::Untrusted,
        );
    }
    match (mine, window) {
        (Some(false), _) => v(false, "not_your_key", "not for you: it names another viewer key".into(), Exit::NotMyKey),
        (_, Window::NotYet(t)) => v(false, "not_yet_valid", format!("not valid yet: it opens {} (in {})", fmt_time(t), in_words(t - now)), Exit::Window),
        (_, Window::Expired(t)) => v(false, "expired", format!("expired: it closed {} ({} ago)", fmt_time(t), in_words(now - t)), Exit::Window),
        (None, Window::Open) => v(true, "no_viewer_key_here", "valid now; no viewer key in this home to tell whether it is yours (`reelview keygen`, or --home)".into(), Exit::Success),
        (Some(true), Window::Open) => v(true, "for_you_valid_now", "for you · valid now".into(), Exit::Success),
    }
}

/// A duration in the largest whole unit: `29 days`, `5 hours`, `12 minutes`.
fn in_words(secs: i64) -> String {
    let secs = secs.max(0);
    let (n, unit) = match secs {
        s if s >= 2 * 86_400 => (s / 86_400, "days"),
        s if s >= 2 * 3600 => (s / 3600, "hours"),
        s if s >= 120 => (s / 60, "minutes"),
        s => (s, "seconds"),
    };
    format!("{n} {unit}")
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
        let signed = Grant::verify(kf.grant_bytes(), &publisher).is_ok();
        let mine = match &kf {
            KeyFile::Access(a) => Some(a.secret.public() == p.viewer),
            KeyFile::Grant(_) => self
                .home
                .key_file()
                .exists()
                .then(|| self.home.secret(&crate::feedback::Silent))
                .transpose()?
                .map(|s| s.public() == p.viewer),
        };
        let now = now();
        let mut verdict = verdict(signed, mine, p.validity.check(now), now);
        if verdict.ok {
            if let Some(end) = p.validity.not_after() {
                verdict.message = format!("{} · {} left", verdict.message, in_words(end - now));
            }
        }
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
            signatures_valid: signed,
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
            web_seeds: c.web_seeds.clone(),
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
            verdict,
        })
    }
}
