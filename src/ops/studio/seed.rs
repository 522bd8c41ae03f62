//! `reelseal seed`: seed releases from the ledger in one session until stopped, with a
//! live status line per release.

use std::future::Future;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reelseal_core::card::SignedCard;
use reelseal_core::seal::{self, TORRENT_FILE};
use serde::Serialize;

use super::resolve_release;
use crate::feedback::{Feedback, Unit};
use crate::home::PublisherHome;
use crate::ops::net::Net;
use crate::ops::Event;
use crate::render::human_bytes;

/// What `reelseal seed` was asked.
#[derive(Clone, Debug)]
pub struct SeedPlan {
    /// Releases (id, prefix or directory); empty = every release in the ledger.
    pub releases: Vec<String>,
    /// The swarm.
    pub net: Net,
    /// Stop after this long (default: when stopped).
    pub seconds: Option<u64>,
    /// Origin (viewers spare it) or an ordinary peer (`--no-origin`).
    pub role: reelseal_swarm::Role,
    /// Where the channels' newest-version pointers are refreshed (DHT nodes forget
    /// items after about two hours).
    pub pointers: crate::ops::channel::PointerNet,
}

/// How often a seeder puts its channels' pointers in the DHT again.
const REANNOUNCE: Duration = Duration::from_secs(30 * 60);

/// Seeding has started.
#[derive(Clone, Debug, Serialize)]
pub struct Seeding {
    /// Where peers reach us.
    pub listening: Option<String>,
    /// What is seeded.
    pub releases: Vec<SeedingRelease>,
}

/// One release being seeded.
#[derive(Clone, Debug, Serialize)]
pub struct SeedingRelease {
    /// Release id.
    pub release_id: String,
    /// Title.
    pub title: String,
    /// Infohash.
    pub infohash: String,
}

/// Seeding stopped.
#[derive(Clone, Debug, Serialize)]
pub struct SeedReport {
    /// Why: "time limit" or "interrupted".
    pub stopped: String,
    /// Bytes uploaded per release.
    pub uploaded: Vec<Uploaded>,
}

/// Upload of one release.
#[derive(Clone, Debug, Serialize)]
pub struct Uploaded {
    /// Release id.
    pub release_id: String,
    /// Bytes.
    pub bytes: u64,
    /// Copies of the release uploaded (bytes / its size).
    pub ratio: f64,
}

/// Something seeded: a release, or a channel's newest version (id = the channel's).
struct Item {
    id: String,
    title: String,
}

