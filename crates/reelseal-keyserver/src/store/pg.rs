//! [`PgStore`]: a PostgreSQL database shared by any number of stateless key server
//! replicas (`reelseal serve --database postgres://…`), filled from the publisher's
//! ledger by `reelseal keyserver sync` ([`PgStore::sync`]).
//!
//! Facts about PostgreSQL this store relies on:
//!
//! - **Exactly-once redemption** is one conditional `UPDATE codes … WHERE code_hash = $1
//!   AND viewer IS NULL` in a READ COMMITTED transaction that also inserts the grant and
//!   the audit entry. A second transaction updating the same row waits for the first's row
//!   lock, then re-checks the `WHERE` against the committed row and updates nothing; only
//!   the transaction that bound the code commits a grant. A unique index on
//!   `codes.grant_id` and a check that `viewer` and `grant_id` are set together back this
//!   up. The answer (200) is sent only after `COMMIT` returned, so with the default
//!   `synchronous_commit = on` every grant handed out is durable in the database whatever
//!   happens to the replica.
//! - **Revocation lists** are signed under a transaction-scoped advisory lock, so two
//!   replicas revoking at once make lists N+1 and N+2, never two N+1.
//! - **Migrations** run under another advisory lock, in one transaction per step (DDL is
//!   transactional), so replicas starting together migrate once.
//! - **Rate-limit buckets** refill by the database's clock (`now()`), so replicas whose
//!   clocks differ agree; each bucket is one row updated in place (`INSERT … ON CONFLICT
//!   DO UPDATE`, atomic per row).
//! - **Renewal challenges** are rows keyed by the SHA-256 of the token; answering one is a
//!   `DELETE … RETURNING`, so it succeeds once, at whichever replica.
//! - **Channel heads** move forward only: one `INSERT … ON CONFLICT DO UPDATE … WHERE`
//!   replaces the stored head only when the new version is higher and its member list no
//!   older (the row lock makes the comparison and the write one step); when it changed
//!   nothing, the row is read to tell an identical announcement from a rollback.
//!
//! Connections come from a `deadpool-postgres` pool over `tokio-postgres`; TLS to the
//! database is rustls with the platform's trust store (`sslmode=require` in the URL).

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use reelseal_core::card::SignedCard;
use reelseal_core::channel::ChannelId;
use reelseal_core::keys::{PublisherPublic, PublisherSecret, ViewerPublic};
use reelseal_core::keyset::KeySet;
use reelseal_core::revocation::Subject;
use reelseal_core::tardos;
use reelseal_core::validity::Validity;
use reelseal_core::{GrantId, ReleaseId};
use reelseal_ledger::{
    code_status, lost_race, next_revocation_list, still_current, AuditEntry, CodeRecord,
    CodeRedeemed, CodeRow, FreshCode, GrantRow, LedgerError, Redemption, ReleaseRow, RevocationRow,
    SubjectArg, MAX_SUPERSEDE_STEPS,
};
use tokio_postgres::Row;

use super::{
    ChallengeLimits, ChallengeOpened, PutHead, ReleaseCache, ReleaseKeys, Revoked, Store,
    StoreError, StoreResult, StoredHead,
};

/// Advisory lock held while migrating the schema.
const LOCK_MIGRATE: i64 = 0x7265_656c_7365_616c; // "reelseal"
/// Advisory lock held while signing and storing the next revocation list.
const LOCK_LISTS: i64 = LOCK_MIGRATE + 1;

/// Rows per statement when syncing codes and grants.
const BATCH: usize = 5_000;

/// A rate-limit bucket idle this long is full again for any rate worth limiting.
const BUCKET_IDLE_SECONDS: f64 = 60.0;

/// Each step upgrades the schema by one version (recorded in `reelseal_schema`).
const MIGRATIONS: &[&str] = &[
    // 1: what the key server needs from the ledger, plus challenges and rate buckets.
    "CREATE TABLE settings(
        name TEXT PRIMARY KEY,
        value BYTEA NOT NULL
     );
     CREATE TABLE releases(
        id TEXT PRIMARY KEY,
        title TEXT NOT NULL,
        infohash TEXT NOT NULL,
        created BIGINT NOT NULL,
        card BYTEA NOT NULL,
        keyset BYTEA NOT NULL,
        supersedes TEXT
     );
     CREATE INDEX releases_by_supersedes ON releases(supersedes);
     CREATE TABLE trace_codes(
        release_id TEXT PRIMARY KEY REFERENCES releases(id),
        viewers BIGINT NOT NULL,
        colluders INTEGER NOT NULL,
        epsilon DOUBLE PRECISION NOT NULL,
        cutoff DOUBLE PRECISION NOT NULL,
        biases BYTEA NOT NULL
     );
     CREATE TABLE grants(
        seq BIGSERIAL UNIQUE,
        id TEXT PRIMARY KEY,
        release_id TEXT NOT NULL REFERENCES releases(id),
        viewer TEXT NOT NULL,
        label TEXT NOT NULL,
        not_before BIGINT,
        not_after BIGINT,
        issued BIGINT NOT NULL,
        email TEXT,
        grant_bytes BYTEA NOT NULL,
        codeword BYTEA
     );
     CREATE INDEX grants_by_release ON grants(release_id, issued, seq);
     CREATE INDEX grants_by_viewer ON grants(viewer);
     CREATE TABLE codes(
        code_hash BYTEA PRIMARY KEY CHECK (length(code_hash) = 32),
        release_id TEXT NOT NULL REFERENCES releases(id),
        not_before BIGINT,
        not_after BIGINT,
        created BIGINT NOT NULL,
        viewer TEXT,
        grant_id TEXT UNIQUE REFERENCES grants(id) DEFERRABLE INITIALLY DEFERRED,
        redeemed BIGINT,
        CHECK ((viewer IS NULL) = (grant_id IS NULL))
     );
     CREATE TABLE revocations(
        kind TEXT NOT NULL CHECK (kind IN ('grant','viewer')),
        subject TEXT NOT NULL,
        reason TEXT NOT NULL,
        time BIGINT NOT NULL,
        PRIMARY KEY (kind, subject)
     );
     CREATE TABLE revocation_lists(
        seq BIGINT PRIMARY KEY,
        issued BIGINT NOT NULL,
        list BYTEA NOT NULL
     );
     CREATE TABLE audit(
        seq BIGSERIAL PRIMARY KEY,
        time BIGINT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        detail TEXT NOT NULL
     );
     CREATE TABLE challenges(
        token_hash BYTEA PRIMARY KEY,
        viewer TEXT NOT NULL,
        expires BIGINT NOT NULL
     );
     CREATE INDEX challenges_by_viewer ON challenges(viewer, expires);
     CREATE INDEX challenges_by_expiry ON challenges(expires);
     CREATE TABLE rate_buckets(
        key TEXT PRIMARY KEY,
        tokens DOUBLE PRECISION NOT NULL,
        updated DOUBLE PRECISION NOT NULL,
        allowed BOOLEAN NOT NULL
     );",
    // 2: the newest announced version of each channel (FORMAT.md §12): the signed pointer
    // and the signed member list in force, as the ledger's `channel_heads`.
    "CREATE TABLE channel_heads(
        channel TEXT PRIMARY KEY,
        version BIGINT NOT NULL,
        members_seq BIGINT NOT NULL,
        pointer BYTEA NOT NULL,
        members BYTEA NOT NULL,
        updated BIGINT NOT NULL
     );",
];

