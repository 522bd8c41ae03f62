//! `reelseal seed` and `reelview fetch`: the commands that touch the BitTorrent swarm.

use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use reelseal_core::manifest::{Manifest, MANIFEST_NAME};
use reelseal_core::open::{self as ropen, FileSink, OpenError};
use reelseal_core::seal::{self, TORRENT_FILE};
use reelseal_swarm::{Swarm, SwarmOptions, Torrent};
use serde_json::json;
use sha2::Digest;
use tokio::io::AsyncReadExt;

use crate::publisher;
use crate::util::{self, exit, refuse};
use crate::viewer::{self, TrustArgs};

/// Network flags shared by `reelseal seed` and `reelview fetch`.
#[derive(clap::Args, Clone, Debug)]
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
    /// Upload limit in bytes per second.
    #[arg(long, value_name = "BYTES")]
    pub upload_limit: Option<u32>,
    /// Download limit in bytes per second.
    #[arg(long, value_name = "BYTES")]
    pub download_limit: Option<u32>,
    /// Ask the router to forward the listening port (UPnP).
    #[arg(long)]
    pub upnp: bool,
}

impl NetArgs {
    /// The swarm options these flags describe.
    pub fn options(&self) -> SwarmOptions {
        SwarmOptions {
            listen: Some(SocketAddr::new(self.bind, self.listen_port)),
            dht: self.dht,
            trackers: self.trackers,
            extra_trackers: self.extra_trackers.clone(),
            upnp: self.upnp,
            upload_limit_bps: self.upload_limit,
            download_limit_bps: self.download_limit,
        }
    }
}

fn rate(bps: f64) -> String {
    format!("{}/s", util::human_bytes(bps as u64))
}

/// `reelseal seed [RELEASE...]`: seed releases from the ledger in one session until ^C
/// (or for `--seconds`).
pub async fn seed(
    home: &publisher::Home,
    releases: &[String],
    net: &NetArgs,
    seconds: Option<u64>,
    json: bool,
    quiet: bool,
) -> Result<()> {
    let ledger = home.ledger()?;
    let rows = if releases.is_empty() {
        ledger.releases()?
    } else {
        releases
            .iter()
            .map(|r| publisher::resolve_release(&ledger, r))
            .collect::<Result<Vec<_>>>()?
    };
    drop(ledger);
    let swarm = Swarm::start(net.options()).await?;
    let mut seeding = Vec::new();
    for r in &rows {
        let torrent = match std::fs::read(r.dir.join(TORRENT_FILE)) {
            Ok(t) => t,
            Err(e) => {
                eprintln!(
                    "warning: skipping {} ({}): cannot read {}: {e}",
                    r.title,
                    r.id,
                    r.dir.join(TORRENT_FILE).display()
                );
                continue;
            }
        };
        let payload = seal::payload_dir(&r.dir, &r.torrent_name);
        let t = swarm
            .seed(&torrent, &payload, &net.peers)
            .await
            .with_context(|| format!("cannot seed {} from {}", r.title, payload.display()))?;
        seeding.push((r.clone(), t));
    }
    if seeding.is_empty() {
        swarm.stop().await;
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
            eprintln!(
                "warning: {} ({}) is incomplete on disk: {} of {} verified; it will download the rest from peers",
                r.title,
                &r.id.to_hex()[..12],
                util::human_bytes(s.have_bytes),
                util::human_bytes(s.total_bytes)
            );
        }
    }
    let addr = swarm.listen_addr();
    if json {
        println!(
            "{}",
            json!({"listening": addr.map(|a| a.to_string()), "releases": seeding.iter().map(|(r, t)| json!({"release_id": r.id.to_hex(), "title": r.title, "infohash": t.info_hash_hex()})).collect::<Vec<_>>()})
        );
    } else {
        println!(
            "seeding {} release(s) on {}",
            seeding.len(),
            addr.map(|a| a.to_string()).unwrap_or_else(|| "-".into())
        );
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let mp = MultiProgress::new();
    let bars: Vec<ProgressBar> = seeding
        .iter()
        .map(|(r, _)| {
            let pb = if quiet || json {
                ProgressBar::hidden()
            } else {
                mp.add(ProgressBar::new_spinner())
            };
            pb.set_style(
                ProgressStyle::with_template("{spinner} {prefix:30} {msg}")
                    .expect("valid template"),
            );
            pb.set_prefix(r.title.clone());
            pb
        })
        .collect();
    let start = Instant::now();
    let until = seconds.map(Duration::from_secs);
    let stopped = loop {
        for ((_, t), pb) in seeding.iter().zip(&bars) {
            let s = t.stats();
            pb.set_message(format!(
                "{} peers  up {}  uploaded {}{}",
                s.peers,
                rate(s.up_bps),
                util::human_bytes(s.uploaded_bytes),
                s.error.map(|e| format!("  ERROR {e}")).unwrap_or_default()
            ));
            pb.tick();
        }
        if until.is_some_and(|u| start.elapsed() >= u) {
            break "time limit";
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = tokio::signal::ctrl_c() => break "interrupted",
        }
    };
    for pb in &bars {
        pb.finish_and_clear();
    }
    let totals: Vec<_> = seeding
        .iter()
        .map(|(r, t)| (r.id, t.stats().uploaded_bytes))
        .collect();
    swarm.stop().await;
    if json {
        println!(
            "{}",
            json!({"stopped": stopped, "uploaded": totals.iter().map(|(id, b)| json!({"release_id": id.to_hex(), "bytes": b})).collect::<Vec<_>>()})
        );
    } else {
        eprintln!(
            "stopped ({stopped}); uploaded {}",
            util::human_bytes(totals.iter().map(|t| t.1).sum())
        );
    }
    Ok(())
}

