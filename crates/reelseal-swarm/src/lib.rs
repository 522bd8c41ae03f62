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
//!
//! Callers: `reelseal seed`, `reelview fetch` and `reelview play` (through `reelseal::ops`),
//! and `examples/plain_transfer.rs` for the benchmark against plain librqbit. Failures come
//! back as [`SwarmError`], worded for the person at the terminal; librqbit's own wording
//! stays in the error's source chain (for `REELVIEW_LOG=debug`), never in the message.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::Path;
use std::sync::Arc;

use librqbit::{
    AddTorrent, AddTorrentOptions, ConnectionOptions, DhtSessionConfig, ListenerMode,
    ListenerOptions, ManagedTorrent, Session, SessionOptions,
};

pub use reelseal_core::torrent::TorrentFile;
pub use reelseal_core::InfoHash;

/// What can go wrong in the swarm, for the person at the terminal.
#[derive(Debug, thiserror::Error)]
pub enum SwarmError {
    /// The session did not start.
    #[error("cannot start the BitTorrent session on {listen}: is the port in use? Try another --listen-port (or --bind)")]
    Start {
        /// The address asked for.
        listen: String,
        /// librqbit's reason.
        #[source]
        source: BoxError,
    },
    /// A tracker URL does not parse.
    #[error(
        "bad tracker URL {0:?}: give a full announce URL like udp://tracker.example:1337/announce"
    )]
    Tracker(String),
    /// The torrent is not a valid reelseal torrent (checked before librqbit sees it).
    #[error("not a valid reelseal torrent: {0}")]
    BadTorrent(#[from] reelseal_core::Error),
    /// A folder could not be created or named.
    #[error("cannot use the folder {path}: {why}")]
    Folder {
        /// The folder.
        path: String,
        /// What went wrong.
        why: String,
    },
    /// librqbit refused to add the torrent.
    #[error("the BitTorrent engine refused the torrent")]
    Add(#[source] BoxError),
    /// The torrent stopped with an error while checking or downloading.
    #[error("the torrent stopped: {0}")]
    Torrent(#[source] BoxError),
    /// Metadata is not known yet.
    #[error("the torrent's metadata is not known yet")]
    NoMetadata(#[source] BoxError),
    /// A file stream could not be opened.
    #[error("cannot read file {index} of the torrent")]
    Stream {
        /// File index.
        index: usize,
        /// librqbit's reason.
        #[source]
        source: BoxError,
    },
}

/// An error from librqbit, kept as the source of a [`SwarmError`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

fn boxed(e: anyhow::Error) -> BoxError {
    e.into()
}

/// Result with [`SwarmError`].
pub type Result<T, E = SwarmError> = std::result::Result<T, E>;

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
                .map(|t| t.parse().map_err(|_| SwarmError::Tracker(t.clone())))
                .collect::<Result<_>>()?,
            ipv4_only: opts.listen.is_some_and(|a| a.is_ipv4()),
            client_name_and_version: Some(format!("reelseal {}", env!("CARGO_PKG_VERSION"))),
            ..Default::default()
        };
        let session = Session::new_with_opts(scratch, so)
            .await
            .map_err(|e| SwarmError::Start {
                listen: opts
                    .listen
                    .map(|a| a.to_string())
                    .unwrap_or_else(|| "no address".into()),
                source: boxed(e),
            })?;
        Ok(Swarm { session })
    }

    /// The address peers can reach us at, if listening.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.session.listen_addr()
    }

    async fn add(&self, what: AddTorrent<'_>, dir: &Path, peers: &[SocketAddr]) -> Result<Torrent> {
        let folder = |why: String| SwarmError::Folder {
            path: dir.display().to_string(),
            why,
        };
        std::fs::create_dir_all(dir).map_err(|e| folder(e.to_string()))?;
        let output_folder = dir
            .to_str()
            .ok_or_else(|| folder("its path is not UTF-8".into()))?
            .to_string();
        let resp = self
            .session
            .add_torrent(
                what,
                Some(AddTorrentOptions {
                    overwrite: true,
                    output_folder: Some(output_folder),
                    initial_peers: (!peers.is_empty()).then(|| peers.to_vec()),
                    ..Default::default()
                }),
            )
            .await
            .map_err(|e| SwarmError::Add(boxed(e)))?;
        let handle = resp
            .into_handle()
            .ok_or_else(|| SwarmError::Add("librqbit returned no torrent handle".into()))?;
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
    /// The torrent's infohash.
    pub fn info_hash(&self) -> InfoHash {
        InfoHash(self.handle.info_hash().0)
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
        self.handle
            .wait_until_initialized()
            .await
            .map_err(|e| SwarmError::Torrent(boxed(e)))
    }

    /// Wait until every piece is downloaded and verified.
    pub async fn wait_until_completed(&self) -> Result<()> {
        self.handle
            .wait_until_completed()
            .await
            .map_err(|e| SwarmError::Torrent(boxed(e)))
    }

    /// The torrent's files (padding files included), once its metadata is known.
    pub fn files(&self) -> Result<Vec<TorrentFile>> {
        self.handle
            .with_metadata(|m| {
                m.file_infos
                    .iter()
                    .enumerate()
                    .map(|(index, f)| TorrentFile {
                        index,
                        path: f
                            .relative_filename
                            .components()
                            .map(|c| c.as_os_str().to_string_lossy())
                            .collect::<Vec<_>>()
                            .join("/"),
                        len: f.len,
                        padding: f.attrs.padding,
                    })
                    .collect()
            })
            .map_err(|e| SwarmError::NoMetadata(boxed(e)))
    }

    /// A reader over one file, by its index in [`Torrent::files`]: only hash-verified bytes,
    /// pieces at the read position fetched first. librqbit allows 8 at once by default.
    pub async fn stream(&self, file_index: usize) -> Result<Box<dyn FileReader>> {
        let s = self
            .handle
            .clone()
            .stream(file_index)
            .await
            .map_err(|e| SwarmError::Stream {
                index: file_index,
                source: boxed(e),
            })?;
        Ok(Box::new(s))
    }

    /// Remove the torrent from the session, keeping its files.
    pub async fn forget(self) -> Result<()> {
        self.session
            .delete(self.handle.info_hash().into(), false)
            .await
            .map_err(|e| SwarmError::Torrent(boxed(e)))
    }
}

/// Reject torrents librqbit would mishandle (it panics on some), using reelseal's own
/// strict metainfo parser: piece length a power of two, hash count matching the length,
/// safe path components, no empty file list.
pub fn check_torrent(bytes: &[u8]) -> Result<()> {
    reelseal_core::torrent::Metainfo::from_bytes(bytes)?;
    Ok(())
}
