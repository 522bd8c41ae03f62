//! `reelview fetch`: verify the grant (no network before that), download the ciphertext
//! through the swarm, and decrypt each file as its verified pieces arrive. Interrupted, it
//! keeps what it downloaded and resumes when run again.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use reelseal_core::card::Card;
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::Output;
use reelseal_core::open::{self as ropen, FileSink};
use reelseal_core::seal::TORRENT_FILE;
use reelseal_core::torrent::Metainfo;
use reelseal_swarm::{Swarm, Torrent};
use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::join::{join_release, Joined};
use super::open::{open_refusal, opened, OpenedFile};
use super::watch::watch;
use super::{Access, Viewer};
use crate::exit::{refuse, Exit};
use crate::feedback::{Feedback, Progress, Unit};
use crate::home::fetch_cache;
use crate::ops::net::Net;
use crate::ops::Interrupt;

/// What `reelview fetch` was asked.
#[derive(Clone, Debug)]
pub struct FetchPlan {
    /// The `.rskey`.
    pub key: PathBuf,
    /// Where the film files go.
    pub out: PathBuf,
    /// The swarm.
    pub net: Net,
    /// Keep the ciphertext afterwards.
    pub keep_ciphertext: bool,
    /// Share with other viewers after the download (`None`: `--no-seed`).
    pub share: Option<Share>,
    /// Give up after this long without progress (`--timeout`).
    pub timeout: Option<Duration>,
    /// Overwrite existing files.
    pub force: bool,
    /// Mode of the film files (0600 unless `--mode`).
    pub mode: u32,
    /// Trust and revocations.
    pub access: Access,
}

/// How long `fetch` keeps uploading to other viewers once it has the whole release:
/// until either limit is reached (both `None`: until ^C).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Share {
    /// Stop once this many film-sizes were uploaded in this run (`--seed-ratio`).
    pub ratio: Option<f64>,
    /// Stop once this long has passed since the download finished (`--seed-time`).
    pub time: Option<Duration>,
}

impl Share {
    /// The default: one film-size or 15 minutes, whichever comes first.
    pub const DEFAULT: Share = Share {
        ratio: Some(1.0),
        time: Some(Duration::from_secs(15 * 60)),
    };
}

/// What sharing after the download did.
#[derive(Clone, Debug, Serialize)]
pub struct Shared {
    /// Seconds spent sharing after the download.
    pub seconds: f64,
    /// Why it stopped: "ratio reached", "time limit" or "interrupted".
    pub stopped: String,
}

/// A release fetched and decrypted.
#[derive(Clone, Debug, Serialize)]
pub struct FetchReport {
    /// Title.
    pub title: String,
    /// Release id.
    pub release_id: String,
    /// Infohash.
    pub infohash: String,
    /// Wall time until the film was decrypted (sharing afterwards not included).
    pub seconds: f64,
    /// Ciphertext verified (padding included).
    pub ciphertext_bytes: u64,
    /// Ciphertext fetched from peers in this run (less when resuming).
    pub fetched_bytes: u64,
    /// Ciphertext uploaded to other peers in this run (only verified pieces are offered).
    pub uploaded_bytes: u64,
    /// What each web seed gave (absent when the release has none).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub web_seeds: Vec<reelseal_swarm::WebSeedReport>,
    /// Sharing after the download (`null` with `--no-seed`).
    pub shared: Option<Shared>,
    /// Where the ciphertext was kept.
    pub ciphertext_kept: Option<PathBuf>,
    /// The files.
    pub files: Vec<OpenedFile>,
}

