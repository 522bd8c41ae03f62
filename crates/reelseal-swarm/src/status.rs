//! What the swarm is doing for one torrent, in words a person can act on: peers, DHT,
//! each tracker's last answer. librqbit's own wording (e.g. "input address stream
//! exhausted", "error reading metainfo from …") never reaches these strings; it is
//! translated here, once.

use std::fmt;
use std::time::Instant;

use librqbit::{AnnounceFailureKind, Session, TorrentStatsState, TrackerStatus};
use serde::Serialize;

use crate::{InfoHash, Shared};

/// What the swarm is doing for one torrent.
#[derive(Clone, Debug, Serialize)]
pub struct SwarmStatus {
    /// Seconds since the torrent was asked for in this session.
    pub seconds: f64,
    /// Where the torrent is (in JSON: `"phase"`, and `"reason"` for a failure).
    #[serde(flatten)]
    pub phase: Phase,
    /// Peers.
    pub peers: PeerCounts,
    /// Nodes in the DHT routing table (IPv4 + IPv6); `None` when the DHT is off.
    pub dht_nodes: Option<usize>,
    /// Each tracker's last answer (none when trackers are off or the torrent has none).
    pub trackers: Vec<TrackerReport>,
    /// What each web seed did (none when the torrent uses no web seed).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub web_seeds: Vec<crate::WebSeedReport>,
}

/// Where a torrent is.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "phase", content = "reason")]
pub enum Phase {
    /// This swarm was not asked for it.
    NotAdded,
    /// Asking peers for the torrent's metadata (a magnet link).
    FindingMetadata,
    /// Checking the data already on disk.
    Checking,
    /// Downloading.
    Downloading,
    /// Has everything; uploading to whoever asks.
    Seeding,
    /// Paused (or being removed).
    Paused,
    /// Stopped with an error (librqbit's text, for logs).
    Failed(String),
}

/// Peer counts (librqbit's peer table; while the metadata is searched, that search's).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PeerCounts {
    /// Connected and talking.
    pub connected: u32,
    /// Being dialled.
    pub connecting: u32,
    /// Known and waiting for a free connection slot.
    pub queued: u32,
    /// Every distinct peer address heard of (trackers, DHT, PEX, `--peer`, incoming).
    pub known: u32,
    /// Could not be reached or dropped us; waiting to be dialled again (or given up).
    pub unreachable: u32,
}

/// One tracker's last answer.
#[derive(Clone, Debug, Serialize)]
pub struct TrackerReport {
    /// The announce URL.
    pub url: String,
    /// Announces sent, and answered, so far.
    pub announces: u32,
    /// Announces answered.
    pub answered: u32,
    /// How the last announce went; `None` before the first one finished.
    pub last: Option<TrackerOutcome>,
    /// Seconds since the last announce finished.
    pub seconds_ago: Option<f64>,
}

/// How an announce went, in plain words.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "result")]
pub enum TrackerOutcome {
    /// The tracker answered.
    Ok {
        /// Peer addresses it gave.
        peers: usize,
        /// Seeders and leechers it counts, when it said.
        seeders: Option<u64>,
        /// Leechers it counts, when it said.
        leechers: Option<u64>,
    },
    /// It did not; why, for a person.
    Failed {
        /// The reason, worded for the person at the terminal.
        reason: String,
    },
}

pub(crate) fn status(session: &Session, shared: &Shared, info_hash: &InfoHash) -> SwarmStatus {
    let id = librqbit::dht::Id20::new(info_hash.0);
    let seconds = shared
        .added
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&info_hash.0)
        .map(|t| t.elapsed().as_secs_f64())
        .unwrap_or(0.0);
    let dht_nodes = session.get_dht().map(|d| {
        let s = d.stats();
        s.routing_table_size + s.routing_table_size_v6
    });
    let now = Instant::now();
    let trackers = session
        .tracker_status(id)
        .iter()
        .map(|t| tracker_report(t, now))
        .collect();
    let (phase, peers) = match session.get(id.into()) {
        Some(t) => {
            let s = t.stats();
            let phase = match (&s.state, &s.error) {
                (_, Some(e)) => Phase::Failed(e.clone()),
                (TorrentStatsState::Error, None) => Phase::Failed(String::new()),
                (TorrentStatsState::Initializing { .. }, _) => Phase::Checking,
                (TorrentStatsState::Paused, _) => Phase::Paused,
                (TorrentStatsState::Live, _) if s.finished => Phase::Seeding,
                (TorrentStatsState::Live, _) => Phase::Downloading,
            };
            let peers = s
                .live
                .as_ref()
                .map(|l| {
                    let p = &l.snapshot.peer_stats;
                    PeerCounts {
                        connected: p.live,
                        connecting: p.connecting,
                        queued: p.queued,
                        known: p.seen,
                        unreachable: p.dead,
                    }
                })
                .unwrap_or_default();
            (phase, peers)
        }
        None => match session.magnet_resolve_progress(id) {
            Some(p) => (
                Phase::FindingMetadata,
                PeerCounts {
                    connected: 0,
                    connecting: p.connecting as u32,
                    queued: 0,
                    known: p.known as u32,
                    unreachable: p.waiting_to_retry as u32,
                },
            ),
            None => (Phase::NotAdded, PeerCounts::default()),
        },
    };
    let web_seeds = shared
        .web_seeds
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&info_hash.0)
        .map(|b| b.reports())
        .unwrap_or_default();
    SwarmStatus {
        seconds,
        phase,
        peers,
        dht_nodes,
        trackers,
        web_seeds,
    }
}