/// `settings` row naming the publisher whose releases the database holds.
const SETTING_PUBLISHER: &str = "publisher";
/// `settings` row holding the SHA-256 of the admin bearer token.
const SETTING_ADMIN_TOKEN: &str = "admin_token_sha256";

/// Why the PostgreSQL store could not start or sync.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The URL does not parse.
    #[error("--database: {0}; expected postgres://USER:PASSWORD@HOST:PORT/DATABASE (add ?sslmode=require for TLS)")]
    BadUrl(String),
    /// No connection could be made.
    #[error("cannot connect to PostgreSQL at {target}: {cause}; is it running, and does the URL name the right host, port, user, password and database?")]
    Connect {
        /// Host, port and database (never the password).
        target: String,
        /// Cause.
        cause: String,
    },
    /// TLS could not be set up.
    #[error("cannot set up TLS for the database connection: {0}")]
    Tls(String),
    /// The schema was written by a newer reelseal.
    #[error("database schema version {0} is newer than this reelseal understands ({1}); upgrade reelseal on every replica")]
    TooNew(i32, i32),
    /// The database holds another publisher's releases.
    #[error("this database belongs to publisher {found}, not to this key ({ours}); use the right --key-file (or --home), or another database")]
    OtherPublisher {
        /// Recorded in the database.
        found: String,
        /// This key's.
        ours: String,
    },
    /// Nothing was synced yet.
    #[error("this database has no releases or admin token yet: run `reelseal keyserver sync --database …` on the publisher's machine first")]
    NotSynced,
    /// A query failed.
    #[error("database: {0}")]
    Db(#[from] tokio_postgres::Error),
    /// The pool could not hand out a connection.
    #[error("database pool: {0}")]
    Pool(String),
    /// Stored data does not parse.
    #[error(transparent)]
    Ledger(#[from] LedgerError),
}

impl From<deadpool_postgres::PoolError> for PgError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        PgError::Pool(e.to_string())
    }
}

impl From<PgError> for StoreError {
    fn from(e: PgError) -> Self {
        match e {
            PgError::Ledger(l) => l.into(),
            other => StoreError::internal(other),
        }
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::internal(e)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::internal(PgError::from(e))
    }
}

/// A PostgreSQL database as the key server's store. Cheap to clone.
#[derive(Clone)]
pub struct PgStore {
    inner: Arc<Inner>,
}

struct Inner {
    pool: Pool,
    key: Arc<PublisherSecret>,
    /// How long each signed revocation list is valid (seconds).
    list_validity: i64,
    releases: ReleaseCache,
}

/// Host, port and database of a config, for messages (never the password).
fn target(cfg: &tokio_postgres::Config) -> String {
    let host = cfg
        .get_hosts()
        .first()
        .map(|h| match h {
            tokio_postgres::config::Host::Tcp(h) => h.clone(),
            #[cfg(unix)]
            tokio_postgres::config::Host::Unix(p) => p.display().to_string(),
        })
        .unwrap_or_else(|| "localhost".into());
    let port = cfg.get_ports().first().copied().unwrap_or(5432);
    format!(
        "{host}:{port}/{}",
        cfg.get_dbname().or(cfg.get_user()).unwrap_or("?")
    )
}

fn tls() -> Result<tokio_postgres_rustls::MakeRustlsConnect, PgError> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| PgError::Tls(e.to_string()))?
        .with_platform_verifier()
        .map_err(|e| PgError::Tls(e.to_string()))?
        .with_no_client_auth();
    Ok(tokio_postgres_rustls::MakeRustlsConnect::new(config))
}

fn corrupt(what: impl Into<String>, e: impl std::fmt::Display) -> LedgerError {
    LedgerError::Corrupt(what.into(), e.to_string())
}

fn release_id(s: &str) -> Result<ReleaseId, LedgerError> {
    ReleaseId::from_hex(s).map_err(|e| corrupt("a release id", e))
}

fn grant_from_row(r: &Row) -> Result<GrantRow, LedgerError> {
    let id: String = r.get("id");
    let what = || format!("grant {id}");
    Ok(GrantRow {
        id: GrantId::from_hex(&id).map_err(|e| corrupt(what(), e))?,
        release: release_id(r.get("release_id"))?,
        viewer: ViewerPublic::from_bech32(r.get("viewer")).map_err(|e| corrupt(what(), e))?,
        label: r.get("label"),
        validity: Validity::new(r.get("not_before"), r.get("not_after"))
            .map_err(|e| corrupt(what(), e))?,
        issued: r.get("issued"),
        email: r.get("email"),
        grant: r.get("grant_bytes"),
        codeword: r.get("codeword"),
    })
}

const GRANT_COLUMNS: &str =
    "id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes,codeword";

fn revocation_from_row(r: &Row) -> Result<RevocationRow, LedgerError> {
    let kind: &str = r.get("kind");
    let subject: &str = r.get("subject");
    Ok(RevocationRow {
        subject: Subject::from_parts(kind, subject)
            .map_err(|e| corrupt(format!("revocation {subject}"), e))?,
        reason: r.get("reason"),
        time: r.get("time"),
    })
}

