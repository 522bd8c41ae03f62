//! `reelseal serve`: the key server (see `reelseal-keyserver`) over this home's SQLite
//! ledger, or — with a database URL — as one of any number of stateless replicas over a
//! shared PostgreSQL database filled by `reelseal keyserver sync`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result};
use reelseal_core::keys::PublisherSecret;
use reelseal_keyserver::{PgStore, ServeOptions, SqliteStore};
use serde::Serialize;
use zeroize::Zeroizing;

use crate::feedback::Feedback;
use crate::fsutil;
use crate::home::PublisherHome;
use crate::ops::{Event, Interrupt, Stop};

/// What `reelseal serve` was asked.
#[derive(Clone, Debug)]
pub struct ServePlan {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Redemptions (and renewal challenges) per second per client address; 0 = no limit.
    pub redeem_rate: u32,
    /// How long each revocation list the server signs stays valid (seconds).
    pub list_validity: i64,
    /// A PostgreSQL URL: serve that database (as one replica of many) instead of the
    /// home's ledger.
    pub database: Option<String>,
    /// Connections this replica keeps to the database at most.
    pub pool_size: usize,
    /// The signing key from this file (which must be 0600) instead of the home's.
    pub key_file: Option<PathBuf>,
    /// Proxies whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
}

/// The server is up.
#[derive(Clone, Debug, Serialize)]
pub struct Serving {
    /// Its base URL.
    pub listening: String,
    /// What it serves: `sqlite <ledger path>` or `postgres <host:port/database>`.
    pub store: String,
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

/// The signing key: `--key-file` (refused unless private), else the home's.
pub fn signing_key(
    home: &PublisherHome,
    key_file: Option<&std::path::Path>,
    fb: &dyn Feedback,
) -> Result<PublisherSecret> {
    match key_file {
        Some(p) => {
            let line = fsutil::read_private_secret_file(p)?;
            PublisherSecret::from_bech32(&line)
                .with_context(|| format!("{} does not hold a publisher secret key", p.display()))
        }
        None => home.secret(fb),
    }
}

/// Serve until `stop` (then finish the requests in flight); announces the URL first.
/// The report says why it stopped: interrupted (^C) or terminated (SIGTERM, an orderly
/// shutdown).
pub async fn serve(
    home: &PublisherHome,
    plan: &ServePlan,
    fb: &dyn Feedback,
    stop: Interrupt,
) -> Result<ServeReport> {
    let shutdown = {
        let stop = stop.clone();
        async move { stop.wait().await }
    };
    let key = Arc::new(signing_key(home, plan.key_file.as_deref(), fb)?);
    let opts = ServeOptions {
        listen: plan.listen,
        redeem_rate: plan.redeem_rate,
        trusted_proxies: plan.trusted_proxies.clone(),
    };
    let announce = |store: String| {
        move |addr: SocketAddr| {
            fb.announce(&Event::Serving(Serving {
                listening: format!("http://{addr}"),
                store,
            }))
        }
    };
    match &plan.database {
        Some(url) => {
            let store =
                PgStore::connect(url, key.clone(), plan.pool_size, plan.list_validity).await?;
            store.check_ready_to_serve().await?;
            let what = format!("postgres {}", PgStore::describe_url(url));
            reelseal_keyserver::serve(store, key, opts, announce(what), shutdown).await?;
        }
        None => {
            let ledger = home.ledger()?;
            let token = admin_token(home, fb)?;
            // Viewers may ask for the list before anything was revoked: make the first,
            // empty one.
            let (_, first) = ledger.current_revocations(
                &key,
                reelseal_core::validity::now(),
                plan.list_validity,
            )?;
            fsutil::write_atomic(&home.revocations_file(), &first, false)?;
            let what = format!("sqlite {}", ledger.path().display());
            let store = SqliteStore::new(
                ledger,
                key.clone(),
                Some(home.revocations_file()),
                plan.list_validity,
                &token,
            );
            reelseal_keyserver::serve(store, key, opts, announce(what), shutdown).await?;
        }
    }
    Ok(ServeReport {
        stopped: stop.reason().unwrap_or(Stop::Interrupted).as_str().into(),
    })
}
