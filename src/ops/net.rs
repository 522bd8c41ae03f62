//! How a command meets the swarm: the session options and the peers to dial, decided by
//! the CLI's network flags.

use std::net::SocketAddr;

use std::path::Path;

use reelseal_swarm::{Role, Swarm, SwarmError, SwarmOptions, SwarmSettings};

/// Session options plus peers given by hand.
#[derive(Clone, Debug)]
pub struct Net {
    /// The librqbit session's options.
    pub swarm: SwarmOptions,
    /// Peers to connect to (e.g. the seeder on 127.0.0.1).
    pub peers: Vec<SocketAddr>,
    /// Web seeds to use besides the release card's (`reelview --web-seed`).
    pub web_seeds: Vec<String>,
}

impl Net {
    /// Everything on 127.0.0.1: no DHT, no trackers, only these peers (tests, examples).
    pub fn loopback(peers: Vec<SocketAddr>) -> Self {
        Net {
            swarm: SwarmOptions::loopback(),
            peers,
            web_seeds: Vec::new(),
        }
    }
}

impl Net {
    /// Start the session. DHT state (the routing table) is kept in `state_dir`, the tool's
    /// home, never in the user's cache folder; uTP is on when listening on a public
    /// address (on loopback TCP is faster, and libtorrent tries uTP first for seconds).
    /// `role`: [`Role::Origin`] for the publisher's seeder.
    pub async fn start(&self, state_dir: &Path, role: Role) -> Result<Swarm, SwarmError> {
        let settings = SwarmSettings {
            state_dir: self.swarm.dht.then(|| state_dir.to_path_buf()),
            utp: self.swarm.listen.is_some_and(|a| !a.ip().is_loopback()),
            web_seeds: self.web_seeds.clone(),
            role,
            ..SwarmSettings::default()
        };
        Swarm::start_with(self.swarm.clone(), settings).await
    }
}