async fn insert_grant(c: &impl GenericClient, g: &GrantRow) -> Result<u64, tokio_postgres::Error> {
    let st = c
        .prepare_cached(
            "INSERT INTO grants(id,release_id,viewer,label,not_before,not_after,issued,email,grant_bytes,codeword)
             VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (id) DO NOTHING",
        )
        .await?;
    c.execute(
        &st,
        &[
            &g.id.to_hex(),
            &g.release.to_hex(),
            &g.viewer.to_bech32(),
            &g.label,
            &g.validity.not_before(),
            &g.validity.not_after(),
            &g.issued,
            &g.email,
            &g.grant,
            &g.codeword,
        ],
    )
    .await
}

async fn audit(
    c: &impl GenericClient,
    actor: &str,
    action: &str,
    detail: &str,
) -> Result<(), tokio_postgres::Error> {
    let st = c
        .prepare_cached(
            "INSERT INTO audit(time,actor,action,detail) VALUES (extract(epoch from now())::bigint,$1,$2,$3)",
        )
        .await?;
    c.execute(&st, &[&actor, &action, &detail]).await?;
    Ok(())
}

/// The newest signed list, if any.
async fn latest_list(
    c: &impl GenericClient,
) -> Result<Option<(u64, Vec<u8>)>, tokio_postgres::Error> {
    Ok(c.query_opt(
        "SELECT seq, list FROM revocation_lists ORDER BY seq DESC LIMIT 1",
        &[],
    )
    .await?
    .map(|r| (r.get::<_, i64>(0) as u64, r.get(1))))
}

/// Every revocation, in the ledger's order.
async fn revocations(c: &impl GenericClient) -> Result<Vec<RevocationRow>, PgError> {
    c.query(
        "SELECT kind,subject,reason,time FROM revocations ORDER BY time, subject",
        &[],
    )
    .await?
    .iter()
    .map(|r| revocation_from_row(r).map_err(PgError::from))
    .collect()
}

/// Sign and store the next list ([`next_revocation_list`]); the caller holds
/// [`LOCK_LISTS`] in its transaction.
async fn publish(
    c: &impl GenericClient,
    inner: &Inner,
    previous: Option<u64>,
    now: i64,
) -> Result<(u64, Vec<u8>), PgError> {
    let (seq, bytes) = next_revocation_list(
        previous,
        revocations(c).await?,
        &inner.key,
        now,
        inner.list_validity,
    )?;
    c.execute(
        "INSERT INTO revocation_lists(seq,issued,list) VALUES ($1,$2,$3)",
        &[&(seq as i64), &now, &bytes],
    )
    .await?;
    Ok((seq, bytes))
}

impl PgStore {
    /// Connect to the database at `url` (a pool of up to `pool_size` connections) and
    /// migrate its schema; grants and revocation lists are signed with `key`, each list
    /// valid for `list_validity` seconds.
    pub async fn connect(
        url: &str,
        key: Arc<PublisherSecret>,
        pool_size: usize,
        list_validity: i64,
    ) -> Result<PgStore, PgError> {
        let mut cfg: tokio_postgres::Config = url
            .parse()
            .map_err(|e: tokio_postgres::Error| PgError::BadUrl(e.to_string()))?;
        if cfg.get_application_name().is_none() {
            cfg.application_name("reelseal-keyserver");
        }
        if cfg.get_connect_timeout().is_none() {
            cfg.connect_timeout(Duration::from_secs(5));
        }
        let target = target(&cfg);
        let mgr = Manager::from_config(
            cfg,
            tls()?,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(mgr)
            .max_size(pool_size.max(1))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| PgError::Pool(e.to_string()))?;
        let mut client = pool.get().await.map_err(|e| PgError::Connect {
            target: target.clone(),
            cause: match e {
                deadpool_postgres::PoolError::Backend(e) => {
                    std::error::Error::source(&e).map_or(e.to_string(), |s| format!("{e}: {s}"))
                }
                other => other.to_string(),
            },
        })?;
        migrate(&mut client).await?;
        drop(client);
        Ok(PgStore {
            inner: Arc::new(Inner {
                pool,
                key,
                list_validity,
                releases: ReleaseCache::default(),
            }),
        })
    }

    /// Host, port and database a URL names, for messages and reports (never the
    /// password).
    pub fn describe_url(url: &str) -> String {
        url.parse::<tokio_postgres::Config>()
            .map(|c| target(&c))
            .unwrap_or_else(|_| "(a URL that does not parse)".into())
    }

    /// Refuse to serve a database that holds another publisher's releases, or that was
    /// never synced (no admin token).
    pub async fn check_ready_to_serve(&self) -> Result<(), PgError> {
        let c = self.inner.pool.get().await?;
        self.check_publisher(&c).await?;
        let token = c
            .query_opt(
                "SELECT 1 FROM settings WHERE name = $1",
                &[&SETTING_ADMIN_TOKEN],
            )
            .await?;
        if token.is_none() {
            return Err(PgError::NotSynced);
        }
        Ok(())
    }

    /// Whether the recorded publisher (if any) is this key's.
    async fn check_publisher(&self, c: &impl GenericClient) -> Result<bool, PgError> {
        let ours = self.inner.key.public();
        let row = c
            .query_opt(
                "SELECT value FROM settings WHERE name = $1",
                &[&SETTING_PUBLISHER],
            )
            .await?;
        match row {
            None => Ok(false),
            Some(r) => {
                let found: Vec<u8> = r.get(0);
                if found == ours.to_bytes() {
                    Ok(true)
                } else {
                    Err(PgError::OtherPublisher {
                        found: PublisherPublic::from_bytes(&found)
                            .map(|p| p.to_bech32())
                            .unwrap_or_else(|_| "(unreadable)".into()),
                        ours: ours.to_bech32(),
                    })
                }
            }
        }
    }

