//! `reelview redeem URL CODE`: trade a one-time code at a key server for a grant bound to
//! this viewer's key; the grant is checked (trust rule, signatures, our key) before it is
//! saved.

use std::path::PathBuf;

use anyhow::{Context, Result};
use reelseal_core::grant::{Grant, KeyFile};
use reelseal_core::keys::ViewerPublic;
use reelseal_keyserver::Client;
use serde::Serialize;

use super::{TrustPolicy, Viewer};
use crate::exit::{refuse, Exit};
use crate::feedback::Feedback;
use crate::fsutil;

/// What `reelview redeem` was asked.
#[derive(Clone, Debug)]
pub struct RedeemPlan {
    /// The key server's base URL.
    pub url: String,
    /// The code.
    pub code: String,
    /// Where to save the grant; default `./<title>.rskey`.
    pub out: Option<PathBuf>,
    /// Trust.
    pub trust: TrustPolicy,
}

/// A code redeemed.
#[derive(Clone, Debug, Serialize)]
pub struct RedeemReport {
    /// Grant id.
    pub grant_id: String,
    /// Title.
    pub title: String,
    /// Release id.
    pub release_id: String,
    /// The grant file written.
    pub file: PathBuf,
    /// This viewer's key.
    #[serde(skip)]
    pub viewer: String,
}

impl Viewer {
    /// Check a grant a key server handed us: from a publisher the trust rule accepts, with
    /// valid signatures, and for our key. Pins the publisher if the rule says so.
    pub fn check_received(
        &self,
        bytes: &[u8],
        mine: &ViewerPublic,
        trust: &TrustPolicy,
        fb: &dyn Feedback,
    ) -> Result<Grant> {
        let claims = Grant::inspect(bytes).context("the key server sent a damaged grant")?;
        let decision = self.decide_publisher(
            &claims.card.publisher_key(),
            trust,
            "the grant from the key server",
        )?;
        let g = Grant::verify(bytes, &decision.publisher).map_err(|e| {
            refuse(
                Exit::Untrusted,
                format!("the key server sent a grant that does not verify: {e}"),
            )
        })?;
        if g.params().viewer != *mine {
            return Err(refuse(
                Exit::NotMyKey,
                "the key server sent a grant for another viewer key",
            ));
        }
        if decision.pin && self.pin(&decision.publisher, "")? {
            fb.note(&format!(
                "pinned publisher {} (trust on first use)",
                decision.publisher
            ));
        }
        Ok(g)
    }

    /// Redeem a code.
    pub fn redeem(&self, plan: &RedeemPlan, fb: &dyn Feedback) -> Result<RedeemReport> {
        let mine = self.home.secret(fb)?.public();
        let answer = Client::new(&plan.url)?
            .redeem(&plan.code, &mine)
            .map_err(|e| match e.status() {
                Some(_) => anyhow::anyhow!("the key server refused the code: {e}"),
                None => anyhow::Error::new(e),
            })?;
        let kf = KeyFile::parse(&answer.grant)
            .context("the key server's answer holds no usable grant")?;
        let g = self.check_received(kf.grant_bytes(), &mine, &plan.trust, fb)?;
        let title = g.card().card().title.clone();
        let file = plan
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.rskey", fsutil::slug(&title))));
        fsutil::write_new(&file, answer.grant.as_bytes())?;
        Ok(RedeemReport {
            grant_id: g.params().id.to_hex(),
            release_id: g.card().card().release_id().to_hex(),
            title,
            file,
            viewer: mine.to_bech32(),
        })
    }
}
