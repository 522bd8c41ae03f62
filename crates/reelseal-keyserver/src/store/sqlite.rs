//! [`SqliteStore`]: the publisher's own SQLite ledger, served by one process. Exactly-once
//! redemption is the ledger's IMMEDIATE transaction ([`Ledger::complete_redemption`]), and
//! so is a channel head's compare-and-replace ([`Ledger::put_channel_head`]); challenges
//! and rate-limit buckets live in this process's memory ([`super::memory`]).

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use reelseal_core::card::SignedCard;
use reelseal_core::channel::ChannelId;
use reelseal_core::keys::{PublisherSecret, ViewerPublic};
use reelseal_core::validity::Validity;
use reelseal_core::ReleaseId;
use reelseal_ledger::{AuditEntry, FreshCode, GrantRow, Ledger, Redemption};
use zeroize::Zeroizing;

use super::memory::{Buckets, Challenges};
use super::{
    ChallengeLimits, ChallengeOpened, PutHead, ReleaseCache, ReleaseKeys, Revoked, Store,
    StoreError, StoreResult, StoredHead,
};

/// The publisher's SQLite ledger as the key server's store.
#[derive(Clone)]
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    ledger: Mutex<Ledger>,
    key: Arc<PublisherSecret>,
    export: Option<PathBuf>,
    /// How long each signed revocation list is valid (seconds).
    list_validity: i64,
    admin_token_hash: [u8; 32],
    releases: ReleaseCache,
    buckets: Buckets,
    challenges: Challenges,
}

impl SqliteStore {
    /// Serve `ledger`, signing revocation lists valid for `list_validity` seconds with
    /// `key`; each new list is also written to `export` (the publisher home's
    /// `revocations.rsrl`) when given. Admin requests must carry `admin_token`.
    pub fn new(
        ledger: Ledger,
        key: Arc<PublisherSecret>,
        export: Option<PathBuf>,
        list_validity: i64,
        admin_token: &Zeroizing<String>,
    ) -> Self {
        SqliteStore {
            inner: Arc::new(Inner {
                ledger: Mutex::new(ledger),
                key,
                export,
                list_validity,
                admin_token_hash: crate::server::token_hash(admin_token),
                releases: ReleaseCache::default(),
                buckets: Buckets::default(),
                challenges: Challenges::default(),
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
        if let Some(k) = self.inner.releases.get(&release) {
            return Ok(Some(k));
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
            self.inner.releases.put(release, k.clone());
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
        self.with(move |l, inner| {
            Ok(l.current_revocations(&inner.key, now, inner.list_validity)?
                .1)
        })
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
                l.publish_revocations(&inner.key, now, inner.list_validity)?
            } else {
                l.current_revocations(&inner.key, now, inner.list_validity)?
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

    async fn take_token(&self, key: String, rate: f64, burst: f64) -> StoreResult<bool> {
        Ok(self.inner.buckets.take(key, rate, burst))
    }

    async fn open_challenge(
        &self,
        viewer: ViewerPublic,
        token_hash: [u8; 32],
        now: i64,
        expires: i64,
        limits: ChallengeLimits,
    ) -> StoreResult<ChallengeOpened> {
        Ok(self
            .inner
            .challenges
            .open(&viewer, token_hash, now, expires, limits))
    }

    async fn take_challenge(
        &self,
        viewer: ViewerPublic,
        token_hash: [u8; 32],
        now: i64,
    ) -> StoreResult<bool> {
        Ok(self.inner.challenges.take(&viewer, &token_hash, now))
    }

    async fn channel_head(&self, channel: [u8; 16]) -> StoreResult<Option<StoredHead>> {
        self.with(move |l, _| Ok(l.channel_head(&ChannelId(channel))?))
            .await
    }

    async fn put_channel_head(&self, channel: [u8; 16], head: StoredHead) -> StoreResult<PutHead> {
        // Atomic in the ledger's IMMEDIATE transaction (Ledger::put_channel_head).
        self.with(move |l, _| {
            Ok(l.put_channel_head(&ChannelId(channel), &head, reelseal_core::validity::now())?)
        })
        .await
    }

    async fn sweep(&self, now: i64) -> StoreResult<()> {
        self.inner.challenges.sweep(now);
        self.inner.buckets.sweep();
        Ok(())
    }

    async fn ping(&self) -> StoreResult<()> {
        self.with(|l, _| Ok(l.schema_version().map(|_| ())?)).await
    }

    async fn admin_token_hash(&self) -> StoreResult<Option<[u8; 32]>> {
        Ok(Some(self.inner.admin_token_hash))
    }
}