impl Viewer {
    /// Fetch and decrypt a release.
    pub async fn fetch(
        &self,
        plan: &FetchPlan,
        fb: &dyn Feedback,
        interrupt: &Interrupt,
    ) -> Result<FetchReport> {
        let auth = tokio::task::block_in_place(|| self.authorize(&plan.key, &plan.access, fb))?;
        let card = auth.grant.card().card().clone();
        let cache = fetch_cache(&plan.out, &card.infohash());
        std::fs::create_dir_all(&cache)
            .with_context(|| format!("cannot create {}", cache.display()))?;
        let started = Instant::now();
        let swarm = plan
            .net
            .start(&self.home.swarm_state(), reelseal_swarm::Role::Peer)
            .await?;
        let partials = std::sync::Mutex::new(Vec::new());
        let line = fb.progress("swarm", Unit::Status, 0);
        let kept = cache.display().to_string();
        let outcome = tokio::select! {
            r = download(&swarm, &card, &auth.keys, plan, &cache, &partials, fb) => r,
            e = watch(&swarm, card.infohash(), &*line, fb, plan.timeout, &kept) => Err(e),
            _ = interrupt.wait() => Err(interrupted(&partials, &cache, plan.keep_ciphertext)),
        };
        for note in swarm.take_web_seed_notes(&card.infohash()) {
            fb.warn(&note);
        }
        let (joined, outputs, written) = match outcome {
            Ok(v) => v,
            Err(e) => {
                line.finish();
                swarm.stop().await;
                // ^C leaves nothing partial behind, the downloaded ciphertext included,
                // unless it was asked for (--keep-ciphertext: then a re-run resumes).
                if interrupt.reason().is_some() && !plan.keep_ciphertext {
                    let _ = std::fs::remove_dir_all(&cache);
                }
                return Err(e);
            }
        };
        let seconds = started.elapsed().as_secs_f64();
        let shared = match &plan.share {
            Some(share) => Some(tokio::select! {
                s = share_for(&joined.torrent, share, &*line) => s,
                _ = interrupt.wait() => Shared { seconds: 0.0, stopped: "interrupted".into() },
            }),
            None => None,
        };
        line.finish();
        let stats = joined.torrent.stats();
        let web_seeds = joined.torrent.status().web_seeds;
        let info = joined.torrent.info_bytes();
        let _ = joined.torrent.forget().await;
        // librqbit takes about a second to stop: remove the ciphertext meanwhile.
        let removed = (!plan.keep_ciphertext).then(|| {
            let cache = cache.clone();
            tokio::task::spawn_blocking(move || std::fs::remove_dir_all(cache))
        });
        swarm.stop().await;
        if let Some(r) = removed {
            let _ = r.await;
        }
        let ciphertext_kept = if plan.keep_ciphertext {
            Some(keep_for_any_client(&card, &info?, &cache, &plan.out, fb)?)
        } else {
            None
        };
        if shared.as_ref().is_some_and(|s| s.stopped == "interrupted") {
            return Err(refuse(
                Exit::Interrupted,
                format!(
                    "interrupted while sharing with other viewers; the film is complete: {}",
                    written
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ));
        }
        Ok(FetchReport {
            title: card.title.clone(),
            release_id: card.release_id().to_hex(),
            infohash: card.infohash_hex(),
            seconds,
            ciphertext_bytes: stats.have_bytes,
            fetched_bytes: stats.fetched_bytes,
            uploaded_bytes: stats.uploaded_bytes,
            web_seeds,
            shared,
            ciphertext_kept,
            files: opened(&outputs, &written),
        })
    }
}

/// Interrupted while downloading: the partial film file being written goes (its
/// decrypting thread, cut off from its input, also removes it without putting it in
/// place: whichever comes first); the verified ciphertext goes too (removed once the
/// swarm has stopped) unless `keep` (`--keep-ciphertext`), when it stays for a resume.
fn interrupted(
    partials: &std::sync::Mutex<Vec<PathBuf>>,
    cache: &std::path::Path,
    keep: bool,
) -> anyhow::Error {
    let removed = partials.lock().map(|p| p.clone()).unwrap_or_default();
    for p in &removed {
        if std::fs::symlink_metadata(p).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(p);
        }
    }
    let ciphertext = if keep {
        format!(
            "the verified ciphertext downloaded so far is kept in {} (--keep-ciphertext): run the same command again to resume, or delete that folder",
            cache.display()
        )
    } else {
        format!(
            "the ciphertext downloaded so far ({}) is removed too; add --keep-ciphertext to keep it and resume later",
            cache.display()
        )
    };
    refuse(
        Exit::Interrupted,
        format!(
            "{}; {ciphertext}",
            crate::ops::partials::interrupted_message(&removed)
        ),
    )
}

