//! The revocation list: which grants (or whole viewer keys) the publisher has revoked.
//!
//! Signed by the publisher (`"reelseal/v1/revocations" ‖ 0x00 ‖ list bytes`), with a
//! sequence number that only grows: a client remembers the highest it has seen and refuses
//! an older list, so a leaker cannot roll the list back. Entries are sorted and unique.
//!
//! Version 2 lists carry `next_update`: the time by which the publisher promises a newer
//! list. A client that cannot get one treats the revocation state as unknown once
//! `next_update` + [`GRACE`] has passed, so staying offline cannot keep a revoked grant
//! working forever. Version 1 lists (no `next_update`) are still read, as if
//! `next_update` were `issued` + [`DEFAULT_VALIDITY`].

use serde::{Deserialize, Serialize};

use crate::keys::{PublisherPublic, PublisherSecret, ViewerPublic};
use crate::{canonical, Error, GrantId, Result};

/// The version written: 2 (adds `next_update`).
pub const LIST_VERSION: u64 = 2;
/// How long a list is valid unless the publisher says otherwise: 72 hours.
pub const DEFAULT_VALIDITY: i64 = 72 * 3600;
/// How long past `next_update` a client still accepts a list: 24 hours.
pub const GRACE: i64 = 24 * 3600;

/// What is revoked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Subject {
    /// One grant.
    Grant(GrantId),
    /// Every grant to this viewer key.
    Viewer([u8; 32]),
}

impl Subject {
    /// Every grant to this viewer key.
    pub fn viewer(v: &ViewerPublic) -> Self {
        Subject::Viewer(v.to_bytes())
    }
    /// `grant` or `viewer`, as stored and shown.
    pub fn kind(&self) -> &'static str {
        match self {
            Subject::Grant(_) => "grant",
            Subject::Viewer(_) => "viewer",
        }
    }
    /// Back from what [`Subject::kind`] and `Display` wrote (grant id hex, or `rsview1…`).
    pub fn from_parts(kind: &str, text: &str) -> Result<Self> {
        match kind {
            "grant" => Ok(Subject::Grant(GrantId::from_hex(text)?)),
            "viewer" => Ok(Subject::viewer(&ViewerPublic::from_bech32(text)?)),
            k => Err(Error::malformed(
                "revocation subject",
                format!("unknown kind {k:?}"),
            )),
        }
    }
}

impl std::fmt::Display for Subject {
    /// A grant id as 32 hex digits, a viewer key as `rsview1…`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Subject::Grant(g) => write!(f, "{g}"),
            Subject::Viewer(v) => match ViewerPublic::from_bytes(v) {
                Ok(k) => write!(f, "{k}"),
                Err(_) => f.write_str(&hex::encode(v)),
            },
        }
    }
}

/// One revocation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The grant or viewer.
    pub subject: Subject,
    /// Why (shown to the viewer).
    pub reason: String,
    /// When, Unix seconds.
    pub time: i64,
}

/// A verified revocation list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationList {
    /// Publisher that signed it.
    pub publisher: PublisherPublic,
    /// Sequence number; higher is newer.
    pub seq: u64,
    /// Issue time, Unix seconds.
    pub issued: i64,
    /// When a newer list is promised, Unix seconds (≥ `issued`).
    pub next_update: i64,
    /// Entries sorted by subject, unique.
    pub entries: Vec<Entry>,
}

#[derive(Serialize, Deserialize)]
struct WireEntry {
    #[serde(with = "serde_bytes")]
    id: Vec<u8>,
    kind: String,
    reason: String,
    time: i64,
}

#[derive(Serialize, Deserialize)]
struct WireList {
    entries: Vec<WireEntry>,
    issued: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_update: Option<i64>,
    #[serde(with = "serde_bytes")]
    publisher: Vec<u8>,
    seq: u64,
    v: u64,
}

