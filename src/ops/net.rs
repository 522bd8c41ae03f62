//! How a command meets the swarm: the session options and the peers to dial, decided by
//! the CLI's network flags.

use std::net::SocketAddr;

use reelseal_swarm::SwarmOptions;

/// Session options plus peers given by hand.
#[derive(Clone, Debug)]
pub struct Net {
    /// The librqbit session's options.
    pub swarm: SwarmOptions,
    /// Peers to connect to (e.g. the seeder on 127.0.0.1).
    pub peers: Vec<SocketAddr>,
}

impl Net {
    /// Everything on 127.0.0.1: no DHT, no trackers, only these peers (tests, examples).
    pub fn loopback(peers: Vec<SocketAddr>) -> Self {
        Net {
            swarm: SwarmOptions::loopback(),
            peers,
        }
    }
}
