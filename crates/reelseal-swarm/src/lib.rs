//! # reelseal-swarm
//!
//! The one place that knows librqbit's API: a [`Swarm`] is one librqbit session (one
//! listening port, optional DHT and trackers) that seeds or fetches releases; a [`Torrent`]
//! is one release in it, with polling [`Stats`] and [`Torrent::stream`], a reader over one
//! file that yields only hash-verified bytes and prioritises the pieces at its position.
//!
//! Facts about librqbit 9.1 this crate relies on (checked against its source and tests):
//! - BEP 47 padding files (`attr` containing `p`) are synthetic: librqbit never reads or
//!   writes them (hashed as zeros); reelseal writes them itself, for other clients;
//! - with an explicit `output_folder`, a multi-file torrent's files go straight into it
//!   (not into a sub-folder named after the torrent);
//! - `overwrite: true` is needed to seed or resume over files that exist; existing data is
//!   hash-checked when the torrent is added, so an interrupted fetch resumes;
//! - `Session::new` defaults turn DHT and LSD on and persist DHT state: we always build the
//!   session from explicit options; DHT state is kept only in [`SwarmSettings::state_dir`]
//!   (`dht.json`), never in the user's cache directory;
//! - some malformed torrents panic it (piece length 0…): torrents are checked first.
//!
//! And on the patches we carry on librqbit 9.1 and two of its crates (`vendor/README.md`):
//! - every socket of a session uses the listen address's IP: the TCP (and uTP) listener,
//!   the DHT, the UDP tracker socket, outgoing peer connections and HTTP tracker requests
//!   (`--bind` means one interface for everything);
//! - trackers get `started` on the first announce, `completed` once when a download
//!   completes, and `stopped` when a torrent is removed or the session stops
//!   ([`Swarm::stop`] waits up to about 4 s for those); the port announced is the one we
//!   listen on;
//! - peers given when a torrent is added (`--peer`) are dialled again after 0.5 s, 1 s,
//!   2 s … (then every 15 s) for as long as they cannot be reached, also while a magnet
//!   link's metadata is searched: a seeder that starts after the viewer is still found;
//! - any other peer whose connection fails or drops is dialled again after 1 s the first
//!   time (Transmission keeps one connection per IP and drops our data connection while
//!   it still holds our metadata connection), then with librqbit's backoff (10 s, ×6);
//! - a CANCEL takes a request out of the upload queue (librqbit 9.1.0 sent it anyway);
//! - origins (the publisher's seeder, [`Role::Origin`]) are spared by every reelseal
//!   peer, and an origin serves the pieces it sent least first (see [`Role`]);
//! - optional super-seeding ([`SeedOptions::super_seed`]);
//! - whole pieces from outside the peer protocol, hashed before they are written: the
//!   [`webseed`] module downloads from web seeds (BEP 19) with HTTP Range requests and
//!   hands librqbit each piece ([`Torrent::start_web_seeds`]).
//!
//! What librqbit does not do, and what a user sees then:
//! - **Protocol encryption (MSE/PE, "encrypted connections")**: librqbit speaks only the
//!   plain BitTorrent handshake (its peer protocol has no RC4/Diffie-Hellman code). A peer
//!   that *requires* encryption (libtorrent with `out_enc_policy`/`in_enc_policy` =
//!   forced, Transmission with "require encryption", many private-tracker setups) never
//!   exchanges data with us: when we dial it, it drops the connection after our plain
//!   handshake; when it dials us, it sends an obfuscated handshake that librqbit rejects.
//!   Such a peer just counts as known but never connected in [`SwarmStatus`]; peers that
//!   merely *prefer* encryption (the default almost everywhere) fall back to plain
//!   connections and work.
//! - **uTP**: see [`SwarmSettings::utp`].
//!
//! Callers: `reelseal seed`, `reelview fetch` and `reelview play` (through `reelseal::ops`),
//! and `examples/plain_transfer.rs` for the benchmark against plain librqbit. Failures come
//! back as [`SwarmError`], worded for the person at the terminal; librqbit's own wording
//! stays in the error's source chain (for `REELVIEW_LOG=debug`), never in the message.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use librqbit::dht::DhtPersistenceConfig;
use librqbit::{
    AddTorrent, AddTorrentOptions, ConnectionOptions, DhtSessionConfig, ListenerMode,
    ListenerOptions, ManagedTorrent, Session, SessionOptions,
};

