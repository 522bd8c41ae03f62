//! reelseal (N): the order in which a seeder serves queued chunk requests.
//!
//! librqbit 9.1.0 serves requests first come, first served. A publisher's seeder (the
//! origin) instead:
//! - serves first the chunks of the pieces it has sent to the fewest other peers, so that
//!   while its upload is the bottleneck it hands out pieces the swarm lacks before second
//!   copies (a peer's own requests keep their order among themselves);
//! - holds back a request for a piece it has just sent to another peer, for up to
//!   [`MAX_WAIT`]: that peer is about to offer it (HAVE), and a reelseal viewer then
//!   takes the piece from it and cancels its request here (patch M), which costs the
//!   origin nothing.
//!
//! No request waits more than [`MAX_WAIT`] behind others, so nothing starves.

use std::{
    collections::VecDeque,
    time::{Duration, Instant},
};

/// The longest a request waits while others go first.
pub(crate) const MAX_WAIT: Duration = Duration::from_secs(4);

/// Only the oldest this many requests are compared, and per piece at most this many
/// recipients are remembered (a piece that went to 8 peers is as common as one that went
/// to 80), so choosing costs the same in a swarm of thousands.
const SCAN: usize = 256;
const RECIPIENTS: usize = 8;

struct Item<T> {
    since: Instant,
    piece: usize,
    peer: usize,
    item: T,
}

pub(crate) struct UploadQueue<T> {
    least_sent_first: bool,
    items: VecDeque<Item<T>>,
    // Per piece: the peers it was sent to (any chunk; at most RECIPIENTS), and to whom
    // and when last.
    sent: Vec<(Vec<usize>, usize, Option<Instant>)>,
}

impl<T> UploadQueue<T> {
    pub fn new(total_pieces: usize, least_sent_first: bool) -> Self {
        Self {
            least_sent_first,
            items: VecDeque::new(),
            sent: vec![(Vec::new(), 0, None); if least_sent_first { total_pieces } else { 0 }],
        }
    }

    /// Queue a request of `peer` (any number that tells peers apart) for a chunk of `piece`.
    pub fn push(&mut self, piece: usize, peer: usize, item: T) {
        self.items.push_back(Item {
            since: Instant::now(),
            piece,
            peer,
            item,
        });
    }

    // To how many peers other than `peer` the piece went.
    fn sent_to_others(&self, piece: usize, peer: usize) -> usize {
        self.sent
            .get(piece)
            .map_or(0, |s| s.0.iter().filter(|p| **p != peer).count())
    }

    // Held back: its piece went to another peer less than MAX_WAIT ago, and it has not
    // waited MAX_WAIT itself.
    fn held(&self, i: &Item<T>, now: Instant) -> bool {
        now.duration_since(i.since) < MAX_WAIT
            && self.sent.get(i.piece).is_some_and(|(_, to, when)| {
                *to != i.peer && when.is_some_and(|w| now.duration_since(w) < MAX_WAIT)
            })
    }

    /// The next request to serve now, counted as sent; `None` if the queue is empty or
    /// everything in it is held back (see [`Self::next_ready_in`]).
    pub fn pop(&mut self) -> Option<T> {
        let now = Instant::now();
        let i = if !self.least_sent_first {
            0
        } else if self
            .items
            .front()
            .is_some_and(|i| now.duration_since(i.since) >= MAX_WAIT)
        {
            0
        } else {
            // The first of the least-sent that is not held back (ties keep arrival order).
            let mut best: Option<usize> = None;
            for (n, it) in self.items.iter().enumerate().take(SCAN) {
                if self.held(it, now) {
                    continue;
                }
                let rank = |i: &Item<T>| self.sent_to_others(i.piece, i.peer);
                if best.is_none_or(|b| rank(it) < rank(&self.items[b])) {
                    best = Some(n);
                }
            }
            best?
        };
        let it = self.items.remove(i)?;
        if let Some(s) = self.sent.get_mut(it.piece) {
            if s.0.len() < RECIPIENTS && !s.0.contains(&it.peer) {
                s.0.push(it.peer);
            }
            s.1 = it.peer;
            s.2 = Some(now);
        }
        Some(it.item)
    }

