//! One-time access codes, stored by hash, redeemed exactly once.

use reelseal_core::keys::ViewerPublic;
use reelseal_core::validity::{Validity, Window};
use reelseal_core::ReleaseId;
use rusqlite::{params, OptionalExtension};

use crate::grants::{describe, insert_grant};
use crate::{sql_err, GrantRow, Ledger, LedgerError, Result};

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
        type CodeRow = (
            String,
            Option<i64>,
            Option<i64>,
            Option<String>,
            Option<String>,
        );
        let row: Option<CodeRow> = self
            .conn
            .query_row(
                "SELECT release_id,not_before,not_after,viewer,grant_id FROM codes WHERE code_hash = ?1",
                [&code_hash[..]],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((release, nb, na, who, grant_id)) = row else {
            return Ok(Err(Redemption::Unknown));
        };
        if let Some(who) = who {
            if who != viewer.to_bech32() {
                return Ok(Err(Redemption::Taken));
            }
            let g: Vec<u8> = self
                .conn
                .query_row(
                    "SELECT grant_bytes FROM grants WHERE id = ?1",
                    [grant_id.unwrap_or_default()],
                    |r| r.get(0),
                )
                .map_err(|e| self.err(e))?;
            return Ok(Err(Redemption::Again(g)));
        }
        let corrupt = |e: reelseal_core::Error| LedgerError::Corrupt("code".into(), e.to_string());
        let validity = Validity::new(nb, na).map_err(corrupt)?;
        // A code may be redeemed before its grant's window opens, never after it closed.
        if let Window::Expired(t) = validity.check(now) {
            return Ok(Err(Redemption::Expired(t)));
        }
        let release = ReleaseId::from_hex(&release).map_err(corrupt)?;
        Ok(Ok(FreshCode { release, validity }))
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
            return match self.code_status(code_hash, &g.viewer, now)? {
                Err(r) => Ok(Err(r)),
                Ok(_) => Ok(Err(Redemption::Unknown)),
            };
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