pub use reelseal_core::torrent::TorrentFile;
pub use reelseal_core::InfoHash;

mod status;
pub use status::{PeerCounts, Phase, SwarmStatus, TrackerOutcome, TrackerReport};
pub mod pointer;
pub mod webseed;
pub use webseed::{WebSeedPolicy, WebSeedReport, WebSeeds};

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
    /// There is no way to find peers for a magnet link: DHT off, no tracker, no peer given.
    #[error("no way to find peers: the DHT is off, the release names no tracker and no --peer was given; turn the DHT on, add a --tracker, or give a --peer")]
    NoPeerSource,
    /// The folder for swarm state could not be created.
    #[error("cannot use {path} for the swarm's state: {why}")]
    StateDir {
        /// The folder.
        path: String,
        /// What went wrong.
        why: String,
    },
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

/// Session settings beyond [`SwarmOptions`] (kept apart so that code building a
/// `SwarmOptions` literal keeps compiling; `SwarmSettings::default()` is what
/// [`Swarm::start`] uses).
#[derive(Clone, Debug)]
pub struct SwarmSettings {
    /// Where the session keeps state between runs (today: the DHT routing table,
    /// `dht.json`, written every minute). `None`: nothing is kept, and nothing is ever
    /// written outside the folders given per torrent.
    pub state_dir: Option<PathBuf>,
    /// Also accept and make uTP connections (BEP 29) besides TCP. Outgoing connections
    /// try TCP first and uTP after 1 s. Checked against a uTP-only python libtorrent
    /// 2.1.1 over loopback (test `utp_only_libtorrent_downloads_from_us`).
    pub utp: bool,
    /// DHT bootstrap nodes (`host:port`); `None` = librqbit's public ones. Tests give a
    /// DHT node on loopback (or an empty list).
    pub dht_bootstrap: Option<Vec<String>>,
    /// Web seeds given by the user for every torrent fetched (`reelview --web-seed`),
    /// besides those on a release's signed card: see [`Swarm::extra_web_seeds`].
    pub web_seeds: Vec<String>,
    /// Whose session this is: the publisher's seeder ([`Role::Origin`]) or anybody
    /// else. Viewers spare origins (see [`Role`]).
    pub role: Role,
}

/// Who runs a session, as far as the swarm is concerned.
///
/// The publisher's seeder (`reelseal seed`) says it is the origin with the peer id it
/// shows other peers (prefix [`ORIGIN_PEER_ID_PREFIX`]). Every reelseal session asks an
/// origin only for pieces that no other connected peer has, while other peers feed it
/// (librqbit patch M, `vendor/README.md`): the filmmaker's upload then goes to pieces
/// the swarm lacks and viewers trade the rest. When no other peer has sent anything
/// for 5 s, an origin is asked like any peer, so a swarm of one viewer, or viewers
/// that choke us, never waits on it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Role {
    /// A viewer, or anybody who is not the publisher's seeder.
    #[default]
    Peer,
    /// The publisher's own seeder.
    Origin,
}

/// Chunk requests (16 KiB each) kept outstanding per peer: one 256 KiB piece. librqbit's
/// default is 128 (2 MiB): at a viewer uploading 2 MiB/s to 20 others that is a 20 s
/// queue, so pieces are picked from a stale view of the swarm and slow peers are
/// overtaken. Measured with `bench/reach.sh` (30 viewers): 32 gave median fetch 35 s,
/// 16 gave 32 s (`vendor/README.md`, L–N).
pub const PEER_REQUEST_WINDOW: usize = 16;

