//! Where the key server keeps releases, codes, grants, revocations and its audit log.
//!
//! [`Store`] is what the server needs, nothing more; [`SqliteStore`] implements it over the
//! publisher's ledger (the default: `reelseal serve` with no flag). Methods are async so a
//! networked backend fits the same trait; the SQLite one runs its queries on tokio's
//! blocking pool. The rules themselves (exactly-once redemption, the next revocation list)
//! live in the ledger and in `reelseal-core`, not here.

use std::collections::HashMap;
use std::future::Future;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use reelseal_core::card::SignedCard;
use reelseal_core::keys::{PublisherSecret, ViewerPublic};
use reelseal_core::keyset::KeySet;
use reelseal_core::revocation::Subject;
use reelseal_core::tardos;
use reelseal_core::validity::Validity;
use reelseal_core::ReleaseId;
use reelseal_ledger::{AuditEntry, FreshCode, GrantRow, Ledger, LedgerError, Redemption};

/// Why a store call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The request does not fit what is stored (unknown subject, ambiguous prefix…): the
    /// message is for the caller.
    #[error("{0}")]
    Refused(String),
    /// Anything else (database trouble); logged, not shown to callers.
    #[error("store failure: {0}")]
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

impl From<LedgerError> for StoreError {
    fn from(e: LedgerError) -> Self {
        match e {
            LedgerError::NoSuchGrant(_)
            | LedgerError::AmbiguousGrant(..)
            | LedgerError::BadSubject(_)
            | LedgerError::NotFound(_)
            | LedgerError::Ambiguous(..) => StoreError::Refused(e.to_string()),
            other => StoreError::Internal(Box::new(other)),
        }
    }
}

/// Result with [`StoreError`].
pub type StoreResult<T> = Result<T, StoreError>;

/// What issuing a grant of a release needs: its signed card, key set and tracing code.
pub struct ReleaseKeys {
    /// The publisher-signed card.
    pub card: SignedCard,
    /// The release's secret key set.
    pub keys: KeySet,
    /// The tracing code, for releases sealed with variants.
    pub code: Option<tardos::Code>,
}

/// A revocation as the store recorded it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Revoked {
    /// What was revoked.
    pub subject: Subject,
    /// Whether it was not revoked before.
    pub new: bool,
    /// Sequence of the signed list that includes it.
    pub sequence: u64,
}

/// The key server's storage.
pub trait Store: Send + Sync + 'static {
    /// Card, key set and tracing code of a release, if the store has it.
    fn release_keys(
        &self,
        release: ReleaseId,
    ) -> impl Future<Output = StoreResult<Option<Arc<ReleaseKeys>>>> + Send;

    /// Can this code still be redeemed by `viewer`, and if not, why not.
    fn code_status(
        &self,
        hash: [u8; 32],
        viewer: ViewerPublic,
        now: i64,
    ) -> impl Future<Output = StoreResult<Result<FreshCode, Redemption>>> + Send;

    /// Bind the code to the grant, exactly once across every caller; the grant bytes of
    /// whoever won, or why not.
    fn complete_redemption(
        &self,
        hash: [u8; 32],
        grant: GrantRow,
        now: i64,
        actor: String,
    ) -> impl Future<Output = StoreResult<Result<Vec<u8>, Redemption>>> + Send;

    /// The current signed revocation list (the first, empty one is made if none exists).
    fn revocation_list(&self, now: i64) -> impl Future<Output = StoreResult<Vec<u8>>> + Send;

    /// Revoke what `subject` names (grant id, prefix or viewer key) and sign the next
    /// list if it is new.
    fn revoke(
        &self,
        subject: String,
        reason: String,
        now: i64,
        actor: String,
    ) -> impl Future<Output = StoreResult<Revoked>> + Send;

    /// Store hashed codes for a release; `false` if the release is unknown.
    fn add_codes(
        &self,
        release: ReleaseId,
        hashes: Vec<[u8; 32]>,
        validity: Validity,
        now: i64,
        actor: String,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Grants of a release, in issue order.
    fn grants(&self, release: ReleaseId)
        -> impl Future<Output = StoreResult<Vec<GrantRow>>> + Send;

    /// The newest release superseding `release`, if any.
    fn newest_successor(
        &self,
        release: ReleaseId,
    ) -> impl Future<Output = StoreResult<Option<ReleaseId>>> + Send;

    /// A viewer's grants, newest first.
    fn grants_for_viewer(
        &self,
        viewer: ViewerPublic,
    ) -> impl Future<Output = StoreResult<Vec<GrantRow>>> + Send;

    /// Append to the audit log.
    fn audit(
        &self,
        actor: String,
        action: &'static str,
        detail: String,
    ) -> impl Future<Output = StoreResult<()>> + Send;

    /// The newest `limit` audit entries, oldest first.
    fn audit_log(&self, limit: u32) -> impl Future<Output = StoreResult<Vec<AuditEntry>>> + Send;
}

