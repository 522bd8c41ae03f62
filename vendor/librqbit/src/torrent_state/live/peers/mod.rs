use std::{
    collections::HashSet,
    net::SocketAddr,
    sync::{
        Arc,
        atomic::{AtomicU32, Ordering},
    },
};

use dashmap::DashMap;
use librqbit_core::{hash_id::Id20, lengths::ValidPieceIndex};
use parking_lot::RwLock;

use crate::{
    Error,
    torrent_state::utils::{TimedExistence, atomic_inc},
    type_aliases::{BF, PeerHandle},
};

use self::stats::{AggregatePeerStats, AggregatePeerStatsAtomic};

use super::peer::{LivePeerState, Peer, PeerRx, PeerState, PeerTx};

pub mod stats;

pub(crate) struct PeerStates {
    pub session_stats: Arc<AggregatePeerStatsAtomic>,

    // This keeps track of live addresses we connected to, for PEX.
    pub live_outgoing_peers: RwLock<HashSet<PeerHandle>>,
    pub stats: AggregatePeerStatsAtomic,
    pub states: DashMap<PeerHandle, Peer>,
    // How many live peers have each piece, for rarest-first piece picking.
    pub piece_availability: PieceAvailability,
}

/// Per piece, how many live peers have it (from their bitfields and HAVE messages).
///
/// Kept in sync at the same places as the live/seeder counters: a peer's bitfield is
/// added when it becomes live or its bitfield changes, and removed when it leaves the
/// live state. Atomic counters, so updating them needs no lock beyond the one on the
/// peer itself.
pub(crate) struct PieceAvailability {
    all: Box<[AtomicU32]>,
    // reelseal (M): the same count over origin peers only (the publisher's seeders,
    // recognised by their peer id prefix), so that "how many other peers have it" is
    // `all - origin`.
    origin: Box<[AtomicU32]>,
    origin_prefix: Option<Vec<u8>>,
}

fn counters(n: usize) -> Box<[AtomicU32]> {
    (0..n).map(|_| AtomicU32::new(0)).collect()
}

impl PieceAvailability {
    pub fn new(total_pieces: usize, origin_prefix: Option<Vec<u8>>) -> Self {
        Self {
            all: counters(total_pieces),
            origin: counters(if origin_prefix.is_some() { total_pieces } else { 0 }),
            origin_prefix: origin_prefix.filter(|p| !p.is_empty()),
        }
    }

    pub fn get(&self, piece: usize) -> u32 {
        self.all.get(piece).map_or(0, |c| c.load(Ordering::Relaxed))
    }

    /// reelseal (M): how many live peers other than origins have the piece.
    pub fn get_non_origin(&self, piece: usize) -> u32 {
        let origin = self.origin.get(piece).map_or(0, |c| c.load(Ordering::Relaxed));
        self.get(piece).saturating_sub(origin)
    }

    /// reelseal (M): were we told how to recognise origins (else nothing is spared)?
    pub fn knows_origins(&self) -> bool {
        self.origin_prefix.is_some()
    }

    /// reelseal (M): is a peer with this id one of the publisher's seeders?
    pub fn is_origin(&self, peer_id: &Id20) -> bool {
        self.origin_prefix
            .as_ref()
            .is_some_and(|p| peer_id.0.starts_with(p))
    }

    fn counters_of(&self, live: &LivePeerState) -> [&[AtomicU32]; 2] {
        if self.is_origin(&live.peer_id) {
            [&self.all, &self.origin]
        } else {
            [&self.all, &[]]
        }
    }