/// Options of `reelview fetch`.
pub struct FetchArgs {
    /// Grant file.
    pub key: PathBuf,
    /// Output folder.
    pub out: PathBuf,
    /// Network.
    pub net: NetArgs,
    /// Keep the ciphertext after decrypting.
    pub keep_ciphertext: bool,
    /// Keep seeding after the download until ^C.
    pub seed: bool,
    /// Overwrite existing output files.
    pub force: bool,
    /// Trust decisions.
    pub trust: TrustArgs,
    /// JSON output.
    pub json: bool,
    /// No progress bar.
    pub quiet: bool,
}

/// Where `fetch` keeps ciphertext while downloading (and between interrupted runs).
pub fn cache_dir(out: &Path, infohash: &str) -> PathBuf {
    out.join(format!(".reelview-{}", &infohash[..16.min(infohash.len())]))
}

/// `reelview fetch`: verify the grant (no network before that), download the ciphertext
/// through the swarm, and decrypt each file as its pieces arrive.
pub async fn fetch(home: viewer::Home, a: FetchArgs) -> Result<()> {
    let (key, trust) = (a.key.clone(), a.trust.clone());
    let home = std::sync::Arc::new(home);
    let h2 = home.clone();
    let auth = tokio::task::spawn_blocking(move || viewer::authorize(&h2, &key, &trust)).await??;
    let card = auth.grant.card().card().clone();
    let infohash = card.infohash_hex();
    let cache = cache_dir(&a.out, &infohash);
    std::fs::create_dir_all(&cache)
        .with_context(|| format!("cannot create {}", cache.display()))?;

    let started = Instant::now();
    let swarm = Swarm::start(a.net.options()).await?;
    let run = fetch_inner(&swarm, &card, &auth.keys, &cache, &a);
    let outcome = tokio::select! {
        r = run => Some(r),
        _ = tokio::signal::ctrl_c() => None,
    };
    let result = match outcome {
        None => {
            swarm.stop().await;
            return Err(refuse(130, format!("interrupted; what was downloaded is kept in {}: run the same command again to resume", cache.display())));
        }
        Some(r) => r,
    };
    let (manifest, written, torrent) = match result {
        Ok(v) => v,
        Err(e) => {
            swarm.stop().await;
            return Err(e);
        }
    };
    let stats = torrent.stats();
    if a.seed {
        let addr = swarm.listen_addr();
        eprintln!(
            "done; seeding on {} until ^C",
            addr.map(|a| a.to_string()).unwrap_or_default()
        );
        let _ = tokio::signal::ctrl_c().await;
    }
    let _ = torrent.forget().await;
    swarm.stop().await;
    if !a.keep_ciphertext {
        let _ = std::fs::remove_dir_all(&cache);
    }
    let secs = started.elapsed().as_secs_f64();
    if a.json {
        util::print_json(&json!({
            "title": card.title, "release_id": card.release_id().to_hex(), "infohash": infohash,
            "seconds": secs, "ciphertext_bytes": stats.have_bytes, "fetched_bytes": stats.fetched_bytes,
            "ciphertext_kept": a.keep_ciphertext.then_some(&cache),
            "files": manifest.iter().zip(&written).map(|(f, p)| json!({"path": f.display_path(), "size": f.size(), "media_type": f.media_type, "written": p})).collect::<Vec<_>>(),
        }));
    } else {
        println!(
            "fetched  {} ({} files) in {:.1} s",
            card.title,
            manifest.len(),
            secs
        );
        for (f, p) in manifest.iter().zip(&written) {
            println!("  {:>10}  {}", util::human_bytes(f.size()), p.display());
        }
        if a.keep_ciphertext {
            println!("ciphertext kept in {}", cache.display());
        }
    }
    Ok(())
}

