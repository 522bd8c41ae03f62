//! Revocations and the signed revocation lists made from them.
//!
//! The rule for publishing lives here once, for the CLI and the key server alike: the next
//! list has the previous sequence plus one and every recorded revocation, signed by the
//! publisher, stored before it is handed out.

use reelseal_core::keys::{PublisherSecret, ViewerPublic};
use reelseal_core::revocation::{Entry, RevocationList, Subject};
use reelseal_core::GrantId;
use rusqlite::{params, OptionalExtension};

use crate::{conv, Ledger, LedgerError, Result};

/// A revocation as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationRow {
    /// The grant or viewer revoked.
    pub subject: Subject,
    /// Why.
    pub reason: String,
    /// When.
    pub time: i64,
}

fn revocation_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RevocationRow> {
    let kind: String = r.get(0)?;
    let subject: String = r.get(1)?;
    Ok(RevocationRow {
        subject: Subject::from_parts(&kind, &subject).map_err(conv)?,
        reason: r.get(2)?,
        time: r.get(3)?,
    })
}

impl Ledger {
    /// Record a revocation (idempotent per subject: the first reason stands), with an
    /// audit entry naming `actor`. Returns whether it is new.
    pub fn revoke(&self, subject: &Subject, reason: &str, time: i64, actor: &str) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO revocations(kind,subject,reason,time) VALUES (?1,?2,?3,?4)",
                params![subject.kind(), subject.to_string(), reason, time],
            )
            .map_err(|e| self.err(e))?;
        if n > 0 {
            self.conn
                .execute(
                    "DELETE FROM unrevocations WHERE kind = ?1 AND subject = ?2",
                    params![subject.kind(), subject.to_string()],
                )
                .map_err(|e| self.err(e))?;
            self.audit(
                actor,
                "revoke",
                &format!("{} {subject}: {reason}", subject.kind()),
            )?;
        }
        Ok(n > 0)
    }

    /// Take a revocation back (a mistake, a key recovered), with an audit entry naming
    /// `actor` and the revocation's reason. The next signed list leaves it out, so viewers
    /// who fetch it can open again. Refused when `subject` is not revoked.
    pub fn unrevoke(&self, subject: &Subject, why: &str, actor: &str) -> Result<RevocationRow> {
        let row = self
            .conn
            .query_row(
                "SELECT kind,subject,reason,time FROM revocations WHERE kind = ?1 AND subject = ?2",
                params![subject.kind(), subject.to_string()],
                revocation_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))?
            .ok_or_else(|| LedgerError::NotRevoked(format!("{} {subject}", subject.kind())))?;
        self.conn
            .execute(
                "DELETE FROM revocations WHERE kind = ?1 AND subject = ?2",
                params![subject.kind(), subject.to_string()],
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "INSERT OR REPLACE INTO unrevocations(kind,subject,time) VALUES (?1,?2,strftime('%s','now'))",
                params![subject.kind(), subject.to_string()],
            )
            .map_err(|e| self.err(e))?;
        self.audit(
            actor,
            "unrevoke",
            &format!(
                "{} {subject} (was revoked: {}): {why}",
                subject.kind(),
                row.reason
            ),
        )?;
        Ok(row)
    }

    /// Revocations taken back with [`Ledger::unrevoke`] (and not revoked again since).
    pub fn unrevocations(&self) -> Result<Vec<Subject>> {
        let mut st = self
            .conn
            .prepare("SELECT kind, subject FROM unrevocations ORDER BY time, subject")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let kind: String = r.get(0)?;
                let subject: String = r.get(1)?;
                Subject::from_parts(&kind, &subject).map_err(conv)
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Every revocation.
    pub fn revocations(&self) -> Result<Vec<RevocationRow>> {
        let mut st = self
            .conn
            .prepare("SELECT kind,subject,reason,time FROM revocations ORDER BY time, subject")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], revocation_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Is this grant (or its viewer) revoked?
    pub fn is_revoked(
        &self,
        grant: &GrantId,
        viewer: &ViewerPublic,
    ) -> Result<Option<RevocationRow>> {
        self.conn
            .query_row(
                "SELECT kind,subject,reason,time FROM revocations WHERE (kind='grant' AND subject=?1) OR (kind='viewer' AND subject=?2) LIMIT 1",
                params![grant.to_hex(), viewer.to_bech32()],
                revocation_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// The newest signed revocation list and its sequence number.
    pub fn latest_revocation_list(&self) -> Result<Option<(u64, Vec<u8>)>> {
        self.conn
            .query_row(
                "SELECT seq, list FROM revocation_lists ORDER BY seq DESC LIMIT 1",
                [],
                |r| Ok((r.get::<_, i64>(0)? as u64, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Sign the next revocation list (sequence + 1, every recorded revocation, valid for
    /// `validity` seconds) and store it. Returns `(sequence, signed bytes)`.
    pub fn publish_revocations(
        &self,
        sk: &PublisherSecret,
        now: i64,
        validity: i64,
    ) -> Result<(u64, Vec<u8>)> {
        let previous = self.latest_revocation_list()?.map(|(s, _)| s);
        let (seq, bytes) = next_revocation_list(previous, self.revocations()?, sk, now, validity)?;
        if !self.store_revocation_list(seq, now, &bytes)? {
            return Err(LedgerError::Corrupt(
                format!("revocation list {seq}"),
                "it was stored twice at once".into(),
            ));
        }
        Ok((seq, bytes))
    }

    /// Store a signed list made elsewhere (by [`next_revocation_list`]) unless one with its
    /// sequence is stored; returns whether it was new.
    pub fn store_revocation_list(&self, seq: u64, issued: i64, bytes: &[u8]) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO revocation_lists(seq,issued,list) VALUES (?1,?2,?3)",
                params![seq as i64, issued, bytes],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// The signed revocation list to hand out now: the newest one while less than half of
    /// its validity has passed, else a fresh one (same entries, sequence + 1, valid for
    /// `validity` seconds) — so viewers always get a list well before it expires. The first
    /// (empty) list is made the same way.
    pub fn current_revocations(
        &self,
        sk: &PublisherSecret,
        now: i64,
        validity: i64,
    ) -> Result<(u64, Vec<u8>)> {
        if let Some((seq, bytes)) = self.latest_revocation_list()? {
            if still_current(&bytes, sk, now)? {
                return Ok((seq, bytes));
            }
        }
        self.publish_revocations(sk, now, validity)
    }

    /// Turn what a person types — a grant id, a unique prefix of 8+ hex digits, or a viewer
    /// key `rsview1…` — into a revocation subject this ledger knows.
    pub fn resolve_subject(&self, arg: &str) -> Result<Subject> {
        match SubjectArg::parse(arg)? {
            SubjectArg::Viewer(s) => Ok(s),
            SubjectArg::GrantPrefix(q) => {
                let found: Vec<GrantId> =
                    self.grants_with_prefix(&q)?.iter().map(|g| g.id).collect();
                SubjectArg::pick(arg, &found)
            }
        }
    }
}

/// The longest chain of rotations followed to the newest release (a guard against a cycle
/// in damaged data); every store follows `supersedes` links the same way.
pub const MAX_SUPERSEDE_STEPS: usize = 64;

/// What a person typed to name a revocation subject, parsed; the store then looks the
/// prefix up and [`SubjectArg::pick`] decides. One rule for the CLI and every key server store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SubjectArg {
    /// A viewer key (`rsview1…`): every grant to it.
    Viewer(Subject),
    /// A grant id or a prefix of 8+ hex digits, lowercase.
    GrantPrefix(String),
}

impl SubjectArg {
    /// Parse a grant id, a prefix of 8+ hex digits, or `rsview1…`.
    pub fn parse(arg: &str) -> Result<SubjectArg> {
        let arg = arg.trim();
        if arg.to_ascii_lowercase().starts_with("rsview1") {
            let v = ViewerPublic::from_bech32(arg)
                .map_err(|_| LedgerError::BadSubject(arg.to_string()))?;
            return Ok(SubjectArg::Viewer(Subject::viewer(&v)));
        }
        let q = arg.to_ascii_lowercase();
        if q.len() < 8 || q.len() > 32 || !q.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(LedgerError::BadSubject(arg.to_string()));
        }
        Ok(SubjectArg::GrantPrefix(q))
    }

    /// The grant a prefix names, given every grant whose id starts with it.
    pub fn pick(arg: &str, found: &[GrantId]) -> Result<Subject> {
        match found {
            [] => Err(LedgerError::NoSuchGrant(arg.trim().to_string())),
            [g] => Ok(Subject::Grant(*g)),
            _ => Err(LedgerError::AmbiguousGrant(
                arg.trim().to_string(),
                found.len(),
            )),
        }
    }
}

/// Whether a stored list may still be handed out at `now`: while less than half of its
/// validity has passed, so viewers always get a list well before it expires. Every store
/// decides so.
pub fn still_current(bytes: &[u8], sk: &PublisherSecret, now: i64) -> Result<bool> {
    let l = RevocationList::verify(bytes, &sk.public(), None)?;
    Ok(now < l.issued + (l.next_update - l.issued) / 2)
}

/// The rule for the next signed revocation list, for every store: the previous sequence
/// plus one (1 for the first), every recorded revocation, issued `now` and valid for
/// `validity` seconds, signed by the publisher. The caller stores it before handing it out.
pub fn next_revocation_list(
    previous: Option<u64>,
    revocations: Vec<RevocationRow>,
    sk: &PublisherSecret,
    now: i64,
    validity: i64,
) -> Result<(u64, Vec<u8>)> {
    let seq = previous.unwrap_or(0) + 1;
    let entries = revocations
        .into_iter()
        .map(|r| Entry {
            subject: r.subject,
            reason: r.reason,
            time: r.time,
        })
        .collect();
    let bytes = RevocationList {
        publisher: sk.public(),
        seq,
        issued: now,
        next_update: now.saturating_add(validity.max(0)),
        entries,
    }
    .sign(sk)?;
    Ok((seq, bytes))
}