    fn add_piece(&self, live: &LivePeerState, piece: usize) {
        for c in self.counters_of(live) {
            if let Some(c) = c.get(piece) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    fn remove_piece(&self, live: &LivePeerState, piece: usize) {
        for c in self.counters_of(live) {
            if let Some(c) = c.get(piece) {
                let _ = c.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| v.checked_sub(1));
            }
        }
    }

    fn add_bitfield(&self, live: &LivePeerState, bf: &BF) {
        bf.iter_ones().for_each(|p| self.add_piece(live, p));
    }

    fn remove_bitfield(&self, live: &LivePeerState, bf: &BF) {
        bf.iter_ones().for_each(|p| self.remove_piece(live, p));
    }

    /// A peer moves from state `old` to `new`: count the bitfield of a live one.
    pub fn on_state_change(&self, old: Option<&PeerState>, new: Option<&PeerState>) {
        if let Some(PeerState::Live(l)) = old {
            self.remove_bitfield(l, &l.bitfield);
        }
        if let Some(PeerState::Live(l)) = new {
            self.add_bitfield(l, &l.bitfield);
        }
    }
}

impl Drop for PeerStates {
    fn drop(&mut self) {
        for (_, p) in std::mem::take(&mut self.states).into_iter() {
            p.destroy(self);
        }
    }
}

impl PeerStates {
    pub fn stats(&self) -> AggregatePeerStats {
        self.stats.snapshot()
    }

    pub fn add_if_not_seen(&self, addr: SocketAddr) -> Option<PeerHandle> {
        use dashmap::mapref::entry::Entry;
        match self.states.entry(addr) {
            Entry::Occupied(_) => None,
            Entry::Vacant(vac) => {
                vac.insert(Peer::new_with_outgoing_address(addr));
                atomic_inc(&self.stats.queued);
                atomic_inc(&self.session_stats.queued);

                atomic_inc(&self.stats.seen);
                atomic_inc(&self.session_stats.seen);
                Some(addr)
            }
        }
    }
    pub fn with_peer<R>(&self, addr: PeerHandle, f: impl FnOnce(&Peer) -> R) -> Option<R> {
        self.states.get(&addr).map(|e| f(e.value()))
    }

    pub fn with_peer_mut<R>(
        &self,
        addr: PeerHandle,
        reason: &'static str,
        f: impl FnOnce(&mut Peer) -> R,
    ) -> Option<R> {
        use crate::torrent_state::utils::timeit;
        timeit(reason, || self.states.get_mut(&addr))
            .map(|e| f(TimedExistence::new(e, reason).value_mut()))
    }

    pub fn with_live<R>(&self, addr: PeerHandle, f: impl FnOnce(&LivePeerState) -> R) -> Option<R> {
        self.with_peer(addr, |peer| peer.get_live().map(f))
            .flatten()
    }

    pub fn with_live_mut<R>(
        &self,
        addr: PeerHandle,
        reason: &'static str,
        f: impl FnOnce(&mut LivePeerState) -> R,
    ) -> Option<R> {
        self.with_peer_mut(addr, reason, |peer| peer.get_live_mut().map(f))
            .flatten()
    }

    pub fn drop_peer(&self, handle: PeerHandle) -> Option<Peer> {
        let p = self.states.remove(&handle).map(|r| r.1)?;
        let s = p.get_state();
        self.stats.dec(s);
        self.session_stats.dec(s);
        self.piece_availability.on_state_change(Some(s), None);

        Some(p)
    }

    pub fn is_peer_not_interested_and_has_full_torrent(
        &self,
        handle: PeerHandle,
        total_pieces: usize,
    ) -> bool {
        self.with_live(handle, |live| {
            !live.peer_interested && live.has_full_torrent(total_pieces)
        })
        .unwrap_or(false)
    }

    pub fn mark_peer_interested(&self, handle: PeerHandle, is_interested: bool) -> Option<bool> {
        self.with_live_mut(handle, "mark_peer_interested", |live| {
            let prev = live.peer_interested;
            live.peer_interested = is_interested;
            prev
        })
    }