    /// The schema version now in force.
    pub async fn schema_version(&self) -> Result<i32, PgError> {
        let c = self.inner.pool.get().await?;
        Ok(c.query_one("SELECT version FROM reelseal_schema", &[])
            .await?
            .get(0))
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, deadpool_postgres::PoolError> {
        self.inner.pool.get().await
    }

    /// Bring the database and the publisher's ledger in line, in one transaction, and
    /// say what the ledger must record in turn. Idempotent: a second run changes nothing.
    ///
    /// Up: releases (card, key set, tracing code), grants, codes (and redemptions made by
    /// a key server on the ledger), revocations, the admin token's hash and the
    /// publisher's public key. Down (in [`SyncDown`]): grants issued and codes redeemed
    /// by the replicas, revocations made through the admin API. When either side gained a
    /// revocation or their newest lists differ, the next list (sequence above both) is
    /// signed and stored here and returned for the ledger.
    pub async fn sync(&self, up: SyncUp, now: i64) -> Result<SyncDown, PgError> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_LISTS])
            .await?;
        if !self.check_publisher(&tx).await? {
            tx.execute(
                "INSERT INTO settings(name,value) VALUES ($1,$2)",
                &[
                    &SETTING_PUBLISHER,
                    &self.inner.key.public().to_bytes().to_vec(),
                ],
            )
            .await?;
        }
        tx.execute(
            "INSERT INTO settings(name,value) VALUES ($1,$2) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value",
            &[&SETTING_ADMIN_TOKEN, &up.admin_token_hash.to_vec()],
        )
        .await?;
        let mut report = SyncCounts::default();

        // Releases and their tracing codes.
        let known: HashSet<String> = tx
            .query("SELECT id FROM releases", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        for (r, code) in &up.releases {
            if known.contains(&r.id.to_hex()) {
                continue;
            }
            tx.execute(
                "INSERT INTO releases(id,title,infohash,created,card,keyset,supersedes) VALUES ($1,$2,$3,$4,$5,$6,$7)",
                &[
                    &r.id.to_hex(),
                    &r.title,
                    &r.infohash.to_hex(),
                    &r.created,
                    &r.card,
                    &r.keyset.as_slice(),
                    &r.supersedes.map(|s| s.to_hex()),
                ],
            )
            .await?;
            if let Some(code) = code {
                let biases: Vec<u8> = code.biases.iter().flat_map(|b| b.to_le_bytes()).collect();
                tx.execute(
                    "INSERT INTO trace_codes(release_id,viewers,colluders,epsilon,cutoff,biases) VALUES ($1,$2,$3,$4,$5,$6)",
                    &[
                        &r.id.to_hex(),
                        &(code.params.n as i64),
                        &(code.params.c as i32),
                        &code.params.eps,
                        &code.cutoff,
                        &biases,
                    ],
                )
                .await?;
            }
            report.releases_up += 1;
        }

        // Grants, both ways.
        let db_grants: HashSet<String> = tx
            .query("SELECT id FROM grants", &[])
            .await?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let ledger_grants: HashSet<String> = up.grants.iter().map(|g| g.id.to_hex()).collect();
        for g in up
            .grants
            .iter()
            .filter(|g| !db_grants.contains(&g.id.to_hex()))
        {
            report.grants_up += insert_grant(&tx, g).await? as usize;
        }
        let missing: Vec<String> = db_grants
            .into_iter()
            .filter(|id| !ledger_grants.contains(id))
            .collect();
        let mut grants_down = Vec::with_capacity(missing.len());
        for chunk in missing.chunks(BATCH) {
            for r in tx
                .query(
                    &format!("SELECT {GRANT_COLUMNS} FROM grants WHERE id = ANY($1) ORDER BY seq"),
                    &[&chunk],
                )
                .await?
            {
                grants_down.push(grant_from_row(&r)?);
            }
        }

        // Codes: new ones up; redemptions up (made by a key server on the ledger) and down.
        let db_codes: HashMap<Vec<u8>, bool> = tx
            .query("SELECT code_hash, viewer IS NOT NULL FROM codes", &[])
            .await?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let new_codes: Vec<&CodeRow> = up
            .codes
            .iter()
            .filter(|c| !db_codes.contains_key(c.hash.as_slice()))
            .collect();
        for chunk in new_codes.chunks(BATCH) {
            let hashes: Vec<&[u8]> = chunk.iter().map(|c| c.hash.as_slice()).collect();
            let releases: Vec<String> = chunk.iter().map(|c| c.release.to_hex()).collect();
            let nb: Vec<Option<i64>> = chunk.iter().map(|c| c.validity.not_before()).collect();
            let na: Vec<Option<i64>> = chunk.iter().map(|c| c.validity.not_after()).collect();
            let created: Vec<i64> = chunk.iter().map(|c| c.created).collect();
            report.codes_up += tx
                .execute(
                    "INSERT INTO codes(code_hash,release_id,not_before,not_after,created)
                     SELECT * FROM UNNEST($1::bytea[], $2::text[], $3::int8[], $4::int8[], $5::int8[])
                     ON CONFLICT (code_hash) DO NOTHING",
                    &[&hashes, &releases, &nb, &na, &created],
                )
                .await? as usize;
        }
        let mut ledger_redeemed: HashSet<Vec<u8>> = HashSet::new();
        for c in &up.codes {
            if let Some(r) = &c.redeemed {
                ledger_redeemed.insert(c.hash.to_vec());
                if db_codes.get(c.hash.as_slice()) != Some(&true) {
                    report.redemptions_up += tx
                        .execute(
                            "UPDATE codes SET viewer = $2, grant_id = $3, redeemed = $4 WHERE code_hash = $1 AND viewer IS NULL",
                            &[&c.hash.as_slice(), &r.viewer.to_bech32(), &r.grant.to_hex(), &r.time],
                        )
                        .await? as usize;
                }
            }
        }
        let ledger_codes: HashSet<[u8; 32]> = up.codes.iter().map(|c| c.hash).collect();
        let mut codes_down = Vec::new();
        let mut redemptions_down = Vec::new();
        for r in tx
            .query(
                "SELECT code_hash, release_id, not_before, not_after, created, viewer, grant_id, redeemed FROM codes ORDER BY created",
                &[],
            )
            .await?
        {
            let what = || "a code".to_string();
            let hash: [u8; 32] = r
                .get::<_, Vec<u8>>(0)
                .try_into()
                .map_err(|_| corrupt(what(), "its hash is not 32 bytes"))?;
            let redeemed = match (r.get::<_, Option<&str>>(5), r.get::<_, Option<&str>>(6)) {
                (Some(v), Some(g)) => Some(CodeRedeemed {
                    viewer: ViewerPublic::from_bech32(v).map_err(|e| corrupt(what(), e))?,
                    grant: GrantId::from_hex(g).map_err(|e| corrupt(what(), e))?,
                    time: r.get::<_, Option<i64>>(7).unwrap_or_default(),
                }),
                _ => None,
            };
            if !ledger_codes.contains(&hash) {
                codes_down.push(CodeRow {
                    hash,
                    release: release_id(r.get(1))?,
                    validity: Validity::new(r.get(2), r.get(3)).map_err(|e| corrupt(what(), e))?,
                    created: r.get(4),
                    redeemed,
                });
            } else if let Some(red) = redeemed {
                if !ledger_redeemed.contains(hash.as_slice()) {
                    redemptions_down.push((hash, red));
                }
            }
        }

        // Revocations taken back on the ledger are taken back here, then revocations both
        // ways, then one list covering them all if anything differs.
        for subject in &up.unrevoked {
            report.unrevoked_up += tx
                .execute(
                    "DELETE FROM revocations WHERE kind = $1 AND subject = $2",
                    &[&subject.kind(), &subject.to_string()],
                )
                .await? as usize;
        }
        let db_revocations = revocations(&tx).await?;
        let db_subjects: BTreeSet<Subject> = db_revocations.iter().map(|r| r.subject).collect();
        let ledger_subjects: BTreeSet<Subject> = up.revocations.iter().map(|r| r.subject).collect();
        for r in up
            .revocations
            .iter()
            .filter(|r| !db_subjects.contains(&r.subject))
        {
            tx.execute(
                "INSERT INTO revocations(kind,subject,reason,time) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
                &[&r.subject.kind(), &r.subject.to_string(), &r.reason, &r.time],
            )
            .await?;
            report.revocations_up += 1;
        }
        let revocations_down: Vec<RevocationRow> = db_revocations
            .into_iter()
            .filter(|r| !ledger_subjects.contains(&r.subject))
            .collect();
        let db_list = latest_list(&tx).await?;
        let list = if report.revocations_up > 0
            || report.unrevoked_up > 0
            || !revocations_down.is_empty()
            || db_list != up.latest_list
        {
            let previous = [
                db_list.as_ref().map(|l| l.0),
                up.latest_list.as_ref().map(|l| l.0),
            ]
            .into_iter()
            .flatten()
            .max();
            Some(publish(&tx, &self.inner, previous, now).await?)
        } else {
            None
        };

        // Channel heads, both ways: each side keeps the one that passes (`put_outcome`).
        for (id, h) in &up.channel_heads {
            let (Ok(version), Ok(seq)) = (i64::try_from(h.version), i64::try_from(h.members_seq))
            else {
                continue;
            };
            report.channel_heads_up +=
                upsert_head(&tx, &id.to_hex(), version, seq, h).await? as usize;
        }
        let ledger_heads: HashMap<String, &StoredHead> = up
            .channel_heads
            .iter()
            .map(|(id, h)| (id.to_hex(), h))
            .collect();
        let mut heads_down = Vec::new();
        for r in tx
            .query(
                "SELECT channel,version,members_seq,pointer,members FROM channel_heads ORDER BY channel",
                &[],
            )
            .await?
        {
            let id: String = r.get(0);
            let head = StoredHead {
                version: r.get::<_, i64>(1) as u64,
                members_seq: r.get::<_, i64>(2) as u64,
                pointer: r.get(3),
                members: r.get(4),
            };
            if ledger_heads.get(&id) != Some(&&head) {
                let channel = ChannelId::from_hex(&id)
                    .map_err(|e| corrupt(format!("channel head {id}"), e))?;
                heads_down.push((channel, head));
            }
        }

        audit(
            &tx,
            "publisher",
            "sync",
            &format!(
                "from the publisher ledger: {} releases, {} grants, {} codes, {} redemptions, {} revocations, {} channel heads; to it: {} grants, {} codes, {} redemptions, {} revocations, {} channel heads",
                report.releases_up,
                report.grants_up,
                report.codes_up,
                report.redemptions_up,
                report.revocations_up,
                report.channel_heads_up,
                grants_down.len(),
                codes_down.len(),
                redemptions_down.len(),
                revocations_down.len(),
                heads_down.len()
            ),
        )
        .await?;
        tx.commit().await?;
        Ok(SyncDown {
            counts: report,
            grants: grants_down,
            codes: codes_down,
            redemptions: redemptions_down,
            revocations: revocations_down,
            list,
            channel_heads: heads_down,
        })
    }
}

