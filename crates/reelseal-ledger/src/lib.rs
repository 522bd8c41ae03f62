//! # reelseal-ledger
//!
//! The publisher ledger: an embedded SQLite database in the publisher's home that remembers
//! every release (with its secret key set), every grant issued, and — as later migrations
//! add them — revocations, access codes and the audit log. The file is created on first use
//! with mode 0600; its schema is versioned with `PRAGMA user_version` and migrated forward
//! in one transaction per step.

#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};

use reelseal_core::{keyset::KeySet, GrantId, ReleaseId};
use rusqlite::{params, Connection, OptionalExtension};
use zeroize::Zeroizing;

/// Errors from the ledger, phrased for the person running the command.
#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    /// SQLite failed.
    #[error("ledger database {path}: {source}")]
    Sqlite {
        /// Database path.
        path: String,
        /// Cause.
        #[source]
        source: rusqlite::Error,
    },
    /// No release matches.
    #[error("no release matches {0:?}; `reelseal ls` lists the releases in this ledger")]
    NotFound(String),
    /// Several releases match a prefix.
    #[error("{0:?} matches several releases ({1}); give more of the release id")]
    Ambiguous(String, String),
    /// The ledger was written by a newer reelseal.
    #[error(
        "ledger schema version {0} is newer than this reelseal understands ({1}); upgrade reelseal"
    )]
    TooNew(i64, i64),
    /// Filesystem trouble creating the database.
    #[error("ledger {path}: {source}")]
    Io {
        /// Path.
        path: String,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// Stored data no longer parses.
    #[error("ledger holds damaged data for {0}: {1}")]
    Corrupt(String, String),
}

/// Result with [`LedgerError`].
pub type Result<T> = std::result::Result<T, LedgerError>;

/// Each step upgrades the schema by one version.
const MIGRATIONS: &[&str] = &[
    // 1: releases and grants.
    "CREATE TABLE releases(
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        dir TEXT NOT NULL,
        infohash TEXT NOT NULL,
        torrent_name TEXT NOT NULL,
        created INTEGER NOT NULL,
        card BLOB NOT NULL,
        keyset BLOB NOT NULL,
        supersedes TEXT
     );
     CREATE TABLE grants(
        id TEXT PRIMARY KEY,
        release_id TEXT NOT NULL REFERENCES releases(id),
        viewer TEXT NOT NULL,
        label TEXT NOT NULL,
        not_before INTEGER,
        not_after INTEGER,
        issued INTEGER NOT NULL,
        email TEXT,
        grant_bytes BLOB NOT NULL
     );
     CREATE INDEX grants_by_release ON grants(release_id);
     CREATE TABLE audit(
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        time INTEGER NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
     );",
];

/// A release as the ledger records it.
#[derive(Clone, Debug)]
pub struct ReleaseRow {
    /// Release id.
    pub id: ReleaseId,
    /// Title.
    pub title: String,
    /// Release directory (as given when sealing, made absolute).
    pub dir: PathBuf,
    /// Infohash, 40 hex digits.
    pub infohash: String,
    /// Torrent name.
    pub torrent_name: String,
    /// Unix seconds.
    pub created: i64,
    /// Signed card bytes.
    pub card: Vec<u8>,
    /// The secret key set (canonical encoding).
    pub keyset: Zeroizing<Vec<u8>>,
    /// Release this one supersedes.
    pub supersedes: Option<ReleaseId>,
}

impl ReleaseRow {
    /// The key set, parsed.
    pub fn keys(&self) -> Result<KeySet> {
        KeySet::from_bytes(&self.keyset)
            .map_err(|e| LedgerError::Corrupt(format!("release {}", self.id), e.to_string()))
    }
}

/// A grant as the ledger records it.
#[derive(Clone, Debug)]
pub struct GrantRow {
    /// Grant id.
    pub id: GrantId,
    /// Release.
    pub release: ReleaseId,
    /// Viewer key, `rsview1…`.
    pub viewer: String,
    /// Label.
    pub label: String,
    /// Window start.
    pub not_before: Option<i64>,
    /// Window end.
    pub not_after: Option<i64>,
    /// Issue time.
    pub issued: i64,
    /// Optional e-mail from the recipients CSV.
    pub email: Option<String>,
    /// The signed grant bytes.
    pub grant: Vec<u8>,
}

/// An open ledger.
pub struct Ledger {
    conn: Connection,
    path: PathBuf,
}

