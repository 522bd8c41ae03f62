//! # reelseal-swarm
//!
//! The one place that knows librqbit's API: a [`Swarm`] is one librqbit session (one
//! listening port, optional DHT and trackers) that seeds or fetches releases; a [`Torrent`]
//! is one release in it, with polling [`Stats`] and [`Torrent::stream`], a reader over one
//! file that yields only hash-verified bytes and prioritises the pieces at its position.
//!
//! Facts about librqbit 9.1 this crate relies on (checked against its source and tests):
//! - BEP 47 padding files (`attr` containing `p`) are synthetic: never written to disk,
//!   hashed as zeros, so a release directory holds only the real files;
//! - with an explicit `output_folder`, a multi-file torrent's files go straight into it
//!   (not into a sub-folder named after the torrent);
//! - `overwrite: true` is needed to seed or resume over files that exist; existing data is
//!   hash-checked when the torrent is added, so an interrupted fetch resumes;
//! - `Session::new` defaults turn DHT and LSD on and persist DHT state: we always build the
//!   session from explicit options;
//! - some malformed torrents panic it (piece length 0…): torrents are checked first.

#![forbid(unsafe_code)]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use librqbit::{
    AddTorrent, AddTorrentOptions, ConnectionOptions, DhtSessionConfig, ListenerMode,
    ListenerOptions, ManagedTorrent, Session, SessionOptions,
};

/// A seekable async reader over one file of a torrent (librqbit's file stream).
pub trait FileReader: tokio::io::AsyncRead + tokio::io::AsyncSeek + Unpin + Send {}
impl<T: tokio::io::AsyncRead + tokio::io::AsyncSeek + Unpin + Send> FileReader for T {}

/// How a swarm session talks to the world.
#[derive(Clone, Debug)]
pub struct SwarmOptions {
    /// Where to accept peers; `None` = do not listen (a pure downloader).
    pub listen: Option<SocketAddr>,
    /// Use the BitTorrent DHT (BEP 5).
    pub dht: bool,
    /// Announce to the torrent's trackers.
    pub trackers: bool,
    /// Extra tracker URLs for every torrent.
    pub extra_trackers: Vec<String>,
    /// Ask the router to forward the listening port (UPnP).
    pub upnp: bool,
    /// Upload limit in bytes per second.
    pub upload_limit_bps: Option<u32>,
    /// Download limit in bytes per second.
    pub download_limit_bps: Option<u32>,
}

impl SwarmOptions {
    /// The public swarm: listen on all interfaces (port 0 = any), DHT and trackers on,
    /// UPnP off unless asked.
    pub fn public(port: u16) -> Self {
        SwarmOptions {
            listen: Some(SocketAddr::from(([0, 0, 0, 0], port))),
            dht: true,
            trackers: true,
            extra_trackers: Vec::new(),
            upnp: false,
            upload_limit_bps: None,
            download_limit_bps: None,
        }
    }

    /// Loopback only, nothing public: listen on 127.0.0.1 (any port), no DHT, no trackers,
    /// no UPnP, no LSD. Peers must be given explicitly.
    pub fn loopback() -> Self {
        SwarmOptions {
            listen: Some(SocketAddr::from(([127, 0, 0, 1], 0))),
            dht: false,
            trackers: false,
            extra_trackers: Vec::new(),
            upnp: false,
            upload_limit_bps: None,
            download_limit_bps: None,
        }
    }
}

/// One librqbit session.
pub struct Swarm {
    session: Arc<Session>,
}

/// What a torrent is doing, polled.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    /// Bytes in the torrent (padding included, as librqbit counts them).
    pub total_bytes: u64,
    /// Bytes downloaded and hash-checked.
    pub have_bytes: u64,
    /// Bytes uploaded in this session.
    pub uploaded_bytes: u64,
    /// Bytes fetched from peers in this session (a resumed download fetches less).
    pub fetched_bytes: u64,
    /// Connected peers.
    pub peers: u32,
    /// Download rate, bytes per second.
    pub down_bps: f64,
    /// Upload rate, bytes per second.
    pub up_bps: f64,
    /// All pieces present.
    pub finished: bool,
    /// The torrent stopped with an error.
    pub error: Option<String>,
}

