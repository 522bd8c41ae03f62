//! `reelview renew KEY.rskey`: after a rotation, fetch this viewer's grant(s) for the
//! newest release from the key server, proving possession of the viewer key by opening a
//! challenge sealed to it.

use std::path::PathBuf;

use anyhow::{Context, Result};
use reelseal_core::grant::{challenge, Grant, KeyFile, GRANT_LABEL};
use reelseal_keyserver::Client;
use serde::Serialize;

use super::authorize::read_key_file;
use super::{TrustPolicy, Viewer};
use crate::exit::{refuse, Exit};
use crate::feedback::Feedback;
use crate::fsutil;

/// What `reelview renew` was asked.
#[derive(Clone, Debug)]
pub struct RenewPlan {
    /// The grant for the old release.
    pub key: PathBuf,
    /// Folder for the new grant files.
    pub out_dir: PathBuf,
    /// Trust.
    pub trust: TrustPolicy,
}

/// Grants renewed.
#[derive(Clone, Debug, Serialize)]
pub struct RenewReport {
    /// The new grants.
    pub renewed: Vec<Renewed>,
}

/// One renewed grant.
#[derive(Clone, Debug, Serialize)]
pub struct Renewed {
    /// Grant id.
    pub grant_id: String,
    /// The newest release.
    pub release_id: String,
    /// File written.
    pub file: PathBuf,
}

impl Viewer {
    /// Renew a grant after a rotation.
    pub fn renew(&self, plan: &RenewPlan, fb: &dyn Feedback) -> Result<RenewReport> {
        let kf = read_key_file(&plan.key)?;
        let what = plan.key.display().to_string();
        let claims = Grant::inspect(kf.grant_bytes())
            .with_context(|| format!("{what} holds a damaged grant"))?;
        let decision = self.decide_publisher(&claims.card.publisher_key(), &plan.trust, &what)?;
        let old = Grant::verify(kf.grant_bytes(), &decision.publisher)
            .map_err(|e| refuse(Exit::Untrusted, format!("{what}: {e}")))?;
        let ks = old.card().card().key_server.clone().context(
            "this release names no key server; ask the filmmaker for your new grant file",
        )?;
        let me = match kf {
            KeyFile::Access(a) => a.secret,
            KeyFile::Grant(_) => self.home.secret(fb)?,
        };
        let mine = me.public();
        let client = Client::new(&ks)?;
        let ch = client
            .challenge(&mine)
            .map_err(|e| anyhow::anyhow!("the key server refused: {e}"))?;
        let epk: [u8; 32] = hex::decode(&ch.epk)
            .ok()
            .and_then(|v| v.try_into().ok())
            .context("bad challenge from the key server")?;
        let boxed = hex::decode(&ch.sealed).context("bad challenge from the key server")?;
        let token = challenge::open(&me, &epk, &boxed)
            .context("cannot open the key server's challenge with your viewer key")?;
        let answer = client
            .renew(&mine, &token, &old.card().card().release_id())
            .map_err(|e| anyhow::anyhow!("the key server has no newer grant for you: {e}"))?;
        let mut renewed = Vec::new();
        for item in answer.grants {
            let bytes = reelseal_core::armor::decode(GRANT_LABEL, &item.grant)?;
            let g = self.check_received(&bytes, &mine, &plan.trust, fb)?;
            let file = plan.out_dir.join(format!(
                "{}-{}.rskey",
                fsutil::slug(&g.card().card().title),
                &g.params().id.to_hex()[..8]
            ));
            fsutil::write_atomic(&file, item.grant.as_bytes(), false)?;
            renewed.push(Renewed {
                grant_id: g.params().id.to_hex(),
                release_id: g.card().card().release_id().to_hex(),
                file,
            });
        }
        Ok(RenewReport { renewed })
    }
}
