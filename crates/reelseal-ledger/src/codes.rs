//! One-time access codes, stored by hash, redeemed exactly once.

use reelseal_core::keys::ViewerPublic;
use reelseal_core::validity::{Validity, Window};
use reelseal_core::ReleaseId;
use rusqlite::{params, OptionalExtension};

use crate::grants::{describe, insert_grant};
use crate::{conv, sql_err, GrantRow, Ledger, LedgerError, Result};
use reelseal_core::GrantId;

/// Why a code did not produce a new grant.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Redemption {
    /// Unknown code (the same answer whatever release it might be for).
    Unknown,
    /// Already redeemed by this same viewer: here is their grant again.
    Again(Vec<u8>),
    /// Redeemed by another viewer key.
    Taken,
    /// The code's window has closed.
    Expired(i64),
}

/// A code that can still be redeemed: its release and the window its grant gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FreshCode {
    /// The release the code is for.
    pub release: ReleaseId,
    /// The window of the grant it turns into.
    pub validity: Validity,
}

/// A stored code as any store reads it, for [`code_status`].
#[derive(Clone, Debug)]
pub struct CodeRecord {
    /// The release id, hex.
    pub release: String,
    /// Window start of the grant it turns into.
    pub not_before: Option<i64>,
    /// Window end (the code expires then too).
    pub not_after: Option<i64>,
    /// The viewer key (`rsview1…`) that redeemed it and the grant bytes it got.
    pub redeemed_by: Option<(String, Vec<u8>)>,
}

/// The one rule for what a code lookup means, shared by every store: unknown; already
/// redeemed by this viewer (their grant again) or by another (taken); expired (a code may
/// be redeemed before its grant's window opens, never after it closed); or fresh.
pub fn code_status(
    row: Option<CodeRecord>,
    viewer: &ViewerPublic,
    now: i64,
) -> Result<std::result::Result<FreshCode, Redemption>> {
    let Some(row) = row else {
        return Ok(Err(Redemption::Unknown));
    };
    if let Some((who, grant)) = row.redeemed_by {
        if who != viewer.to_bech32() {
            return Ok(Err(Redemption::Taken));
        }
        if grant.is_empty() {
            return Err(LedgerError::Corrupt(
                "code".into(),
                "redeemed, but its grant is missing".into(),
            ));
        }
        return Ok(Err(Redemption::Again(grant)));
    }
    let corrupt = |e: reelseal_core::Error| LedgerError::Corrupt("code".into(), e.to_string());
    let validity = Validity::new(row.not_before, row.not_after).map_err(corrupt)?;
    if let Window::Expired(t) = validity.check(now) {
        return Ok(Err(Redemption::Expired(t)));
    }
    let release = ReleaseId::from_hex(&row.release).map_err(corrupt)?;
    Ok(Ok(FreshCode { release, validity }))
}

/// What a redemption that lost the race (the conditional update bound nothing) answers:
/// the winner's status for this viewer; a code still looking fresh cannot happen, since
/// codes are never unbound, so it reads as unknown (it vanished).
pub fn lost_race(status: std::result::Result<FreshCode, Redemption>) -> Redemption {
    match status {
        Err(r) => r,
        Ok(_) => Redemption::Unknown,
    }
}

/// A code as the ledger stores it (by hash), for syncing to another store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRow {
    /// SHA-256 of the normalised code.
    pub hash: [u8; 32],
    /// The release it is for.
    pub release: ReleaseId,
    /// The window of the grant it turns into.
    pub validity: Validity,
    /// When it was made.
    pub created: i64,
    /// Who redeemed it, if anyone.
    pub redeemed: Option<CodeRedeemed>,
}

/// A redemption: the viewer who owns a code and the grant they got.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CodeRedeemed {
    /// The viewer key.
    pub viewer: ViewerPublic,
    /// The grant made for them.
    pub grant: GrantId,
    /// When.
    pub time: i64,
}

