//! The audit log: who did what, appended in the same transaction as the change.

use rusqlite::params;

use crate::{Ledger, Result};

/// One audit log entry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEntry {
    /// Sequence number (grows by one per entry).
    pub seq: i64,
    /// Unix seconds.
    pub time: i64,
    /// Who: "publisher", "admin api", "redeem from 127.0.0.1", "viewer rsview1…".
    pub actor: String,
    /// What: seal, grant, revoke, codes, redeem, renew.
    pub action: String,
    /// Details.
    pub detail: String,
}

impl Ledger {
    /// Append to the audit log.
    pub fn audit(&self, actor: &str, action: &str, detail: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO audit(time,actor,action,detail) VALUES (strftime('%s','now'),?1,?2,?3)",
                params![actor, action, detail],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// The newest `limit` audit entries, oldest first.
    pub fn audit_log(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        let mut st = self
            .conn
            .prepare("SELECT seq,time,actor,action,detail FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT ?1) ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([limit], |r| {
                Ok(AuditEntry {
                    seq: r.get(0)?,
                    time: r.get(1)?,
                    actor: r.get(2)?,
                    action: r.get(3)?,
                    detail: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }
}