    pub fn update_bitfield(
        &self,
        handle: PeerHandle,
        bitfield: BF,
        total_pieces: usize,
    ) -> Option<()> {
        self.with_live_mut(handle, "update_bitfield", |live| {
            self.piece_availability.remove_bitfield(live, &live.bitfield);
            self.piece_availability.add_bitfield(live, &bitfield);
            live.bitfield = bitfield;
            self.update_seeder_flag(live, total_pieces);
        })
    }

    // Rarest-first piece picking (random among the rarest) spreads pieces so that
    // downloaders can trade. With a single peer, or seeds only, there is nobody to trade
    // with: then librqbit's file order is kept, which suits a player reading a file from
    // the start while a slow source delivers pieces in the order they were requested.
    // Peers still being connected to count as possible downloaders, so that the first
    // pieces are already spread when a whole swarm starts at once.
    pub fn rarest_first_pays_off(&self) -> bool {
        let s = self.stats();
        let pending = s.queued + s.connecting;
        s.live + pending >= 2 && s.live.saturating_sub(s.live_seeders) + pending >= 1
    }

    // Record a HAVE from a live peer. Returns false if the piece index is out of range.
    pub fn mark_peer_has_piece(&self, live: &mut LivePeerState, piece: usize) -> bool {
        match live.bitfield.get(piece).map(|v| *v) {
            Some(true) => true,
            Some(false) => {
                live.bitfield.set(piece, true);
                self.piece_availability.add_piece(live, piece);
                true
            }
            None => false,
        }
    }

    // Recompute the cached "this peer has the full torrent" flag after its bitfield
    // changed, keeping the aggregate seeder counters in sync. Must be called on every
    // bitfield change of a live peer.
    pub fn update_seeder_flag(&self, live: &mut LivePeerState, total_pieces: usize) {
        let seeder = live.has_full_torrent(total_pieces);
        if seeder == live.seeder {
            return;
        }
        live.seeder = seeder;
        self.stats.seeder_flag_changed(seeder);
        self.session_stats.seeder_flag_changed(seeder);
    }

    pub fn mark_peer_connecting(&self, h: PeerHandle) -> crate::Result<(PeerRx, PeerTx)> {
        let rx = self
            .with_peer_mut(h, "mark_peer_connecting", |peer| {
                peer.idle_to_connecting(self)
                    .ok_or(Error::BugInvalidPeerState)
            })
            .ok_or(Error::BugPeerNotFound)??;
        Ok(rx)
    }

    pub fn reset_peer_backoff(&self, handle: PeerHandle) {
        self.with_peer_mut(handle, "reset_peer_backoff", |p| {
            p.stats.reset_backoff();
        });
    }

    pub fn mark_peer_not_needed(&self, handle: PeerHandle) -> Option<PeerState> {
        let prev = self.with_peer_mut(handle, "mark_peer_not_needed", |peer| {
            peer.set_not_needed(self)
        })?;
        Some(prev)
    }

    pub(crate) fn on_steal(
        &self,
        from_peer: SocketAddr,
        to_peer: SocketAddr,
        stolen_idx: ValidPieceIndex,
    ) {
        self.with_peer(to_peer, |p| {
            atomic_inc(&p.stats.counters.times_i_stole);
        });
        self.with_peer(from_peer, |p| {
            atomic_inc(&p.stats.counters.times_stolen_from_me);
        });
        self.stats.inc_steals();
        self.session_stats.inc_steals();

        self.with_live_mut(from_peer, "send_cancellations", |live| {
            live.cancel_inflight_requests_for_piece(stolen_idx);
        });
    }
}

#[cfg(test)]
mod tests {
    use librqbit_core::hash_id::Id20;

    use super::*;
    use crate::stream_connect::ConnectionKind;

    const TOTAL_PIECES: usize = 8;

    fn full_bitfield() -> BF {
        BF::from_boxed_slice(vec![0xffu8; 1].into_boxed_slice())
    }

    fn empty_bitfield() -> BF {
        BF::from_boxed_slice(vec![0u8; 1].into_boxed_slice())
    }