/// What [`PgStore::sync`] takes from the publisher's ledger.
pub struct SyncUp {
    /// Every release, with its tracing code if it has one.
    pub releases: Vec<(ReleaseRow, Option<tardos::Code>)>,
    /// Every grant.
    pub grants: Vec<GrantRow>,
    /// Every code.
    pub codes: Vec<CodeRow>,
    /// Every revocation.
    pub revocations: Vec<RevocationRow>,
    /// Revocations the publisher took back (`reelseal unrevoke`): removed here too.
    pub unrevoked: Vec<Subject>,
    /// The ledger's newest signed list.
    pub latest_list: Option<(u64, Vec<u8>)>,
    /// Every channel head the ledger holds (announced to a key server on the ledger).
    pub channel_heads: Vec<(ChannelId, StoredHead)>,
    /// SHA-256 of the admin bearer token the replicas accept.
    pub admin_token_hash: [u8; 32],
}

/// What the ledger must record after [`PgStore::sync`].
pub struct SyncDown {
    /// What went up.
    pub counts: SyncCounts,
    /// Grants the replicas issued.
    pub grants: Vec<GrantRow>,
    /// Codes minted through the admin API (with their redemption, if any).
    pub codes: Vec<CodeRow>,
    /// Codes the ledger has that the replicas redeemed (their grants are in `grants` or
    /// already in the ledger).
    pub redemptions: Vec<([u8; 32], CodeRedeemed)>,
    /// Revocations made through the admin API.
    pub revocations: Vec<RevocationRow>,
    /// A new signed list `(sequence, bytes)` to store in the ledger too.
    pub list: Option<(u64, Vec<u8>)>,
    /// Channel heads the database holds that differ from the ledger's (announced to the
    /// replicas); the ledger stores those that pass its `put_outcome`.
    pub channel_heads: Vec<(ChannelId, StoredHead)>,
}

