use std::collections::HashSet;
use std::net::SocketAddr;
use std::net::SocketAddrV4;
use std::net::SocketAddrV6;
use std::sync::Arc;
use std::time::Duration;
use std::time::Instant;

use anyhow::Context;
use anyhow::bail;
use backon::BackoffBuilder;
use backon::ExponentialBuilder;
use backon::Retryable;
use futures::FutureExt;
use futures::StreamExt;
use futures::future::Either;
use futures::stream::BoxStream;
use futures::stream::FuturesUnordered;
use tracing::Instrument;
use tracing::debug;
use tracing::debug_span;
use tracing::trace;
use tracing::trace_span;
use url::Url;

use crate::tracker_comms_http;
use crate::tracker_comms_udp;
use crate::tracker_comms_udp::UdpTrackerClient;
use librqbit_core::hash_id::Id20;

pub struct TrackerComms {
    info_hash: Id20,
    peer_id: Id20,
    stats: Box<dyn TorrentStatsProvider>,
    force_tracker_interval: Option<Duration>,
    tx: Sender,
    // This MUST be set as trackers don't work with 0 port.
    announce_port: u16,
    reqwest_client: reqwest::Client,
    key: u32,
    // reelseal: what each tracker said (for a UI), the trackers that accepted our
    // `started` (they get a `stopped` when the stream is dropped), and the last stats
    // we announced (used for `stopped` if the torrent is already gone by then).
    status: Option<TrackerStatusBoard>,
    started: parking_lot::Mutex<Vec<StartedTracker>>,
    last_stats: parking_lot::Mutex<Option<AnnouncedStats>>,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
struct AnnouncedStats {
    uploaded: u64,
    downloaded: u64,
    left: u64,
}

#[derive(Clone, Debug)]
enum StartedTracker {
    Http(Url),
    Udp(Url, SocketAddr),
}

/// The BEP 3 / BEP 15 announce events.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AnnounceEvent {
    Started,
    Completed,
    Stopped,
}

/// A successful announce.
#[derive(Clone, Debug)]
pub struct AnnounceSuccess {
    /// The event it carried (None for a regular re-announce).
    pub event: Option<AnnounceEvent>,
    /// How many peer addresses the tracker returned.
    pub peers: usize,
    /// Seeders / leechers, when the tracker said.
    pub seeders: Option<u64>,
    pub leechers: Option<u64>,
    /// When the tracker wants to hear from us again.
    pub interval: Duration,
}

/// Why an announce failed, coarsely, so that a UI can word it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AnnounceFailureKind {
    /// The tracker's host name did not resolve.
    Resolve,
    /// No connection (refused, unreachable, TLS...).
    Connect,
    /// No answer in time.
    Timeout,
    /// The HTTP tracker answered with this non-success status.
    HttpStatus(u16),
    /// The tracker answered with a failure reason (its own words).
    Refused(String),
    /// The answer could not be understood.
    BadResponse,
    /// Anything else.
    Other,
}

/// A failed announce: its kind and librqbit's full error text (for logs).
#[derive(Clone, Debug)]
pub struct AnnounceFailure {
    pub kind: AnnounceFailureKind,
    pub message: String,
}

/// What one tracker said last.
#[derive(Clone, Debug)]
pub struct TrackerStatus {
    pub url: Url,
    /// Announces tried and announces answered so far.
    pub attempts: u32,
    pub successes: u32,
    /// When the last announce finished, and how.
    pub last_attempt: Option<Instant>,
    pub last_result: Option<Result<AnnounceSuccess, AnnounceFailure>>,
}

/// Every tracker's [`TrackerStatus`] for one torrent, written by the tracker tasks.
#[derive(Clone, Default)]
pub struct TrackerStatusBoard {
    inner: Arc<parking_lot::RwLock<Vec<TrackerStatus>>>,
}

impl TrackerStatusBoard {
    /// A copy of every tracker's status, in the order they were first seen.
    pub fn snapshot(&self) -> Vec<TrackerStatus> {
        self.inner.read().clone()
    }

    fn ensure(&self, url: &Url) {
        let mut g = self.inner.write();
        if !g.iter().any(|t| &t.url == url) {
            g.push(TrackerStatus {
                url: url.clone(),
                attempts: 0,
                successes: 0,
                last_attempt: None,
                last_result: None,
            });
        }
    }

