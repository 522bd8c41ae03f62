use std::{
    sync::{
        Arc,
        atomic::{AtomicU32, AtomicU64, Ordering},
    },
    time::Duration,
};

use backon::{BackoffBuilder, ExponentialBackoff, ExponentialBuilder};

#[derive(Default, Debug)]
pub(crate) struct PeerCountersAtomic {
    pub fetched_bytes: AtomicU64,
    pub uploaded_bytes: AtomicU64,
    pub total_time_connecting_ms: AtomicU64,
    pub incoming_connections: AtomicU32,
    pub outgoing_connection_attempts: AtomicU32,
    pub outgoing_connections: AtomicU32,
    pub errors: AtomicU32,
    pub fetched_chunks: AtomicU32,
    pub downloaded_and_checked_pieces: AtomicU32,
    pub downloaded_and_checked_bytes: AtomicU64,
    pub total_piece_download_ms: AtomicU64,
    pub times_stolen_from_me: AtomicU32,
    pub times_i_stole: AtomicU32,
}

impl PeerCountersAtomic {
    pub(crate) fn on_piece_completed(&self, piece_len: u64, elapsed: Duration) {
        #[allow(clippy::cast_possible_truncation)]
        let elapsed = elapsed.as_millis() as u64;
        self.total_piece_download_ms
            .fetch_add(elapsed, Ordering::Release);
        self.downloaded_and_checked_pieces
            .fetch_add(1, Ordering::Release);
        self.downloaded_and_checked_bytes
            .fetch_add(piece_len, Ordering::Relaxed);
    }

    pub(crate) fn average_piece_download_time(&self) -> Option<Duration> {
        let downloaded_pieces = self.downloaded_and_checked_pieces.load(Ordering::Acquire);
        let total_download_time = self.total_piece_download_ms.load(Ordering::Acquire);
        if total_download_time == 0 || downloaded_pieces == 0 {
            return None;
        }
        Some(Duration::from_millis(
            total_download_time / downloaded_pieces as u64,
        ))
    }
}

fn backoff() -> ExponentialBackoff {
    ExponentialBuilder::new()
        .with_min_delay(Duration::from_secs(10))
        .with_factor(6.)
        .with_jitter()
        .with_max_delay(Duration::from_secs(3600))
        .with_total_delay(Some(Duration::from_secs(86400)))
        .without_max_times()
        .build()
}

/// How soon to dial a peer again after its connection failed or dropped, the first
/// time: some clients (Transmission) keep one connection per IP and drop a second one
/// that arrives while they still hold the first (e.g. our metadata connection), so
/// waiting the regular backoff (10 s and more) costs a lot for nothing.
pub(crate) const QUICK_RETRY: Duration = Duration::from_secs(1);

#[derive(Debug)]
pub(crate) struct PeerStats {
    pub counters: Arc<PeerCountersAtomic>,
    pub backoff: ExponentialBackoff,
    /// For peers given when the torrent was added (see [`crate::torrent_state::utils::initial_peer_backoff`]).
    pub initial_peer_backoff: ExponentialBackoff,
    /// Whether [`QUICK_RETRY`] was used since the last reset.
    pub quick_retry_used: bool,
}

impl Default for PeerStats {
    fn default() -> Self {
        Self {
            counters: Arc::new(Default::default()),
            backoff: backoff(),
            initial_peer_backoff: crate::torrent_state::utils::initial_peer_backoff(),
            quick_retry_used: false,
        }
    }
}

impl PeerStats {
    pub fn reset_backoff(&mut self) {
        self.backoff = backoff();
        self.initial_peer_backoff = crate::torrent_state::utils::initial_peer_backoff();
        self.quick_retry_used = false;
    }

    /// When to dial this peer again after a failure (None: never). A peer given when the
    /// torrent was added is retried on its own schedule, forever; any other peer first
    /// after [`QUICK_RETRY`], then with the regular backoff.
    pub fn next_retry(&mut self, initial_peer: bool) -> Option<Duration> {
        if initial_peer {
            return self.initial_peer_backoff.next();
        }
        if !self.quick_retry_used {
            self.quick_retry_used = true;
            return Some(QUICK_RETRY);
        }
        self.backoff.next()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initial_peers_are_retried_soon_and_forever() {
        let mut s = PeerStats::default();
        let delays: Vec<_> = (0..40).map(|_| s.next_retry(true).unwrap()).collect();
        assert_eq!(delays[0], Duration::from_millis(500));
        assert_eq!(delays[1], Duration::from_secs(1));
        assert_eq!(delays[2], Duration::from_secs(2));
        assert!(delays.windows(2).all(|w| w[0] <= w[1]));
        assert_eq!(*delays.last().unwrap(), Duration::from_secs(15));
    }

    #[test]
    fn other_peers_get_one_quick_retry_then_the_regular_backoff() {
        let mut s = PeerStats::default();
        assert_eq!(s.next_retry(false), Some(QUICK_RETRY));
        assert!(s.next_retry(false).unwrap() >= Duration::from_secs(10));
        s.reset_backoff();
        assert_eq!(s.next_retry(false), Some(QUICK_RETRY));
    }
}
