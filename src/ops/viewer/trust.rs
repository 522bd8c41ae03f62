//! Pinned publishers and the one rule that decides whom to trust.
//!
//! [`Viewer::decide_publisher`] is the only place the decision is made, for `open`,
//! `fetch`, `play`, `redeem` and `renew` alike, and it is the strictest reading of the
//! flags: a publisher named with `--publisher` must be the one the grant claims (pinned or
//! not); otherwise a pinned key is accepted; otherwise `--trust-on-first-use` accepts and
//! pins; otherwise the grant is refused. Pinning happens only after the grant verified.

use anyhow::{Context, Result};
use reelseal_core::keys::PublisherPublic;
use reelseal_core::validity::{fmt_time, now};
use serde::{Deserialize, Serialize};

use super::{TrustPolicy, Viewer};
use crate::exit::{refuse, Exit};
use crate::fsutil;

#[derive(Serialize, Deserialize, Default)]
struct TrustStore {
    publishers: Vec<Pinned>,
}

#[derive(Serialize, Deserialize, Clone)]
struct Pinned {
    key: String,
    name: String,
    added: String,
}

/// Whom to trust for one grant, and whether to pin them once it verifies.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Decision {
    /// The key to verify the grant with.
    pub publisher: PublisherPublic,
    /// Pin it after the grant verified (`--trust-on-first-use` on an unpinned key).
    pub pin: bool,
}

/// `reelview trust KEY`.
#[derive(Clone, Debug, Serialize)]
pub struct TrustReport {
    /// The key.
    pub publisher: String,
    /// The name given.
    pub name: Option<String>,
    /// Whether it was not pinned before.
    pub newly_pinned: bool,
    /// The name it had, when `--name` renamed an already pinned key.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub renamed_from: Option<String>,
}

/// `reelview trust --list`.
#[derive(Clone, Debug, Serialize)]
pub struct TrustList {
    /// Every pinned publisher.
    pub publishers: Vec<PinnedPublisher>,
}

/// One pinned publisher.
#[derive(Clone, Debug, Serialize)]
pub struct PinnedPublisher {
    /// The key.
    pub publisher: String,
    /// The name it was pinned under.
    pub name: String,
    /// When.
    pub added: String,
}

/// `reelview trust --remove KEY`.
#[derive(Clone, Debug, Serialize)]
pub struct TrustRemoved {
    /// The key unpinned.
    pub removed: String,
    /// Whether it was pinned.
    pub was_pinned: bool,
}

impl Viewer {
    fn trust_store(&self) -> Result<TrustStore> {
        let p = self.home.trust_file();
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b)
                .with_context(|| format!("{} is damaged; fix or remove it", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(TrustStore::default()),
            Err(e) => Err(e).with_context(|| format!("cannot read {}", p.display())),
        }
    }

    /// The name a publisher was pinned under, if pinned.
    pub fn pinned(&self, key: &PublisherPublic) -> Result<Option<String>> {
        let k = key.to_bech32();
        Ok(self
            .trust_store()?
            .publishers
            .into_iter()
            .find(|p| p.key == k)
            .map(|p| p.name))
    }

    /// Pin a publisher key; `false` if it was pinned already.
    pub fn pin(&self, key: &PublisherPublic, name: &str) -> Result<bool> {
        let mut t = self.trust_store()?;
        let k = key.to_bech32();
        if t.publishers.iter().any(|p| p.key == k) {
            return Ok(false);
        }
        t.publishers.push(Pinned {
            key: k,
            name: name.to_string(),
            added: fmt_time(now()),
        });
        self.save_trust(&t)?;
        Ok(true)
    }

    /// `reelview trust KEY [--name N]`: pin, or rename a pinned key.
    pub fn trust(&self, key: &PublisherPublic, name: Option<&str>) -> Result<TrustReport> {
        let mut renamed_from = None;
        if let (Some(old), Some(new)) = (self.pinned(key)?, name) {
            if old != new {
                let mut t = self.trust_store()?;
                for p in t.publishers.iter_mut().filter(|p| p.key == key.to_bech32()) {
                    p.name = new.to_string();
                }
                self.save_trust(&t)?;
                renamed_from = Some(old);
            }
        }
        let newly_pinned = self.pin(key, name.unwrap_or(""))?;
        Ok(TrustReport {
            publisher: key.to_bech32(),
            name: name.map(String::from),
            newly_pinned,
            renamed_from,
        })
    }

    /// Every pinned publisher.
    pub fn trusted(&self) -> Result<TrustList> {
        Ok(TrustList {
            publishers: self
                .trust_store()?
                .publishers
                .into_iter()
                .map(|p| PinnedPublisher {
                    publisher: p.key,
                    name: p.name,
                    added: p.added,
                })
                .collect(),
        })
    }

    /// Unpin a publisher: their grants are refused again until pinned or named.
    pub fn untrust(&self, key: &PublisherPublic) -> Result<TrustRemoved> {
        let mut t = self.trust_store()?;
        let before = t.publishers.len();
        t.publishers.retain(|p| p.key != key.to_bech32());
        let was_pinned = t.publishers.len() != before;
        if was_pinned {
            self.save_trust(&t)?;
        }
        Ok(TrustRemoved {
            removed: key.to_bech32(),
            was_pinned,
        })
    }

    fn save_trust(&self, t: &TrustStore) -> Result<()> {
        fsutil::ensure_private_dir(&self.home.dir)?;
        fsutil::write_atomic(
            &self.home.trust_file(),
            &serde_json::to_vec_pretty(t)?,
            false,
        )
    }

    /// The one trust rule (see the module docs). `what` names the grant in messages.
    pub fn decide_publisher(
        &self,
        claimed: &PublisherPublic,
        policy: &TrustPolicy,
        what: &str,
    ) -> Result<Decision> {
        let pinned = self.pinned(claimed)?.is_some();
        if let Some(named) = &policy.publisher {
            if named != claimed {
                return Err(refuse(
                    Exit::Untrusted,
                    format!("{what} was not issued by --publisher {named} (it claims {claimed}); refusing it"),
                ));
            }
            return Ok(Decision {
                publisher: *named,
                pin: policy.trust_on_first_use && !pinned,
            });
        }
        if pinned {
            return Ok(Decision {
                publisher: *claimed,
                pin: false,
            });
        }
        if policy.trust_on_first_use {
            return Ok(Decision {
                publisher: *claimed,
                pin: true,
            });
        }
        Err(refuse(
            Exit::Untrusted,
            format!(
                "the publisher of {what} ({claimed}) is not pinned. Check that key with the filmmaker, then run `reelview trust {claimed}`, or pass --publisher {claimed} for this run, or --trust-on-first-use to pin it now"
            ),
        ))
    }
}