    fn record(&self, url: &Url, result: Result<AnnounceSuccess, AnnounceFailure>) {
        self.ensure(url);
        let mut g = self.inner.write();
        if let Some(t) = g.iter_mut().find(|t| &t.url == url) {
            t.attempts += 1;
            if result.is_ok() {
                t.successes += 1;
            }
            t.last_attempt = Some(Instant::now());
            t.last_result = Some(result);
        }
    }
}

/// `stopped` announces in flight (sent when a tracker stream is dropped), so that a
/// session can wait for them before it shuts its sockets.
#[derive(Clone, Default)]
pub struct StoppedAnnounces {
    tasks: Arc<parking_lot::Mutex<Vec<tokio::task::JoinHandle<()>>>>,
}

impl StoppedAnnounces {
    /// Wait until every `stopped` announce started so far has finished (each one is
    /// bounded by [`STOPPED_ANNOUNCE_TIMEOUT`]).
    pub async fn wait(&self) {
        loop {
            let tasks = std::mem::take(&mut *self.tasks.lock());
            if tasks.is_empty() {
                return;
            }
            for t in tasks {
                let _ = t.await;
            }
        }
    }

    fn push(&self, task: tokio::task::JoinHandle<()>) {
        let mut g = self.tasks.lock();
        g.retain(|t| !t.is_finished());
        g.push(task);
    }
}

/// How long a `stopped` announce may take.
pub const STOPPED_ANNOUNCE_TIMEOUT: Duration = Duration::from_secs(3);

/// Optional extras for [`TrackerComms::start_with_hooks`].
#[derive(Clone, Default)]
pub struct TrackerCommsHooks {
    /// Record every announce's outcome here.
    pub status: Option<TrackerStatusBoard>,
    /// Register the `stopped` announces sent when the stream is dropped here.
    pub stopped: Option<StoppedAnnounces>,
}

/// Which event the next announce to one tracker carries (BEP 3): `started` until a
/// tracker has accepted one, `completed` once when the torrent is complete after we
/// fetched data for it, nothing otherwise. A torrent that was complete from the start (a
/// seeder) fetched nothing and never sends `completed`.
#[derive(Clone, Copy, Debug, Default)]
struct EventState {
    started: bool,
    completed: bool,
}

impl EventState {
    fn next_event(&self, stats: &TrackerCommsStats) -> Option<AnnounceEvent> {
        if !self.started {
            Some(AnnounceEvent::Started)
        } else if !self.completed && stats.fetched_bytes > 0 && stats.is_live_and_completed() {
            Some(AnnounceEvent::Completed)
        } else {
            None
        }
    }

    fn on_success(&mut self, event: Option<AnnounceEvent>) {
        match event {
            Some(AnnounceEvent::Started) => self.started = true,
            Some(AnnounceEvent::Completed) => self.completed = true,
            _ => {}
        }
    }
}

/// What we tell trackers we still need: while the size is unknown (a magnet link
/// without metadata) a nonzero placeholder, so that we are not taken for a seeder.
fn left_for_announce(stats: &TrackerCommsStats) -> u64 {
    if stats.total_bytes == 0 {
        16 * 1024
    } else {
        stats.get_left_to_download_bytes()
    }
}

#[derive(Debug)]
struct TrackerRefusedError(String);
impl std::fmt::Display for TrackerRefusedError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tracker returned failure. Failure reason: {}", self.0)
    }
}
impl std::error::Error for TrackerRefusedError {}

#[derive(Debug)]
struct HttpStatusError(u16);
impl std::fmt::Display for HttpStatusError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "tracker responded with HTTP status {}", self.0)
    }
}
impl std::error::Error for HttpStatusError {}

#[derive(Debug)]
struct BadResponseError;
impl std::fmt::Display for BadResponseError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot parse the tracker's response")
    }
}
impl std::error::Error for BadResponseError {}

#[derive(Debug)]
pub(crate) struct ResolveError;
impl std::fmt::Display for ResolveError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("cannot resolve the tracker's host name")
    }
}
impl std::error::Error for ResolveError {}

