//! # reelseal-ledger
//!
//! The publisher ledger: an embedded SQLite database in the publisher's home that remembers
//! every release (with its secret key set), every grant issued, and — as later migrations
//! add them — revocations, access codes, the audit log and the newest version announced
//! for each channel. The file is created on first use with mode 0600; its schema is
//! versioned with `PRAGMA user_version` and migrated forward in one transaction per step.
//!
//! Used by the `reelseal` commands (through `reelseal::ops`) and by the key server's
//! SQLite store. Every change that matters is written to the audit log in the same
//! transaction, with the actor the caller names ("publisher", "admin api", "redeem from …").

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::path::{Path, PathBuf};

use reelseal_core::keys::ViewerPublic;
use reelseal_core::validity::Validity;
use reelseal_core::{keyset::KeySet, GrantId, InfoHash, ReleaseId};
use rusqlite::Connection;
use zeroize::Zeroizing;

mod audit;
mod channels;
mod codes;
mod grants;
mod releases;
mod revocations;
mod trace;
mod viewers;

pub use audit::AuditEntry;
pub use channels::{put_outcome, PutHead, StoredHead};
pub use codes::{code_status, lost_race, CodeRecord, CodeRedeemed, CodeRow, FreshCode, Redemption};
pub use grants::describe as describe_grant;
pub use revocations::{
    next_revocation_list, still_current, RevocationRow, SubjectArg, MAX_SUPERSEDE_STEPS,
};
pub use viewers::Contact;

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
    /// No grant matches a revocation subject.
    #[error("no grant in this ledger matches {0:?}; `reelseal grants RELEASE` lists grant ids")]
    NoSuchGrant(String),
    /// Several grants match a prefix.
    #[error("{0:?} matches {1} grants; give more of the grant id")]
    AmbiguousGrant(String, usize),
    /// No saved viewer has this name.
    #[error("no viewer named {0:?} in the address book; `reelseal viewers ls` lists them")]
    NoSuchViewer(String),
    /// A saved viewer already has this name.
    #[error("the address book already has a viewer named {0:?}; `reelseal viewers rm {0:?}` first, or choose another name")]
    ViewerExists(String),
    /// No saved viewer carries this tag.
    #[error("no viewer in the address book is tagged {0:?}; `reelseal viewers add NAME KEY --tag {0}` adds one")]
    NoSuchTag(String),
    /// Nothing to un-revoke.
    #[error("{0} is not revoked; `reelseal revocations --list` shows what is")]
    NotRevoked(String),
    /// Text that is neither a grant id nor a viewer key.
    #[error("{0:?} is neither a grant id (32 hex digits, or a unique prefix of 8+) nor a viewer key (rsview1…); `reelseal grants RELEASE` lists grant ids")]
    BadSubject(String),
    /// Signing or encoding a format failed.
    #[error(transparent)]
    Format(#[from] reelseal_core::Error),
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
    // 4: tracing marks: the secret that keys each `reelseal mark` pattern, and the release
    // sealed from its renditions.
    "CREATE TABLE marks(
        id TEXT PRIMARY KEY,
        created INTEGER NOT NULL,
        mark_key BLOB NOT NULL,
        release_id TEXT REFERENCES releases(id)
     );",
    // 5: releases the publisher stopped offering, the viewer address book, and a
    // fingerprint of each release's inputs (to notice a film sealed twice), and
    // revocations taken back (so `keyserver sync` takes them back on the replicas too).
    "CREATE TABLE retired(
        release_id TEXT PRIMARY KEY REFERENCES releases(id),
        time INTEGER NOT NULL
     );
     CREATE TABLE viewers(
        name TEXT PRIMARY KEY,
        key TEXT NOT NULL,
        email TEXT,
        added INTEGER NOT NULL
     );
     CREATE TABLE viewer_tags(
        name TEXT NOT NULL REFERENCES viewers(name),
        tag TEXT NOT NULL,
        PRIMARY KEY (name, tag)
     );
     CREATE TABLE fingerprints(
        release_id TEXT PRIMARY KEY REFERENCES releases(id),
        fingerprint TEXT NOT NULL
     );
     CREATE INDEX releases_by_fingerprint ON fingerprints(fingerprint);
     CREATE TABLE unrevocations(
        kind TEXT NOT NULL,
        subject TEXT NOT NULL,
        time INTEGER NOT NULL,
        PRIMARY KEY (kind, subject)
     );",
    // 6: the newest announced version of each channel (FORMAT.md §12), as the key server
    // serves it: the signed pointer and the signed member list in force.
    "CREATE TABLE channel_heads(
        channel TEXT PRIMARY KEY,
        version INTEGER NOT NULL,
        members_seq INTEGER NOT NULL,
        pointer BLOB NOT NULL,
        members BLOB NOT NULL,
        updated INTEGER NOT NULL
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
    /// Infohash.
    pub infohash: InfoHash,
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
    /// Viewer key.
    pub viewer: ViewerPublic,
    /// Label.
    pub label: String,
    /// Window.
    pub validity: Validity,
    /// Issue time.
    pub issued: i64,
    /// Optional e-mail from the recipients CSV.
    pub email: Option<String>,
    /// The signed grant bytes.
    pub grant: Vec<u8>,
    /// The grant's tracing codeword (packed bits), for releases with variant segments.
    pub codeword: Option<Vec<u8>>,
}

impl GrantRow {
    /// The row recording a grant just issued (`email` from a recipients CSV, if any).
    pub fn from_issued(g: &reelseal_core::issue::IssuedGrant, email: Option<String>) -> Self {
        let p = g.grant.params();
        GrantRow {
            id: p.id,
            release: g.grant.card().card().release_id(),
            viewer: p.viewer,
            label: p.label.clone(),
            validity: p.validity,
            issued: p.issued,
            email,
            grant: g.grant.to_bytes().to_vec(),
            codeword: g.codeword.clone(),
        }
    }
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
        let v = self.schema_version()?;
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
}

fn conv(e: reelseal_core::Error) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(0, rusqlite::types::Type::Text, Box::new(e))
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
            infohash: InfoHash([0; 20]),
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
            viewer: reelseal_core::keys::ViewerSecret::from_bytes(&[7; 32]).public(),
            label: "v".into(),
            validity: Validity::ALWAYS,
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
            l.add_release(&release(rel), "publisher").unwrap();
            l.conn
                .execute(
                    "INSERT INTO grants(id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes) VALUES (?1,?2,?3,'v',NULL,NULL,2,NULL,x'09')",
                    rusqlite::params![old.to_hex(), rel.to_hex(), grant(old, rel, None).viewer.to_bech32()],
                )
                .unwrap();
        }
        let mut l = Ledger::open(&p).unwrap();
        assert_eq!(l.schema_version().unwrap(), MIGRATIONS.len() as i64);
        let g = l.grant(&old).unwrap().unwrap();
        assert_eq!((g.grant, g.codeword), (vec![9], None));
        assert!(l.trace_code(&rel).unwrap().is_none());

        let code = reelseal_core::tardos::Code {
            params: reelseal_core::tardos::Params {
                n: 20,
                c: 2,
                eps: 1e-2,
            },
            cutoff: 0.4,
            biases: vec![0.41, 0.5, 0.59],
        };
        l.set_trace_code(&rel, &code).unwrap();
        assert_eq!(l.trace_code(&rel).unwrap().unwrap(), code);
        let new = GrantId([3; 16]);
        l.add_grants(&[grant(new, rel, Some(vec![0b101]))], "publisher")
            .unwrap();
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
