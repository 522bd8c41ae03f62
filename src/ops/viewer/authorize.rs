//! Authorizing a grant: read the `.rskey`, decide whom to trust (one rule), verify every
//! signature, check the revocation list and the window, unwrap the keys. Every refusal
//! carries its documented exit code.

use std::path::Path;

use anyhow::{Context, Result};
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

/// Read a `.rskey` file (a grant, or an access key holding a secret).
pub fn read_key_file(key_file: &Path) -> Result<KeyFile> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(key_file)
            .with_context(|| format!("cannot read {}", key_file.display()))?,
    );
    KeyFile::parse(&text)
        .with_context(|| format!("{} is not a usable key file", key_file.display()))
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
