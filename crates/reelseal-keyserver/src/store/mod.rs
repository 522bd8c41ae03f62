//! Where the key server keeps releases, codes, grants, revocations, its audit log, the
//! newest announced version of each channel, open renewal challenges and rate-limit
//! buckets.
//!
//! [`Store`] is what the server needs, nothing more. Two implementations:
//!
//! - [`SqliteStore`] serves the publisher's own SQLite ledger (the default: `reelseal serve`
//!   with no flag). One process owns the file, so renewal challenges and rate-limit buckets
//!   live in that process's memory ([`memory`]); a restart forgets them (a viewer asks for a
//!   new challenge, buckets start full).
//! - [`PgStore`] serves a PostgreSQL database shared by any number of stateless replicas
//!   (`reelseal serve --database postgres://…`). Everything lives in the database, so any
//!   replica answers any request: a challenge issued by one is answered at another, and a
//!   client's bucket is the same whichever replica it reaches.
//!
//! Methods are async so a networked backend fits; the SQLite one runs its queries on
//! tokio's blocking pool. The rules themselves (what a code lookup means, the next
//! revocation list, naming a revocation subject) live once in `reelseal-ledger` and
//! `reelseal-core` and both stores call them; each store states how it makes redemption
//! exactly-once in its own transaction.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};

use reelseal_core::card::SignedCard;
use reelseal_core::keys::ViewerPublic;
use reelseal_core::keyset::KeySet;
use reelseal_core::revocation::Subject;
use reelseal_core::tardos;
use reelseal_core::validity::Validity;
use reelseal_core::ReleaseId;
use reelseal_ledger::{AuditEntry, FreshCode, GrantRow, LedgerError, Redemption};
/// A channel's newest announced version as stored, and what storing one did (the rule,
/// [`reelseal_ledger::put_outcome`], is the ledger's; both stores apply it).
pub use reelseal_ledger::{PutHead, StoredHead};

pub mod memory;
pub mod pg;
mod sqlite;

pub use pg::{PgError, PgStore};
pub use sqlite::SqliteStore;

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

impl StoreError {
    /// Wrap any error as [`StoreError::Internal`].
    pub fn internal(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        StoreError::Internal(Box::new(e))
    }
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

/// How many renewal challenges may be open, and for how long.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChallengeLimits {
    /// Open challenges per viewer key (each is single-use; a new one does not cancel the
    /// others).
    pub per_viewer: u32,
    /// Open challenges in all (memory or rows).
    pub total: u32,
}

/// The answer to [`Store::open_challenge`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChallengeOpened {
    /// Remembered.
    Opened,
    /// This viewer key already has [`ChallengeLimits::per_viewer`] open challenges.
    TooManyForViewer,
    /// [`ChallengeLimits::total`] challenges are open.
    Full,
}

/// The key server's storage.
pub trait Store: Send + Sync + 'static {
    /// Card, key set and tracing code of a release, if the store has it. A release never
    /// changes once stored, so implementations may cache it (a cache any replica can
    /// rebuild from the store is not state).
    fn release_keys(
        &self,
        release: ReleaseId,
    ) -> impl Future<Output = StoreResult<Option<Arc<ReleaseKeys>>>> + Send;

    /// Can this code still be redeemed by `viewer`, and if not, why not
    /// ([`reelseal_ledger::code_status`] decides).
    fn code_status(
        &self,
        hash: [u8; 32],
        viewer: ViewerPublic,
        now: i64,
    ) -> impl Future<Output = StoreResult<Result<FreshCode, Redemption>>> + Send;

    /// Bind the code to the grant, exactly once across every caller (every process, for a
    /// shared store); the grant bytes of whoever won, or why not.
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

    /// Take one token from the bucket `key`, refilled at `rate` per second up to `burst`
    /// (a full bucket for a key never seen); whether there was one. A refusal takes nothing.
    fn take_token(
        &self,
        key: String,
        rate: f64,
        burst: f64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// Remember a renewal challenge for `viewer` by the SHA-256 of its token, open until
    /// `expires` (Unix seconds), within `limits`.
    fn open_challenge(
        &self,
        viewer: ViewerPublic,
        token_hash: [u8; 32],
        now: i64,
        expires: i64,
        limits: ChallengeLimits,
    ) -> impl Future<Output = StoreResult<ChallengeOpened>> + Send;

    /// Use up the challenge of `viewer` whose token hashes to `token_hash`: whether it
    /// was open and not expired. Each challenge answers once, whichever caller asks.
    fn take_challenge(
        &self,
        viewer: ViewerPublic,
        token_hash: [u8; 32],
        now: i64,
    ) -> impl Future<Output = StoreResult<bool>> + Send;

    /// The newest announced version of channel `channel`, if any.
    fn channel_head(
        &self,
        channel: [u8; 16],
    ) -> impl Future<Output = StoreResult<Option<StoredHead>>> + Send;

    /// Make `head` the newest version of `channel` unless it would go back
    /// ([`reelseal_ledger::put_outcome`]); the caller verified its signatures. The
    /// comparison with the stored head and the write are one atomic step across every
    /// caller (every process, for a shared store).
    fn put_channel_head(
        &self,
        channel: [u8; 16],
        head: StoredHead,
    ) -> impl Future<Output = StoreResult<PutHead>> + Send;

    /// Forget expired challenges and idle rate-limit buckets.
    fn sweep(&self, now: i64) -> impl Future<Output = StoreResult<()>> + Send;

    /// Whether the store answers (for `/readyz`).
    fn ping(&self) -> impl Future<Output = StoreResult<()>> + Send;

    /// SHA-256 of the admin bearer token, if one is set.
    fn admin_token_hash(&self) -> impl Future<Output = StoreResult<Option<[u8; 32]>>> + Send;
}

/// Releases already loaded and verified. Releases never change once stored, so this is a
/// cache any process can rebuild, not state; it is emptied when it grows past a bound.
#[derive(Default)]
pub(crate) struct ReleaseCache(Mutex<HashMap<ReleaseId, Arc<ReleaseKeys>>>);

/// Releases kept verified in memory before the cache starts over.
const RELEASE_CACHE: usize = 1024;

impl ReleaseCache {
    pub(crate) fn get(&self, id: &ReleaseId) -> Option<Arc<ReleaseKeys>> {
        self.0.lock().expect("cache lock").get(id).cloned()
    }

    pub(crate) fn put(&self, id: ReleaseId, k: Arc<ReleaseKeys>) {
        let mut m = self.0.lock().expect("cache lock");
        if m.len() >= RELEASE_CACHE {
            m.clear();
        }
        m.insert(id, k);
    }
}