#[derive(Serialize, Deserialize)]
struct WireSigned {
    #[serde(with = "serde_bytes")]
    list: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

impl RevocationList {
    /// Sign a list; entries are sorted by subject and must be unique.
    pub fn sign(mut self, key: &PublisherSecret) -> Result<Vec<u8>> {
        if self.publisher != key.public() {
            return Err(Error::malformed(
                "revocation list",
                "it names a different publisher than the signing key",
            ));
        }
        if self.next_update < self.issued {
            return Err(Error::malformed(
                "revocation list",
                "next_update is before issued",
            ));
        }
        self.entries.sort_by_key(|e| e.subject);
        if self
            .entries
            .windows(2)
            .any(|w| w[0].subject == w[1].subject)
        {
            return Err(Error::malformed("revocation list", "duplicate entry"));
        }
        let wire = WireList {
            entries: self
                .entries
                .iter()
                .map(|e| {
                    let (kind, id) = match e.subject {
                        Subject::Grant(g) => ("grant", g.0.to_vec()),
                        Subject::Viewer(v) => ("viewer", v.to_vec()),
                    };
                    WireEntry {
                        id,
                        kind: kind.into(),
                        reason: e.reason.clone(),
                        time: e.time,
                    }
                })
                .collect(),
            issued: self.issued,
            next_update: Some(self.next_update),
            publisher: self.publisher.to_bytes().to_vec(),
            seq: self.seq,
            v: LIST_VERSION,
        };
        let list = canonical::encode(&wire);
        let sig = key.sign("revocations", &list);
        Ok(canonical::encode(&WireSigned {
            list,
            sig: sig.to_vec(),
        }))
    }

    /// Parse and verify against the pinned publisher key. `seen` is the highest sequence
    /// this client has accepted before; a lower one is a rollback and is refused.
    pub fn verify(bytes: &[u8], pinned: &PublisherPublic, seen: Option<u64>) -> Result<Self> {
        let s: WireSigned = canonical::decode(bytes, "signed revocation list")?;
        let w: WireList = canonical::decode(&s.list, "revocation list")?;
        let next_update = match (w.v, w.next_update) {
            (1, None) => w.issued.saturating_add(DEFAULT_VALIDITY),
            (2, Some(n)) if n >= w.issued => n,
            (2, Some(_)) => {
                return Err(Error::malformed(
                    "revocation list",
                    "next_update is before issued",
                ))
            }
            (1 | 2, _) => {
                return Err(Error::malformed(
                    "revocation list",
                    "next_update is required in version 2 and absent in version 1",
                ))
            }
            (found, _) => {
                return Err(Error::Version {
                    what: "revocation list",
                    found,
                    expected: LIST_VERSION,
                })
            }
        };
        let publisher = PublisherPublic::from_bytes(&w.publisher)?;
        if publisher != *pinned {
            return Err(Error::BadSignature {
                what: "revocation list",
            });
        }
        pinned.verify("revocations", &s.list, &s.sig, "revocation list")?;
        if let Some(seen) = seen {
            if w.seq < seen {
                return Err(Error::Rollback { found: w.seq, seen });
            }
        }
        let mut entries = Vec::with_capacity(w.entries.len());
        for e in w.entries {
            let subject = match e.kind.as_str() {
                "grant" => Subject::Grant(GrantId(crate::fixed(&e.id, "revoked grant id")?)),
                "viewer" => Subject::Viewer(crate::fixed(&e.id, "revoked viewer key")?),
                k => {
                    return Err(Error::malformed(
                        "revocation list",
                        format!("unknown entry kind {k:?}"),
                    ))
                }
            };
            entries.push(Entry {
                subject,
                reason: e.reason,
                time: e.time,
            });
        }
        if entries.windows(2).any(|w| w[0].subject >= w[1].subject) {
            return Err(Error::malformed(
                "revocation list",
                "entries are not sorted and unique",
            ));
        }
        Ok(RevocationList {
            publisher,
            seq: w.seq,
            issued: w.issued,
            next_update,
            entries,
        })
    }

    /// Whether the list still speaks for the publisher at `now`: not past `next_update`
    /// plus [`GRACE`].
    pub fn is_current(&self, now: i64) -> bool {
        now <= self.next_update.saturating_add(GRACE)
    }

    /// The entry that revokes this grant, if any (by grant id or by viewer key).
    pub fn find(&self, grant: &GrantId, viewer: &ViewerPublic) -> Option<&Entry> {
        let v = viewer.to_bytes();
        self.entries
            .iter()
            .find(|e| e.subject == Subject::Grant(*grant) || e.subject == Subject::Viewer(v))
    }
}