    /// When a held-back request will be served at the latest (`None`: queue empty).
    pub fn next_ready_in(&self) -> Option<Duration> {
        let now = Instant::now();
        self.items
            .iter()
            .map(|i| MAX_WAIT.saturating_sub(now.duration_since(i.since)))
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_come_first_served_by_default() {
        let mut q = UploadQueue::new(4, false);
        for (piece, x) in [(1, 'a'), (1, 'b'), (2, 'c')] {
            q.push(piece, 7, x);
        }
        assert_eq!(
            [q.pop(), q.pop(), q.pop(), q.pop()],
            [Some('a'), Some('b'), Some('c'), None]
        );
    }

    #[test]
    fn least_sent_pieces_go_first_in_arrival_order() {
        let mut q = UploadQueue::new(4, true);
        q.push(1, 7, "p1 to 7");
        assert_eq!(q.pop(), Some("p1 to 7"));
        // Piece 1 went to peer 7: peer 9's requests for pieces 2 and 3 pass its older
        // one for piece 1 (once it is due).
        q.push(1, 9, "p1 to 9");
        q.items[0].since = Instant::now() - MAX_WAIT / 2;
        q.push(2, 9, "p2 to 9");
        q.push(3, 8, "p3 to 8");
        assert_eq!(q.pop(), Some("p2 to 9"));
        assert_eq!(q.pop(), Some("p3 to 8"));
        assert_eq!(q.pop(), None, "held back");
        q.items[0].since = Instant::now() - MAX_WAIT;
        assert_eq!(q.pop(), Some("p1 to 9"));
    }

    #[test]
    fn choosing_looks_at_a_bounded_number_of_requests_and_recipients() {
        let mut q = UploadQueue::new(2, true);
        for peer in 0..20 {
            q.push(0, peer, peer);
            q.items[0].since = Instant::now() - MAX_WAIT;
            q.pop();
        }
        assert_eq!(q.sent[0].0.len(), RECIPIENTS);
        q.sent[0].2 = None; // not just sent: nothing is held back
        // Past the first SCAN requests, a rarer piece is not looked for.
        for i in 0..SCAN + 1 {
            q.push(0, 1000, i);
        }
        q.push(1, 1000, 9999);
        assert_eq!(q.pop(), Some(0));
    }

    #[test]
    fn one_peers_requests_keep_their_order() {
        // A player's urgent piece is not interleaved with its read-ahead: chunks of a
        // piece already going to this peer do not count against it.
        let mut q = UploadQueue::new(4, true);
        for x in ["p1 a", "p1 b", "p2 a", "p1 c", "p2 b"] {
            q.push(if x.starts_with("p1") { 1 } else { 2 }, 7, x);
        }
        let order: Vec<_> = std::iter::from_fn(|| q.pop()).collect();
        assert_eq!(order, ["p1 a", "p1 b", "p2 a", "p1 c", "p2 b"]);
    }

    #[test]
    fn a_piece_just_sent_to_another_peer_is_held_back_at_most_max_wait() {
        let mut q = UploadQueue::new(4, true);
        q.push(1, 7, "p1 to peer 7");
        assert_eq!(q.pop(), Some("p1 to peer 7"));
        q.push(1, 8, "p1 to peer 8");
        assert_eq!(q.pop(), None, "peer 7 will offer it: held back");
        assert!(q.next_ready_in().unwrap() > MAX_WAIT - Duration::from_secs(1));
        q.push(2, 8, "p2 to peer 8");
        assert_eq!(q.pop(), Some("p2 to peer 8"));
        // After MAX_WAIT it goes, first.
        q.items[0].since = Instant::now() - MAX_WAIT;
        q.push(3, 8, "p3");
        assert_eq!(q.next_ready_in(), Some(Duration::ZERO));
        assert_eq!(q.pop(), Some("p1 to peer 8"));
        assert_eq!(q.pop(), Some("p3"));
        assert_eq!(q.next_ready_in(), None);
    }
}
