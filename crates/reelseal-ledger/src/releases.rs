//! Releases: recorded when sealed, looked up by id, prefix or supersession.

use std::path::{Path, PathBuf};

use reelseal_core::{InfoHash, ReleaseId};
use rusqlite::{params, OptionalExtension};
use zeroize::Zeroizing;

use crate::{conv, Ledger, LedgerError, ReleaseRow, Result};

const COLUMNS: &str = "id,title,dir,infohash,torrent_name,created,card,keyset,supersedes";

impl Ledger {
    /// Record a new release.
    pub fn add_release(&self, r: &ReleaseRow, actor: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO releases(id,title,dir,infohash,torrent_name,created,card,keyset,supersedes) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                params![
                    r.id.to_hex(),
                    r.title,
                    r.dir.to_string_lossy(),
                    r.infohash.to_hex(),
                    r.torrent_name,
                    r.created,
                    r.card,
                    r.keyset.as_slice(),
                    r.supersedes.map(|s| s.to_hex())
                ],
            )
            .map_err(|e| self.err(e))?;
        self.audit(actor, "seal", &format!("release {} {:?}", r.id, r.title))
    }

    /// Forget a release (used when sealing fails after the ledger row was written).
    pub fn remove_release(&self, id: &ReleaseId) -> Result<()> {
        self.conn
            .execute(
                "DELETE FROM trace_codes WHERE release_id = ?1",
                [id.to_hex()],
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .execute(
                "DELETE FROM fingerprints WHERE release_id = ?1",
                [id.to_hex()],
            )
            .map_err(|e| self.err(e))?;
        self.conn
            .execute("DELETE FROM releases WHERE id = ?1", [id.to_hex()])
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Update where a release's directory is.
    pub fn set_release_dir(&self, id: &ReleaseId, dir: &Path) -> Result<()> {
        self.conn
            .execute(
                "UPDATE releases SET dir = ?2 WHERE id = ?1",
                params![id.to_hex(), dir.to_string_lossy()],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every release, oldest first.
    pub fn releases(&self) -> Result<Vec<ReleaseRow>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM releases ORDER BY created, id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], release_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Find a release by id, unique id prefix (at least 4 hex digits) or unique title
    /// (exact, ignoring case). An id prefix wins over a title that looks like one.
    pub fn find_release(&self, query: &str) -> Result<ReleaseRow> {
        let all = self.releases()?;
        let q = query.trim().to_ascii_lowercase();
        let mut matches: Vec<ReleaseRow> =
            if q.len() >= 4 && q.chars().all(|c| c.is_ascii_hexdigit()) {
                all.iter()
                    .filter(|r| r.id.to_hex().starts_with(&q))
                    .cloned()
                    .collect()
            } else {
                Vec::new()
            };
        if matches.is_empty() {
            matches = all
                .into_iter()
                .filter(|r| r.title.trim().to_lowercase() == query.trim().to_lowercase())
                .collect();
        }
        match matches.len() {
            0 => Err(LedgerError::NotFound(query.to_string())),
            1 => Ok(matches.remove(0)),
            _ => Err(LedgerError::Ambiguous(
                query.to_string(),
                matches
                    .iter()
                    .map(|r| r.id.to_hex()[..12].to_string())
                    .collect::<Vec<_>>()
                    .join(", "),
            )),
        }
    }

    /// Stop offering a release (`reelseal retire`): `seed` skips it unless named. Returns
    /// whether it was newly retired.
    pub fn retire(&self, id: &ReleaseId, time: i64, actor: &str) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO retired(release_id,time) VALUES (?1,?2)",
                params![id.to_hex(), time],
            )
            .map_err(|e| self.err(e))?;
        if n > 0 {
            self.audit(actor, "retire", &format!("release {id}"))?;
        }
        Ok(n > 0)
    }

    /// Offer a retired release again. Returns whether it was retired.
    pub fn unretire(&self, id: &ReleaseId, actor: &str) -> Result<bool> {
        let n = self
            .conn
            .execute("DELETE FROM retired WHERE release_id = ?1", [id.to_hex()])
            .map_err(|e| self.err(e))?;
        if n > 0 {
            self.audit(actor, "unretire", &format!("release {id}"))?;
        }
        Ok(n > 0)
    }

    /// Remember the fingerprint of the files a release was sealed from.
    pub fn record_fingerprint(&self, id: &ReleaseId, fingerprint: &str) -> Result<()> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO fingerprints(release_id,fingerprint) VALUES (?1,?2)",
                params![id.to_hex(), fingerprint],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Releases sealed from files with this fingerprint, oldest first.
    pub fn releases_with_fingerprint(&self, fingerprint: &str) -> Result<Vec<ReleaseRow>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {} FROM releases r JOIN fingerprints f ON f.release_id = r.id WHERE f.fingerprint = ?1 ORDER BY r.created, r.id",
                COLUMNS.split(',').map(|c| format!("r.{c}")).collect::<Vec<_>>().join(",")
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([fingerprint], release_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// When a release was retired, if it was.
    pub fn retired(&self, id: &ReleaseId) -> Result<Option<i64>> {
        self.conn
            .query_row(
                "SELECT time FROM retired WHERE release_id = ?1",
                [id.to_hex()],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Look a release up by exact id.
    pub fn release(&self, id: &ReleaseId) -> Result<Option<ReleaseRow>> {
        self.conn
            .query_row(
                &format!("SELECT {COLUMNS} FROM releases WHERE id = ?1"),
                [id.to_hex()],
                release_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Releases that directly supersede `id`.
    pub fn successors(&self, id: &ReleaseId) -> Result<Vec<ReleaseRow>> {
        let mut st = self
            .conn
            .prepare(&format!(
                "SELECT {COLUMNS} FROM releases WHERE supersedes = ?1 ORDER BY created, id"
            ))
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([id.to_hex()], release_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Follow `supersedes` links forward from `id` to the newest release (the latest
    /// successor at each step; at most [`crate::MAX_SUPERSEDE_STEPS`] steps). `None` if nothing supersedes `id`.
    pub fn newest_successor(&self, id: &ReleaseId) -> Result<Option<ReleaseId>> {
        let mut cur = *id;
        let mut found = None;
        for _ in 0..crate::MAX_SUPERSEDE_STEPS {
            match self.successors(&cur)?.into_iter().max_by_key(|r| r.created) {
                Some(r) => {
                    cur = r.id;
                    found = Some(r.id);
                }
                None => break,
            }
        }
        Ok(found)
    }
}

pub(crate) fn release_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReleaseRow> {
    Ok(ReleaseRow {
        id: ReleaseId::from_hex(&r.get::<_, String>(0)?).map_err(conv)?,
        title: r.get(1)?,
        dir: PathBuf::from(r.get::<_, String>(2)?),
        infohash: InfoHash::from_hex(&r.get::<_, String>(3)?).map_err(conv)?,
        torrent_name: r.get(4)?,
        created: r.get(5)?,
        card: r.get(6)?,
        keyset: Zeroizing::new(r.get(7)?),
        supersedes: r
            .get::<_, Option<String>>(8)?
            .map(|s| ReleaseId::from_hex(&s))
            .transpose()
            .map_err(conv)?,
    })
}