    fn make_peer_states() -> PeerStates {
        PeerStates {
            session_stats: Default::default(),
            live_outgoing_peers: Default::default(),
            stats: Default::default(),
            states: Default::default(),
            piece_availability: PieceAvailability::new(TOTAL_PIECES, None),
        }
    }

    // Returns the peer handle, keeping the receiving end of the peer channel alive.
    fn add_live_peer(peers: &PeerStates, addr: &str) -> (PeerHandle, PeerRx) {
        let addr: SocketAddr = addr.parse().unwrap();
        peers.add_if_not_seen(addr).unwrap();
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        peers
            .with_peer_mut(addr, "test", |peer| {
                peer.incoming_connection(Id20::default(), tx, peers, ConnectionKind::Tcp)
            })
            .unwrap()
            .unwrap();
        (addr, rx)
    }

    fn live_seeders(peers: &PeerStates) -> (u32, u32) {
        (
            peers.stats().live_seeders,
            peers.session_stats.snapshot().live_seeders,
        )
    }

    #[test]
    fn full_bitfield_counts_as_seeder_and_is_uncounted_on_disconnect() {
        let peers = make_peer_states();
        let (addr, _rx) = add_live_peer(&peers, "127.0.0.1:1234");
        assert_eq!(live_seeders(&peers), (0, 0));

        peers
            .update_bitfield(addr, empty_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert_eq!(live_seeders(&peers), (0, 0));

        peers
            .update_bitfield(addr, full_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert_eq!(live_seeders(&peers), (1, 1));

        // Repeated updates must not double-count.
        peers
            .update_bitfield(addr, full_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert_eq!(live_seeders(&peers), (1, 1));

        peers.drop_peer(addr).unwrap();
        assert_eq!(live_seeders(&peers), (0, 0));
    }

    #[test]
    fn bitfield_completed_piece_by_piece_counts_as_seeder() {
        let peers = make_peer_states();
        let (addr, _rx) = add_live_peer(&peers, "127.0.0.1:1234");
        peers
            .update_bitfield(addr, empty_bitfield(), TOTAL_PIECES)
            .unwrap();

        for piece in 0..TOTAL_PIECES {
            peers
                .with_live_mut(addr, "test", |live| {
                    *live.bitfield.get_mut(piece).unwrap() = true;
                    peers.update_seeder_flag(live, TOTAL_PIECES);
                })
                .unwrap();
            let expected = u32::from(piece == TOTAL_PIECES - 1);
            assert_eq!(live_seeders(&peers), (expected, expected));
        }
    }

    #[test]
    fn seeder_is_uncounted_when_peer_leaves_live_state() {
        let peers = make_peer_states();
        let (addr, _rx) = add_live_peer(&peers, "127.0.0.1:1234");
        peers
            .update_bitfield(addr, full_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert_eq!(live_seeders(&peers), (1, 1));

        peers.mark_peer_not_needed(addr).unwrap();
        assert_eq!(live_seeders(&peers), (0, 0));
    }

    #[test]
    fn seeders_are_counted_per_peer() {
        let peers = make_peer_states();
        let (a, _rx_a) = add_live_peer(&peers, "127.0.0.1:1234");
        let (b, _rx_b) = add_live_peer(&peers, "127.0.0.1:1235");

        peers
            .update_bitfield(a, full_bitfield(), TOTAL_PIECES)
            .unwrap();
        peers
            .update_bitfield(b, empty_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert_eq!(live_seeders(&peers), (1, 1));

        peers
            .update_bitfield(b, full_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert_eq!(live_seeders(&peers), (2, 2));

        peers.drop_peer(a).unwrap();
        assert_eq!(live_seeders(&peers), (1, 1));
    }

    #[test]
    fn rarest_first_pays_off_only_with_a_downloader_among_several_peers() {
        let peers = make_peer_states();
        assert!(!peers.rarest_first_pays_off());
        let (a, _rx_a) = add_live_peer(&peers, "127.0.0.1:1234");
        peers
            .update_bitfield(a, empty_bitfield(), TOTAL_PIECES)
            .unwrap();
        // A single peer, seed or not: nobody to trade with.
        assert!(!peers.rarest_first_pays_off());
        peers
            .update_bitfield(a, full_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert!(!peers.rarest_first_pays_off());
        // Two seeds: still nobody to trade with.
        let (b, _rx_b) = add_live_peer(&peers, "127.0.0.1:1235");
        peers
            .update_bitfield(b, full_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert!(!peers.rarest_first_pays_off());
        // A seed and a downloader (even one with nothing yet).
        peers
            .update_bitfield(b, empty_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert!(peers.rarest_first_pays_off());
        peers.drop_peer(a).unwrap();
        assert!(!peers.rarest_first_pays_off());
        // A seed and a peer not connected yet (it may be a downloader).
        peers
            .update_bitfield(b, full_bitfield(), TOTAL_PIECES)
            .unwrap();
        peers.add_if_not_seen("127.0.0.1:1236".parse().unwrap());
        assert!(peers.rarest_first_pays_off());
    }

    fn availability(peers: &PeerStates) -> Vec<u32> {
        (0..TOTAL_PIECES)
            .map(|p| peers.piece_availability.get(p))
            .collect()
    }

    #[test]
    fn piece_availability_follows_bitfields_haves_and_departures() {
        let peers = make_peer_states();
        let (a, _rx_a) = add_live_peer(&peers, "127.0.0.1:1234");
        let (b, _rx_b) = add_live_peer(&peers, "127.0.0.1:1235");
        let (c, _rx_c) = add_live_peer(&peers, "127.0.0.1:1236");
        assert_eq!(availability(&peers), vec![0; TOTAL_PIECES]);

        // a: pieces 0 and 1 (bitfields are MSB-first); b: all; c: none.
        peers
            .update_bitfield(
                a,
                BF::from_boxed_slice(vec![0b1100_0000u8].into_boxed_slice()),
                TOTAL_PIECES,
            )
            .unwrap();
        peers
            .update_bitfield(b, full_bitfield(), TOTAL_PIECES)
            .unwrap();
        peers
            .update_bitfield(c, empty_bitfield(), TOTAL_PIECES)
            .unwrap();
        assert_eq!(availability(&peers), vec![2, 2, 1, 1, 1, 1, 1, 1]);

        // A bitfield sent again replaces the old one rather than adding to it.
        peers
            .update_bitfield(
                a,
                BF::from_boxed_slice(vec![0b1000_0000u8].into_boxed_slice()),
                TOTAL_PIECES,
            )
            .unwrap();
        assert_eq!(availability(&peers), vec![2, 1, 1, 1, 1, 1, 1, 1]);

        // HAVE: counted once, however often it is repeated; out of range is refused.
        for _ in 0..2 {
            let ok = peers
                .with_live_mut(c, "test", |live| peers.mark_peer_has_piece(live, 5))
                .unwrap();
            assert!(ok);
        }
        assert_eq!(availability(&peers), vec![2, 1, 1, 1, 1, 2, 1, 1]);
        let ok = peers
            .with_live_mut(c, "test", |live| {
                peers.mark_peer_has_piece(live, TOTAL_PIECES)
            })
            .unwrap();
        assert!(!ok);

        // b leaves the live state; a and c drop.
        peers.mark_peer_not_needed(b).unwrap();
        assert_eq!(availability(&peers), vec![1, 0, 0, 0, 0, 1, 0, 0]);
        peers.drop_peer(a).unwrap();
        assert_eq!(availability(&peers), vec![0, 0, 0, 0, 0, 1, 0, 0]);
        peers.drop_peer(c).unwrap();
        assert_eq!(availability(&peers), vec![0; TOTAL_PIECES]);
    }
}