/// The first bytes of an origin's peer id (Azureus style: `-RO0100-` then 12 random
/// bytes). Only a hint to other reelseal peers: a peer that claims it gains nothing but
/// being asked for fewer pieces.
pub const ORIGIN_PEER_ID_PREFIX: &[u8] = b"-RO";

fn origin_peer_id() -> librqbit::dht::Id20 {
    let mut id = [0u8; 20];
    id[..ORIGIN_PEER_ID_PREFIX.len()].copy_from_slice(ORIGIN_PEER_ID_PREFIX);
    id[ORIGIN_PEER_ID_PREFIX.len()..8].copy_from_slice(b"0100-");
    id[8..].copy_from_slice(&reelseal_core::random_array::<12>());
    librqbit::dht::Id20::new(id)
}

impl Default for SwarmSettings {
    fn default() -> Self {
        SwarmSettings {
            state_dir: None,
            utp: true,
            dht_bootstrap: None,
            web_seeds: Vec::new(),
            role: Role::Peer,
        }
    }
}

impl SwarmSettings {
    /// For tests on loopback: TCP only (no uTP), no state kept, no public DHT nodes.
    pub fn loopback() -> Self {
        SwarmSettings {
            state_dir: None,
            utp: false,
            dht_bootstrap: Some(Vec::new()),
            web_seeds: Vec::new(),
            role: Role::Peer,
        }
    }
}

/// Options of one seeded torrent.
#[derive(Clone, Debug, Default)]
pub struct SeedOptions {
    /// Super-seeding (BEP 16 style initial seeding): while we have the whole release,
    /// offer each peer pieces no one else was offered yet instead of showing everything.
    /// Experimental and not used by reelseal's commands: with 30 viewers arriving over
    /// 15 s (`bench/reach.sh`), no viewer completed within 7 minutes (see
    /// `vendor/README.md`, J).
    pub super_seed: bool,
    /// Download only these files (indices in torrent order, padding included); `None`:
    /// all. A channel's `sync` fetches a version's card and member list first this way.
    pub only_files: Option<Vec<usize>>,
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
    shared: Arc<Shared>,
}

/// What a [`Swarm`] and its [`Torrent`]s share.
struct Shared {
    opts: SwarmOptions,
    /// Whose session this is.
    role: Role,
    /// When each torrent was asked for (before librqbit knows it: a magnet link's
    /// metadata search), for [`SwarmStatus::seconds`].
    added: Mutex<HashMap<[u8; 20], Instant>>,
    /// Each torrent's web seeds, for [`SwarmStatus::web_seeds`].
    web_seeds: Mutex<HashMap<[u8; 20], Arc<webseed::Board>>>,
    /// Web seeds the user gave for every torrent.
    extra_web_seeds: Vec<String>,
}

/// The sockets a session uses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Sockets {
    /// Where peers reach us (TCP, and uTP on the same port if on).
    pub peers: Option<SocketAddr>,
    /// The DHT's UDP socket, if the DHT is on.
    pub dht: Option<SocketAddr>,
    /// The UDP socket for UDP trackers.
    pub udp_trackers: SocketAddr,
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
    shared: Arc<Shared>,
}

/// How often the DHT routing table is written to [`SwarmSettings::state_dir`].
const DHT_DUMP_INTERVAL: Duration = Duration::from_secs(60);

fn limit(bps: Option<u32>) -> Option<NonZeroU32> {
    bps.and_then(NonZeroU32::new)
}

impl Swarm {
    /// Start a session with [`SwarmSettings::default`], except that uTP is on only when
    /// listening on a non-loopback address (the public swarm; sessions on loopback —
    /// tests — keep to TCP). Files are only ever written to the folders given per
    /// torrent.
    pub async fn start(opts: SwarmOptions) -> Result<Swarm> {
        let settings = SwarmSettings {
            utp: opts.listen.is_some_and(|a| !a.ip().is_loopback()),
            ..SwarmSettings::default()
        };
        Swarm::start_with(opts, settings).await
    }

    /// Start a session. Files are only ever written to the folders given per torrent and
    /// to `settings.state_dir`.
    pub async fn start_with(opts: SwarmOptions, settings: SwarmSettings) -> Result<Swarm> {
        Swarm::start_inner(opts, settings, DHT_DUMP_INTERVAL).await
    }

