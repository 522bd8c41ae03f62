//! `reelseal revoke` and `reelseal revocations`: record a revocation, sign the next list,
//! and export the current one. The rule for the next list lives in the ledger, shared
//! with the key server's admin API.

use std::path::{Path, PathBuf};

use anyhow::Result;
use reelseal_core::validity::{fmt_time, now};
use serde::Serialize;

use super::{Studio, ACTOR};
use crate::fsutil;

/// A revocation made.
#[derive(Clone, Debug, Serialize)]
pub struct RevokeReport {
    /// What was revoked.
    pub revoked: Revoked,
    /// Whether it was not revoked before.
    pub new: bool,
    /// The sequence of the list that includes it.
    pub sequence: u64,
    /// The list file.
    pub list: PathBuf,
}

/// The subject of a revocation.
#[derive(Clone, Debug, Serialize)]
pub struct Revoked {
    /// `grant` or `viewer`.
    pub kind: String,
    /// Grant id or viewer key.
    pub subject: String,
    /// Why.
    pub reason: String,
}

/// The current revocation list, exported.
#[derive(Clone, Debug, Serialize)]
pub struct RevocationsReport {
    /// Its sequence.
    pub sequence: u64,
    /// Where it was written.
    pub file: PathBuf,
    /// Its entries.
    pub entries: Vec<RevocationItem>,
}

/// One entry of [`RevocationsReport`].
#[derive(Clone, Debug, Serialize)]
pub struct RevocationItem {
    /// `grant` or `viewer`.
    pub kind: String,
    /// Grant id or viewer key.
    pub subject: String,
    /// Why.
    pub reason: String,
    /// RFC 3339.
    pub time: String,
}

impl Studio {
    /// Revoke a grant (id or prefix) or every grant of a viewer key, and sign the next list.
    pub fn revoke(&self, subject: &str, reason: &str) -> Result<RevokeReport> {
        let subject = self.ledger.resolve_subject(subject)?;
        let now = now();
        let new = self.ledger.revoke(&subject, reason, now, ACTOR)?;
        let (sequence, bytes) = if new {
            self.ledger.publish_revocations(self.key(), now)?
        } else {
            self.ledger.current_revocations(self.key(), now)?
        };
        let list = self.home.revocations_file();
        fsutil::write_atomic(&list, &bytes, false)?;
        Ok(RevokeReport {
            revoked: Revoked {
                kind: subject.kind().into(),
                subject: subject.to_string(),
                reason: reason.into(),
            },
            new,
            sequence,
            list,
        })
    }

    /// Write the current signed list to `out` (default: the home's `revocations.rsrl`).
    pub fn export_revocations(&self, out: Option<&Path>) -> Result<RevocationsReport> {
        let (sequence, bytes) = self.ledger.current_revocations(self.key(), now())?;
        let file = out
            .map(Path::to_path_buf)
            .unwrap_or_else(|| self.home.revocations_file());
        fsutil::write_atomic(&file, &bytes, false)?;
        let entries = self
            .ledger
            .revocations()?
            .into_iter()
            .map(|r| RevocationItem {
                kind: r.subject.kind().into(),
                subject: r.subject.to_string(),
                reason: r.reason,
                time: fmt_time(r.time),
            })
            .collect();
        Ok(RevocationsReport {
            sequence,
            file,
            entries,
        })
    }
}
