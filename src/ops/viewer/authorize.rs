//! Authorizing a grant: read the `.rskey`, decide whom to trust (one rule), verify every
//! signature, check the revocation list and the window, unwrap the keys. Every refusal
//! carries its documented exit code.

use std::path::Path;

use anyhow::{bail, Context, Result};
use reelseal_core::grant::{Grant, KeyFile};
use reelseal_core::keys::PublisherPublic;
use reelseal_core::keyset::KeySet;
use reelseal_core::validity::{fmt_time, now, Window};
use reelseal_keyserver::Client;

use super::{Access, Viewer};
use crate::exit::{refuse, Exit};
use crate::feedback::Feedback;

/// A grant that passed every check, and its keys.
pub struct Authorized {
    /// The verified grant.
    pub grant: Grant,
    /// The unwrapped key set.
    pub keys: KeySet,
    /// Its publisher.
    pub publisher: PublisherPublic,
}

/// Largest key file read (a grant of a traced release with thousands of variant keys is a
/// few hundred KiB).
const MAX_KEY_FILE: u64 = 16 << 20;

/// Read a `.rskey` file (a grant, or an access key holding a secret, possibly pasted into a
/// mail). Anything else is named for what it is.
pub fn read_key_file(key_file: &Path) -> Result<KeyFile> {
    let shown = key_file.display();
    if key_file.to_string_lossy().starts_with("magnet:") {
        return Err(refuse(Exit::Usage, "a magnet link alone opens nothing: give the .rskey grant the filmmaker sent you (it names the release and carries your key)"));
    }
    let len = std::fs::metadata(key_file)
        .with_context(|| format!("cannot read {shown}"))?
        .len();
    if len > MAX_KEY_FILE {
        bail!("{shown} is {len} bytes: far too large for a grant (.rskey); is it the film?");
    }
    let bytes = zeroize::Zeroizing::new(
        std::fs::read(key_file).with_context(|| format!("cannot read {shown}"))?,
    );
    // Not UTF-8: parse nothing (an empty text), so the file is named for what it is.
    let parsed = KeyFile::parse(std::str::from_utf8(&bytes).unwrap_or(""));
    parsed.map_err(|e| match what_is(&bytes) {
        Some(it) => anyhow::anyhow!(
            "{shown} is {it}, not a grant: the filmmaker sends each viewer a .rskey file"
        ),
        None => anyhow::Error::new(e).context(format!("{shown} is not a usable key file")),
    })
}

/// What a file that is not a key file is, when it is one of ours (or a torrent).
fn what_is(bytes: &[u8]) -> Option<&'static str> {
    use reelseal_core::torrent::Metainfo;
    if Metainfo::from_bytes(bytes).is_ok() || bytes.starts_with(b"d8:announce") {
        return Some("a torrent (release.torrent)");
    }
    if reelseal_core::card::SignedCard::inspect(bytes).is_ok() {
        return Some("a release card (card.rscard)");
    }
    if bytes.starts_with(b"d4:list") {
        return Some("a signed revocation list (use it with --revocations FILE)");
    }
    let lower = std::str::from_utf8(bytes).ok()?.to_ascii_lowercase();
    if lower.contains("reelseal-viewer-secret-1") {
        return Some(
            "a viewer secret key file (viewer.key: keep it private; it belongs in your --home)",
        );
    }
    if lower.contains("reelseal-publisher-secret-1") {
        return Some("a publisher secret key file");
    }
    if lower.trim().starts_with("rspub1") {
        return Some("a publisher's public key (pin it with `reelview trust`)");
    }
    if lower.trim().starts_with("rsview1") {
        return Some("a viewer's public key");
    }
    None
}

impl Viewer {
    /// Check a grant file for this viewer, now.
    pub fn authorize(
        &self,
        key_file: &Path,
        access: &Access,
        fb: &dyn Feedback,
    ) -> Result<Authorized> {
        let kf = read_key_file(key_file)?;
        let claims = Grant::inspect(kf.grant_bytes())
            .with_context(|| format!("{} holds a damaged grant", key_file.display()))?;
        let what = key_file.display().to_string();
        let decision = self.decide_publisher(&claims.card.publisher_key(), &access.trust, &what)?;
        let publisher = decision.publisher;
        let grant = Grant::verify(kf.grant_bytes(), &publisher)
            .map_err(|e| refuse(Exit::Untrusted, format!("{what}: {e}. Refusing it.")))?;
        if decision.pin && self.pin(&publisher, "")? {
            fb.note(&format!(
                "pinned publisher {publisher} (trust on first use)"
            ));
        }
        let p = grant.params();
        let card = grant.card().card();
        let key_server = card.key_server.as_deref();
        if let Some(list) =
            self.freshest_revocations(&publisher, key_server, &access.revocations, fb)?
        {
            if let Some(e) = list.find(&p.id, &p.viewer) {
                return Err(refuse(
                    Exit::Revoked,
                    format!(
                        "grant {} ({}) was revoked on {}: {}. Ask the filmmaker for a new grant.",
                        p.id,
                        p.label,
                        fmt_time(e.time),
                        e.reason
                    ),
                ));
            }
        }
        if let (Some(ks), false) = (key_server, access.revocations.offline) {
            superseded_notice(ks, &card.release_id(), key_file, fb);
        }
        match grant.window(now()) {
            Window::Open => {}
            Window::NotYet(t) => {
                return Err(refuse(
                    Exit::Window,
                    format!(
                        "grant {} ({}) is not valid yet: it opens {}",
                        p.id,
                        p.label,
                        fmt_time(t)
                    ),
                ))
            }
            Window::Expired(t) => {
                return Err(refuse(
                    Exit::Window,
                    format!(
                        "grant {} ({}) expired: it closed {}. Ask the filmmaker for a new grant.",
                        p.id,
                        p.label,
                        fmt_time(t)
                    ),
                ))
            }
        }
        let secret = match kf {
            KeyFile::Access(a) => a.secret,
            KeyFile::Grant(_) => self.home.secret(fb)?,
        };
        let keys = grant.unwrap_keys(&secret).map_err(|e| match e {
            reelseal_core::Error::NotMyGrant { .. } => refuse(
                Exit::NotMyKey,
                format!("{what}: {e}. Use the viewer home it was made for (--home), or ask for a grant to your key."),
            ),
            other => refuse(Exit::Untrusted, format!("{what}: {other}")),
        })?;
        Ok(Authorized {
            grant,
            keys,
            publisher,
        })
    }
}

/// Ask the card's key server whether this release was superseded (best effort).
fn superseded_notice(
    key_server: &str,
    release: &reelseal_core::ReleaseId,
    key_file: &Path,
    fb: &dyn Feedback,
) {
    if let Ok(n) = Client::new(key_server).and_then(|c| c.newest(release)) {
        if n.superseded {
            fb.note(&format!(
                "a newer release ({}) replaces this one. Get your grant for it with `reelview renew {}` (or ask the filmmaker).",
                n.newest.as_deref().unwrap_or("?"),
                key_file.display()
            ));
        }
    }
}
