// reelseal: super-seeding (BEP 16 style "initial seeding"), an off-by-default option of
// a torrent (`AddTorrentOptions::super_seed`).
//
// A seeder that has the whole torrent does not send its bitfield. Instead it offers
// each peer a few pieces with HAVE messages: pieces no one has been offered yet while
// there are such pieces, then the ones offered (and held) least. When the peer announces
// that it has an offered piece (its HAVE), that offer is done and the peer is offered
// the next one. Peers therefore get different pieces from the seeder and trade the rest
// among themselves, and the seeder uploads about one copy of the torrent instead of one
// per peer.
//
// Simplifications against BEP 16: the next piece is offered as soon as the peer has the
// previous one (BEP 16 waits until another peer has been seen announcing it), and a
// request for a piece that was not offered is still served (peers only ask for pieces
// they know we have; a well-behaved one knows only the offered ones).

use std::{collections::HashMap, net::SocketAddr};

use parking_lot::Mutex;

/// How many offered pieces a peer may have outstanding (it fetches one while the other
/// is on its way, so a peer is never idle waiting for our next HAVE).
pub(crate) const OFFERS_PER_PEER: usize = 2;

#[derive(Debug)]
pub(crate) struct SuperSeeder {
    inner: Mutex<State>,
}

#[derive(Debug)]
struct State {
    /// Per piece: to how many peers it was offered (offers withdrawn when a peer left
    /// before having it do not count).
    offered: Vec<u32>,
    /// Per peer: the offered pieces it does not have yet.
    outstanding: HashMap<SocketAddr, Vec<usize>>,
}

impl SuperSeeder {
    pub(crate) fn new(total_pieces: usize) -> Self {
        Self {
            inner: Mutex::new(State {
                offered: vec![0; total_pieces],
                outstanding: HashMap::new(),
            }),
        }
    }

    /// The pieces to offer `peer` now (to be announced with HAVE): its offers that it
    /// now has are done, and it is given new ones up to [`OFFERS_PER_PEER`]. Among the
    /// pieces the peer lacks, picks the least offered, then the least available among
    /// connected peers, then the lowest index.
    pub(crate) fn top_up(
        &self,
        peer: SocketAddr,
        peer_has: impl Fn(usize) -> bool,
        availability: impl Fn(usize) -> u32,
    ) -> Vec<usize> {
        let mut g = self.inner.lock();
        let State {
            offered,
            outstanding,
        } = &mut *g;
        let mine = outstanding.entry(peer).or_default();
        mine.retain(|p| !peer_has(*p));
        let mut new = Vec::new();
        while mine.len() < OFFERS_PER_PEER {
            let pick = (0..offered.len())
                .filter(|p| !peer_has(*p) && !mine.contains(p))
                .min_by_key(|p| (offered[*p], availability(*p), *p));
            match pick {
                Some(p) => {
                    offered[p] += 1;
                    mine.push(p);
                    new.push(p);
                }
                None => break,
            }
        }
        new
    }

    /// The peer left: offers it did not complete are withdrawn (so they go to someone
    /// else first).
    pub(crate) fn forget_peer(&self, peer: SocketAddr) {
        let mut g = self.inner.lock();
        if let Some(pieces) = g.outstanding.remove(&peer) {
            for p in pieces {
                g.offered[p] = g.offered[p].saturating_sub(1);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn addr(i: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], 10000 + i))
    }

    #[test]
    fn each_peer_is_offered_pieces_no_one_else_was_offered() {
        let s = SuperSeeder::new(10);
        let mut all = Vec::new();
        for i in 0..5 {
            let got = s.top_up(addr(i), |_| false, |_| 0);
            assert_eq!(got.len(), OFFERS_PER_PEER);
            all.extend(got);
        }
        let distinct: HashSet<_> = all.iter().collect();
        assert_eq!(distinct.len(), 10, "10 pieces, 5 peers x 2 offers: all different");
    }

    #[test]
    fn when_every_piece_was_offered_the_least_offered_go_next() {
        let s = SuperSeeder::new(3);
        let a = s.top_up(addr(0), |_| false, |_| 0); // 0, 1
        let b = s.top_up(addr(1), |_| false, |_| 0); // 2, then 0 (offered once, lowest)
        assert_eq!(a, vec![0, 1]);
        assert_eq!(b, vec![2, 0]);
        // Ties on offers are broken by availability among connected peers.
        let c = s.top_up(addr(2), |_| false, |p| if p == 2 { 0 } else { 5 });
        assert_eq!(c[0], 2);
    }

    #[test]
    fn a_done_offer_is_replaced_and_pieces_the_peer_has_are_never_offered() {
        let s = SuperSeeder::new(6);
        // The peer already has 0 and 1.
        let has = |p: usize| p < 2;
        let first = s.top_up(addr(0), has, |_| 0);
        assert_eq!(first, vec![2, 3]);
        // Nothing new until it has one of them.
        assert!(s.top_up(addr(0), has, |_| 0).is_empty());
        // It announced piece 2: one new offer.
        let has = |p: usize| p < 3;
        assert_eq!(s.top_up(addr(0), has, |_| 0), vec![4]);
    }

    #[test]
    fn a_peer_with_everything_gets_no_offers() {
        let s = SuperSeeder::new(4);
        assert!(s.top_up(addr(0), |_| true, |_| 0).is_empty());
    }

    #[test]
    fn offers_of_a_peer_that_left_go_to_the_next_peer_first() {
        let s = SuperSeeder::new(4);
        assert_eq!(s.top_up(addr(0), |_| false, |_| 0), vec![0, 1]);
        s.forget_peer(addr(0));
        assert_eq!(s.top_up(addr(1), |_| false, |_| 0), vec![0, 1]);
    }
}