/// Seed until `stop` resolves (or the time limit).
pub async fn seed(
    home: &PublisherHome,
    plan: &SeedPlan,
    fb: &dyn Feedback,
    stop: impl Future<Output = ()>,
) -> Result<SeedReport> {
    let rows = {
        let ledger = home.ledger()?;
        if plan.releases.is_empty() {
            // Every release still offered: superseded (rotated) and retired ones only when
            // named, so a leaked key's old ciphertext is not kept alive by default.
            let mut offered = Vec::new();
            for r in ledger.releases()? {
                if let Some(new) = ledger.newest_successor(&r.id)? {
                    fb.warn(&format!(
                        "not seeding {} ({}): superseded by {} (name it to seed it anyway)",
                        r.title,
                        &r.id.to_hex()[..12],
                        &new.to_hex()[..12]
                    ));
                } else if ledger.retired(&r.id)?.is_some() {
                    fb.warn(&format!(
                        "not seeding {} ({}): retired (name it to seed it anyway, or `reelseal retire --undo {}`)",
                        r.title,
                        &r.id.to_hex()[..12],
                        &r.id.to_hex()[..12]
                    ));
                } else {
                    offered.push(r);
                }
            }
            offered
        } else {
            plan.releases
                .iter()
                .map(|r| resolve_release(&ledger, r))
                .collect::<Result<Vec<_>>>()?
        }
    };
    let swarm = plan.net.start(&home.swarm_state(), plan.role).await?;
    let mut seeding: Vec<(Item, reelseal_swarm::Torrent)> = Vec::new();
    for r in &rows {
        let path = r.dir.join(TORRENT_FILE);
        let torrent = match std::fs::read(&path) {
            Ok(t) => t,
            Err(e) => {
                fb.warn(&format!(
                    "skipping {} ({}): cannot read {}: {e}",
                    r.title,
                    r.id,
                    path.display()
                ));
                continue;
            }
        };
        // The torrent on disk must be the one the signed card names: an edited torrent
        // would make us offer (and fetch from peers) something else under this release.
        let card = SignedCard::inspect(&r.card)?;
        if let Err(e) = card.check_torrent(&torrent) {
            fb.warn(&format!(
                "skipping {} ({}): the torrent was edited: {} ({e}). Restore it from a backup of the release directory, or re-seal",
                r.title,
                &r.id.to_hex()[..12],
                path.display()
            ));
            continue;
        }
        let payload = seal::payload_dir(&r.dir, &r.torrent_name);
        let t = swarm
            .seed(&torrent, &payload, &plan.net.peers)
            .await
            .with_context(|| format!("cannot seed {} from {}", r.title, payload.display()))?;
        seeding.push((
            Item {
                id: r.id.to_hex(),
                title: r.title.clone(),
            },
            t,
        ));
    }
    // Every channel's newest version (only when no release was named).
    let channels = if plan.releases.is_empty() {
        crate::ops::channel::ChannelDir::all(&home.dir)?
    } else {
        Vec::new()
    };
    for ch in &channels {
        let Ok(Some(held)) = ch.newest() else {
            continue;
        };
        let title = ch
            .members()
            .map(|m| m.draft.title)
            .unwrap_or_else(|_| ch.id.to_hex());
        let v = held.card.card().version;
        let t = swarm
            .seed(&held.torrent, &held.payload(), &plan.net.peers)
            .await
            .with_context(|| format!("cannot seed version {v} of {title}"))?;
        seeding.push((
            Item {
                id: ch.id.to_hex(),
                title: format!("{title} v{v}"),
            },
            t,
        ));
    }
    if seeding.is_empty() {
        swarm.stop().await;
        if rows.is_empty() && channels.is_empty() {
            bail!("nothing to seed: the ledger has no release yet. Seal one first: `reelseal seal FILM --title \"…\"`");
        }
        bail!("nothing to seed: no release in the ledger has its directory (see `reelseal ls`)");
    }
    // Hash-check what is on disk before announcing readiness: a release with damaged or
    // missing files is reported, not seeded silently.
    for (r, t) in &seeding {
        t.wait_until_initialized()
            .await
            .with_context(|| format!("checking {} failed", r.title))?;
        let s = t.stats();
        if !s.finished {
            fb.warn(&format!(
                "{} ({}) is incomplete on disk: {} of {} verified; it will download the rest from peers",
                r.title,
                &r.id[..12],
                human_bytes(s.have_bytes),
                human_bytes(s.total_bytes)
            ));
        }
    }
    fb.announce(&Event::Seeding(Seeding {
        listening: swarm.listen_addr().map(|a| a.to_string()),
        releases: seeding
            .iter()
            .map(|(r, t)| SeedingRelease {
                release_id: r.id.clone(),
                title: r.title.clone(),
                infohash: t.info_hash().to_hex(),
            })
            .collect(),
    }));
    let bars: Vec<_> = seeding
        .iter()
        .map(|(r, _)| fb.progress(&r.title, Unit::Status, 0))
        .collect();
    // Pointers this home published, refreshed while seeding.
    let pointers: Vec<_> = channels.iter().filter_map(|c| c.pointer()).collect();
    let dht = if pointers.is_empty() {
        None
    } else {
        match plan.pointers.start() {
            Ok(d) => d,
            Err(e) => {
                fb.warn(&format!("{e:#}: channel pointers are not refreshed"));
                None
            }
        }
    };
    let mut announced: Option<Instant> = None;
    let start = Instant::now();
    let until = plan.seconds.map(Duration::from_secs);
    tokio::pin!(stop);
    let stopped = loop {
        for ((_, t), pb) in seeding.iter().zip(&bars) {
            let s = t.stats();
            pb.set_message(&format!(
                "{} peers  up {}/s  uploaded {} ({:.2} copies){}",
                s.peers,
                human_bytes(s.up_bps as u64),
                human_bytes(s.uploaded_bytes),
                s.uploaded_bytes as f64 / s.total_bytes.max(1) as f64,
                s.error.map(|e| format!("  ERROR {e}")).unwrap_or_default()
            ));
        }
        if let Some(d) = &dht {
            if announced.is_none_or(|t| t.elapsed() >= REANNOUNCE) {
                announced = Some(Instant::now());
                for p in &pointers {
                    if let Err(e) = d.put(p).await {
                        fb.warn(&format!(
                            "could not refresh the pointer of channel {} in the DHT: {e}",
                            p.channel
                        ));
                    }
                }
            }
        }
        if until.is_some_and(|u| start.elapsed() >= u) {
            break "time limit";
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = &mut stop => break "interrupted",
        }
    };
    for pb in &bars {
        pb.finish();
    }
    let uploaded = seeding
        .iter()
        .map(|(r, t)| {
            let s = t.stats();
            Uploaded {
                release_id: r.id.clone(),
                bytes: s.uploaded_bytes,
                ratio: s.uploaded_bytes as f64 / s.total_bytes.max(1) as f64,
            }
        })
        .collect();
    swarm.stop().await;
    Ok(SeedReport {
        stopped: stopped.into(),
        uploaded,
    })
}
