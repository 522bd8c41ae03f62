//! `reelseal keyserver sync`: bring a PostgreSQL key server database and this home's
//! ledger in line, both ways, so replicas can serve what the ledger holds and the ledger
//! knows what the replicas did (for `rotate`, `trace`, `grants`, `revoke`).
//!
//! Up: releases (card, key set, tracing code), grants, codes, revocations, the admin
//! token's hash and the publisher key's public half. Down: grants issued and codes
//! redeemed by the replicas, revocations made through the admin API; when either side
//! gained a revocation, the next signed list goes to both. Idempotent: run it after every
//! `seal`, `grant`, `codes`, `revoke` or `rotate`, and before `rotate` or `trace`; a second
//! run changes nothing.

use std::sync::Arc;

use anyhow::Result;
use reelseal_keyserver::store::pg::SyncUp;
use reelseal_keyserver::PgStore;
use serde::Serialize;

use super::{Studio, ACTOR};
use crate::feedback::Feedback;
use crate::fsutil;

/// Who the ledger's audit log names for what it learns from the key server.
pub const SYNC_ACTOR: &str = "key server (sync)";

/// What `reelseal keyserver sync` was asked.
#[derive(Clone, Debug)]
pub struct SyncPlan {
    /// The PostgreSQL URL.
    pub database: String,
}

/// What a sync moved.
#[derive(Clone, Debug, Serialize)]
pub struct SyncReport {
    /// Host, port and database (never the password).
    pub database: String,
    /// The database's schema version.
    pub schema_version: i32,
    /// Rows that went to the database.
    pub up: SyncCounts,
    /// Rows the ledger learnt.
    pub down: SyncCounts,
    /// Sequence of the revocation list signed for both sides, if one was.
    pub new_revocation_list: Option<u64>,
}

/// Counts per kind.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncCounts {
    /// Releases.
    pub releases: usize,
    /// Grants.
    pub grants: usize,
    /// Codes.
    pub codes: usize,
    /// Redemptions.
    pub redemptions: usize,
    /// Revocations.
    pub revocations: usize,
    /// Revocations taken back (`reelseal unrevoke`), sent up only.
    pub unrevoked: usize,
    /// Channel heads (the newest version of each channel, FORMAT.md §12), both ways.
    pub channel_heads: usize,
}

impl Studio {
    /// Sync this ledger with the key server database at `plan.database`.
    pub async fn sync_keyserver(
        &mut self,
        plan: &SyncPlan,
        fb: &dyn Feedback,
    ) -> Result<SyncReport> {
        let token = super::serve::admin_token(&self.home, fb)?;
        let key = Arc::new(reelseal_core::keys::PublisherSecret::from_bech32(
            &self.key().to_bech32(),
        )?);
        let store = PgStore::connect(
            &plan.database,
            key,
            2,
            reelseal_core::revocation::DEFAULT_VALIDITY,
        )
        .await?;
        let mut releases = Vec::new();
        for r in self.ledger.releases()? {
            let code = self.ledger.trace_code(&r.id)?;
            releases.push((r, code));
        }
        let up = SyncUp {
            releases,
            grants: self.ledger.all_grants()?,
            codes: self.ledger.all_codes()?,
            revocations: self.ledger.revocations()?,
            unrevoked: self.ledger.unrevocations()?,
            latest_list: self.ledger.latest_revocation_list()?,
            channel_heads: self.ledger.channel_heads()?,
            admin_token_hash: reelseal_keyserver::server::token_hash(&token),
        };
        let now = reelseal_core::validity::now();
        let down = store.sync(up, now).await?;

        // What the replicas did, into the ledger: grants first (codes refer to them).
        let grants = self.ledger.import_grants(&down.grants, SYNC_ACTOR, now)?;
        let codes = self.ledger.import_codes(&down.codes, SYNC_ACTOR, now)?;
        let mut redemptions = 0;
        for (hash, r) in &down.redemptions {
            redemptions += usize::from(self.ledger.import_redemption(hash, r)?);
        }
        let mut revocations = 0;
        for r in &down.revocations {
            revocations += usize::from(
                self.ledger
                    .revoke(&r.subject, &r.reason, r.time, SYNC_ACTOR)?,
            );
        }
        let mut heads = 0;
        for (id, h) in &down.channel_heads {
            heads += usize::from(
                self.ledger.put_channel_head(id, h, now)? == reelseal_ledger::PutHead::Stored,
            );
        }
        if let Some((seq, bytes)) = &down.list {
            self.ledger.store_revocation_list(*seq, now, bytes)?;
        }
        if let Some((_, bytes)) = self.ledger.latest_revocation_list()? {
            fsutil::write_atomic(&self.home.revocations_file(), &bytes, false)?;
        }
        let c = down.counts;
        if grants + codes + redemptions + revocations + heads > 0 || c != Default::default() {
            self.ledger.audit(
                ACTOR,
                "sync",
                &format!(
                    "key server database {}: sent {} releases, {} grants, {} codes, {} revocations, {} taken back, {} channel heads; learnt {grants} grants, {codes} codes, {redemptions} redemptions, {revocations} revocations, {heads} channel heads",
                    PgStore::describe_url(&plan.database),
                    c.releases_up,
                    c.grants_up,
                    c.codes_up,
                    c.revocations_up,
                    c.unrevoked_up,
                    c.channel_heads_up
                ),
            )?;
        }
        Ok(SyncReport {
            database: PgStore::describe_url(&plan.database),
            schema_version: store.schema_version().await?,
            up: SyncCounts {
                releases: c.releases_up,
                grants: c.grants_up,
                codes: c.codes_up,
                redemptions: c.redemptions_up,
                revocations: c.revocations_up,
                unrevoked: c.unrevoked_up,
                channel_heads: c.channel_heads_up,
            },
            down: SyncCounts {
                releases: 0,
                grants,
                codes,
                redemptions,
                revocations,
                unrevoked: 0,
                channel_heads: heads,
            },
            new_revocation_list: down.list.map(|(s, _)| s),
        })
    }
}