fn classify(e: &anyhow::Error) -> AnnounceFailureKind {
    // Our own markers, at any anyhow context level.
    if let Some(r) = e.downcast_ref::<TrackerRefusedError>() {
        return AnnounceFailureKind::Refused(r.0.clone());
    }
    if let Some(r) = e.downcast_ref::<crate::tracker_comms_udp::RemoteError>() {
        return AnnounceFailureKind::Refused(r.0.clone());
    }
    if let Some(s) = e.downcast_ref::<HttpStatusError>() {
        return AnnounceFailureKind::HttpStatus(s.0);
    }
    if e.downcast_ref::<BadResponseError>().is_some() {
        return AnnounceFailureKind::BadResponse;
    }
    if e.downcast_ref::<ResolveError>().is_some() {
        return AnnounceFailureKind::Resolve;
    }
    if e.downcast_ref::<tokio::time::error::Elapsed>().is_some() {
        return AnnounceFailureKind::Timeout;
    }
    // Errors of the libraries below, anywhere in the source chain.
    for cause in e.chain() {
        if cause.is::<tokio::time::error::Elapsed>() {
            return AnnounceFailureKind::Timeout;
        }
        if let Some(r) = cause.downcast_ref::<reqwest::Error>() {
            if r.is_timeout() {
                return AnnounceFailureKind::Timeout;
            }
            if r.is_connect() {
                // reqwest resolves names itself; its DNS failures are connect errors.
                if format!("{e:#}").contains("dns error") {
                    return AnnounceFailureKind::Resolve;
                }
                return AnnounceFailureKind::Connect;
            }
            if r.is_decode() || r.is_body() {
                return AnnounceFailureKind::BadResponse;
            }
        }
        if cause.is::<std::io::Error>() {
            return AnnounceFailureKind::Connect;
        }
    }
    AnnounceFailureKind::Other
}

fn failure(e: &anyhow::Error) -> AnnounceFailure {
    AnnounceFailure {
        kind: classify(e),
        message: format!("{e:#}"),
    }
}

/// Sends `stopped` to the trackers that accepted our `started` when the tracker
/// stream is dropped (the torrent was paused or removed, or the session stopped).
struct StopGuard {
    comms: Arc<TrackerComms>,
    udp_client: UdpTrackerClient,
    pending: Option<StoppedAnnounces>,
}

impl Drop for StopGuard {
    fn drop(&mut self) {
        let started = std::mem::take(&mut *self.comms.started.lock());
        if started.is_empty() {
            return;
        }
        let Ok(rt) = tokio::runtime::Handle::try_current() else {
            debug!("no runtime: cannot send stopped to trackers");
            return;
        };
        let comms = self.comms.clone();
        let udp_client = self.udp_client.clone();
        let task = rt.spawn(async move {
            comms.announce_stopped(started, &udp_client).await;
        });
        if let Some(p) = &self.pending {
            p.push(task);
        }
    }
}

#[derive(Default)]
pub enum TrackerCommsStatsState {
    #[default]
    None,
    Initializing,
    Paused,
    Live,
}

#[derive(Default)]
pub struct TrackerCommsStats {
    pub uploaded_bytes: u64,
    pub downloaded_bytes: u64,
    pub total_bytes: u64,
    pub torrent_state: TrackerCommsStatsState,
    /// reelseal: bytes fetched from peers since the torrent started (what BEP 3 calls
    /// `downloaded`; `downloaded_bytes` above is what we have, checked).
    pub fetched_bytes: u64,
}

impl TrackerCommsStats {
    pub fn get_left_to_download_bytes(&self) -> u64 {
        let total = self.total_bytes;
        let down = self.downloaded_bytes;
        if total >= down {
            return total - down;
        }
        0
    }

    pub fn is_completed(&self) -> bool {
        self.downloaded_bytes >= self.total_bytes
    }

    fn is_live_and_completed(&self) -> bool {
        matches!(self.torrent_state, TrackerCommsStatsState::Live)
            && self.total_bytes > 0
            && self.is_completed()
    }
}

pub trait TorrentStatsProvider: Send + Sync {
    fn get(&self) -> TrackerCommsStats;
}

impl TorrentStatsProvider for () {
    fn get(&self) -> TrackerCommsStats {
        Default::default()
    }
}

type Sender = tokio::sync::mpsc::Sender<SocketAddr>;

enum SupportedTracker {
    Udp(Url),
    Http(Url),
}

impl std::fmt::Debug for SupportedTracker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SupportedTracker::Udp(u) => std::fmt::Display::fmt(u, f),
            SupportedTracker::Http(u) => std::fmt::Display::fmt(u, f),
        }
    }
}

