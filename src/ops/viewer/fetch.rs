//! `reelview fetch`: verify the grant (no network before that), download the ciphertext
//! through the swarm, and decrypt each file as its verified pieces arrive. Interrupted, it
//! keeps what it downloaded and resumes when run again.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use reelseal_core::card::Card;
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::Output;
use reelseal_core::open::{self as ropen, FileSink};
use reelseal_swarm::Swarm;
use serde::Serialize;
use tokio::io::AsyncReadExt;

use super::join::{join_release, Joined};
use super::open::{open_refusal, opened, OpenedFile};
use super::{Access, Viewer};
use crate::exit::{refuse, Exit};
use crate::feedback::{Feedback, Progress, Unit};
use crate::home::fetch_cache;
use crate::ops::net::Net;
use crate::ops::Interrupt;
use crate::render::human_bytes;

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
    /// Keep seeding after the download until interrupted.
    pub seed: bool,
    /// Overwrite existing files.
    pub force: bool,
    /// Trust and revocations.
    pub access: Access,
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
    /// Wall time.
    pub seconds: f64,
    /// Ciphertext verified (padding included).
    pub ciphertext_bytes: u64,
    /// Ciphertext fetched from peers in this run (less when resuming).
    pub fetched_bytes: u64,
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
        let swarm = Swarm::start(plan.net.swarm.clone()).await?;
        let outcome = tokio::select! {
            r = download(&swarm, &card, &auth.keys, plan, &cache, fb) => r,
            _ = interrupt.wait() => Err(refuse(Exit::Interrupted, format!("interrupted; what was downloaded is kept in {}: run the same command again to resume", cache.display()))),
        };
        let (joined, outputs, written) = match outcome {
            Ok(v) => v,
            Err(e) => {
                swarm.stop().await;
                return Err(e);
            }
        };
        let stats = joined.torrent.stats();
        if plan.seed {
            fb.note(&format!(
                "done; seeding on {} until ^C",
                swarm
                    .listen_addr()
                    .map(|a| a.to_string())
                    .unwrap_or_default()
            ));
            interrupt.wait().await;
        }
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
        Ok(FetchReport {
            title: card.title.clone(),
            release_id: card.release_id().to_hex(),
            infohash: card.infohash_hex(),
            seconds: started.elapsed().as_secs_f64(),
            ciphertext_bytes: stats.have_bytes,
            fetched_bytes: stats.fetched_bytes,
            ciphertext_kept: plan.keep_ciphertext.then_some(cache),
            files: opened(&outputs, &written),
        })
    }
}

/// Join the release, then decrypt each output (a file, or a track of this viewer's
/// segments) as its verified pieces stream in.
async fn download(
    swarm: &Swarm,
    card: &Card,
    keys: &KeySet,
    plan: &FetchPlan,
    cache: &std::path::Path,
    fb: &dyn Feedback,
) -> Result<(Joined, Vec<Output>, Vec<PathBuf>)> {
    let pb = fb.progress("fetching", Unit::Bytes, 0);
    pb.set_message("metadata");
    let joined = join_release(swarm, card, keys, cache, &plan.net.peers, fb).await?;
    let outputs = joined
        .manifest
        .outputs(keys)
        .map_err(|e| open_refusal(e.into()))?;
    pb.set_total(outputs.iter().map(|o| o.size()).sum());
    if !plan.force {
        if let Some(d) = outputs
            .iter()
            .map(|o| ropen::output_destination(&plan.out, o))
            .find(|d| d.exists())
        {
            bail!(
                "{} already exists; pass --force to overwrite it, or choose another --out",
                d.display()
            );
        }
    }
    let status = status_ticker(&joined, pb.clone());
    let mut written = Vec::new();
    let result = async {
        for o in &outputs {
            let dest = ropen::output_destination(&plan.out, o);
            decrypt_output(&joined, card, keys, o, &dest, cache, pb.clone()).await?;
            written.push(dest);
        }
        Ok::<_, anyhow::Error>(())
    }
    .await;
    status.abort();
    pb.finish();
    result?;
    Ok((joined, outputs, written))
}

/// Show download state in the progress message while decrypting.
fn status_ticker(joined: &Joined, pb: Arc<dyn Progress>) -> tokio::task::JoinHandle<()> {
    let t = joined.torrent.clone();
    tokio::spawn(async move {
        loop {
            let s = t.stats();
            pb.set_message(&format!(
                "{}/{} downloaded, {} peers, {}/s",
                human_bytes(s.have_bytes),
                human_bytes(s.total_bytes),
                s.peers,
                human_bytes(s.down_bps as u64)
            ));
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    })
}

/// Ciphertext chunks read from the swarm and handed to the decryptor at a time (2 MiB).
const FETCH_BLOCK_CHUNKS: u64 = 32;

/// Decrypt one output from the swarm's verified streams into `dest` (atomically).
///
/// This task only moves bytes: it reads verified ciphertext in 2 MiB blocks and hands them
/// over a bounded channel to a blocking thread that feeds the [`FileSink`], whose pool
/// hashes, decrypts and writes on every core. Nothing heavy runs on the async runtime.
async fn decrypt_output(
    joined: &Joined,
    card: &Card,
    keys: &KeySet,
    o: &Output,
    dest: &std::path::Path,
    cache: &std::path::Path,
    pb: Arc<dyn Progress>,
) -> Result<()> {
    let mut sink = FileSink::create(card, keys, &o.parts, dest, cache).map_err(open_refusal)?;
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
                .stream(joined.index_of(&part.ct_name)?)
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
    finished.map_err(open_refusal)
}