/// The publisher's SQLite ledger as the key server's store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    ledger: Mutex<Ledger>,
    key: Arc<PublisherSecret>,
    export: Option<PathBuf>,
    releases: Mutex<HashMap<ReleaseId, Arc<ReleaseKeys>>>,
}

impl SqliteStore {
    /// Serve `ledger`, signing revocation lists with `key`; each new list is also written
    /// to `export` (the publisher home's `revocations.rsrl`) when given.
    pub fn new(ledger: Ledger, key: Arc<PublisherSecret>, export: Option<PathBuf>) -> Self {
        SqliteStore {
            inner: Arc::new(Inner {
                ledger: Mutex::new(ledger),
                key,
                export,
                releases: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Run `f` with the ledger on the blocking pool.
    async fn with<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Ledger, &Inner) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let inner = self.inner.clone();
        tokio::task::spawn_blocking(move || {
            let mut ledger = inner.ledger.lock().expect("ledger lock");
            f(&mut ledger, &inner)
        })
        .await
        .map_err(|e| StoreError::Internal(Box::new(e)))?
    }
}

fn export(inner: &Inner, bytes: &[u8]) -> StoreResult<()> {
    if let Some(path) = &inner.export {
        reelseal_core::durable::write_atomic(path, bytes, false)
            .map_err(|e| StoreError::Internal(Box::new(e)))?;
    }
    Ok(())
}

impl Store for SqliteStore {
    async fn release_keys(&self, release: ReleaseId) -> StoreResult<Option<Arc<ReleaseKeys>>> {
        if let Some(k) = self
            .inner
            .releases
            .lock()
            .expect("cache lock")
            .get(&release)
        {
            return Ok(Some(k.clone()));
        }
        let loaded = self
            .with(move |l, inner| {
                let Some(r) = l.release(&release)? else {
                    return Ok(None);
                };
                let card = SignedCard::verify(&r.card, &inner.key.public())
                    .map_err(|e| StoreError::Internal(Box::new(e)))?;
                Ok(Some(Arc::new(ReleaseKeys {
                    card,
                    keys: r.keys()?,
                    code: l.trace_code(&release)?,
                })))
            })
            .await?;
        if let Some(k) = &loaded {
            self.inner
                .releases
                .lock()
                .expect("cache lock")
                .insert(release, k.clone());
        }
        Ok(loaded)
    }

    async fn code_status(
        &self,
        hash: [u8; 32],
        viewer: ViewerPublic,
        now: i64,
    ) -> StoreResult<Result<FreshCode, Redemption>> {
        self.with(move |l, _| Ok(l.code_status(&hash, &viewer, now)?))
            .await
    }

    async fn complete_redemption(
        &self,
        hash: [u8; 32],
        grant: GrantRow,
        now: i64,
        actor: String,
    ) -> StoreResult<Result<Vec<u8>, Redemption>> {
        self.with(move |l, _| Ok(l.complete_redemption(&hash, &grant, now, &actor)?))
            .await
    }

    async fn revocation_list(&self, now: i64) -> StoreResult<Vec<u8>> {
        self.with(move |l, inner| Ok(l.current_revocations(&inner.key, now)?.1))
            .await
    }

    async fn revoke(
        &self,
        subject: String,
        reason: String,
        now: i64,
        actor: String,
    ) -> StoreResult<Revoked> {
        self.with(move |l, inner| {
            let subject = l.resolve_subject(&subject)?;
            let new = l.revoke(&subject, &reason, now, &actor)?;
            let (sequence, bytes) = if new {
                l.publish_revocations(&inner.key, now)?
            } else {
                l.current_revocations(&inner.key, now)?
            };
            export(inner, &bytes)?;
            Ok(Revoked {
                subject,
                new,
                sequence,
            })
        })
        .await
    }

    async fn add_codes(
        &self,
        release: ReleaseId,
        hashes: Vec<[u8; 32]>,
        validity: Validity,
        now: i64,
        actor: String,
    ) -> StoreResult<bool> {
        self.with(move |l, _| {
            if l.release(&release)?.is_none() {
                return Ok(false);
            }
            l.add_codes(&release, &hashes, validity, now, &actor)?;
            Ok(true)
        })
        .await
    }

    async fn grants(&self, release: ReleaseId) -> StoreResult<Vec<GrantRow>> {
        self.with(move |l, _| Ok(l.grants(&release)?)).await
    }

    async fn newest_successor(&self, release: ReleaseId) -> StoreResult<Option<ReleaseId>> {
        self.with(move |l, _| Ok(l.newest_successor(&release)?))
            .await
    }

    async fn grants_for_viewer(&self, viewer: ViewerPublic) -> StoreResult<Vec<GrantRow>> {
        self.with(move |l, _| Ok(l.grants_for_viewer(&viewer)?))
            .await
    }

    async fn audit(&self, actor: String, action: &'static str, detail: String) -> StoreResult<()> {
        self.with(move |l, _| Ok(l.audit(&actor, action, &detail)?))
            .await
    }

    async fn audit_log(&self, limit: u32) -> StoreResult<Vec<AuditEntry>> {
        self.with(move |l, _| Ok(l.audit_log(limit)?)).await
    }
}