/// One torrent in a [`Swarm`].
#[derive(Clone)]
pub struct Torrent {
    handle: Arc<ManagedTorrent>,
    session: Arc<Session>,
}

fn limit(bps: Option<u32>) -> Option<NonZeroU32> {
    bps.and_then(NonZeroU32::new)
}

impl Swarm {
    /// Start a session. Files are only ever written to the folders given per torrent.
    pub async fn start(opts: SwarmOptions) -> Result<Swarm> {
        let scratch = std::env::temp_dir();
        let so = SessionOptions {
            dht: opts.dht.then(DhtSessionConfig::default),
            persistence: None,
            fastresume: false,
            disable_trackers: !opts.trackers,
            disable_local_service_discovery: true,
            listen: opts.listen.map(|addr| ListenerOptions {
                mode: ListenerMode::TcpOnly,
                listen_addr: addr,
                enable_upnp_port_forwarding: opts.upnp,
                ipv4_only: addr.is_ipv4(),
                ..Default::default()
            }),
            connect: Some(ConnectionOptions::default()),
            ratelimits: librqbit::limits::LimitsConfig {
                upload_bps: limit(opts.upload_limit_bps),
                download_bps: limit(opts.download_limit_bps),
            },
            trackers: opts
                .extra_trackers
                .iter()
                .map(|t| t.parse().with_context(|| format!("bad tracker URL {t:?}")))
                .collect::<Result<_>>()?,
            ipv4_only: opts.listen.is_some_and(|a| a.is_ipv4()),
            client_name_and_version: Some(format!("reelseal {}", env!("CARGO_PKG_VERSION"))),
            ..Default::default()
        };
        let session = Session::new_with_opts(scratch, so)
            .await
            .context("cannot start the BitTorrent session (is the listening port in use? try another --listen-port)")?;
        Ok(Swarm { session })
    }

    /// The address peers can reach us at, if listening.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.session.listen_addr()
    }

    async fn add(&self, what: AddTorrent<'_>, dir: &Path, peers: &[SocketAddr]) -> Result<Torrent> {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
        let resp = self
            .session
            .add_torrent(
                what,
                Some(AddTorrentOptions {
                    overwrite: true,
                    output_folder: Some(
                        dir.to_str()
                            .context("folder path is not UTF-8")?
                            .to_string(),
                    ),
                    initial_peers: (!peers.is_empty()).then(|| peers.to_vec()),
                    ..Default::default()
                }),
            )
            .await
            .context("librqbit refused the torrent")?;
        let handle = resp
            .into_handle()
            .context("librqbit returned no torrent handle")?;
        Ok(Torrent {
            handle,
            session: self.session.clone(),
        })
    }

    /// Seed a release whose files already sit in `dir` (the torrent's top folder). They are
    /// hash-checked first; returns once the check has started.
    pub async fn seed(&self, torrent: &[u8], dir: &Path, peers: &[SocketAddr]) -> Result<Torrent> {
        check_torrent(torrent)?;
        self.add(AddTorrent::from_bytes(torrent.to_vec()), dir, peers)
            .await
    }

    /// Download a torrent into `dir`, resuming from whatever valid data is already there.
    pub async fn fetch(&self, torrent: &[u8], dir: &Path, peers: &[SocketAddr]) -> Result<Torrent> {
        check_torrent(torrent)?;
        self.add(AddTorrent::from_bytes(torrent.to_vec()), dir, peers)
            .await
    }

    /// Seed any v1 torrent (not checked against reelseal's rules; for comparisons).
    #[doc(hidden)]
    pub async fn seed_unchecked(&self, torrent: &[u8], dir: &Path) -> Result<Torrent> {
        self.add(AddTorrent::from_bytes(torrent.to_vec()), dir, &[])
            .await
    }

    /// Download any v1 torrent (not checked against reelseal's rules; for comparisons).
    #[doc(hidden)]
    pub async fn fetch_unchecked(
        &self,
        torrent: &[u8],
        dir: &Path,
        peers: &[SocketAddr],
    ) -> Result<Torrent> {
        self.add(AddTorrent::from_bytes(torrent.to_vec()), dir, peers)
            .await
    }

    /// Download by magnet link: metadata from peers (BEP 9), DHT or trackers; librqbit checks
    /// that the metadata hashes to the infohash.
    pub async fn fetch_magnet(
        &self,
        magnet: &str,
        dir: &Path,
        peers: &[SocketAddr],
    ) -> Result<Torrent> {
        self.add(AddTorrent::from_url(magnet.to_string()), dir, peers)
            .await
    }

    /// Stop every torrent and the session (takes about a second in librqbit).
    pub async fn stop(self) {
        self.session.stop().await;
    }
}

