//! The freshest revocation list a viewer can trust for a publisher: from its key server
//! (unless offline), a file given by hand, and the cache. The highest sequence wins; a
//! lower one than already seen is refused (no rollbacks). If the key server cannot be
//! reached, a list fetched from it within [`OFFLINE_GRACE_SECS`] still counts; older than
//! that, or never fetched, the grant is refused unless `--offline` says to rely on what
//! is here.

use anyhow::{Context, Result};
use reelseal_core::keys::PublisherPublic;
use reelseal_core::revocation::RevocationList;
use reelseal_core::validity::{fmt_time, now};
use reelseal_keyserver::Client;
use serde::{Deserialize, Serialize};

use super::{RevocationPolicy, Viewer};
use crate::exit::{refuse, Exit};
use crate::feedback::Feedback;
use crate::fsutil;

/// How long a cached revocation list may stand in for an unreachable key server.
pub const OFFLINE_GRACE_SECS: i64 = 72 * 3600;

/// What was seen of one publisher's lists.
#[derive(Serialize, Deserialize, Default, Clone, Copy)]
struct Seen {
    seq: Option<u64>,
    fetched: Option<i64>,
}

type SeenMap = std::collections::BTreeMap<String, Seen>;

struct Candidate {
    list: RevocationList,
    bytes: Vec<u8>,
    from_server: bool,
}

impl Viewer {
    fn seen_map(&self) -> SeenMap {
        std::fs::read(self.home.revocations_seen_file())
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Highest sequence accepted so far for a publisher, and when a list was last fetched
    /// from its key server.
    fn seen(&self, key: &PublisherPublic) -> Seen {
        self.seen_map()
            .get(&key.to_bech32())
            .copied()
            .unwrap_or_default()
    }

    /// Remember an accepted list (and cache its bytes).
    fn remember(&self, key: &PublisherPublic, c: &Candidate) -> Result<()> {
        let mut m = self.seen_map();
        let old = m.get(&key.to_bech32()).copied().unwrap_or_default();
        m.insert(
            key.to_bech32(),
            Seen {
                seq: Some(c.list.seq),
                fetched: c.from_server.then(now).or(old.fetched),
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
            let list = RevocationList::verify(&bytes, publisher, seen.seq).map_err(|e| {
                refuse(Exit::Untrusted, format!("revocation list from {from}: {e}"))
            })?;
            let better = best
                .as_ref()
                .is_none_or(|b| list.seq > b.list.seq || (list.seq == b.list.seq && from_server));
            if better {
                best = Some(Candidate {
                    list,
                    bytes,
                    from_server,
                });
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
        if let (Some(ks), false) = (key_server, policy.offline) {
            match Client::new(ks).and_then(|c| c.revocations()) {
                Ok(b) => consider(b, ks.to_string(), true)?,
                Err(e) => match seen.fetched {
                    Some(at) if now() - at <= OFFLINE_GRACE_SECS => fb.warn(&format!(
                        "cannot reach the key server {ks} ({e}); using the revocation list fetched {} (valid offline for 72 hours)",
                        fmt_time(at)
                    )),
                    _ => {
                        return Err(refuse(
                            Exit::Untrusted,
                            format!(
                                "cannot reach the key server {ks} to check for revocations ({e}); last successful check: {}. Retry when online, or pass --offline to rely on {}",
                                seen.fetched.map(fmt_time).unwrap_or_else(|| "never".into()),
                                if best.is_some() { "the cached list" } else { "no revocation list at all" }
                            ),
                        ))
                    }
                },
            }
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