#[derive(Clone, Copy, Debug)]
enum UdpTrackerResolveResult {
    One(SocketAddr),
    Two(SocketAddrV4, SocketAddrV6),
}

async fn udp_tracker_to_socket_addrs(
    host: url::Host<&str>,
    port: u16,
) -> anyhow::Result<UdpTrackerResolveResult> {
    let res = match host {
        url::Host::Domain(name) => {
            // Use the first IPv4 and the first IPv6 addresses only.

            let mut v4: Option<SocketAddrV4> = None;
            let mut v6: Option<SocketAddrV6> = None;
            for addr in tokio::net::lookup_host((name, port))
                .await
                .context(ResolveError)
                .with_context(|| format!("error looking up hostname {name}"))?
            {
                match (v4, v6, addr) {
                    (None, _, SocketAddr::V4(addr)) => v4 = Some(addr),
                    (_, None, SocketAddr::V6(addr)) => v6 = Some(addr),
                    _ => continue,
                }
            }
            let res = match (v4, v6) {
                (Some(v4), Some(v6)) => UdpTrackerResolveResult::Two(v4, v6),
                (Some(v4), None) => UdpTrackerResolveResult::One(v4.into()),
                (None, Some(v6)) => UdpTrackerResolveResult::One(v6.into()),
                _ => {
                    return Err(anyhow::Error::new(ResolveError))
                        .with_context(|| format!("zero addresses returned looking up {name}"));
                }
            };
            trace!(?res, "resolved");
            res
        }
        url::Host::Ipv4(addr) => UdpTrackerResolveResult::One((addr, port).into()),
        url::Host::Ipv6(addr) => UdpTrackerResolveResult::One((addr, port).into()),
    };
    Ok(res)
}