impl Torrent {
    /// Infohash, 40 lowercase hex digits.
    pub fn info_hash_hex(&self) -> String {
        self.handle.info_hash().as_string()
    }

    /// Current statistics.
    pub fn stats(&self) -> Stats {
        let s = self.handle.stats();
        let (peers, down, up, fetched) = match &s.live {
            Some(l) => (
                l.snapshot.peer_stats.live,
                l.download_speed.mbps * 1024.0 * 1024.0,
                l.upload_speed.mbps * 1024.0 * 1024.0,
                l.snapshot.fetched_bytes,
            ),
            None => (0, 0.0, 0.0, 0),
        };
        Stats {
            total_bytes: s.total_bytes,
            have_bytes: s.progress_bytes,
            uploaded_bytes: s.uploaded_bytes,
            fetched_bytes: fetched,
            peers,
            down_bps: down,
            up_bps: up,
            finished: s.finished,
            error: s.error,
        }
    }

    /// Wait until metadata is known and existing data has been checked.
    pub async fn wait_until_initialized(&self) -> Result<()> {
        self.handle.wait_until_initialized().await
    }

    /// Wait until every piece is downloaded and verified.
    pub async fn wait_until_completed(&self) -> Result<()> {
        self.handle.wait_until_completed().await
    }

    /// The torrent's files as `(index, relative path with '/', length, is_padding)`.
    pub fn files(&self) -> Result<Vec<(usize, String, u64, bool)>> {
        self.handle.with_metadata(|m| {
            m.file_infos
                .iter()
                .enumerate()
                .map(|(i, f)| {
                    let name = f
                        .relative_filename
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy())
                        .collect::<Vec<_>>()
                        .join("/");
                    (i, name, f.len, f.attrs.padding)
                })
                .collect()
        })
    }

    /// The torrent file (metainfo) bytes, once known.
    pub fn torrent_bytes(&self) -> Result<Vec<u8>> {
        self.handle.with_metadata(|m| m.torrent_bytes.to_vec())
    }

    /// A reader over one file, by its index in [`Torrent::files`]: only hash-verified bytes,
    /// pieces at the read position fetched first. librqbit allows 8 at once by default.
    pub async fn stream(&self, file_index: usize) -> Result<Box<dyn FileReader>> {
        Ok(Box::new(self.handle.clone().stream(file_index).await?))
    }

    /// Remove the torrent from the session, keeping its files.
    pub async fn forget(self) -> Result<()> {
        self.session
            .delete(self.handle.info_hash().into(), false)
            .await
    }
}

/// Reject torrents librqbit would mishandle (it panics on some), using reelseal's own
/// strict metainfo parser: piece length a power of two, hash count matching the length,
/// safe path components, no empty file list.
pub fn check_torrent(bytes: &[u8]) -> Result<()> {
    reelseal_core::torrent::Metainfo::from_bytes(bytes).context("not a valid reelseal torrent")?;
    Ok(())
}

/// Poll `f` until it returns `Some`, every `every`, for at most `limit`.
pub async fn poll_until<T>(
    limit: Duration,
    every: Duration,
    mut f: impl FnMut() -> Option<T>,
) -> Result<T> {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Ok(v);
        }
        if tokio::time::Instant::now() >= deadline {
            bail!("timed out after {limit:?}");
        }
        tokio::time::sleep(every).await;
    }
}
