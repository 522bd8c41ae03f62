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
    // 2: revocations, signed revocation lists, one-time access codes (stored hashed).
    "CREATE TABLE revocations(
        kind TEXT NOT NULL CHECK (kind IN ('grant','viewer')),
        subject TEXT NOT NULL,
        reason TEXT NOT NULL,
        time INTEGER NOT NULL,
        PRIMARY KEY (kind, subject)
     );
     CREATE TABLE revocation_lists(
        seq INTEGER PRIMARY KEY,
        issued INTEGER NOT NULL,
        list BLOB NOT NULL
     );
     CREATE TABLE codes(
        code_hash BLOB PRIMARY KEY,
        release_id TEXT NOT NULL REFERENCES releases(id),
        not_before INTEGER,
        not_after INTEGER,
        created INTEGER NOT NULL,
        viewer TEXT,
        grant_id TEXT REFERENCES grants(id),
        redeemed INTEGER
     );
     CREATE INDEX grants_by_viewer ON grants(viewer);",
    // 3: tracing codes (per-release secret biases) and per-grant codewords.
    "CREATE TABLE trace_codes(
        release_id TEXT PRIMARY KEY REFERENCES releases(id),
        viewers INTEGER NOT NULL,
        colluders INTEGER NOT NULL,
        epsilon REAL NOT NULL,
        cutoff REAL NOT NULL,
        biases BLOB NOT NULL
     );
     CREATE TABLE codewords(
        grant_id TEXT PRIMARY KEY REFERENCES grants(id),
        bits BLOB NOT NULL
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
    /// The grant's tracing codeword (packed bits), for releases with variant segments.
    pub codeword: Option<Vec<u8>>,
}