impl Ledger {
    /// Open (creating with mode 0600 on first use) and migrate the ledger at `path`.
    pub fn open(path: &Path) -> Result<Ledger> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| LedgerError::Io {
                path: dir.display().to_string(),
                source: e,
            })?;
        }
        create_private(path)?;
        let conn = Connection::open(path).map_err(|e| sql_err(path, e))?;
        let mut l = Ledger {
            conn,
            path: path.to_path_buf(),
        };
        l.conn
            .execute_batch(
                "PRAGMA journal_mode=WAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
            )
            .map_err(|e| l.err(e))?;
        l.migrate()?;
        Ok(l)
    }

    fn err(&self, e: rusqlite::Error) -> LedgerError {
        sql_err(&self.path, e)
    }

    fn migrate(&mut self) -> Result<()> {
        let v: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))?;
        let latest = MIGRATIONS.len() as i64;
        if v > latest {
            return Err(LedgerError::TooNew(v, latest));
        }
        for (i, m) in MIGRATIONS.iter().enumerate().skip(v as usize) {
            let path = self.path.clone();
            let tx = self.conn.transaction().map_err(|e| sql_err(&path, e))?;
            tx.execute_batch(m).map_err(|e| sql_err(&path, e))?;
            tx.execute_batch(&format!("PRAGMA user_version = {}", i + 1))
                .map_err(|e| sql_err(&path, e))?;
            tx.commit().map_err(|e| sql_err(&path, e))?;
        }
        Ok(())
    }

    /// Schema version now in force.
    pub fn schema_version(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(|e| self.err(e))
    }

    /// The database path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Record a new release.
    pub fn add_release(&self, r: &ReleaseRow) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO releases(id,title,dir,infohash,torrent_name,created,card,keyset,supersedes) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                params![
                    r.id.to_hex(),
                    r.title,
                    r.dir.to_string_lossy(),
                    r.infohash,
                    r.torrent_name,
                    r.created,
                    r.card,
                    r.keyset.as_slice(),
                    r.supersedes.map(|s| s.to_hex())
                ],
            )
            .map_err(|e| self.err(e))?;
        self.audit(
            "publisher",
            "seal",
            &format!("release {} {:?}", r.id, r.title),
        )
    }

    /// Forget a release (used when sealing fails after the ledger row was written).
    pub fn remove_release(&self, id: &ReleaseId) -> Result<()> {
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
            .prepare("SELECT id,title,dir,infohash,torrent_name,created,card,keyset,supersedes FROM releases ORDER BY created, id")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([], release_from_row)
            .map_err(|e| self.err(e))?;
        let mut out = Vec::new();
        for r in rows {
            out.push(r.map_err(|e| self.err(e))?);
        }
        Ok(out)
    }

    /// Find a release by id or unique id prefix (at least 4 hex digits).
    pub fn find_release(&self, query: &str) -> Result<ReleaseRow> {
        let q = query.trim().to_ascii_lowercase();
        if q.len() < 4 || !q.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(LedgerError::NotFound(query.to_string()));
        }
        let mut matches: Vec<ReleaseRow> = self
            .releases()?
            .into_iter()
            .filter(|r| r.id.to_hex().starts_with(&q))
            .collect();
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

    /// Look a release up by exact id.
    pub fn release(&self, id: &ReleaseId) -> Result<Option<ReleaseRow>> {
        self.conn
            .query_row(
                "SELECT id,title,dir,infohash,torrent_name,created,card,keyset,supersedes FROM releases WHERE id = ?1",
                [id.to_hex()],
                release_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Record grants, all or none.
    pub fn add_grants(&mut self, grants: &[GrantRow]) -> Result<()> {
        let path = self.path.clone();
        let tx = self.conn.transaction().map_err(|e| sql_err(&path, e))?;
        {
            let mut st = tx
                .prepare_cached("INSERT INTO grants(id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)")
                .map_err(|e| sql_err(&path, e))?;
            let mut audit = tx
                .prepare_cached("INSERT INTO audit(time,actor,action,detail) VALUES (?1,'publisher','grant',?2)")
                .map_err(|e| sql_err(&path, e))?;
            for g in grants {
                st.execute(params![
                    g.id.to_hex(),
                    g.release.to_hex(),
                    g.viewer,
                    g.label,
                    g.not_before,
                    g.not_after,
                    g.issued,
                    g.email,
                    g.grant
                ])
                .map_err(|e| sql_err(&path, e))?;
                audit
                    .execute(params![
                        g.issued,
                        format!(
                            "grant {} release {} to {} ({:?})",
                            g.id, g.release, g.viewer, g.label
                        )
                    ])
                    .map_err(|e| sql_err(&path, e))?;
            }
        }
        tx.commit().map_err(|e| sql_err(&path, e))
    }

    /// Grants of one release, in issue order.
    pub fn grants(&self, release: &ReleaseId) -> Result<Vec<GrantRow>> {
        let mut st = self
            .conn
            .prepare("SELECT id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes FROM grants WHERE release_id = ?1 ORDER BY issued, rowid")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([release.to_hex()], |r| {
                Ok(GrantRow {
                    id: GrantId::from_hex(&r.get::<_, String>(0)?).map_err(conv)?,
                    release: ReleaseId::from_hex(&r.get::<_, String>(1)?).map_err(conv)?,
                    viewer: r.get(2)?,
                    label: r.get(3)?,
                    not_before: r.get(4)?,
                    not_after: r.get(5)?,
                    issued: r.get(6)?,
                    email: r.get(7)?,
                    grant: r.get(8)?,
                })
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

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
}

fn conv(e: reelseal_core::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
}

fn release_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<ReleaseRow> {
    Ok(ReleaseRow {
        id: ReleaseId::from_hex(&r.get::<_, String>(0)?).map_err(conv)?,
        title: r.get(1)?,
        dir: PathBuf::from(r.get::<_, String>(2)?),
        infohash: r.get(3)?,
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

fn sql_err(path: &Path, e: rusqlite::Error) -> LedgerError {
    LedgerError::Sqlite {
        path: path.display().to_string(),
        source: e,
    }
}

/// Create the file with mode 0600 if it does not exist (SQLite gives its WAL and shared
/// memory files the same mode as the database).
fn create_private(path: &Path) -> Result<()> {
    let mut o = std::fs::OpenOptions::new();
    o.create(true).append(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(0o600);
    }
    o.open(path).map_err(|e| LedgerError::Io {
        path: path.display().to_string(),
        source: e,
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_private_and_migrates() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l.sqlite");
        let l = Ledger::open(&p).unwrap();
        assert_eq!(l.schema_version().unwrap(), MIGRATIONS.len() as i64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        drop(l);
        // Reopening is idempotent.
        assert_eq!(
            Ledger::open(&p).unwrap().schema_version().unwrap(),
            MIGRATIONS.len() as i64
        );
    }
}