/// Keep uploading to other viewers until the share's limits; says so on `line`.
async fn share_for(torrent: &Torrent, share: &Share, line: &dyn Progress) -> Shared {
    let started = Instant::now();
    loop {
        let s = torrent.stats();
        let film = s.total_bytes.max(1) as f64;
        let ratio = s.uploaded_bytes as f64 / film;
        let elapsed = started.elapsed();
        if share.ratio.is_some_and(|r| ratio >= r) {
            return Shared {
                seconds: elapsed.as_secs_f64(),
                stopped: "ratio reached".into(),
            };
        }
        if share.time.is_some_and(|t| elapsed >= t) {
            return Shared {
                seconds: elapsed.as_secs_f64(),
                stopped: "time limit".into(),
            };
        }
        line.set_message(&crate::render::viewer::share_line(
            s.uploaded_bytes,
            ratio,
            s.peers,
            share.ratio,
            share.time.map(|t| t.saturating_sub(elapsed)),
        ));
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Turn the download folder into one any BitTorrent client seeds as it is: the torrent's
/// own top folder (`OUT/<torrent name>`) with the ciphertext, the zero-filled padding
/// files the torrent declares (BEP 47) and `release.torrent`, rebuilt from the info dict
/// the swarm gave (checked against the signed card). If that folder exists, the data
/// stays where it was downloaded.
fn keep_for_any_client(
    card: &Card,
    info: &[u8],
    cache: &std::path::Path,
    out: &std::path::Path,
    fb: &dyn Feedback,
) -> Result<PathBuf> {
    let mut meta = Metainfo::from_info(info, &card.trackers, &card.release)?;
    // The publisher's web seeds (signed), so other clients seeding this folder use them.
    meta.url_list = (!card.web_seeds.is_empty()).then(|| card.web_seeds.clone());
    let torrent = meta.to_bytes();
    card.check_torrent(&torrent)
        .map_err(|e| refuse(Exit::Tampered, format!("{e}; refusing this release")))?;
    let target = out.join(&meta.info.name);
    let dir = if target.exists() {
        fb.warn(&format!(
            "{} exists: the ciphertext stays in {}",
            target.display(),
            cache.display()
        ));
        cache.to_path_buf()
    } else {
        std::fs::rename(cache, &target)
            .with_context(|| format!("cannot move {} to {}", cache.display(), target.display()))?;
        target
    };
    reelseal_core::seal::write_padding_files(&meta.info, &dir)?;
    std::fs::write(dir.join(TORRENT_FILE), &torrent)
        .with_context(|| format!("cannot write {}", dir.join(TORRENT_FILE).display()))?;
    Ok(dir)
}

/// Join the release, then decrypt each output (a file, or a track of this viewer's
/// segments) as its verified pieces stream in. The partial file being written is listed
/// in `partials` for an interrupt to remove.
async fn download(
    swarm: &Swarm,
    card: &Card,
    keys: &KeySet,
    plan: &FetchPlan,
    cache: &std::path::Path,
    partials: &std::sync::Mutex<Vec<PathBuf>>,
    fb: &dyn Feedback,
) -> Result<(Joined, Vec<Output>, Vec<PathBuf>)> {
    let pb = fb.progress("fetching", Unit::Bytes, 0);
    pb.set_message("metadata");
    // Ciphertext from an earlier, interrupted run (--keep-ciphertext) is checked, not fetched again.
    let earlier = std::fs::read_dir(cache).is_ok_and(|mut d| d.next().is_some());
    let joined = join_release(swarm, card, keys, cache, &plan.net.peers, fb).await?;
    if earlier {
        let have = joined.torrent.stats().have_bytes;
        if have > 0 {
            fb.note(&format!(
                "resuming: {} already here (verified), fetching the rest",
                crate::render::human_bytes(have)
            ));
        }
    }
    let outputs = joined
        .manifest
        .outputs(keys)
        .map_err(|e| open_refusal(e.into()))?;
    pb.set_total(outputs.iter().map(|o| o.size()).sum());
    let place = ropen::Placement {
        mode: plan.mode,
        replace: plan.force,
    };
    for o in &outputs {
        ropen::check_destination(&ropen::output_destination(&plan.out, o), place)
            .map_err(open_refusal)?;
    }
    let mut written = Vec::new();
    let result = async {
        for o in &outputs {
            let dest = ropen::output_destination(&plan.out, o);
            decrypt_output(
                &joined,
                card,
                keys,
                o,
                &dest,
                place,
                cache,
                partials,
                pb.clone(),
            )
            .await?;
            written.push(dest);
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    pb.finish();
    result?;
    Ok((joined, outputs, written))
}

/// Ciphertext chunks read from the swarm and handed to the decryptor at a time (2 MiB).
const FETCH_BLOCK_CHUNKS: u64 = 32;

/// Decrypt one output from the swarm's verified streams into `dest` (atomically).
///
/// This task only moves bytes: it reads verified ciphertext in 2 MiB blocks and hands them
/// over a bounded channel to a blocking thread that feeds the [`FileSink`], whose pool
/// hashes, decrypts and writes on every core. Nothing heavy runs on the async runtime.
#[allow(clippy::too_many_arguments)]
async fn decrypt_output(
    joined: &Joined,
    card: &Card,
    keys: &KeySet,
    o: &Output,
    dest: &std::path::Path,
    place: ropen::Placement,
    cache: &std::path::Path,
    partials: &std::sync::Mutex<Vec<PathBuf>>,
    pb: Arc<dyn Progress>,
) -> Result<()> {
    let mut sink =
        FileSink::create(card, keys, &o.parts, dest, cache, place).map_err(open_refusal)?;
    // Being written: an interrupt removes it (see `interrupted`).
    let partial = ropen::partial_path(dest);
    if let Ok(mut p) = partials.lock() {
        p.push(partial.clone());
    }
    let geos: Vec<_> = (0..o.parts.len()).map(|i| sink.geometry(i)).collect();
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(1);
    let (spare_tx, mut spare_rx) = tokio::sync::mpsc::unbounded_channel::<Vec<u8>>();
    let feeder = tokio::task::spawn_blocking(move || {
        while let Some(block) = rx.blocking_recv() {
            pb.inc(sink.push(block)?);
            let _ = spare_tx.send(sink.buffer());
        }
        sink.finish()
    });
    let read = async {
        for (part, geo) in o.parts.iter().zip(&geos) {
            let mut stream = joined
                .torrent
                .download_reader(joined.index_of(&part.ct_name)?)
                .await?;
            let mut chunk = 0;
            while chunk < geo.chunks {
                let end = (chunk + FETCH_BLOCK_CHUNKS).min(geo.chunks);
                let len = (geo.chunk_range(end - 1).0 + geo.chunk_range(end - 1).1 as u64
                    - geo.chunk_range(chunk).0) as usize;
                let mut buf = spare_rx.try_recv().unwrap_or_default();
                buf.resize(len, 0);
                stream
                    .read_exact(&mut buf)
                    .await
                    .with_context(|| format!("reading {} from the swarm", part.ct_name))?;
                if tx.send(buf).await.is_err() {
                    return Ok(()); // the sink stopped: its error is reported below
                }
                chunk = end;
            }
        }
        Ok::<_, anyhow::Error>(())
    };
    let read = read.await;
    drop(tx);
    let finished = feeder.await.context("the decrypting thread panicked")?;
    read?;
    finished.map_err(open_refusal)?;
    if let Ok(mut p) = partials.lock() {
        p.retain(|x| *x != partial);
    }
    Ok(())
}