fn open_err(e: OpenError) -> anyhow::Error {
    viewer::open_refusal(e)
}

/// A release joined in the swarm: its torrent, checked against the signed card, and its
/// decrypted manifest (read from the swarm and checked against the card first).
pub struct Joined {
    /// The torrent in the session.
    pub torrent: Torrent,
    /// The decrypted manifest.
    pub manifest: Manifest,
    files: Vec<(usize, String, u64, bool)>,
}

impl Joined {
    /// The torrent's file index of a ciphertext file.
    pub fn index_of(&self, ct_name: &str) -> Option<usize> {
        self.files
            .iter()
            .find(|f| !f.3 && f.1.rsplit('/').next() == Some(ct_name))
            .map(|f| f.0)
    }
}

/// Add a release by magnet (from its card) and get its manifest.
pub async fn join_release(
    swarm: &Swarm,
    card: &reelseal_core::card::Card,
    keys: &reelseal_core::keyset::KeySet,
    cache: &Path,
    peers: &[SocketAddr],
) -> Result<Joined> {
    let torrent = swarm.fetch_magnet(&card.magnet(""), cache, peers).await?;
    // Metadata comes from peers; say so if none answer for a while instead of looking hung.
    {
        let init = torrent.wait_until_initialized();
        tokio::pin!(init);
        let hint = tokio::time::sleep(Duration::from_secs(20));
        tokio::pin!(hint);
        let mut hinted = false;
        loop {
            tokio::select! {
                r = &mut init => {
                    r.context("could not get the torrent's metadata from the swarm")?;
                    break;
                }
                _ = &mut hint, if !hinted => {
                    hinted = true;
                    eprintln!("still looking for peers of {} after 20 s (DHT, trackers, --peer); keep waiting or press ^C", card.infohash_hex());
                }
            }
        }
    }
    // The torrent must be exactly what the signed card describes.
    let files = torrent.files()?;
    let real: Vec<_> = files.iter().filter(|f| !f.3).collect();
    let matches = real.len() == card.files.len()
        && real
            .iter()
            .zip(&card.files)
            .all(|(t, c)| t.1.rsplit('/').next() == Some(c.name.as_str()) && t.2 == c.len);
    if !matches {
        return Err(refuse(
            exit::TAMPERED,
            "the torrent's files do not match the signed card; refusing this release",
        ));
    }
    let mut joined = Joined {
        torrent,
        manifest: Manifest {
            release: card.release_id(),
            files: vec![],
            tracks: vec![],
        },
        files,
    };
    // The manifest first (small), checked against the card before it is decrypted.
    let mi = joined
        .index_of(MANIFEST_NAME)
        .context("torrent has no manifest")?;
    let mut bytes = Vec::new();
    joined
        .torrent
        .stream(mi)
        .await?
        .read_to_end(&mut bytes)
        .await
        .context("reading the manifest from the swarm")?;
    let entry = card
        .files
        .iter()
        .find(|f| f.name == MANIFEST_NAME)
        .context("card lists no manifest")?;
    if bytes.len() as u64 != entry.len
        || sha2::Sha256::digest(&bytes).as_slice() != entry.sha256.as_slice()
    {
        return Err(refuse(
            exit::TAMPERED,
            "the manifest does not match the signed card",
        ));
    }
    joined.manifest = Manifest::open(&bytes, keys, &card.release_id())
        .map_err(|e| refuse(exit::UNTRUSTED, format!("the manifest cannot be read: {e}")))?;
    Ok(joined)
}

