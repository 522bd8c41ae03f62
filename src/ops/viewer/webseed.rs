//! Web seeds for `fetch` and `play`: which ones (the signed card's, plus `--web-seed`),
//! getting the torrent from one when no peer gives the metadata, and starting the
//! download from them (`reelseal_swarm::webseed`: whole pieces over HTTP Range requests,
//! each checked against its hash before it is written; the server is not trusted).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use anyhow::Result;
use reelseal_core::card::Card;
use reelseal_swarm::{Swarm, SwarmError, Torrent, WebSeedPolicy, WebSeeds};

use crate::exit::{refuse, Exit};
use crate::feedback::Feedback;

/// How long the swarm has to give the metadata (a magnet link) before the torrent is
/// taken from a web seed instead.
const METADATA_GRACE: Duration = Duration::from_secs(3);

/// How long one web seed has to give `release.torrent`.
const TORRENT_TIMEOUT: Duration = Duration::from_secs(30);

/// The web seeds for a release: the signed card's, then those given with `--web-seed`
/// (unsigned, but harmless: every piece is checked against the torrent's hashes, and the
/// torrent against the card).
pub fn seeds_for(swarm: &Swarm, card: &Card) -> Vec<String> {
    let mut v = card.web_seeds.clone();
    for w in swarm.extra_web_seeds() {
        if !v.contains(w) {
            v.push(w.clone());
        }
    }
    v
}

/// A release added to the swarm.
pub struct Added {
    /// The torrent.
    pub torrent: Torrent,
    /// There is no way to find peers (no DHT, no tracker, no `--peer`): the web seeds
    /// start at once instead of after a grace.
    pub no_peer_source: bool,
}

/// Add a release to the swarm: by magnet link (from the card); when it has web seeds and
/// the swarm has not given the metadata within a few seconds (or has no way to: no DHT,
/// no tracker, no peer), with `release.torrent` from a web seed, checked against the
/// signed card.
pub async fn add_release(
    swarm: &Swarm,
    card: &Card,
    cache: &Path,
    peers: &[SocketAddr],
    fb: &dyn Feedback,
) -> Result<Added> {
    let added = |torrent| Added {
        torrent,
        no_peer_source: false,
    };
    let seeds = seeds_for(swarm, card);
    let magnet = card.magnet("");
    if seeds.is_empty() {
        return Ok(added(swarm.fetch_magnet(&magnet, cache, peers).await?));
    }
    let mut via_magnet = Box::pin(swarm.fetch_magnet(&magnet, cache, peers));
    let first = tokio::select! {
        r = &mut via_magnet => Some(r),
        _ = tokio::time::sleep(METADATA_GRACE) => None,
    };
    match first {
        Some(Ok(t)) => return Ok(added(t)),
        Some(Err(SwarmError::NoPeerSource)) => {
            drop(via_magnet);
            let bytes = torrent_from_web_seeds(swarm, card, &seeds, fb)
                .await
                .map_err(|why| {
                    refuse(
                        Exit::Error,
                        format!("{why}; and there is no other way to find the release: the DHT is off, the release names no tracker and no --peer was given. Check the web seed, turn the DHT on, add a --tracker, or give a --peer"),
                    )
                })?;
            return Ok(Added {
                torrent: swarm.fetch_torrent(&bytes, cache, peers).await?,
                no_peer_source: true,
            });
        }
        Some(Err(e)) => return Err(e.into()),
        None => {}
    }
    // Whichever comes first: the swarm's metadata, or a torrent from a web seed.
    let from_web = tokio::select! {
        r = &mut via_magnet => return Ok(added(r?)),
        w = torrent_from_web_seeds(swarm, card, &seeds, fb) => w,
    };
    match from_web {
        Ok(bytes) => {
            drop(via_magnet);
            Ok(added(swarm.fetch_torrent(&bytes, cache, peers).await?))
        }
        Err(why) => {
            fb.note(&format!("{why}; waiting for the swarm to give it"));
            Ok(added(via_magnet.await?))
        }
    }
}

/// `release.torrent` from the first web seed that has one matching the signed card.
async fn torrent_from_web_seeds(
    swarm: &Swarm,
    card: &Card,
    seeds: &[String],
    fb: &dyn Feedback,
) -> Result<Vec<u8>, String> {
    let client = swarm.web_seed_client(TORRENT_TIMEOUT);
    let mut why = Vec::new();
    for s in seeds {
        match reelseal_swarm::webseed::fetch_torrent(&client, s).await {
            Ok(bytes) => match card.check_torrent(&bytes) {
                Ok(_) => return Ok(bytes),
                Err(e) => {
                    let w = format!(
                        "web seed {s}: its release.torrent is refused ({e}): it is not this release's"
                    );
                    fb.warn(&w);
                    why.push(w);
                }
            },
            Err(e) => why.push(format!("web seed: {e}")),
        }
    }
    Err(format!(
        "no web seed gave the release's torrent ({})",
        why.join("; ")
    ))
}

/// Start the web seeds of a release whose torrent is live and checked against the card
/// (`None` when it has none). They help only while peers are few or slow; with no peer
/// source at all, from the start.
pub fn start(swarm: &Swarm, card: &Card, added: &Added) -> Result<Option<WebSeeds>> {
    let seeds = seeds_for(swarm, card);
    if seeds.is_empty() {
        return Ok(None);
    }
    let mut policy = WebSeedPolicy::default();
    if added.no_peer_source {
        policy.grace = Duration::ZERO;
    }
    Ok(Some(added.torrent.start_web_seeds(seeds, policy)?))
}
