//! Grants: recorded in batches, listed per release or per viewer.

use reelseal_core::keys::ViewerPublic;
use reelseal_core::validity::Validity;
use reelseal_core::{GrantId, ReleaseId};
use rusqlite::{params, OptionalExtension, Transaction};

use crate::{conv, sql_err, GrantRow, Ledger, Result};

const COLUMNS: &str = "id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes,(SELECT bits FROM codewords WHERE codewords.grant_id = grants.id)";

impl Ledger {
    /// Record grants, all or none, each with an audit entry naming `actor`.
    pub fn add_grants(&mut self, grants: &[GrantRow], actor: &str) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_err(&path, e))?;
        for g in grants {
            insert_grant(&tx, g).map_err(|e| sql_err(&path, e))?;
            tx.execute(
                "INSERT INTO audit(time,actor,action,detail) VALUES (?1,?2,'grant',?3)",
                params![g.issued, actor, describe(g)],
            )
            .map_err(|e| sql_err(&path, e))?;
        }
        tx.commit().map_err(|e| sql_err(&path, e))
    }

    /// Record grants issued elsewhere (by a key server on another database) that this
    /// ledger lacks, with one audit entry naming `actor`; returns how many were new.
    pub fn import_grants(&mut self, grants: &[GrantRow], actor: &str, now: i64) -> Result<usize> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_err(&path, e))?;
        let mut added = 0;
        for g in grants {
            let known: bool = tx
                .query_row(
                    "SELECT EXISTS(SELECT 1 FROM grants WHERE id = ?1)",
                    [g.id.to_hex()],
                    |r| r.get(0),
                )
                .map_err(|e| sql_err(&path, e))?;
            if !known {
                insert_grant(&tx, g).map_err(|e| sql_err(&path, e))?;
                added += 1;
            }
        }
        if added > 0 {
            tx.execute(
                "INSERT INTO audit(time,actor,action,detail) VALUES (?1,?2,'import',?3)",
                params![
                    now,
                    actor,
                    format!("{added} grants issued by the key server")
                ],
            )
            .map_err(|e| sql_err(&path, e))?;
        }
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(added)
    }

    /// Every grant, in issue order.
    pub fn all_grants(&self) -> Result<Vec<GrantRow>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM grants ORDER BY issued, rowid"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st.query_map([], grant_from_row).map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Grants of one release, in issue order.
    pub fn grants(&self, release: &ReleaseId) -> Result<Vec<GrantRow>> {
        self.grants_where("release_id = ?1 ORDER BY issued, rowid", release.to_hex())
    }

    /// Grants to a viewer key, newest first.
    pub fn grants_for_viewer(&self, viewer: &ViewerPublic) -> Result<Vec<GrantRow>> {
        self.grants_where(
            "viewer = ?1 ORDER BY issued DESC, rowid DESC",
            viewer.to_bech32(),
        )
    }

    /// Every grant whose id starts with `prefix` (lowercase hex).
    pub fn grants_with_prefix(&self, prefix: &str) -> Result<Vec<GrantRow>> {
        self.grants_where(
            "id LIKE ?1 || '%' ORDER BY issued, rowid",
            prefix.to_string(),
        )
    }

    /// Find a grant by id.
    pub fn grant(&self, id: &GrantId) -> Result<Option<GrantRow>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM grants WHERE id = ?1"),
                [id.to_hex()],
                grant_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    fn grants_where(&self, clause: &str, arg: String) -> Result<Vec<GrantRow>> {
        let mut st = self
            .conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM grants WHERE {clause}"))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([arg], grant_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }
}

/// Insert a grant (and its codeword) inside a transaction.
pub(crate) fn insert_grant(tx: &Transaction<'_>, g: &GrantRow) -> rusqlite::Result<()> {
    tx.prepare_cached("INSERT INTO grants(id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")?
        .execute(params![
            g.id.to_hex(),
            g.release.to_hex(),
            g.viewer.to_bech32(),
            g.label,
            g.validity.not_before(),
            g.validity.not_after(),
            g.issued,
            g.email,
            g.grant
        ])?;
    if let Some(bits) = &g.codeword {
        tx.prepare_cached("INSERT INTO codewords(grant_id,bits) VALUES (?1,?2)")?
            .execute(params![g.id.to_hex(), bits])?;
    }
    Ok(())
}

/// The audit text for a grant (the same in every store).
pub fn describe(g: &GrantRow) -> String {
    format!(
        "grant {} release {} to {} ({:?})",
        g.id, g.release, g.viewer, g.label
    )
}

pub(crate) fn grant_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRow> {
    Ok(GrantRow {
        id: GrantId::from_hex(&r.get::<_, String>(0)?).map_err(conv)?,
        release: ReleaseId::from_hex(&r.get::<_, String>(1)?).map_err(conv)?,
        viewer: ViewerPublic::from_bech32(&r.get::<_, String>(2)?).map_err(conv)?,
        label: r.get(3)?,
        validity: Validity::new(r.get(4)?, r.get(5)?).map_err(conv)?,
        issued: r.get(6)?,
        email: r.get(7)?,
        grant: r.get(8)?,
        codeword: r.get(9)?,
    })
}
