//! `reelseal revoke` and `reelseal revocations`: record a revocation, sign the next list,
//! and export the current one. The rule for the next list lives in the ledger, shared
//! with the key server's admin API.

use std::path::{Path, PathBuf};

use anyhow::Result;
use reelseal_core::revocation::{RevocationList, Subject, DEFAULT_VALIDITY};
use reelseal_core::validity::{fmt_time, now};
use serde::Serialize;

use super::{Studio, ACTOR};
use crate::feedback::Feedback;
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
    /// The releases whose grants it covers.
    pub affected: Vec<Affected>,
}

/// A revocation taken back.
#[derive(Clone, Debug, Serialize)]
pub struct UnrevokeReport {
    /// What is no longer revoked (with the reason it had been).
    pub unrevoked: Revoked,
    /// Why it was taken back.
    pub why: String,
    /// The sequence of the first list without it.
    pub sequence: u64,
    /// The list file.
    pub list: PathBuf,
    /// The releases whose grants open again.
    pub affected: Vec<Affected>,
}

/// A release a revocation reaches.
#[derive(Clone, Debug, Serialize)]
pub struct Affected {
    /// Release id.
    pub release_id: String,
    /// Title.
    pub title: String,
    /// Its grants the revocation covers.
    pub grants: usize,
    /// The key server viewers learn revocations from; `None`: only from a list file.
    pub key_server: Option<String>,
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
    /// When viewers stop accepting it (plus a day's grace): hand out a newer one before.
    pub next_update: String,
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
    /// Revoke a grant (id or prefix) or every grant of a viewer key, and sign the next
    /// list, valid for `validity` seconds.
    pub fn revoke(
        &self,
        subject: &str,
        reason: &str,
        validity: i64,
        fb: &dyn Feedback,
    ) -> Result<RevokeReport> {
        let subject = self.ledger.resolve_subject(subject)?;
        let affected = self.affected_by(&subject)?;
        for a in affected.iter().filter(|a| a.key_server.is_none()) {
            fb.warn(&format!(
                "release {} ({}) names no key server: its viewers learn of this revocation only from a list file you hand them (`reelseal revocations --out FILE`, then `reelview … --revocations FILE`)",
                &a.release_id[..12],
                a.title
            ));
        }
        let now = now();
        let new = self.ledger.revoke(&subject, reason, now, ACTOR)?;
        let (sequence, bytes) = if new {
            self.ledger.publish_revocations(self.key(), now, validity)?
        } else {
            self.ledger.current_revocations(self.key(), now, validity)?
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
            affected,
        })
    }

    /// Take back a revocation and sign the next list without it (valid for `validity`
    /// seconds); the audit log records who, why, and the revocation's reason.
    pub fn unrevoke(
        &self,
        subject: &str,
        why: &str,
        validity: i64,
        fb: &dyn Feedback,
    ) -> Result<UnrevokeReport> {
        let subject = self.ledger.resolve_subject(subject)?;
        let affected = self.affected_by(&subject)?;
        let was = self.ledger.unrevoke(&subject, why, ACTOR)?;
        let (sequence, bytes) = self
            .ledger
            .publish_revocations(self.key(), now(), validity)?;
        let list = self.home.revocations_file();
        fsutil::write_atomic(&list, &bytes, false)?;
        if affected.iter().any(|a| a.key_server.is_none()) {
            fb.warn("viewers without a key server keep refusing until they are handed the new list (`reelseal revocations --out FILE`)");
        }
        Ok(UnrevokeReport {
            unrevoked: Revoked {
                kind: subject.kind().into(),
                subject: subject.to_string(),
                reason: was.reason,
            },
            why: why.into(),
            sequence,
            list,
            affected,
        })
    }

    /// The releases (and how many of their grants) a revocation subject covers.
    fn affected_by(&self, subject: &Subject) -> Result<Vec<Affected>> {
        let grants = match subject {
            Subject::Grant(id) => self.ledger.grant(id)?.into_iter().collect(),
            Subject::Viewer(v) => self
                .ledger
                .grants_for_viewer(&reelseal_core::keys::ViewerPublic::from_bytes(v)?)?,
        };
        let mut out: Vec<Affected> = Vec::new();
        for g in grants {
            if let Some(a) = out.iter_mut().find(|a| a.release_id == g.release.to_hex()) {
                a.grants += 1;
                continue;
            }
            let Some(r) = self.ledger.release(&g.release)? else {
                continue;
            };
            let card = self.card(&r)?;
            out.push(Affected {
                release_id: r.id.to_hex(),
                title: r.title,
                grants: 1,
                key_server: card.card().key_server.clone(),
            });
        }
        Ok(out)
    }

    /// Write the current signed list to `out` (default: the home's `revocations.rsrl`). With
    /// `valid_for`, sign a new list valid that long; else hand out the current one (a new
    /// one, valid [`DEFAULT_VALIDITY`], once half of its validity has passed).
    pub fn export_revocations(
        &self,
        out: Option<&Path>,
        valid_for: Option<i64>,
    ) -> Result<RevocationsReport> {
        let (sequence, bytes) = match valid_for {
            Some(v) => self.ledger.publish_revocations(self.key(), now(), v)?,
            None => self
                .ledger
                .current_revocations(self.key(), now(), DEFAULT_VALIDITY)?,
        };
        let list = RevocationList::verify(&bytes, &self.key().public(), None)?;
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
            next_update: fmt_time(list.next_update),
            entries,
        })
    }
}
