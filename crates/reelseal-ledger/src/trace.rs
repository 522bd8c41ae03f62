//! Tracing codes: the secret per-position biases of a release sealed with variants.

use reelseal_core::tardos::{Code, Params};
use reelseal_core::ReleaseId;
use rusqlite::{params, OptionalExtension};

use crate::{Ledger, LedgerError, Result};

/// A mark's secret key, and the release sealed from its renditions.
pub type MarkRow = (zeroize::Zeroizing<Vec<u8>>, Option<ReleaseId>);

impl Ledger {
    /// Record the secret key of a new tracing mark.
    pub fn add_mark(&self, id: &str, created: i64, key: &[u8; 32], actor: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO marks(id,created,mark_key) VALUES (?1,?2,?3)",
                params![id, created, &key[..]],
            )
            .map_err(|e| self.err(e))?;
        self.audit(actor, "mark", &format!("mark {id}"))
    }

    /// A mark's secret key and the release sealed from it, if any.
    pub fn mark(&self, id: &str) -> Result<Option<MarkRow>> {
        let row: Option<(Vec<u8>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT mark_key, release_id FROM marks WHERE id = ?1",
                [id],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        row.map(|(k, r)| {
            let release = r
                .map(|r| ReleaseId::from_hex(&r))
                .transpose()
                .map_err(|e| LedgerError::Corrupt(format!("mark {id}"), e.to_string()))?;
            Ok((zeroize::Zeroizing::new(k), release))
        })
        .transpose()
    }

    /// Note which release was sealed from a mark's renditions.
    pub fn link_mark(&self, id: &str, release: &ReleaseId) -> Result<()> {
        self.conn
            .execute(
                "UPDATE marks SET release_id = ?2 WHERE id = ?1",
                params![id, release.to_hex()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Record a release's tracing code.
    pub fn set_trace_code(&self, release: &ReleaseId, code: &Code) -> Result<()> {
        let biases: Vec<u8> = code.biases.iter().flat_map(|b| b.to_le_bytes()).collect();
        self.conn
            .execute(
                "INSERT OR REPLACE INTO trace_codes(release_id,viewers,colluders,epsilon,cutoff,biases) VALUES (?1,?2,?3,?4,?5,?6)",
                params![
                    release.to_hex(),
                    code.params.n as i64,
                    code.params.c,
                    code.params.eps,
                    code.cutoff,
                    biases
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A release's tracing code, if it has variant segments.
    pub fn trace_code(&self, release: &ReleaseId) -> Result<Option<Code>> {
        let row = self
            .conn
            .query_row(
                "SELECT viewers,colluders,epsilon,cutoff,biases FROM trace_codes WHERE release_id = ?1",
                [release.to_hex()],
                |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, u32>(1)?,
                        r.get::<_, f64>(2)?,
                        r.get::<_, f64>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                    ))
                },
            )
            .optional()
            .map_err(|e| self.err(e))?;
        let Some((n, c, eps, cutoff, b)) = row else {
            return Ok(None);
        };
        if b.len() % 8 != 0 {
            return Err(LedgerError::Corrupt(
                format!("release {release}"),
                "its tracing biases are not whole numbers".into(),
            ));
        }
        Ok(Some(Code {
            params: Params {
                n: n as u64,
                c,
                eps,
            },
            cutoff,
            biases: b
                .chunks_exact(8)
                .map(|x| f64::from_le_bytes(x.try_into().expect("8 bytes")))
                .collect(),
        }))
    }
}