impl Ledger {
    /// Store one-time access codes by their SHA-256 (the ledger never holds a usable code).
    pub fn add_codes(
        &mut self,
        release: &ReleaseId,
        hashes: &[[u8; 32]],
        validity: Validity,
        now: i64,
        actor: &str,
    ) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_err(&path, e))?;
        {
            let mut st = tx
                .prepare_cached("INSERT INTO codes(code_hash,release_id,not_before,not_after,created) VALUES (?1,?2,?3,?4,?5)")
                .map_err(|e| sql_err(&path, e))?;
            for h in hashes {
                st.execute(params![
                    &h[..],
                    release.to_hex(),
                    validity.not_before(),
                    validity.not_after(),
                    now
                ])
                .map_err(|e| sql_err(&path, e))?;
            }
            tx.execute(
                "INSERT INTO audit(time,actor,action,detail) VALUES (?1,?2,'codes',?3)",
                params![
                    now,
                    actor,
                    format!("{} codes for release {release}", hashes.len())
                ],
            )
            .map_err(|e| sql_err(&path, e))?;
        }
        tx.commit().map_err(|e| sql_err(&path, e))
    }

    /// Look a code up without changing anything: fresh (can still be redeemed by
    /// `viewer`), or why not.
    pub fn code_status(
        &self,
        code_hash: &[u8; 32],
        viewer: &ViewerPublic,
        now: i64,
    ) -> Result<std::result::Result<FreshCode, Redemption>> {
        let row: Option<CodeRecord> = self
            .conn
            .query_row(
                "SELECT c.release_id,c.not_before,c.not_after,c.viewer,g.grant_bytes FROM codes c LEFT JOIN grants g ON g.id = c.grant_id WHERE c.code_hash = ?1",
                [&code_hash[..]],
                |r| {
                    let viewer: Option<String> = r.get(3)?;
                    let grant: Option<Vec<u8>> = r.get(4)?;
                    Ok(CodeRecord {
                        release: r.get(0)?,
                        not_before: r.get(1)?,
                        not_after: r.get(2)?,
                        redeemed_by: viewer.map(|v| (v, grant.unwrap_or_default())),
                    })
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        code_status(row, viewer, now)
    }

    /// Every code, in the order they were made (for `reelseal keyserver sync`).
    pub fn all_codes(&self) -> Result<Vec<CodeRow>> {
        let mut st = self
            .conn
            .prepare("SELECT code_hash,release_id,not_before,not_after,created,viewer,grant_id,redeemed FROM codes ORDER BY created, rowid")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], |r| {
                let hash: Vec<u8> = r.get(0)?;
                Ok(CodeRow {
                    hash: hash.try_into().map_err(|_| {
                        rusqlite::Error::FromSqlConversionFailure(
                            0,
                            rusqlite::types::Type::Blob,
                            "a code hash is not 32 bytes".into(),
                        )
                    })?,
                    release: ReleaseId::from_hex(&r.get::<_, String>(1)?).map_err(conv)?,
                    validity: Validity::new(r.get(2)?, r.get(3)?).map_err(conv)?,
                    created: r.get(4)?,
                    redeemed: match (
                        r.get::<_, Option<String>>(5)?,
                        r.get::<_, Option<String>>(6)?,
                    ) {
                        (Some(v), Some(g)) => Some(CodeRedeemed {
                            viewer: ViewerPublic::from_bech32(&v).map_err(conv)?,
                            grant: GrantId::from_hex(&g).map_err(conv)?,
                            time: r.get::<_, Option<i64>>(7)?.unwrap_or_default(),
                        }),
                        _ => None,
                    },
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Record codes minted elsewhere (through a key server's admin API on another
    /// database), with their redemptions, unless already known, and one audit entry
    /// naming `actor`; returns how many were new. Their grants must already be here.
    pub fn import_codes(&mut self, codes: &[CodeRow], actor: &str, now: i64) -> Result<usize> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_err(&path, e))?;
        let mut added = 0;
        {
            let mut st = tx
                .prepare_cached("INSERT OR IGNORE INTO codes(code_hash,release_id,not_before,not_after,created,viewer,grant_id,redeemed) VALUES (?1,?2,?3,?4,?5,?6,?7,?8)")
                .map_err(|e| sql_err(&path, e))?;
            for c in codes {
                let r = c.redeemed.as_ref();
                added += st
                    .execute(params![
                        &c.hash[..],
                        c.release.to_hex(),
                        c.validity.not_before(),
                        c.validity.not_after(),
                        c.created,
                        r.map(|r| r.viewer.to_bech32()),
                        r.map(|r| r.grant.to_hex()),
                        r.map(|r| r.time),
                    ])
                    .map_err(|e| sql_err(&path, e))?;
            }
        }
        if added > 0 {
            tx.execute(
                "INSERT INTO audit(time,actor,action,detail) VALUES (?1,?2,'import',?3)",
                params![
                    now,
                    actor,
                    format!("{added} codes minted through the key server")
                ],
            )
            .map_err(|e| sql_err(&path, e))?;
        }
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(added)
    }

    /// Record that a code was redeemed elsewhere (by a key server on another database),
    /// with the grant it produced, unless the code is already bound. Returns whether it
    /// changed anything. The grant must already be in this ledger.
    pub fn import_redemption(&mut self, hash: &[u8; 32], r: &CodeRedeemed) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "UPDATE codes SET viewer = ?2, grant_id = ?3, redeemed = ?4 WHERE code_hash = ?1 AND viewer IS NULL",
                params![&hash[..], r.viewer.to_bech32(), r.grant.to_hex(), r.time],
            )
            .map_err(|e| self.err(e))?;
        Ok(n > 0)
    }

    /// Redeem a code with a grant the caller made after [`Ledger::code_status`] said the
    /// code was fresh. In one IMMEDIATE transaction the code is checked again and, if still
    /// unredeemed, bound to the viewer and the grant recorded; otherwise the answer says
    /// who won (the caller's grant is discarded). Exactly one grant ever exists per code.
    pub fn complete_redemption(
        &mut self,
        code_hash: &[u8; 32],
        g: &GrantRow,
        now: i64,
        actor: &str,
    ) -> Result<std::result::Result<Vec<u8>, Redemption>> {
        let path = self.path.clone();
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(|e| sql_err(&path, e))?;
        let free: Option<bool> = tx
            .query_row(
                "SELECT viewer IS NULL FROM codes WHERE code_hash = ?1",
                [&code_hash[..]],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| sql_err(&path, e))?;
        if free != Some(true) {
            drop(tx); // someone else won the race (or the code vanished): say who
            return Ok(Err(lost_race(self.code_status(code_hash, &g.viewer, now)?)));
        }
        insert_grant(&tx, g).map_err(|e| sql_err(&path, e))?;
        tx.execute(
            "UPDATE codes SET viewer = ?2, grant_id = ?3, redeemed = ?4 WHERE code_hash = ?1",
            params![&code_hash[..], g.viewer.to_bech32(), g.id.to_hex(), now],
        )
        .map_err(|e| sql_err(&path, e))?;
        tx.execute(
            "INSERT INTO audit(time,actor,action,detail) VALUES (?1,?2,'redeem',?3)",
            params![now, actor, describe(g)],
        )
        .map_err(|e| sql_err(&path, e))?;
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(Ok(g.grant.clone()))
    }
}