    async fn start_inner(
        opts: SwarmOptions,
        settings: SwarmSettings,
        dht_dump_interval: Duration,
    ) -> Result<Swarm> {
        let scratch = std::env::temp_dir();
        let persistence = match &settings.state_dir {
            Some(dir) => {
                std::fs::create_dir_all(dir).map_err(|e| SwarmError::StateDir {
                    path: dir.display().to_string(),
                    why: e.to_string(),
                })?;
                Some(DhtPersistenceConfig {
                    dump_interval: Some(dht_dump_interval),
                    config_filename: Some(dir.join("dht.json")),
                })
            }
            None => None,
        };
        let so = SessionOptions {
            dht: opts.dht.then(|| DhtSessionConfig {
                bootstrap_addrs: settings.dht_bootstrap.clone(),
                port: None,
                persistence,
            }),
            persistence: None,
            fastresume: false,
            disable_trackers: !opts.trackers,
            disable_local_service_discovery: true,
            listen: opts.listen.map(|addr| ListenerOptions {
                mode: if settings.utp {
                    ListenerMode::TcpAndUtp
                } else {
                    ListenerMode::TcpOnly
                },
                listen_addr: addr,
                enable_upnp_port_forwarding: opts.upnp,
                ipv4_only: addr.is_ipv4(),
                ..Default::default()
            }),
            connect: Some(ConnectionOptions {
                peer_opts: Some(librqbit::PeerConnectionOptions {
                    max_request_window: Some(PEER_REQUEST_WINDOW),
                    ..Default::default()
                }),
                ..Default::default()
            }),
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
            peer_id: (settings.role == Role::Origin).then(origin_peer_id),
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
        Ok(Swarm {
            session,
            shared: Arc::new(Shared {
                opts,
                added: Mutex::new(HashMap::new()),
                web_seeds: Mutex::new(HashMap::new()),
                extra_web_seeds: settings.web_seeds.clone(),
                role: settings.role,
            }),
        })
    }

    /// The address peers can reach us at, if listening.
    pub fn listen_addr(&self) -> Option<SocketAddr> {
        self.session.listen_addr()
    }

    /// Every socket the session uses (all on the listen address's IP).
    pub fn sockets(&self) -> Sockets {
        Sockets {
            peers: self.session.listen_addr(),
            dht: self.session.get_dht().map(|d| d.listen_addr()),
            udp_trackers: self.session.udp_tracker_local_addr(),
        }
    }

    /// What the swarm is doing for one torrent, from the moment it was asked for
    /// (including while a magnet link's metadata is being searched, before
    /// [`Swarm::fetch_magnet`] returns): call it from another task to show progress.
    pub fn status(&self, info_hash: &InfoHash) -> SwarmStatus {
        status::status(&self.session, &self.shared, info_hash)
    }

    /// Statistics of a torrent in this session, by infohash (`None` before a magnet
    /// link's metadata is known).
    pub fn stats(&self, info_hash: &InfoHash) -> Option<Stats> {
        self.session
            .get(librqbit::dht::Id20::new(info_hash.0).into())
            .map(|h| stats_of(&h))
    }

    async fn add(
        &self,
        what: AddTorrent<'_>,
        dir: &Path,
        peers: &[SocketAddr],
        seed: &SeedOptions,
    ) -> Result<Torrent> {
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
                    super_seed: seed.super_seed,
                    only_files: seed.only_files.clone(),
                    origin_peer_id_prefix: Some(ORIGIN_PEER_ID_PREFIX.to_vec()),
                    least_sent_first: self.shared.role == Role::Origin,
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
            shared: self.shared.clone(),
        })
    }

    fn note_added(&self, info_hash: [u8; 20]) {
        self.shared
            .added
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(info_hash)
            .or_insert_with(Instant::now);
    }

    /// Seed a release whose files already sit in `dir` (the torrent's top folder). They are
    /// hash-checked first; returns once the check has started.
    pub async fn seed(&self, torrent: &[u8], dir: &Path, peers: &[SocketAddr]) -> Result<Torrent> {
        self.seed_with(torrent, dir, peers, &SeedOptions::default())
            .await
    }

    /// [`Swarm::seed`] with options (super-seeding).
    pub async fn seed_with(
        &self,
        torrent: &[u8],
        dir: &Path,
        peers: &[SocketAddr],
        options: &SeedOptions,
    ) -> Result<Torrent> {
        let meta = reelseal_core::torrent::Metainfo::from_bytes(torrent)?;
        self.note_added(meta.infohash());
        self.add(
            AddTorrent::from_bytes(torrent.to_vec()),
            dir,
            peers,
            options,
        )
        .await
    }

    /// Seed any v1 torrent (not checked against reelseal's rules; for comparisons).
    #[doc(hidden)]
    pub async fn seed_unchecked(&self, torrent: &[u8], dir: &Path) -> Result<Torrent> {
        self.seed_unchecked_with(torrent, dir, &[], &SeedOptions::default())
            .await
    }

    /// [`Swarm::seed_unchecked`] with peers and options (for experiments).
    #[doc(hidden)]
    pub async fn seed_unchecked_with(
        &self,
        torrent: &[u8],
        dir: &Path,
        peers: &[SocketAddr],
        options: &SeedOptions,
    ) -> Result<Torrent> {
        self.add(
            AddTorrent::from_bytes(torrent.to_vec()),
            dir,
            peers,
            options,
        )
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
        self.add(
            AddTorrent::from_bytes(torrent.to_vec()),
            dir,
            peers,
            &SeedOptions::default(),
        )
        .await
    }

    /// Download by magnet link: metadata from peers (BEP 9), DHT or trackers; librqbit checks
    /// that the metadata hashes to the infohash. Returns once the metadata is known, which
    /// can take forever when no peer answers (peers given here are dialled again and
    /// again): watch [`Swarm::status`] meanwhile.
    pub async fn fetch_magnet(
        &self,
        magnet: &str,
        dir: &Path,
        peers: &[SocketAddr],
    ) -> Result<Torrent> {
        self.fetch_magnet_with(magnet, dir, peers, &SeedOptions::default())
            .await
    }

    /// [`Swarm::fetch_magnet`] with options (only some files).
    pub async fn fetch_magnet_with(
        &self,
        magnet: &str,
        dir: &Path,
        peers: &[SocketAddr],
        options: &SeedOptions,
    ) -> Result<Torrent> {
        let parsed = librqbit::Magnet::parse(magnet).map_err(|e| SwarmError::Add(boxed(e)))?;
        let has_trackers =
            !parsed.trackers.is_empty() || !self.shared.opts.extra_trackers.is_empty();
        if !self.shared.opts.dht
            && (!self.shared.opts.trackers || !has_trackers)
            && peers.is_empty()
        {
            return Err(SwarmError::NoPeerSource);
        }
        if let Some(h) = parsed.as_id20() {
            self.note_added(h.0);
        }
        self.add(
            AddTorrent::from_url(magnet.to_string()),
            dir,
            peers,
            options,
        )
        .await
    }

    /// Download a release from its `.torrent` bytes (checked by reelseal's strict parser
    /// first): no metadata search, so it starts even with no peer at all (e.g. with the
    /// torrent from a web seed).
    pub async fn fetch_torrent(
        &self,
        torrent: &[u8],
        dir: &Path,
        peers: &[SocketAddr],
    ) -> Result<Torrent> {
        // Adding a torrent by its bytes is the same for both: librqbit checks what is in
        // `dir` and downloads what is missing.
        self.seed_with(torrent, dir, peers, &SeedOptions::default())
            .await
    }

    /// Web seeds the user gave for every release ([`SwarmSettings::web_seeds`]).
    pub fn extra_web_seeds(&self) -> &[String] {
        &self.shared.extra_web_seeds
    }

    /// An HTTP client for web seeds, bound like the session's other sockets.
    pub fn web_seed_client(&self, timeout: Duration) -> reqwest::Client {
        webseed::client(self.shared.opts.listen, timeout)
    }

    /// What the web seeds said since the last call (refused pieces, a seed given up), in
    /// words for the person at the terminal; each note is returned once.
    pub fn take_web_seed_notes(&self, info_hash: &InfoHash) -> Vec<String> {
        self.shared
            .web_seeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&info_hash.0)
            .map(|b| b.take_notes())
            .unwrap_or_default()
    }

    /// Stop every torrent and the session: trackers are told `stopped` first (up to about
    /// 4 s), then librqbit takes about a second.
    pub async fn stop(self) {
        self.session.stop().await;
    }
}

