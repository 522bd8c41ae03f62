//! Network flags shared by `reelseal seed`, `reelview fetch` and `reelview play`.

use std::net::{IpAddr, SocketAddr};

use reelseal_swarm::SwarmOptions;

use crate::ops::net::Net;

/// How to meet the swarm.
#[derive(clap::Args, Clone, Debug)]
#[command(next_help_heading = "Network")]
pub struct NetArgs {
    /// Address to listen on for peers (127.0.0.1 keeps everything on this machine).
    #[arg(long, default_value = "0.0.0.0", value_name = "IP")]
    pub bind: IpAddr,
    /// Port to listen on for peers (0 = any free port).
    #[arg(long, default_value_t = 0, value_name = "PORT")]
    pub listen_port: u16,
    /// Do not use the BitTorrent DHT (then peers come from trackers and --peer only).
    #[arg(long = "no-dht", action = clap::ArgAction::SetFalse)]
    pub dht: bool,
    /// Do not contact any tracker.
    #[arg(long = "no-trackers", action = clap::ArgAction::SetFalse)]
    pub trackers: bool,
    /// Extra tracker announce URL (repeatable).
    #[arg(long = "tracker", value_name = "URL")]
    pub extra_trackers: Vec<String>,
    /// Connect to this peer (repeatable), e.g. 127.0.0.1:4240.
    #[arg(long = "peer", value_name = "ADDR")]
    pub peers: Vec<SocketAddr>,
    /// Upload limit per second, e.g. 2MiB or 500K.
    #[arg(long, value_name = "SIZE")]
    pub upload_limit: Option<crate::cli::size::Bytes>,
    /// Download limit per second, e.g. 8MiB.
    #[arg(long, value_name = "SIZE")]
    pub download_limit: Option<crate::cli::size::Bytes>,
    /// Ask the router to forward the listening port (UPnP).
    #[arg(long)]
    pub upnp: bool,
}

/// `reelview --web-seed` (fetch and play).
#[derive(clap::Args, Clone, Debug)]
#[command(next_help_heading = "Network")]
pub struct WebSeedArgs {
    /// Also download from this web seed (repeatable): the http(s) URL of a folder holding
    /// the release folder's contents (release.torrent and the torrent's folder), besides
    /// the web seeds the publisher put on the signed card. Used when peers are few or
    /// slow; every piece is checked against the torrent, so a wrong or hostile server
    /// cannot change what you get (it does learn your IP address and which release you
    /// fetch).
    #[arg(long = "web-seed", value_name = "URL", value_parser = crate::cli::net::web_seed_arg)]
    pub web_seeds: Vec<String>,
}

/// A `--web-seed` value: http(s) only, canonical form (ends in `/`).
pub fn web_seed_arg(s: &str) -> Result<String, String> {
    // clap already names the flag and the value: say only what is wrong and what to give.
    reelseal_core::card::web_seed_url(s).map_err(|e| match e {
        reelseal_core::Error::Malformed { why, .. } => why,
        e => e.to_string(),
    })
}

impl NetArgs {
    /// The session options and peers these flags describe.
    pub fn plan(&self) -> Net {
        Net {
            swarm: SwarmOptions {
                listen: Some(SocketAddr::new(self.bind, self.listen_port)),
                dht: self.dht,
                trackers: self.trackers,
                extra_trackers: self.extra_trackers.clone(),
                upnp: self.upnp,
                upload_limit_bps: self
                    .upload_limit
                    .map(|b| u32::try_from(b.0).unwrap_or(u32::MAX)),
                download_limit_bps: self
                    .download_limit
                    .map(|b| u32::try_from(b.0).unwrap_or(u32::MAX)),
            },
            peers: self.peers.clone(),
            web_seeds: Vec::new(),
        }
    }
}

/// Where channel pointers (BEP 44 items in the BitTorrent DHT) are published and found.
#[derive(clap::Args, Clone, Debug)]
#[command(next_help_heading = "Channel pointers")]
pub struct PointerArgs {
    /// Join the DHT through this node (repeatable) instead of the public bootstrap nodes,
    /// e.g. a DHT of your own on 127.0.0.1. With --no-dht, pointers use the DHT only when
    /// this is given.
    #[arg(long = "dht-bootstrap", value_name = "ADDR")]
    pub dht_bootstrap: Vec<SocketAddr>,
    /// Do not publish or look up the newest-version pointer in the DHT.
    #[arg(long = "no-pointer-dht", action = clap::ArgAction::SetFalse)]
    pub pointer_dht: bool,
}

impl PointerArgs {
    /// The pointer network, bound where the swarm binds: on unless --no-pointer-dht, or
    /// --no-dht without a --dht-bootstrap of one's own (so `--no-dht` keeps a command off
    /// the public DHT altogether).
    pub fn plan(&self, net: &Net) -> crate::ops::channel::PointerNet {
        let on = self.pointer_dht && (net.swarm.dht || !self.dht_bootstrap.is_empty());
        crate::ops::channel::PointerNet::new(on, self.dht_bootstrap.clone(), net)
    }
}