impl TrackerComms {
    // TODO: fix too many args
    #[allow(clippy::too_many_arguments)]
    pub fn start(
        info_hash: Id20,
        peer_id: Id20,
        trackers: HashSet<Url>,
        stats: Box<dyn TorrentStatsProvider>,
        force_interval: Option<Duration>,
        announce_port: u16,
        reqwest_client: reqwest::Client,
        udp_client: UdpTrackerClient,
    ) -> Option<BoxStream<'static, SocketAddr>> {
        Self::start_with_hooks(
            info_hash,
            peer_id,
            trackers,
            stats,
            force_interval,
            announce_port,
            reqwest_client,
            udp_client,
            TrackerCommsHooks::default(),
        )
    }

    /// [`TrackerComms::start`], recording each announce's outcome in `hooks.status`
    /// and registering the `stopped` announces (sent when the returned stream is
    /// dropped) in `hooks.stopped`.
    #[allow(clippy::too_many_arguments)]
    pub fn start_with_hooks(
        info_hash: Id20,
        peer_id: Id20,
        trackers: HashSet<Url>,
        stats: Box<dyn TorrentStatsProvider>,
        force_interval: Option<Duration>,
        announce_port: u16,
        reqwest_client: reqwest::Client,
        udp_client: UdpTrackerClient,
        hooks: TrackerCommsHooks,
    ) -> Option<BoxStream<'static, SocketAddr>> {
        let trackers = trackers
            .into_iter()
            .filter_map(|t| match t.scheme() {
                "http" | "https" => Some(SupportedTracker::Http(t)),
                "udp" => Some(SupportedTracker::Udp(t)),
                _ => {
                    debug!("unsupported tracker URL: {}", t);
                    None
                }
            })
            .collect::<Vec<_>>();
        if trackers.is_empty() {
            debug!(?info_hash, "trackers list is empty");
            return None;
        }

        tracing::trace!(?trackers);
        if let Some(status) = &hooks.status {
            for t in &trackers {
                match t {
                    SupportedTracker::Udp(u) | SupportedTracker::Http(u) => status.ensure(u),
                }
            }
        }

        let (tx, mut rx) = tokio::sync::mpsc::channel::<SocketAddr>(16);

        let s = async_stream::stream! {
            use futures::StreamExt;
            let comms = Arc::new(Self {
                info_hash,
                peer_id,
                stats,
                force_tracker_interval: force_interval,
                tx,
                announce_port,
                reqwest_client,
                key: rand::random(),
                status: hooks.status,
                started: Default::default(),
                last_stats: Default::default(),
            });
            // Dropped with this stream: says `stopped` to the trackers that know us.
            let _stop_guard = StopGuard {
                comms: comms.clone(),
                udp_client: udp_client.clone(),
                pending: hooks.stopped,
            };
            let mut futures = FuturesUnordered::new();
            for tracker in trackers {
                futures.push(comms.add_tracker(tracker, &udp_client))
            }
            while !(futures.is_empty()) {
                tokio::select! {
                    addr = rx.recv() => {
                        if let Some(addr) = addr {
                            yield addr;
                        }
                    }
                    e = futures.next(), if !futures.is_empty() => {
                        if let Some(Err(e)) = e {
                            debug!("error: {e}");
                        }
                    }
                }
            }
        };

        Some(s.boxed())
    }

    fn record(&self, url: &Url, result: &anyhow::Result<AnnounceSuccess>) {
        match result {
            Ok(ok) => debug!(
                tracker = %url,
                event = ?ok.event,
                peers = ok.peers,
                "announced"
            ),
            Err(e) => debug!(tracker = %url, "announce failed: {e:#}"),
        }
        if let Some(status) = &self.status {
            status.record(
                url,
                match result {
                    Ok(ok) => Ok(ok.clone()),
                    Err(e) => Err(failure(e)),
                },
            );
        }
    }

    fn mark_started(&self, tracker: StartedTracker) {
        let mut g = self.started.lock();
        let url = match &tracker {
            StartedTracker::Http(u) | StartedTracker::Udp(u, _) => u,
        };
        g.retain(|t| match t {
            StartedTracker::Http(u) | StartedTracker::Udp(u, _) => u != url,
        });
        g.push(tracker);
    }

    fn stats_for_announce(&self) -> (TrackerCommsStats, AnnouncedStats) {
        let stats = self.stats.get();
        let announced = AnnouncedStats {
            uploaded: stats.uploaded_bytes,
            downloaded: stats.fetched_bytes,
            left: left_for_announce(&stats),
        };
        (stats, announced)
    }

    async fn announce_stopped(&self, trackers: Vec<StartedTracker>, udp_client: &UdpTrackerClient) {
        // The torrent may already be gone from the session (stats all zero): then
        // report what we last announced.
        let (stats, mut announced) = self.stats_for_announce();
        if stats.total_bytes == 0
            && let Some(last) = *self.last_stats.lock()
        {
            announced = last;
        }
        let futs = trackers.into_iter().map(|t| async move {
            let (url, res) = match t {
                StartedTracker::Http(url) => {
                    let res = tokio::time::timeout(
                        STOPPED_ANNOUNCE_TIMEOUT,
                        self.tracker_one_request_http(
                            &url,
                            Some(AnnounceEvent::Stopped),
                            announced,
                            false,
                        ),
                    )
                    .await
                    .map_err(anyhow::Error::new)
                    .and_then(|r| r);
                    (url, res)
                }
                StartedTracker::Udp(url, addr) => {
                    let res = tokio::time::timeout(
                        STOPPED_ANNOUNCE_TIMEOUT,
                        self.tracker_one_request_udp(
                            addr,
                            udp_client,
                            Some(AnnounceEvent::Stopped),
                            announced,
                            false,
                        ),
                    )
                    .await
                    .map_err(anyhow::Error::new)
                    .and_then(|r| r);
                    (url, res)
                }
            };
            self.record(&url, &res);
        });
        futures::future::join_all(futs).await;
    }

    fn add_tracker(
        &self,
        url: SupportedTracker,
        client: &UdpTrackerClient,
    ) -> Either<
        impl std::future::Future<Output = anyhow::Result<()>> + '_ + Send,
        impl std::future::Future<Output = anyhow::Result<()>> + '_ + Send,
    > {
        let info_hash = self.info_hash;
        match url {
            SupportedTracker::Udp(url) => {
                let span = debug_span!(parent: None, "udp_tracker", tracker = %url, info_hash = ?info_hash);
                self.task_single_tracker_monitor_udp(url, client.clone())
                    .instrument(span)
                    .right_future()
            }
            SupportedTracker::Http(url) => {
                let span = debug_span!(
                    parent: None,
                    "http_tracker",
                    tracker = %url,
                    info_hash = ?info_hash
                );
                self.task_single_tracker_monitor_http(url)
                    .instrument(span)
                    .left_future()
            }
        }
    }

    async fn task_single_tracker_monitor_http(&self, tracker_url: Url) -> anyhow::Result<()> {
        trace!(url=%tracker_url, "starting monitor");
        let mut events = EventState::default();
        let new_backoff = || {
            ExponentialBuilder::new()
                .without_max_times()
                .with_jitter()
                .with_factor(2.)
                .with_min_delay(Duration::from_secs(10))
                .with_max_delay(Duration::from_secs(600))
                .build()
        };
        let mut backoff = new_backoff();

        loop {
            let (stats, announced) = self.stats_for_announce();
            let event = events.next_event(&stats);
            let res = self
                .tracker_one_request_http(&tracker_url, event, announced, true)
                .await;
            self.record(&tracker_url, &res);
            let sleep = match res {
                Ok(ok) => {
                    events.on_success(event);
                    *self.last_stats.lock() = Some(announced);
                    self.mark_started(StartedTracker::Http(tracker_url.clone()));
                    backoff = new_backoff();
                    self.force_tracker_interval.unwrap_or(ok.interval)
                }
                Err(err) => {
                    let retry_in = backoff.next().unwrap_or(Duration::from_secs(600));
                    debug!(?retry_in, "error calling tracker: {err:#}");
                    retry_in
                }
            };
            debug!("sleeping for {:?} after calling tracker", sleep);
            tokio::time::sleep(sleep).await;
        }
    }

    async fn tracker_one_request_http(
        &self,
        tracker_url: &Url,
        event: Option<AnnounceEvent>,
        stats: AnnouncedStats,
        deliver_peers: bool,
    ) -> anyhow::Result<AnnounceSuccess> {
        let request = tracker_comms_http::TrackerRequest {
            info_hash: &self.info_hash,
            peer_id: &self.peer_id,
            port: self.announce_port,
            uploaded: stats.uploaded,
            downloaded: stats.downloaded,
            left: stats.left,
            compact: true,
            no_peer_id: false,
            event: event.map(|e| match e {
                AnnounceEvent::Started => tracker_comms_http::TrackerRequestEvent::Started,
                AnnounceEvent::Completed => tracker_comms_http::TrackerRequestEvent::Completed,
                AnnounceEvent::Stopped => tracker_comms_http::TrackerRequestEvent::Stopped,
            }),
            ip: None,
            numwant: None,
            key: Some(self.key),
            trackerid: None,
        };

        let mut url = tracker_url.clone();

        let mut queries = request.as_querystring();
        if let Some(url_query) = url.query() {
            queries.push_str(&format!("&{}", url_query));
        }
        url.set_query(Some(&queries));

        let response: reqwest::Response = self.reqwest_client.get(url).send().await?;
        if !response.status().is_success() {
            return Err(HttpStatusError(response.status().as_u16()).into());
        }
        let bytes = response.bytes().await?;
        if let Ok((error, _)) =
            bencode::from_bytes_with_rest::<tracker_comms_http::TrackerError>(&bytes)
        {
            return Err(TrackerRefusedError(
                String::from_utf8_lossy(error.failure_reason.as_ref()).into_owned(),
            )
            .into());
        };
        let response = bencode::from_bytes_with_rest::<tracker_comms_http::TrackerResponse>(&bytes)
            .map_err(|e| {
                tracing::trace!("error deserializing TrackerResponse: {e:#}");
                anyhow::Error::new(BadResponseError)
            })?
            .0;

        let mut peers = 0;
        for peer in response.iter_peers() {
            peers += 1;
            if deliver_peers {
                self.tx.send(peer).await?;
            }
        }
        Ok(AnnounceSuccess {
            event,
            peers,
            seeders: Some(response.complete),
            leechers: Some(response.incomplete),
            interval: Duration::from_secs(response.min_interval.unwrap_or(response.interval)),
        })
    }

    async fn task_single_tracker_monitor_udp(
        &self,
        url: Url,
        client: UdpTrackerClient,
    ) -> anyhow::Result<()> {
        if url.scheme() != "udp" {
            bail!("expected UDP scheme in {}", url);
        }
        let (host, port) = (
            url.host().context("missing host")?,
            url.port().context("missing port")?,
        );

        let mut events = EventState::default();
        let mut sleep_interval: Option<Duration> = None;
        let mut prev_addrs: Option<UdpTrackerResolveResult> = None;
        loop {
            if let Some(i) = sleep_interval {
                trace!(interval=?sleep_interval, "sleeping");
                tokio::time::sleep(i).await;
            }

            // This should retry forever until the addrs are resolved.
            let addrs = (async || {
                udp_tracker_to_socket_addrs(host.clone(), port)
                    .instrument(trace_span!("resolve", ?host))
                    .await
                    .or_else(|err| prev_addrs.ok_or(err))
            })
            .retry(
                ExponentialBuilder::new()
                    .without_max_times()
                    .with_max_delay(Duration::from_secs(60))
                    .with_jitter(),
            )
            .notify(|err, retry| {
                debug!(retry_in=?retry, "error resolving tracker: {err:#}");
                if let Some(status) = &self.status {
                    status.record(&url, Err(failure(err)));
                }
            })
            .await
            .context("this shouldn't happen: failed resolving tracker addrs")?;

            prev_addrs = Some(addrs);

            let (stats, announced) = self.stats_for_announce();
            let event = events.next_event(&stats);
            let (res, used) = match addrs {
                UdpTrackerResolveResult::One(addr) => (
                    self.tracker_one_request_udp(addr, &client, event, announced, true)
                        .instrument(trace_span!("udp request", ?addr))
                        .await,
                    addr,
                ),
                UdpTrackerResolveResult::Two(v4, v6) => {
                    let (r4, r6) = tokio::join!(
                        self.tracker_one_request_udp(v4.into(), &client, event, announced, true)
                            .instrument(trace_span!("udp request", addr=?v4)),
                        self.tracker_one_request_udp(v6.into(), &client, event, announced, true)
                            .instrument(trace_span!("udp request", addr=?v6))
                    );
                    match (r4, r6) {
                        (Ok(r), _) => (Ok(r), v4.into()),
                        (Err(_), Ok(r)) => (Ok(r), v6.into()),
                        (Err(e), Err(_)) => (Err(e), v4.into()),
                    }
                }
            };
            self.record(&url, &res);
            match res {
                Ok(ok) => {
                    events.on_success(event);
                    *self.last_stats.lock() = Some(announced);
                    self.mark_started(StartedTracker::Udp(url.clone(), used));
                    sleep_interval = Some(self.force_tracker_interval.unwrap_or(ok.interval));
                }
                Err(_) => {
                    sleep_interval = Some(sleep_interval.unwrap_or(Duration::from_secs(60)))
                }
            }
        }
    }

    async fn tracker_one_request_udp(
        &self,
        addr: SocketAddr,
        client: &UdpTrackerClient,
        event: Option<AnnounceEvent>,
        stats: AnnouncedStats,
        deliver_peers: bool,
    ) -> anyhow::Result<AnnounceSuccess> {
        use tracker_comms_udp::*;

        let request = AnnounceFields {
            info_hash: self.info_hash,
            peer_id: self.peer_id,
            downloaded: stats.downloaded,
            left: stats.left,
            uploaded: stats.uploaded,
            event: match event {
                None => EVENT_NONE,
                Some(AnnounceEvent::Started) => EVENT_STARTED,
                Some(AnnounceEvent::Completed) => EVENT_COMPLETED,
                Some(AnnounceEvent::Stopped) => EVENT_STOPPED,
            },
            key: self.key,
            port: self.announce_port,
        };

        match client.announce(addr, request).await {
            Ok(response) => {
                trace!(len = response.addrs.len(), "received announce response");
                let peers = response.addrs.len();
                if deliver_peers {
                    for addr in response.addrs {
                        self.tx.send(addr).await.context("rx closed")?;
                    }
                }
                let sleep = response.interval.max(5);
                Ok(AnnounceSuccess {
                    event,
                    peers,
                    seeders: Some(response.seeders.into()),
                    leechers: Some(response.leechers.into()),
                    interval: Duration::from_secs(sleep as u64),
                })
            }
            Err(e) => {
                debug!(?addr, "error reading announce response: {e:#}");
                Err(e)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stats(state: TrackerCommsStatsState, total: u64, have: u64) -> TrackerCommsStats {
        TrackerCommsStats {
            uploaded_bytes: 0,
            downloaded_bytes: have,
            total_bytes: total,
            torrent_state: state,
            fetched_bytes: 0,
        }
    }

    #[test]
    fn started_until_accepted_then_nothing() {
        let mut e = EventState::default();
        let s = stats(TrackerCommsStatsState::Live, 100, 10);
        assert_eq!(e.next_event(&s), Some(AnnounceEvent::Started));
        // A failed announce changes nothing: started again.
        assert_eq!(e.next_event(&s), Some(AnnounceEvent::Started));
        e.on_success(Some(AnnounceEvent::Started));
        assert_eq!(e.next_event(&s), None);
        e.on_success(None);
        assert_eq!(e.next_event(&s), None);
    }

    #[test]
    fn completed_once_when_the_download_completes() {
        let mut e = EventState::default();
        // The first announce before anything is known (a magnet link, or the torrent is
        // not in the session yet); the download then completes before the next one.
        e.on_success(e.next_event(&TrackerCommsStats::default()));
        let mut done = stats(TrackerCommsStatsState::Live, 100, 100);
        done.fetched_bytes = 60;
        assert_eq!(e.next_event(&done), Some(AnnounceEvent::Completed));
        e.on_success(Some(AnnounceEvent::Completed));
        assert_eq!(e.next_event(&done), None);
    }

    #[test]
    fn a_seeder_never_sends_completed() {
        let mut e = EventState::default();
        // First announce while the existing data is still being checked.
        let checking = stats(TrackerCommsStatsState::Initializing, 100, 0);
        let seeding = stats(TrackerCommsStatsState::Live, 100, 100);
        e.on_success(e.next_event(&checking));
        assert_eq!(e.next_event(&seeding), None);
        e.on_success(None);
        assert_eq!(e.next_event(&seeding), None);
    }

    #[test]
    fn unknown_size_is_not_announced_as_nothing_left() {
        // A magnet link before its metadata arrives: the torrent is not known yet.
        let unknown = TrackerCommsStats::default();
        assert!(left_for_announce(&unknown) > 0);
        assert_eq!(left_for_announce(&stats(TrackerCommsStatsState::Live, 100, 40)), 60);
        assert_eq!(left_for_announce(&stats(TrackerCommsStatsState::Live, 100, 100)), 0);
    }

    #[test]
    fn failures_are_classified() {
        let refused = anyhow::Error::new(TrackerRefusedError("unregistered torrent".into()))
            .context("announce");
        assert_eq!(
            classify(&refused),
            AnnounceFailureKind::Refused("unregistered torrent".into())
        );
        let udp_refused = anyhow::Error::new(crate::tracker_comms_udp::RemoteError("nope".into()));
        assert_eq!(classify(&udp_refused), AnnounceFailureKind::Refused("nope".into()));
        assert_eq!(
            classify(&anyhow::Error::new(HttpStatusError(404))),
            AnnounceFailureKind::HttpStatus(404)
        );
        assert_eq!(
            classify(&anyhow::Error::new(BadResponseError)),
            AnnounceFailureKind::BadResponse
        );
        let resolve: anyhow::Result<()> = Err(std::io::Error::other("no such host"))
            .context(ResolveError)
            .context("error looking up hostname x");
        assert_eq!(classify(&resolve.unwrap_err()), AnnounceFailureKind::Resolve);
        let io = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
            .context("error sending");
        assert_eq!(classify(&io), AnnounceFailureKind::Connect);
        assert_eq!(classify(&anyhow::anyhow!("odd")), AnnounceFailureKind::Other);
    }

    #[tokio::test]
    async fn timeouts_are_classified() {
        let elapsed = tokio::time::timeout(Duration::from_millis(1), std::future::pending::<()>())
            .await
            .unwrap_err();
        let e = anyhow::Error::new(elapsed).context("timeout connecting");
        assert_eq!(classify(&e), AnnounceFailureKind::Timeout);
    }

    #[test]
    fn the_board_records_each_outcome() {
        let board = TrackerStatusBoard::default();
        let url: Url = "http://127.0.0.1:1/announce".parse().unwrap();
        board.ensure(&url);
        assert_eq!(board.snapshot()[0].attempts, 0);
        board.record(
            &url,
            Err(AnnounceFailure {
                kind: AnnounceFailureKind::Timeout,
                message: "timeout".into(),
            }),
        );
        board.record(
            &url,
            Ok(AnnounceSuccess {
                event: Some(AnnounceEvent::Started),
                peers: 3,
                seeders: Some(1),
                leechers: Some(2),
                interval: Duration::from_secs(60),
            }),
        );
        let s = &board.snapshot()[0];
        assert_eq!((s.attempts, s.successes), (2, 1));
        assert!(matches!(&s.last_result, Some(Ok(ok)) if ok.peers == 3));
    }
}