/// How many rows went up to the database.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Releases.
    pub releases_up: usize,
    /// Grants.
    pub grants_up: usize,
    /// Codes.
    pub codes_up: usize,
    /// Redemptions (codes redeemed through a key server on the ledger).
    pub redemptions_up: usize,
    /// Revocations.
    pub revocations_up: usize,
    /// Revocations taken back on the replicas (the publisher ran `reelseal unrevoke`).
    pub unrevoked_up: usize,
    /// Channel heads the replicas took from the ledger.
    pub channel_heads_up: usize,
}

async fn migrate(c: &mut deadpool_postgres::Object) -> Result<(), PgError> {
    let latest = MIGRATIONS.len() as i32;
    loop {
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_MIGRATE])
            .await?;
        tx.batch_execute("CREATE TABLE IF NOT EXISTS reelseal_schema(version INTEGER NOT NULL)")
            .await?;
        let v: i32 = match tx
            .query_opt("SELECT version FROM reelseal_schema", &[])
            .await?
        {
            Some(r) => r.get(0),
            None => {
                tx.execute("INSERT INTO reelseal_schema(version) VALUES (0)", &[])
                    .await?;
                0
            }
        };
        if v > latest {
            return Err(PgError::TooNew(v, latest));
        }
        if v == latest {
            tx.commit().await?;
            return Ok(());
        }
        tx.batch_execute(MIGRATIONS[v as usize]).await?;
        tx.execute("UPDATE reelseal_schema SET version = $1", &[&(v + 1)])
            .await?;
        tx.commit().await?;
    }
}

impl Store for PgStore {
    async fn release_keys(&self, release: ReleaseId) -> StoreResult<Option<Arc<ReleaseKeys>>> {
        if let Some(k) = self.inner.releases.get(&release) {
            return Ok(Some(k));
        }
        let c = self.client().await?;
        let Some(r) = c
            .query_opt(
                "SELECT r.card, r.keyset, t.viewers, t.colluders, t.epsilon, t.cutoff, t.biases
                 FROM releases r LEFT JOIN trace_codes t ON t.release_id = r.id WHERE r.id = $1",
                &[&release.to_hex()],
            )
            .await?
        else {
            return Ok(None);
        };
        let card_bytes: Vec<u8> = r.get(0);
        let card = SignedCard::verify(&card_bytes, &self.inner.key.public())
            .map_err(StoreError::internal)?;
        let keyset = zeroize::Zeroizing::new(r.get::<_, Vec<u8>>(1));
        let keys =
            KeySet::from_bytes(&keyset).map_err(|e| corrupt(format!("release {release}"), e))?;
        let code = match r.get::<_, Option<i64>>(2) {
            None => None,
            Some(n) => {
                let b: Vec<u8> = r.get(6);
                if !b.chunks_exact(8).remainder().is_empty() {
                    return Err(corrupt(
                        format!("release {release}"),
                        "its tracing biases are not whole numbers",
                    )
                    .into());
                }
                Some(tardos::Code {
                    params: tardos::Params {
                        n: n as u64,
                        c: r.get::<_, i32>(3) as u32,
                        eps: r.get(4),
                    },
                    cutoff: r.get(5),
                    biases: b
                        .chunks_exact(8)
                        .map(|x| f64::from_le_bytes(x.try_into().expect("8 bytes")))
                        .collect(),
                })
            }
        };
        let loaded = Arc::new(ReleaseKeys { card, keys, code });
        self.inner.releases.put(release, loaded.clone());
        Ok(Some(loaded))
    }

    async fn code_status(
        &self,
        hash: [u8; 32],
        viewer: ViewerPublic,
        now: i64,
    ) -> StoreResult<Result<FreshCode, Redemption>> {
        let c = self.client().await?;
        code_status_in(&c, &hash, &viewer, now).await
    }