fn tracker_report(t: &TrackerStatus, now: Instant) -> TrackerReport {
    TrackerReport {
        url: t.url.to_string(),
        announces: t.attempts,
        answered: t.successes,
        last: t.last_result.as_ref().map(|r| match r {
            Ok(ok) => TrackerOutcome::Ok {
                peers: ok.peers,
                seeders: ok.seeders,
                leechers: ok.leechers,
            },
            Err(e) => TrackerOutcome::Failed {
                reason: failure_words(&e.kind),
            },
        }),
        seconds_ago: t
            .last_attempt
            .map(|at| now.saturating_duration_since(at).as_secs_f64()),
    }
}

/// A failed announce, worded for the person at the terminal.
pub(crate) fn failure_words(kind: &AnnounceFailureKind) -> String {
    match kind {
        AnnounceFailureKind::Resolve => {
            "its host name does not resolve (check the URL, or this machine's DNS)".into()
        }
        AnnounceFailureKind::Connect => {
            "cannot connect to it (nothing answers at that address, or the network is unreachable)"
                .into()
        }
        AnnounceFailureKind::Timeout => "no answer in time (the tracker may be down)".into(),
        AnnounceFailureKind::HttpStatus(404) => {
            "it answered HTTP 404 (not found): the announce URL is probably wrong".into()
        }
        AnnounceFailureKind::HttpStatus(code) => {
            format!("it answered HTTP {code} instead of a tracker response")
        }
        AnnounceFailureKind::Refused(reason) => {
            format!("it refused us: \"{}\"", tracker_words(reason))
        }
        AnnounceFailureKind::BadResponse => {
            "its answer is not a tracker response (is this really an announce URL?)".into()
        }
        AnnounceFailureKind::Other => "the announce failed".into(),
    }
}

/// A tracker's own failure reason, made safe to print: control characters dropped,
/// at most 200 characters.
fn tracker_words(reason: &str) -> String {
    const MAX: usize = 200;
    let mut chars = reason.chars().filter(|c| !c.is_control());
    let clean: String = chars.by_ref().take(MAX).collect();
    if chars.next().is_some() {
        format!("{clean}…")
    } else {
        clean
    }
}