/// A release's tracing code: what was asked for and the secret per-position biases.
#[derive(Clone, Debug, PartialEq)]
pub struct TraceCodeRow {
    /// Release.
    pub release: ReleaseId,
    /// Viewers, coalition size and ε the code was designed for.
    pub params: reelseal_core::tardos::Params,
    /// Bias cutoff δ.
    pub cutoff: f64,
    /// One secret bias per traced segment.
    pub biases: Vec<f64>,
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
                "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;",
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
            .execute(
                "DELETE FROM trace_codes WHERE release_id = ?1",
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
            let mut code = tx
                .prepare_cached("INSERT INTO codewords(grant_id,bits) VALUES (?1,?2)")
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
                if let Some(bits) = &g.codeword {
                    code.execute(params![g.id.to_hex(), bits])
                        .map_err(|e| sql_err(&path, e))?;
                }
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
            .prepare("SELECT id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes,(SELECT bits FROM codewords WHERE codewords.grant_id = grants.id) FROM grants WHERE release_id = ?1 ORDER BY issued, rowid")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([release.to_hex()], grant_from_row)
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

/// A revocation as recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevocationRow {
    /// `grant` or `viewer`.
    pub kind: String,
    /// Grant id (hex) or viewer key (`rsview1…`).
    pub subject: String,
    /// Why.
    pub reason: String,
    /// When.
    pub time: i64,
}

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

fn revocation_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<RevocationRow> {
    Ok(RevocationRow {
        kind: r.get(0)?,
        subject: r.get(1)?,
        reason: r.get(2)?,
        time: r.get(3)?,
    })
}

impl Ledger {
    /// Record a revocation (idempotent per subject: the first reason stands). Returns
    /// whether it is new.
    pub fn revoke(&self, kind: &str, subject: &str, reason: &str, time: i64) -> Result<bool> {
        let n = self
            .conn
            .execute(
                "INSERT OR IGNORE INTO revocations(kind,subject,reason,time) VALUES (?1,?2,?3,?4)",
                params![kind, subject, reason, time],
            )
            .map_err(|e| self.err(e))?;
        if n > 0 {
            self.audit(
                "publisher",
                "revoke",
                &format!("{kind} {subject}: {reason}"),
            )?;
        }
        Ok(n > 0)
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
    pub fn is_revoked(&self, grant: &GrantId, viewer: &str) -> Result<Option<RevocationRow>> {
        self.conn
            .query_row(
                "SELECT kind,subject,reason,time FROM revocations WHERE (kind='grant' AND subject=?1) OR (kind='viewer' AND subject=?2) LIMIT 1",
                params![grant.to_hex(), viewer],
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

    /// Store a newly signed list.
    pub fn store_revocation_list(&self, seq: u64, issued: i64, list: &[u8]) -> Result<()> {
        self.conn
            .execute(
                "INSERT INTO revocation_lists(seq,issued,list) VALUES (?1,?2,?3)",
                params![seq as i64, issued, list],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Find a grant by id.
    pub fn grant(&self, id: &GrantId) -> Result<Option<GrantRow>> {
        self.conn
            .query_row(
                "SELECT id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes,(SELECT bits FROM codewords WHERE codewords.grant_id = grants.id) FROM grants WHERE id = ?1",
                [id.to_hex()],
                grant_from_row,
            )
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Grants to a viewer key, newest first.
    pub fn grants_for_viewer(&self, viewer: &str) -> Result<Vec<GrantRow>> {
        let mut st = self
            .conn
            .prepare("SELECT id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes,(SELECT bits FROM codewords WHERE codewords.grant_id = grants.id) FROM grants WHERE viewer = ?1 ORDER BY issued DESC, rowid DESC")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([viewer], grant_from_row)
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Store one-time access codes by their SHA-256 (the ledger never holds a usable code).
    pub fn add_codes(
        &mut self,
        release: &ReleaseId,
        hashes: &[[u8; 32]],
        not_before: Option<i64>,
        not_after: Option<i64>,
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
                    not_before,
                    not_after,
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

    /// Look a code up without changing anything: `Ok((release, not_before, not_after))` if
    /// it can still be redeemed by `viewer` (fresh), or why not.
    pub fn code_status(
        &self,
        code_hash: &[u8; 32],
        viewer: &str,
        now: i64,
    ) -> Result<std::result::Result<(ReleaseId, Option<i64>, Option<i64>), Redemption>> {
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
            if who != viewer {
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
        if let Some(na) = na {
            if now > na {
                return Ok(Err(Redemption::Expired(na)));
            }
        }
        let release = ReleaseId::from_hex(&release)
            .map_err(|e| LedgerError::Corrupt("code".into(), e.to_string()))?;
        Ok(Ok((release, nb, na)))
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
        tx.execute(
            "INSERT INTO grants(id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
            params![g.id.to_hex(), g.release.to_hex(), g.viewer, g.label, g.not_before, g.not_after, g.issued, g.email, g.grant],
        )
        .map_err(|e| sql_err(&path, e))?;
        if let Some(bits) = &g.codeword {
            tx.execute(
                "INSERT INTO codewords(grant_id,bits) VALUES (?1,?2)",
                params![g.id.to_hex(), bits],
            )
            .map_err(|e| sql_err(&path, e))?;
        }
        tx.execute(
            "UPDATE codes SET viewer = ?2, grant_id = ?3, redeemed = ?4 WHERE code_hash = ?1",
            params![&code_hash[..], g.viewer, g.id.to_hex(), now],
        )
        .map_err(|e| sql_err(&path, e))?;
        tx.execute(
            "INSERT INTO audit(time,actor,action,detail) VALUES (?1,?2,'redeem',?3)",
            params![
                now,
                actor,
                format!("grant {} release {} to {}", g.id, g.release, g.viewer)
            ],
        )
        .map_err(|e| sql_err(&path, e))?;
        tx.commit().map_err(|e| sql_err(&path, e))?;
        Ok(Ok(g.grant.clone()))
    }

    /// The newest `limit` audit entries, oldest first: (seq, time, actor, action, detail).
    pub fn audit_log(&self, limit: u32) -> Result<Vec<(i64, i64, String, String, String)>> {
        let mut st = self
            .conn
            .prepare("SELECT seq,time,actor,action,detail FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT ?1) ORDER BY seq")
            .map_err(|e| self.err(e))?;
        let rows = st
            .query_map([limit], |r| {
                Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
            })
            .map_err(|e| self.err(e))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(|e| self.err(e))
    }

    /// Record a release's tracing code.
    pub fn set_trace_code(&self, t: &TraceCodeRow) -> Result<()> {
        let biases: Vec<u8> = t.biases.iter().flat_map(|b| b.to_le_bytes()).collect();
        self.conn
            .execute(
                "INSERT OR REPLACE INTO trace_codes(release_id,viewers,colluders,epsilon,cutoff,biases) VALUES (?1,?2,?3,?4,?5,?6)",
                params![
                    t.release.to_hex(),
                    t.params.n as i64,
                    t.params.c,
                    t.params.eps,
                    t.cutoff,
                    biases
                ],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// A release's tracing code, if it has variant segments.
    pub fn trace_code(&self, release: &ReleaseId) -> Result<Option<TraceCodeRow>> {
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
        Ok(Some(TraceCodeRow {
            release: *release,
            params: reelseal_core::tardos::Params {
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

    /// Releases that directly supersede `id`.
    pub fn successors(&self, id: &ReleaseId) -> Result<Vec<ReleaseRow>> {
        Ok(self
            .releases()?
            .into_iter()
            .filter(|r| r.supersedes == Some(*id))
            .collect())
    }
}

fn grant_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<GrantRow> {
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
        codeword: r.get(9)?,
    })
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

    fn release(id: ReleaseId) -> ReleaseRow {
        ReleaseRow {
            id,
            title: "T".into(),
            dir: "/tmp/x".into(),
            infohash: "00".repeat(20),
            torrent_name: "t".into(),
            created: 1,
            card: vec![1],
            keyset: Zeroizing::new(KeySet::generate().to_bytes().to_vec()),
            supersedes: None,
        }
    }

    fn grant(id: GrantId, release: ReleaseId, codeword: Option<Vec<u8>>) -> GrantRow {
        GrantRow {
            id,
            release,
            viewer: "rsview1x".into(),
            label: "v".into(),
            not_before: None,
            not_after: None,
            issued: 2,
            email: None,
            grant: vec![9],
            codeword,
        }
    }

    #[test]
    fn version_2_ledgers_upgrade_and_keep_their_grants() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l.sqlite");
        let (rel, old) = (ReleaseId([1; 16]), GrantId([2; 16]));
        {
            // A ledger as version 2 left it, with a release and a grant.
            let c = Connection::open(&p).unwrap();
            for m in &MIGRATIONS[..2] {
                c.execute_batch(m).unwrap();
            }
            c.execute_batch("PRAGMA user_version = 2").unwrap();
            let l = Ledger {
                conn: c,
                path: p.clone(),
            };
            l.add_release(&release(rel)).unwrap();
            l.conn
                .execute(
                    "INSERT INTO grants(id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes) VALUES (?1,?2,'rsview1x','v',NULL,NULL,2,NULL,x'09')",
                    params![old.to_hex(), rel.to_hex()],
                )
                .unwrap();
        }
        let mut l = Ledger::open(&p).unwrap();
        assert_eq!(l.schema_version().unwrap(), 3);
        let g = l.grant(&old).unwrap().unwrap();
        assert_eq!((g.grant, g.codeword), (vec![9], None));
        assert!(l.trace_code(&rel).unwrap().is_none());

        let code = TraceCodeRow {
            release: rel,
            params: reelseal_core::tardos::Params {
                n: 20,
                c: 2,
                eps: 1e-2,
            },
            cutoff: 0.4,
            biases: vec![0.41, 0.5, 0.59],
        };
        l.set_trace_code(&code).unwrap();
        assert_eq!(l.trace_code(&rel).unwrap().unwrap(), code);
        let new = GrantId([3; 16]);
        l.add_grants(&[grant(new, rel, Some(vec![0b101]))]).unwrap();
        let gs = l.grants(&rel).unwrap();
        assert_eq!(gs.len(), 2);
        assert_eq!(gs[1].codeword, Some(vec![0b101]));
        // A release forgotten after a failed seal takes its code with it.
        l.conn.execute("DELETE FROM codewords", []).unwrap();
        l.conn.execute("DELETE FROM grants", []).unwrap();
        l.remove_release(&rel).unwrap();
        assert!(l.trace_code(&rel).unwrap().is_none());
    }
}