    async fn complete_redemption(
        &self,
        hash: [u8; 32],
        grant: GrantRow,
        now: i64,
        actor: String,
    ) -> StoreResult<Result<Vec<u8>, Redemption>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // The conditional update is the exactly-once rule (see the module docs).
        let st = tx
            .prepare_cached(
                "UPDATE codes SET viewer = $2, grant_id = $3, redeemed = $4 WHERE code_hash = $1 AND viewer IS NULL",
            )
            .await?;
        let bound = tx
            .execute(
                &st,
                &[
                    &hash.as_slice(),
                    &grant.viewer.to_bech32(),
                    &grant.id.to_hex(),
                    &now,
                ],
            )
            .await?;
        if bound == 0 {
            tx.rollback().await?;
            let status = code_status_in(&c, &hash, &grant.viewer, now).await?;
            return Ok(Err(lost_race(status)));
        }
        insert_grant(&tx, &grant).await?;
        audit(
            &tx,
            &actor,
            "redeem",
            &reelseal_ledger::describe_grant(&grant),
        )
        .await?;
        tx.commit().await?;
        Ok(Ok(grant.grant))
    }

    async fn revocation_list(&self, now: i64) -> StoreResult<Vec<u8>> {
        let fresh = |l: &Option<(u64, Vec<u8>)>| -> StoreResult<bool> {
            Ok(match l {
                Some((_, bytes)) => still_current(bytes, &self.inner.key, now)?,
                None => false,
            })
        };
        let mut c = self.client().await?;
        let latest = latest_list(&c).await?;
        if fresh(&latest)? {
            return Ok(latest.expect("a fresh list").1);
        }
        // Replicas race to refresh it: one publishes under the lock, the others then
        // find its list fresh.
        let tx = c.transaction().await?;
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_LISTS])
            .await?;
        let latest = latest_list(&tx).await?;
        let list = if fresh(&latest)? {
            latest.expect("a fresh list").1
        } else {
            publish(&tx, &self.inner, latest.map(|l| l.0), now).await?.1
        };
        tx.commit().await?;
        Ok(list)
    }

    async fn revoke(
        &self,
        subject: String,
        reason: String,
        now: i64,
        actor: String,
    ) -> StoreResult<Revoked> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let subject = match SubjectArg::parse(&subject)? {
            SubjectArg::Viewer(s) => s,
            SubjectArg::GrantPrefix(q) => {
                let found = tx
                    .query(
                        "SELECT id FROM grants WHERE id LIKE $1 || '%' ORDER BY id LIMIT 100",
                        &[&q],
                    )
                    .await?
                    .iter()
                    .map(|r| GrantId::from_hex(r.get(0)).map_err(|e| corrupt("a grant id", e)))
                    .collect::<Result<Vec<_>, _>>()?;
                SubjectArg::pick(&subject, &found)?
            }
        };
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&LOCK_LISTS])
            .await?;
        let new = tx
            .execute(
                "INSERT INTO revocations(kind,subject,reason,time) VALUES ($1,$2,$3,$4) ON CONFLICT DO NOTHING",
                &[&subject.kind(), &subject.to_string(), &reason, &now],
            )
            .await?
            > 0;
        let previous = latest_list(&tx).await?;
        let (sequence, _) = match (new, previous) {
            (false, Some(l)) => l,
            (_, previous) => {
                if new {
                    audit(
                        &tx,
                        &actor,
                        "revoke",
                        &format!("{} {subject}: {reason}", subject.kind()),
                    )
                    .await?;
                }
                publish(&tx, &self.inner, previous.map(|l| l.0), now).await?
            }
        };
        tx.commit().await?;
        Ok(Revoked {
            subject,
            new,
            sequence,
        })
    }

    async fn add_codes(
        &self,
        release: ReleaseId,
        hashes: Vec<[u8; 32]>,
        validity: Validity,
        now: i64,
        actor: String,
    ) -> StoreResult<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let known = tx
            .query_opt("SELECT 1 FROM releases WHERE id = $1", &[&release.to_hex()])
            .await?
            .is_some();
        if !known {
            return Ok(false);
        }
        for chunk in hashes.chunks(BATCH) {
            let h: Vec<&[u8]> = chunk.iter().map(|h| h.as_slice()).collect();
            tx.execute(
                "INSERT INTO codes(code_hash,release_id,not_before,not_after,created)
                 SELECT h, $2, $3, $4, $5 FROM UNNEST($1::bytea[]) AS h",
                &[
                    &h,
                    &release.to_hex(),
                    &validity.not_before(),
                    &validity.not_after(),
                    &now,
                ],
            )
            .await?;
        }
        audit(
            &tx,
            &actor,
            "codes",
            &format!("{} codes for release {release}", hashes.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn grants(&self, release: ReleaseId) -> StoreResult<Vec<GrantRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {GRANT_COLUMNS} FROM grants WHERE release_id = $1 ORDER BY issued, seq"
                ),
                &[&release.to_hex()],
            )
            .await?;
        Ok(rows.iter().map(grant_from_row).collect::<Result<_, _>>()?)
    }

    async fn newest_successor(&self, release: ReleaseId) -> StoreResult<Option<ReleaseId>> {
        let c = self.client().await?;
        let st = c
            .prepare_cached(
                "SELECT id FROM releases WHERE supersedes = $1 ORDER BY created DESC, id DESC LIMIT 1",
            )
            .await?;
        // The ledger's rule: the latest successor at each step, a bounded number of steps.
        let mut cur = release;
        let mut found = None;
        for _ in 0..MAX_SUPERSEDE_STEPS {
            match c.query_opt(&st, &[&cur.to_hex()]).await? {
                Some(r) => {
                    cur = release_id(r.get(0))?;
                    found = Some(cur);
                }
                None => break,
            }
        }
        Ok(found)
    }

    async fn grants_for_viewer(&self, viewer: ViewerPublic) -> StoreResult<Vec<GrantRow>> {
        let c = self.client().await?;
        let rows = c
            .query(
                &format!(
                    "SELECT {GRANT_COLUMNS} FROM grants WHERE viewer = $1 ORDER BY issued DESC, seq DESC"
                ),
                &[&viewer.to_bech32()],
            )
            .await?;
        Ok(rows.iter().map(grant_from_row).collect::<Result<_, _>>()?)
    }

    async fn audit(&self, actor: String, action: &'static str, detail: String) -> StoreResult<()> {
        let c = self.client().await?;
        audit(&c, &actor, action, &detail).await?;
        Ok(())
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        let c = self.client().await?;
        let rows = c
            .query(
                "SELECT seq,time,actor,action,detail FROM (SELECT * FROM audit ORDER BY seq DESC LIMIT $1) a ORDER BY seq",
                &[&i64::from(limit)],
            )
            .await?;
        Ok(rows
            .iter()
            .map(|r| AuditEntry {
                seq: r.get(0),
                time: r.get(1),
                actor: r.get(2),
                action: r.get(3),
                detail: r.get(4),
            })
            .collect())
    }

    async fn take_token(&self, key: String, rate: f64, burst: f64) -> StoreResult<bool> {
        let c = self.client().await?;
        // Refill by the database's clock; a refusal takes nothing (see the module docs).
        let st = c
            .prepare_cached(
                "INSERT INTO rate_buckets AS b (key, tokens, updated, allowed)
                 VALUES ($1::text, $3::float8 - 1, extract(epoch from now())::float8, true)
                 ON CONFLICT (key) DO UPDATE SET
                   allowed = LEAST($3::float8, b.tokens + GREATEST(0, extract(epoch from now())::float8 - b.updated) * $2::float8) >= 1,
                   tokens = LEAST($3::float8, b.tokens + GREATEST(0, extract(epoch from now())::float8 - b.updated) * $2::float8)
                            - CASE WHEN LEAST($3::float8, b.tokens + GREATEST(0, extract(epoch from now())::float8 - b.updated) * $2::float8) >= 1 THEN 1 ELSE 0 END,
                   updated = GREATEST(b.updated, extract(epoch from now())::float8)
                 RETURNING allowed",
            )
            .await?;
        Ok(c.query_one(&st, &[&key, &rate, &burst]).await?.get(0))
    }

    async fn open_challenge(
        &self,
        viewer: ViewerPublic,
        token_hash: [u8; 32],
        now: i64,
        expires: i64,
        limits: ChallengeLimits,
    ) -> StoreResult<ChallengeOpened> {
        let c = self.client().await?;
        let v = viewer.to_bech32();
        // Counts are read then written without a lock: concurrent requests may pass a
        // limit by a few rows, never without bound (each still needs a rate-limit token).
        let mine: i64 = c
            .query_one(
                "SELECT count(*) FROM challenges WHERE viewer = $1 AND expires > $2",
                &[&v, &now],
            )
            .await?
            .get(0);
        if mine >= i64::from(limits.per_viewer) {
            return Ok(ChallengeOpened::TooManyForViewer);
        }
        let all: i64 = c
            .query_one(
                "SELECT count(*) FROM (SELECT 1 FROM challenges LIMIT $1) s",
                &[&i64::from(limits.total)],
            )
            .await?
            .get(0);
        if all >= i64::from(limits.total) {
            c.execute("DELETE FROM challenges WHERE expires <= $1", &[&now])
                .await?;
            let all: i64 = c
                .query_one("SELECT count(*) FROM challenges", &[])
                .await?
                .get(0);
            if all >= i64::from(limits.total) {
                return Ok(ChallengeOpened::Full);
            }
        }
        c.execute(
            "INSERT INTO challenges(token_hash, viewer, expires) VALUES ($1,$2,$3)",
            &[&token_hash.as_slice(), &v, &expires],
        )
        .await?;
        Ok(ChallengeOpened::Opened)
    }

    async fn take_challenge(
        &self,
        viewer: ViewerPublic,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreResult<bool> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "DELETE FROM challenges WHERE token_hash = $1 AND viewer = $2 RETURNING expires",
                &[&token_hash.as_slice(), &viewer.to_bech32()],
            )
            .await?;
        Ok(row.is_some_and(|r| r.get::<_, i64>(0) > now))
    }

    async fn channel_head(&self, channel: [u8; 16]) -> StoreResult<Option<StoredHead>> {
        let c = self.client().await?;
        Ok(channel_head_in(&c, &hex::encode(channel)).await?)
    }

    async fn put_channel_head(&self, channel: [u8; 16], head: StoredHead) -> StoreResult<PutHead> {
        let id = hex::encode(channel);
        let int = |what: &str, n: u64| {
            i64::try_from(n)
                .map_err(|_| StoreError::Refused(format!("the {what} {n} is above 2^63 - 1")))
        };
        let (version, members_seq) = (
            int("version", head.version)?,
            int("member list seq", head.members_seq)?,
        );
        let c = self.client().await?;
        let written = upsert_head(&c, &id, version, members_seq, &head).await?;
        if written {
            return Ok(PutHead::Stored);
        }
        // Not written: a head is stored that this one does not pass. Heads only move
        // forward, so whatever is stored now still refuses it; read it to say why.
        let stored = channel_head_in(&c, &id).await?.ok_or_else(|| {
            StoreError::internal(corrupt(
                format!("channel {id}"),
                "its head vanished while being replaced",
            ))
        })?;
        Ok(match reelseal_ledger::put_outcome(Some(&stored), &head) {
            PutHead::Stored => PutHead::Older {
                stored: stored.version,
            },
            other => other,
        })
    }

    async fn sweep(&self, now: i64) -> StoreResult<()> {
        let c = self.client().await?;
        c.execute("DELETE FROM challenges WHERE expires <= $1", &[&now])
            .await?;
        c.execute(
            "DELETE FROM rate_buckets WHERE updated < extract(epoch from now())::float8 - $1",
            &[&BUCKET_IDLE_SECONDS],
        )
        .await?;
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        let c = self.client().await?;
        c.query_one("SELECT 1", &[]).await?;
        Ok(())
    }

    async fn admin_token_hash(&self) -> StoreResult<Option<[u8; 32]>> {
        let c = self.client().await?;
        let row = c
            .query_opt(
                "SELECT value FROM settings WHERE name = $1",
                &[&SETTING_ADMIN_TOKEN],
            )
            .await?;
        Ok(row.and_then(|r| r.get::<_, Vec<u8>>(0).try_into().ok()))
    }
}

