//! `reelseal serve`: the key server over this home's ledger (see `reelseal-keyserver`).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Result;
use reelseal_keyserver::{ServeOptions, SqliteStore};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::feedback::Feedback;
use crate::fsutil;
use crate::home::PublisherHome;
use crate::ops::Event;

/// What `reelseal serve` was asked.
#[derive(Clone, Debug)]
pub struct ServePlan {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Redemptions per second per client address; 0 = no limit.
    pub redeem_rate: u32,
    /// How long each revocation list the server signs stays valid (seconds).
    pub list_validity: i64,
}

/// The server is up.
#[derive(Clone, Debug, Serialize)]
pub struct Serving {
    /// Its base URL.
    pub listening: String,
}

/// The server stopped.
#[derive(Clone, Debug, Serialize)]
pub struct ServeReport {
    /// Why.
    pub stopped: String,
}

/// Read or create the admin bearer token (0600) in the home.
pub fn admin_token(home: &PublisherHome, fb: &dyn Feedback) -> Result<Zeroizing<String>> {
    let p = home.admin_token_file();
    if !p.exists() {
        let t: [u8; 32] = reelseal_core::random_array();
        fsutil::ensure_private_dir(&home.dir)?;
        fsutil::write_atomic(&p, format!("{}\n", hex::encode(t)).as_bytes(), true)?;
    }
    let s = fsutil::read_secret_file(&p, fb)?;
    Ok(Zeroizing::new(s.trim().to_string()))
}

/// Serve until `shutdown` resolves; announces the URL first.
pub async fn serve(
    home: &PublisherHome,
    plan: &ServePlan,
    fb: &dyn Feedback,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<ServeReport> {
    let key = Arc::new(home.secret(fb)?);
    let ledger = home.ledger()?;
    let token = admin_token(home, fb)?;
    // Viewers may ask for the list before anything was revoked: make the first, empty one.
    let (_, first) =
        ledger.current_revocations(&key, reelseal_core::validity::now(), plan.list_validity)?;
    fsutil::write_atomic(&home.revocations_file(), &first, false)?;
    let store = SqliteStore::new(
        ledger,
        key.clone(),
        Some(home.revocations_file()),
        plan.list_validity,
    );
    let opts = ServeOptions {
        listen: plan.listen,
        redeem_rate: plan.redeem_rate,
    };
    reelseal_keyserver::serve(
        store,
        key,
        token,
        opts,
        |addr| {
            fb.announce(&Event::Serving(Serving {
                listening: format!("http://{addr}"),
            }))
        },
        shutdown,
    )
    .await?;
    Ok(ServeReport {
        stopped: "interrupted".into(),
    })
}
