//! A key server over a fresh SQLite ledger on 127.0.0.1, for this crate's tests.
// Each test binary uses part of it.
#![allow(dead_code)]

use std::net::SocketAddr;
use std::sync::Arc;

use reelseal_core::keys::PublisherSecret;
use reelseal_keyserver::{serve, Client, ServeOptions, SqliteStore};
use reelseal_ledger::Ledger;
use zeroize::Zeroizing;

/// The admin bearer token the server accepts.
pub const TOKEN: &str = "test-admin-token";

/// A running server: its base URL and publisher key.
pub struct Server {
    pub url: String,
    pub key: Arc<PublisherSecret>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
    _dir: tempfile::TempDir,
}

/// Start one (redeem rate unlimited) and wait until it listens.
pub async fn start() -> Server {
    let dir = tempfile::tempdir().unwrap();
    let ledger = Ledger::open(&dir.path().join("ledger.sqlite")).unwrap();
    let key = Arc::new(PublisherSecret::generate());
    let store = SqliteStore::new(
        ledger,
        key.clone(),
        None,
        reelseal_core::revocation::DEFAULT_VALIDITY,
        &Zeroizing::new(TOKEN.into()),
    );
    let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<SocketAddr>();
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let opts = ServeOptions {
        listen: "127.0.0.1:0".parse().unwrap(),
        redeem_rate: 0,
        trusted_proxies: vec![],
    };
    let served = key.clone();
    let task = tokio::spawn(async move {
        serve(
            store,
            served,
            opts,
            move |a| {
                let _ = addr_tx.send(a);
            },
            async move {
                let _ = stop_rx.await;
            },
        )
        .await
        .unwrap();
    });
    let addr = tokio::time::timeout(std::time::Duration::from_secs(10), addr_rx)
        .await
        .unwrap()
        .unwrap();
    Server {
        url: format!("http://{addr}"),
        key,
        stop: Some(stop_tx),
        task,
        _dir: dir,
    }
}

impl Server {
    pub async fn stop(mut self) {
        let _ = self.stop.take().unwrap().send(());
        tokio::time::timeout(std::time::Duration::from_secs(10), self.task)
            .await
            .unwrap()
            .unwrap();
    }

    /// Run `f` with a blocking client of this server on tokio's blocking pool (the
    /// blocking client must not run on, or be dropped in, an async worker).
    pub async fn client<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Client) -> T + Send + 'static,
    ) -> T {
        let url = self.url.clone();
        tokio::task::spawn_blocking(move || f(&Client::new(&url).unwrap()))
            .await
            .unwrap()
    }
}
