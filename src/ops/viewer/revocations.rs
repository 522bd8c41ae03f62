//! The freshest revocation list a viewer can trust for a publisher: from its key server
//! (unless offline), a file given by hand, and the cache. The highest sequence wins; a
//! lower one than already seen is refused (no rollbacks).
//!
//! A release whose card names a key server needs revocation checks: it opens only with a
//! *current* list — one not past its `next_update` plus the grace in
//! `reelseal_core::revocation`, however it arrived. `--offline` never skips this: it only
//! stops asking the key server, and the cached or given list must still be current. A
//! release that names no key server is checked against whatever list is at hand.

use anyhow::{Context, Result};
use reelseal_core::keys::PublisherPublic;
use reelseal_core::revocation::{RevocationList, GRACE};
use reelseal_core::validity::{fmt_time, now};
use reelseal_keyserver::Client;
use serde::{Deserialize, Serialize};

use super::{RevocationPolicy, Viewer};
use crate::exit::{refuse, Exit};
use crate::feedback::Feedback;
use crate::fsutil;

/// What was seen of one publisher's lists.
#[derive(Serialize, Deserialize, Default, Clone, Copy)]
struct Seen {
    seq: Option<u64>,
}

type SeenMap = std::collections::BTreeMap<String, Seen>;

struct Candidate {
    list: RevocationList,
    bytes: Vec<u8>,
}

/// A release that names a key server opens only with a current list (module docs).
fn require_current(
    ks: &str,
    best: Option<&RevocationList>,
    unreachable: Option<&reelseal_keyserver::ClientError>,
    policy: &RevocationPolicy,
    fb: &dyn Feedback,
) -> Result<()> {
    let why = match (unreachable, policy.offline) {
        (Some(e), _) => format!(" (the key server {ks} cannot be reached: {e})"),
        (None, true) => " (--offline: the key server was not asked)".to_string(),
        (None, false) => String::new(),
    };
    let how = format!("connect to the key server {ks} (without --offline), or get the current list from the filmmaker and pass it with --revocations FILE");
    match best {
        None => Err(refuse(
            Exit::Untrusted,
            format!("this release needs a revocation check, but there is no revocation list of its publisher here{why}. To watch it, {how}"),
        )),
        Some(l) if !l.is_current(now()) => Err(refuse(
            Exit::Untrusted,
            format!(
                "the newest revocation list here (sequence {}) expired: it promised a newer one by {} and the {} h grace has passed{why}. To watch it, {how}",
                l.seq,
                fmt_time(l.next_update),
                GRACE / 3600
            ),
        )),
        Some(l) => {
            if unreachable.is_some() {
                fb.warn(&format!(
                    "cannot reach the key server {ks}; checked against revocation list sequence {}, valid until {}",
                    l.seq,
                    fmt_time(l.next_update)
                ));
            }
            Ok(())
        }
    }
}

impl Viewer {
    fn seen_map(&self) -> SeenMap {
        std::fs::read(self.home.revocations_seen_file())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Highest sequence accepted so far for a publisher.
    fn seen(&self, key: &PublisherPublic) -> Seen {
        self.seen_map()
            .get(&key.to_bech32())
            .copied()
            .unwrap_or_default()
    }

    /// Remember an accepted list (and cache its bytes).
    fn remember(&self, key: &PublisherPublic, c: &Candidate) -> Result<()> {
        let mut m = self.seen_map();
        m.insert(
            key.to_bech32(),
            Seen {
                seq: Some(c.list.seq),
            },
        );
        fsutil::ensure_private_dir(&self.home.dir)?;
        fsutil::write_atomic(
            &self.home.revocations_seen_file(),
            &serde_json::to_vec_pretty(&m)?,
            false,
        )?;
        fsutil::write_atomic(&self.home.revocation_cache(key), &c.bytes, false)
    }

    /// The freshest list for `publisher` (see the module docs); `None` if there is none.
    pub fn freshest_revocations(
        &self,
        publisher: &PublisherPublic,
        key_server: Option<&str>,
        policy: &RevocationPolicy,
        fb: &dyn Feedback,
    ) -> Result<Option<RevocationList>> {
        let seen = self.seen(publisher);
        let mut best: Option<Candidate> = None;
        let mut consider = |bytes: Vec<u8>, from: String, from_server: bool| -> Result<()> {
            // Of two lists with the same sequence, the key server's copy wins (it is what the
            // cache should hold).
            let list = RevocationList::verify(&bytes, publisher, seen.seq).map_err(|e| {
                refuse(Exit::Untrusted, format!("revocation list from {from}: {e}"))
            })?;
            let better = best
                .as_ref()
                .is_none_or(|b| list.seq > b.list.seq || (list.seq == b.list.seq && from_server));
            if better {
                best = Some(Candidate { list, bytes });
            }
            Ok(())
        };
        if let Ok(b) = std::fs::read(self.home.revocation_cache(publisher)) {
            consider(b, "the cache".into(), false)?;
        }
        if let Some(f) = &policy.file {
            let b = std::fs::read(f)
                .with_context(|| format!("cannot read revocation list {}", f.display()))?;
            consider(b, f.display().to_string(), false)?;
        }
        let mut unreachable = None;
        if let (Some(ks), false) = (key_server, policy.offline) {
            match Client::new(ks).and_then(|c| c.revocations()) {
                Ok(b) => consider(b, ks.to_string(), true)?,
                Err(e) => unreachable = Some(e),
            }
        }
        if let Some(ks) = key_server {
            require_current(
                ks,
                best.as_ref().map(|c| &c.list),
                unreachable.as_ref(),
                policy,
                fb,
            )?;
        }
        let Some(c) = best else {
            return Ok(None);
        };
        if seen.seq.is_none_or(|s| c.list.seq >= s) {
            self.remember(publisher, &c)?;
        }
        Ok(Some(c.list))
    }
}