impl Torrent {
    /// The torrent's infohash.
    pub fn info_hash(&self) -> InfoHash {
        InfoHash(self.handle.info_hash().0)
    }

    /// What the swarm is doing for this torrent (see [`Swarm::status`]).
    pub fn status(&self) -> SwarmStatus {
        status::status(&self.session, &self.shared, &self.info_hash())
    }

    /// Current statistics.
    pub fn stats(&self) -> Stats {
        stats_of(&self.handle)
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

    /// The torrent's info dict as the swarm gave it (its SHA-1 is the infohash), once its
    /// metadata is known: with the trackers, enough to write a `.torrent` any client reads.
    pub fn info_bytes(&self) -> Result<Vec<u8>> {
        self.handle
            .with_metadata(|m| m.info_bytes.to_vec())
            .map_err(|e| SwarmError::NoMetadata(boxed(e)))
    }

    /// A reader over one file for a whole download ([`Torrent::stream`] for a player):
    /// only the piece at the read position is fetched first; the order of the others is
    /// left to the piece picker (rarest first in a swarm), so that viewers fetching at the
    /// same time hold different pieces and trade them instead of all asking the seeder for
    /// the same ones (with a 32 MiB read-ahead they move in lockstep).
    pub async fn download_reader(&self, file_index: usize) -> Result<Box<dyn FileReader>> {
        let s = self
            .handle
            .clone()
            .stream_with_readahead(file_index, 0)
            .await
            .map_err(|e| SwarmError::Stream {
                index: file_index,
                source: boxed(e),
            })?;
        Ok(Box::new(s))
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

    /// Use these web seeds (base URLs, BEP 19) for this torrent from now on, under
    /// `policy`: whole pieces over HTTP Range requests, each verified against its hash
    /// before it is written. Needs the metadata. The seeds work until the torrent is
    /// complete or the returned value is dropped; [`Torrent::status`] reports them.
    pub fn start_web_seeds(&self, urls: Vec<String>, policy: WebSeedPolicy) -> Result<WebSeeds> {
        let info = self.info_bytes()?;
        let meta = reelseal_core::torrent::Metainfo::from_info(&info, &[], &[])?;
        let board = Arc::new(webseed::Board::default());
        self.shared
            .web_seeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(self.handle.info_hash().0, board.clone());
        Ok(webseed::start(
            self.handle.clone(),
            Arc::new(meta),
            urls,
            policy,
            board,
            self.shared.opts.listen,
        ))
    }

    /// Remove the torrent from the session, keeping its files (trackers are told
    /// `stopped` in the background).
    pub async fn forget(self) -> Result<()> {
        self.shared
            .added
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.handle.info_hash().0);
        self.session
            .delete(self.handle.info_hash().into(), false)
            .await
            .map_err(|e| SwarmError::Torrent(boxed(e)))
    }
}

/// A torrent's statistics.
fn stats_of(handle: &ManagedTorrent) -> Stats {
    let s = handle.stats();
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

/// Reject torrents librqbit would mishandle (it panics on some), using reelseal's own
/// strict metainfo parser: piece length a power of two, hash count matching the length,
/// safe path components, no empty file list.
pub fn check_torrent(bytes: &[u8]) -> Result<()> {
    reelseal_core::torrent::Metainfo::from_bytes(bytes)?;
    Ok(())
}

#[cfg(test)]
mod tests;