/// Store `head` as channel `id`'s unless the stored one does not let it pass; whether it
/// was written. Atomic: the conditional upsert compares with the stored row and replaces
/// it in one statement, under the row's lock (a concurrent writer waits, then re-checks
/// the WHERE against the row it committed). The rule is the ledger's `put_outcome`.
async fn upsert_head(
    c: &impl GenericClient,
    id: &str,
    version: i64,
    members_seq: i64,
    head: &StoredHead,
) -> Result<bool, tokio_postgres::Error> {
    let st = c
        .prepare_cached(
            "INSERT INTO channel_heads AS h (channel,version,members_seq,pointer,members,updated)
             VALUES ($1,$2,$3,$4,$5,extract(epoch from now())::bigint)
             ON CONFLICT (channel) DO UPDATE SET version = EXCLUDED.version,
               members_seq = EXCLUDED.members_seq, pointer = EXCLUDED.pointer,
               members = EXCLUDED.members, updated = EXCLUDED.updated
             WHERE (h.version < EXCLUDED.version AND h.members_seq <= EXCLUDED.members_seq)
                OR (h.pointer = EXCLUDED.pointer AND h.members_seq < EXCLUDED.members_seq)
             RETURNING 1",
        )
        .await?;
    Ok(c.query_opt(
        &st,
        &[&id, &version, &members_seq, &head.pointer, &head.members],
    )
    .await?
    .is_some())
}

async fn channel_head_in(
    c: &impl GenericClient,
    channel: &str,
) -> Result<Option<StoredHead>, tokio_postgres::Error> {
    let st = c
        .prepare_cached(
            "SELECT version,members_seq,pointer,members FROM channel_heads WHERE channel = $1",
        )
        .await?;
    Ok(c.query_opt(&st, &[&channel]).await?.map(|r| StoredHead {
        version: r.get::<_, i64>(0) as u64,
        members_seq: r.get::<_, i64>(1) as u64,
        pointer: r.get(2),
        members: r.get(3),
    }))
}

async fn code_status_in(
    c: &impl GenericClient,
    hash: &[u8; 32],
    viewer: &ViewerPublic,
    now: i64,
) -> StoreResult<Result<FreshCode, Redemption>> {
    let st = c
        .prepare_cached(
            "SELECT c.release_id, c.not_before, c.not_after, c.viewer, g.grant_bytes
             FROM codes c LEFT JOIN grants g ON g.id = c.grant_id WHERE c.code_hash = $1",
        )
        .await?;
    let row = c.query_opt(&st, &[&hash.as_slice()]).await?.map(|r| {
        let who: Option<String> = r.get(3);
        let grant: Option<Vec<u8>> = r.get(4);
        CodeRecord {
            release: r.get(0),
            not_before: r.get(1),
            not_after: r.get(2),
            redeemed_by: who.map(|w| (w, grant.unwrap_or_default())),
        }
    });
    Ok(code_status(row, viewer, now)?)
}