impl fmt::Display for SwarmStatus {
    /// One line, e.g. `12 s, downloading: 3 peers connected of 5 known; DHT 48 nodes;
    /// udp://t.example:1337/announce: ok, 4 peers (20 s ago)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let phase = match &self.phase {
            Phase::NotAdded => "not added",
            Phase::FindingMetadata => "looking for the release's metadata",
            Phase::Checking => "checking the data on disk",
            Phase::Downloading => "downloading",
            Phase::Seeding => "seeding",
            Phase::Paused => "paused",
            Phase::Failed(_) => "stopped with an error",
        };
        write!(f, "{:.0} s, {phase}: ", self.seconds)?;
        let p = &self.peers;
        write!(
            f,
            "{} {} connected of {} known",
            p.connected,
            if p.connected == 1 { "peer" } else { "peers" },
            p.known
        )?;
        if p.connecting > 0 {
            write!(f, ", {} connecting", p.connecting)?;
        }
        if p.queued > 0 {
            write!(f, ", {} queued", p.queued)?;
        }
        if p.unreachable > 0 {
            write!(f, ", {} unreachable (retrying)", p.unreachable)?;
        }
        match self.dht_nodes {
            Some(n) => write!(f, "; DHT {n} nodes")?,
            None => write!(f, "; DHT off")?,
        }
        for t in &self.trackers {
            write!(f, "; {}: ", t.url)?;
            match &t.last {
                None => write!(f, "no answer yet")?,
                Some(TrackerOutcome::Ok { peers, .. }) => write!(
                    f,
                    "ok, {peers} {}",
                    if *peers == 1 { "peer" } else { "peers" }
                )?,
                Some(TrackerOutcome::Failed { reason }) => write!(f, "{reason}")?,
            }
            if let Some(ago) = t.seconds_ago {
                write!(f, " ({ago:.0} s ago)")?;
            }
        }
        for w in &self.web_seeds {
            write!(f, "; {}", w.line())?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_are_worded_without_librqbit_internals() {
        let kinds = [
            AnnounceFailureKind::Resolve,
            AnnounceFailureKind::Connect,
            AnnounceFailureKind::Timeout,
            AnnounceFailureKind::HttpStatus(404),
            AnnounceFailureKind::HttpStatus(500),
            AnnounceFailureKind::Refused("torrent not registered".into()),
            AnnounceFailureKind::BadResponse,
            AnnounceFailureKind::Other,
        ];
        for k in &kinds {
            let w = failure_words(k);
            assert!(!w.is_empty());
            for internal in [
                "anyhow",
                "stream exhausted",
                "error reading",
                "Elapsed",
                "reqwest",
            ] {
                assert!(!w.contains(internal), "{w}");
            }
        }
        assert_eq!(
            failure_words(&AnnounceFailureKind::Refused(
                "torrent not registered".into()
            )),
            "it refused us: \"torrent not registered\""
        );
        assert!(failure_words(&AnnounceFailureKind::HttpStatus(404)).contains("URL"));
        assert!(failure_words(&AnnounceFailureKind::HttpStatus(503)).contains("503"));
    }

    #[test]
    fn a_tracker_cannot_put_control_characters_or_a_novel_on_our_terminal() {
        let w = failure_words(&AnnounceFailureKind::Refused("a\x1b[2Jb\nc".into()));
        assert_eq!(w, "it refused us: \"a[2Jbc\"");
        let long = "x".repeat(5000);
        let w = failure_words(&AnnounceFailureKind::Refused(long));
        assert!(w.chars().count() < 220, "{}", w.len());
        assert!(w.ends_with("…\""));
    }

    fn sample() -> SwarmStatus {
        SwarmStatus {
            seconds: 12.3,
            phase: Phase::Downloading,
            peers: PeerCounts {
                connected: 3,
                connecting: 1,
                queued: 0,
                known: 5,
                unreachable: 1,
            },
            dht_nodes: Some(48),
            trackers: vec![
                TrackerReport {
                    url: "udp://t.example:1337/announce".into(),
                    announces: 2,
                    answered: 2,
                    last: Some(TrackerOutcome::Ok {
                        peers: 4,
                        seeders: Some(1),
                        leechers: Some(3),
                    }),
                    seconds_ago: Some(20.2),
                },
                TrackerReport {
                    url: "http://down.example/announce".into(),
                    announces: 1,
                    answered: 0,
                    last: Some(TrackerOutcome::Failed {
                        reason: failure_words(&AnnounceFailureKind::Timeout),
                    }),
                    seconds_ago: Some(3.0),
                },
            ],
            web_seeds: vec![],
        }
    }

    #[test]
    fn one_line_says_everything() {
        assert_eq!(
            sample().to_string(),
            "12 s, downloading: 3 peers connected of 5 known, 1 connecting, 1 unreachable (retrying); \
             DHT 48 nodes; udp://t.example:1337/announce: ok, 4 peers (20 s ago); \
             http://down.example/announce: no answer in time (the tracker may be down) (3 s ago)"
        );
        let mut s = sample();
        s.phase = Phase::FindingMetadata;
        s.dht_nodes = None;
        s.trackers.clear();
        s.peers = PeerCounts::default();
        assert_eq!(
            s.to_string(),
            "12 s, looking for the release's metadata: 0 peers connected of 0 known; DHT off"
        );
    }

    #[test]
    fn json_keeps_stable_names() {
        let v = serde_json::to_value(sample()).unwrap();
        assert_eq!(v["phase"], "downloading");
        let mut failed = sample();
        failed.phase = Phase::Failed("disk full".into());
        let v2 = serde_json::to_value(failed).unwrap();
        assert_eq!(
            (&v2["phase"], &v2["reason"]),
            (&"failed".into(), &"disk full".into())
        );
        assert_eq!(v["peers"]["connected"], 3);
        assert_eq!(v["dht_nodes"], 48);
        assert_eq!(v["trackers"][0]["last"]["result"], "ok");
        assert_eq!(v["trackers"][1]["last"]["result"], "failed");
    }
}