async fn fetch_inner(
    swarm: &Swarm,
    card: &reelseal_core::card::Card,
    keys: &reelseal_core::keyset::KeySet,
    cache: &Path,
    a: &FetchArgs,
) -> Result<(Vec<reelseal_core::manifest::Output>, Vec<PathBuf>, Torrent)> {
    let pb = util::bytes_bar(0, "fetching", a.quiet || a.json);
    pb.set_message("metadata");
    let joined = join_release(swarm, card, keys, cache, &a.net.peers).await?;
    let torrent = joined.torrent.clone();
    // Progress: plaintext decrypted, with download state in the message.
    let t2 = torrent.clone();
    let pb2 = pb.clone();
    let ticker = tokio::spawn(async move {
        loop {
            let s = t2.stats();
            pb2.set_message(format!(
                "{}/{} downloaded, {} peers, {}",
                util::human_bytes(s.have_bytes),
                util::human_bytes(s.total_bytes),
                s.peers,
                rate(s.down_bps)
            ));
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    let result = async {
        let outputs = joined
            .manifest
            .outputs(keys)
            .map_err(|e| open_err(e.into()))?;
        let total: u64 = outputs.iter().map(|o| o.size()).sum();
        pb.set_length(total);
        if !a.force {
            if let Some(o) = outputs
                .iter()
                .find(|o| ropen::output_destination(&a.out, o).exists())
            {
                bail!(
                    "{} already exists; pass --force to overwrite it, or choose another --out",
                    ropen::output_destination(&a.out, o).display()
                );
            }
        }
        // Then each output (a file, or a track of this viewer's segments), decrypted as its
        // verified pieces stream in.
        let mut written = Vec::new();
        for o in &outputs {
            let dest = ropen::output_destination(&a.out, o);
            let mut sink =
                FileSink::create(card, keys, &o.parts, &dest, cache).map_err(open_err)?;
            for (pi, part) in o.parts.iter().enumerate() {
                let idx = joined
                    .index_of(&part.ct_name)
                    .context("file missing from torrent")?;
                let geo = sink.geometry(pi);
                let mut stream = torrent.stream(idx).await?;
                for i in 0..geo.chunks {
                    let (_, len) = geo.chunk_range(i);
                    let mut buf = vec![0u8; len];
                    stream
                        .read_exact(&mut buf)
                        .await
                        .with_context(|| format!("reading {} from the swarm", part.ct_name))?;
                    let n = tokio::task::block_in_place(|| sink.push(buf)).map_err(open_err)?;
                    pb.inc(n);
                }
            }
            tokio::task::block_in_place(|| sink.finish()).map_err(open_err)?;
            written.push(dest);
        }
        let manifest = outputs;
        Ok((manifest, written))
    }
    .await;
    ticker.abort();
    pb.finish_and_clear();
    let (manifest, written) = result?;
    Ok((manifest, written, torrent))
}
