//! `reelseal` commands: identity, sealing, listing and granting.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use reelseal_core::card::SignedCard;
use reelseal_core::grant::{self, AccessKey, GrantParams};
use reelseal_core::keys::{PublisherSecret, ViewerPublic, ViewerSecret};
use reelseal_core::keyset::{KeySet, MAIN_KEY};
use reelseal_core::seal::{self, SealOptions, CARD_FILE, TORRENT_FILE};
use reelseal_core::tardos;
use reelseal_core::torrent::Metainfo;
use reelseal_core::{GrantId, ReleaseId};
use reelseal_ledger::{GrantRow, Ledger, ReleaseRow, TraceCodeRow};
use serde_json::json;

use crate::util::{self, End};

/// File name of the publisher's secret key in its home.
pub const KEY_FILE: &str = "publisher.key";
/// File name of the ledger in the publisher's home.
pub const LEDGER_FILE: &str = "ledger.sqlite";

/// The publisher's home directory and what lives in it.
pub struct Home {
    /// The directory.
    pub dir: PathBuf,
}

impl Home {
    /// Resolve `--home` / `REELSEAL_HOME` / the XDG default.
    pub fn new(explicit: Option<&Path>) -> Result<Self> {
        Ok(Home {
            dir: util::home_dir(explicit, "reelseal")?,
        })
    }
    /// Load the publisher's secret key.
    pub fn secret(&self) -> Result<PublisherSecret> {
        let p = self.dir.join(KEY_FILE);
        if !p.exists() {
            bail!(
                "no publisher key in {}: run `reelseal keygen` first (or pass --home DIR)",
                self.dir.display()
            );
        }
        let line = util::read_secret_file(&p)?;
        PublisherSecret::from_bech32(&line)
            .with_context(|| format!("{} does not hold a publisher secret key", p.display()))
    }
    /// Open the ledger (created on first use).
    pub fn ledger(&self) -> Result<Ledger> {
        util::ensure_private_dir(&self.dir)?;
        Ok(Ledger::open(&self.dir.join(LEDGER_FILE))?)
    }
}

/// `reelseal keygen`.
pub fn keygen(home: &Home, force: bool, json: bool) -> Result<()> {
    let sk = PublisherSecret::generate();
    util::write_identity(
        &home.dir,
        KEY_FILE,
        "reelseal publisher",
        "it signs your releases and grants.",
        &sk.public().to_bech32(),
        &sk.to_bech32(),
        "Give viewers your public key so they can pin it (`reelview trust`):",
        force,
        json,
    )
}

/// Options of `reelseal seal`.
pub struct SealArgs {
    /// Files or directories.
    pub inputs: Vec<PathBuf>,
    /// Title.
    pub title: String,
    /// Release directory to create.
    pub out: Option<PathBuf>,
    /// Trackers.
    pub trackers: Vec<String>,
    /// Piece size.
    pub piece_size: Option<u64>,
    /// Private flag.
    pub private: bool,
    /// Torrent name.
    pub public_name: Option<String>,
    /// Key server URL.
    pub key_server: Option<String>,
    /// Replace an existing release directory.
    pub force: bool,
    /// JSON output.
    pub json: bool,
    /// No progress bar.
    pub quiet: bool,
    /// Variant renditions for tracing.
    pub variants: Option<VariantArgs>,
}

/// `--variant-a/--variant-b` and the code they are sealed for.
pub struct VariantArgs {
    /// Rendition A (HLS playlist + MPEG-TS segments).
    pub a: PathBuf,
    /// Rendition B, cut into the same segments.
    pub b: PathBuf,
    /// Viewers the code must tell apart.
    pub viewers: u64,
    /// Coalition size to resist.
    pub colluders: u32,
    /// False-accusation bound.
    pub epsilon: f64,
    /// Seal even with fewer traced segments than the code needs.
    pub allow_short_code: bool,
}

/// A release's tracing code as it is being sealed.
pub struct NewCode {
    params: tardos::Params,
    cutoff: f64,
    biases: Vec<f64>,
}

/// Resolve RELEASE: a release id, a unique prefix of one, or a release directory.
pub fn resolve_release(ledger: &Ledger, arg: &str) -> Result<ReleaseRow> {
    let p = Path::new(arg);
    if p.join(CARD_FILE).is_file() {
        let bytes = std::fs::read(p.join(CARD_FILE))
            .with_context(|| format!("cannot read {}", p.join(CARD_FILE).display()))?;
        let card = SignedCard::inspect(&bytes).with_context(|| {
            format!(
                "{} is not a valid release card",
                p.join(CARD_FILE).display()
            )
        })?;
        let id = card.release_id();
        return ledger.release(&id)?.with_context(|| {
            format!(
                "{} holds release {id}, which is not in this publisher's ledger ({})",
                p.display(),
                ledger.path().display()
            )
        });
    }
    Ok(ledger.find_release(arg)?)
}

fn default_out(title: &str) -> PathBuf {
    PathBuf::from(format!("{}.reelseal", util::slug(title)))
}

/// `reelseal seal`.
pub fn seal(home: &Home, a: SealArgs) -> Result<()> {
    let sk = home.secret()?;
    if a.title.trim().is_empty() {
        bail!("--title must not be empty");
    }
    let mut inputs = if a.inputs.is_empty() {
        Vec::new()
    } else {
        seal::collect_inputs(&a.inputs)?
    };
    let mut tracks = Vec::new();
    let mut code = None;
    let mut variant_json = serde_json::Value::Null;
    if let Some(v) = &a.variants {
        let plan = reelseal_core::variants::plan(&v.a, &v.b, inputs.len())?;
        let params = tardos::Params {
            n: v.viewers,
            c: v.colluders,
            eps: v.epsilon,
        };
        let design = tardos::design(params).context("--viewers/--colluders/--epsilon")?;
        if plan.traced == 0 {
            bail!(
                "{} and {} are byte-identical: there is nothing to trace. Make B with `reelseal mark`, or seal the film without --variant-a/--variant-b",
                v.a.display(),
                v.b.display()
            );
        }
        if plan.traced < design.length && !v.allow_short_code {
            bail!(
                "the film has {} traced segments (of {}), but tracing coalitions of {} among {} viewers with ε = {:e} needs {}.\n\
                 Cut shorter segments (`reelseal mark --segment-seconds`), mark more of them, resist fewer colluders (--colluders) or accept a larger ε (--epsilon).\n\
                 --allow-short-code seals anyway: `trace` still never accuses anyone below its threshold, it may just find nobody.",
                plan.traced,
                plan.traced + plan.shared,
                v.colluders,
                v.viewers,
                v.epsilon,
                design.length
            );
        }
        variant_json = json!({
            "segments": plan.traced + plan.shared, "traced": plan.traced, "shared": plan.shared,
            "code_length_needed": design.length, "viewers": v.viewers, "colluders": v.colluders,
            "epsilon": v.epsilon, "cutoff": design.cutoff,
            "duration_s": plan.duration_ms as f64 / 1000.0,
            "bytes_a": plan.bytes_a, "extra_bytes_b": plan.extra_bytes,
            "storage_overhead": plan.extra_bytes as f64 / plan.bytes_a.max(1) as f64,
        });
        code = Some(NewCode {
            params,
            cutoff: design.cutoff,
            biases: tardos::draw_biases(plan.traced, design.cutoff, &mut util::csprng()),
        });
        inputs.extend(plan.inputs);
        tracks.push(plan.track);
    }
    let total: u64 = inputs.iter().map(|i| i.size).sum();
    let out = a.out.clone().unwrap_or_else(|| default_out(&a.title));
    let opts = SealOptions {
        title: a.title.clone(),
        trackers: a.trackers.clone(),
        piece_length: a.piece_size,
        private: a.private,
        public_name: a.public_name.clone(),
        key_server: a.key_server.clone(),
        supersedes: None,
        created: util::now(),
        release: None,
    };
    let (sealed, out) = seal_and_place(
        home,
        &sk,
        &inputs,
        &tracks,
        code,
        &opts,
        &out,
        a.force,
        a.quiet || a.json,
    )?;
    let card = sealed.card.card();
    let magnet = card.magnet(&sealed.torrent_name);
    let outputs = sealed.manifest.outputs(&sealed.keys)?;
    if a.json {
        util::print_json(&json!({
            "release_id": sealed.release.to_hex(),
            "title": a.title,
            "dir": out,
            "torrent": out.join(TORRENT_FILE),
            "infohash": card.infohash_hex(),
            "magnet": magnet,
            "piece_length": card.piece,
            "files": outputs.iter().map(|o| json!({"path": o.display_path(), "size": o.size(), "ciphertext": o.parts.iter().map(|p| p.ct_name.as_str()).collect::<Vec<_>>()})).collect::<Vec<_>>(),
            "variants": variant_json,
        }));
    } else {
        println!(
            "sealed   {} ({} files, {})",
            a.title,
            outputs.len(),
            util::human_bytes(total)
        );
        if !variant_json.is_null() {
            println!(
                "variants {} segments, {} traced (code needs {} for {} viewers, {} colluders, ε {:e}), {} shared; B adds {} ({:.0}%)",
                variant_json["segments"],
                variant_json["traced"],
                variant_json["code_length_needed"],
                variant_json["viewers"],
                variant_json["colluders"],
                variant_json["epsilon"].as_f64().unwrap_or_default(),
                variant_json["shared"],
                util::human_bytes(variant_json["extra_bytes_b"].as_u64().unwrap_or_default()),
                100.0 * variant_json["storage_overhead"].as_f64().unwrap_or_default()
            );
        }
        println!("release  {}", sealed.release);
        println!("dir      {}", out.display());
        println!("infohash {}", card.infohash_hex());
        println!("magnet   {magnet}");
        eprintln!(
            "Next: `reelseal grant {} --to rsview1… --name \"…\"`, then `reelseal seed`.",
            &sealed.release.to_hex()[..8]
        );
    }
    Ok(())
}

/// `reelseal ls`.
pub fn ls(home: &Home, json: bool) -> Result<()> {
    let ledger = home.ledger()?;
    let rows = ledger.releases()?;
    if json {
        let v: Vec<_> = rows
            .iter()
            .map(|r| {
                let grants = ledger.grants(&r.id).map(|g| g.len()).unwrap_or(0);
                json!({"release_id": r.id.to_hex(), "title": r.title, "created": util::fmt_time(r.created), "infohash": r.infohash, "dir": r.dir, "dir_present": r.dir.join(CARD_FILE).is_file(), "grants": grants, "supersedes": r.supersedes.map(|s| s.to_hex())})
            })
            .collect();
        util::print_json(&json!(v));
        return Ok(());
    }
    if rows.is_empty() {
        eprintln!("No releases yet. Seal one with `reelseal seal FILM --title \"…\"`.");
        return Ok(());
    }
    println!(
        "{:<12}  {:<20}  {:>6}  {:<30}  DIR",
        "RELEASE", "CREATED", "GRANTS", "TITLE"
    );
    for r in rows {
        let g = ledger.grants(&r.id)?.len();
        let missing = if r.dir.join(CARD_FILE).is_file() {
            ""
        } else {
            " (missing)"
        };
        println!(
            "{:<12}  {:<20}  {:>6}  {:<30}  {}{missing}",
            &r.id.to_hex()[..12],
            util::fmt_time(r.created),
            g,
            r.title,
            r.dir.display()
        );
    }
    Ok(())
}

/// `reelseal show RELEASE`.
pub fn show(home: &Home, release: &str, json: bool) -> Result<()> {
    let sk = home.secret()?;
    let ledger = home.ledger()?;
    let r = resolve_release(&ledger, release)?;
    let card = SignedCard::verify(&r.card, &sk.public())
        .context("the ledger's card does not verify with this publisher key")?;
    let c = card.card();
    let torrent = std::fs::read(r.dir.join(TORRENT_FILE))
        .ok()
        .and_then(|b| Metainfo::from_bytes(&b).ok());
    let magnet = c.magnet(&r.torrent_name);
    let grants = ledger.grants(&r.id)?.len();
    let tracing = ledger.trace_code(&r.id)?.map(|t| {
        json!({"positions": t.biases.len(), "viewers": t.params.n, "colluders": t.params.c,
               "epsilon": t.params.eps, "cutoff": t.cutoff})
    });
    if json {
        util::print_json(&json!({
            "release_id": r.id.to_hex(), "title": c.title, "publisher": c.publisher_key().to_bech32(),
            "created": util::fmt_time(c.created), "infohash": c.infohash_hex(), "magnet": magnet,
            "piece_length": c.piece, "trackers": c.trackers, "key_server": c.key_server,
            "supersedes": c.supersedes_id().map(|s| s.to_hex()), "dir": r.dir, "grants": grants,
            "torrent_name": r.torrent_name,
            "torrent_pieces": torrent.as_ref().map(|t| t.info.pieces.len() / 20),
            "private": torrent.as_ref().map(|t| t.info.private == Some(1)),
            "tracing": tracing,
            "files": c.files.iter().map(|f| json!({"name": f.name, "ciphertext_bytes": f.len, "sha256": hex::encode(&f.sha256)})).collect::<Vec<_>>(),
        }));
        return Ok(());
    }
    println!("title      {}", c.title);
    println!("release    {}", r.id);
    println!("publisher  {}", c.publisher_key());
    println!("created    {}", util::fmt_time(c.created));
    println!("infohash   {}", c.infohash_hex());
    println!("magnet     {magnet}");
    println!(
        "pieces     {} × {}",
        torrent
            .as_ref()
            .map(|t| t.info.pieces.len() / 20)
            .unwrap_or(0),
        util::human_bytes(c.piece)
    );
    if !c.trackers.is_empty() {
        println!("trackers   {}", c.trackers.join(" "));
    }
    if let Some(k) = &c.key_server {
        println!("key server {k}");
    }
    if let Some(s) = c.supersedes_id() {
        println!("supersedes {s}");
    }
    println!(
        "dir        {}{}",
        r.dir.display(),
        if torrent.is_some() {
            ""
        } else {
            " (missing or unreadable torrent)"
        }
    );
    println!("grants     {grants}");
    if let Some(t) = &tracing {
        println!(
            "tracing    {} traced segments; code for {} viewers, coalitions of {}, ε {:e}",
            t["positions"],
            t["viewers"],
            t["colluders"],
            t["epsilon"].as_f64().unwrap_or_default()
        );
    }
    println!("files (ciphertext, as the swarm sees them):");
    const SHOWN: usize = 12;
    for f in c.files.iter().take(SHOWN) {
        println!("  {:<14} {:>12}", f.name, util::human_bytes(f.len));
    }
    if c.files.len() > SHOWN {
        let rest: u64 = c.files[SHOWN..].iter().map(|f| f.len).sum();
        println!(
            "  … {} more     {:>12} (--json lists them all)",
            c.files.len() - SHOWN,
            util::human_bytes(rest)
        );
    }
    Ok(())
}

/// One grant to make.
pub struct Wanted {
    label: String,
    viewer: Option<ViewerPublic>,
    not_before: Option<i64>,
    not_after: Option<i64>,
    email: Option<String>,
    line: Option<u64>,
    /// A codeword to keep (rotation); drawn afresh when `None`.
    codeword: Option<Vec<bool>>,
}

/// Seal into a temporary sibling of `out`, record the release, then rename it into place:
/// an interrupted seal never leaves a directory that looks complete, and a rerun cleans
/// up after it. Shared by `seal` and `rotate`.
#[allow(clippy::too_many_arguments)]
pub fn seal_and_place(
    home: &Home,
    sk: &PublisherSecret,
    inputs: &[seal::Input],
    tracks: &[seal::TrackPlan],
    code: Option<NewCode>,
    opts: &SealOptions,
    out: &Path,
    force: bool,
    quiet: bool,
) -> Result<(seal::Sealed, PathBuf)> {
    let total: u64 = inputs.iter().map(|i| i.size).sum();
    let out =
        std::path::absolute(out).with_context(|| format!("bad output path {}", out.display()))?;
    if out.exists() && !force {
        bail!(
            "{} already exists; pass --force to replace it, or choose another --out",
            out.display()
        );
    }
    let parent = out
        .parent()
        .context("the output directory needs a parent directory")?
        .to_path_buf();
    std::fs::create_dir_all(&parent)
        .with_context(|| format!("cannot create {}", parent.display()))?;
    let name = out
        .file_name()
        .context("the output path needs a final name")?
        .to_string_lossy()
        .into_owned();
    // Leftovers of interrupted seals of the same output are ours to clean.
    let partial_prefix = format!(".{name}.partial-");
    if let Ok(rd) = std::fs::read_dir(&parent) {
        for e in rd.flatten() {
            if e.file_name().to_string_lossy().starts_with(&partial_prefix) {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let tmp = tempfile::Builder::new()
        .prefix(&partial_prefix)
        .tempdir_in(&parent)
        .with_context(|| {
            format!(
                "cannot create a temporary directory in {}",
                parent.display()
            )
        })?;
    let pb = util::bytes_bar(total, "sealing", quiet);
    let sealed = seal::seal_into(tmp.path(), inputs, tracks, opts, sk, &mut |n| pb.inc(n))
        .with_context(|| format!("sealing into {} failed; nothing was kept", out.display()))?;
    pb.finish_and_clear();

    let ledger = home.ledger()?;
    let card = sealed.card.card();
    ledger.add_release(&ReleaseRow {
        id: sealed.release,
        title: opts.title.clone(),
        dir: out.clone(),
        infohash: card.infohash_hex(),
        torrent_name: sealed.torrent_name.clone(),
        created: opts.created,
        card: sealed.card.as_bytes().to_vec(),
        keyset: sealed.keys.to_bytes(),
        supersedes: opts.supersedes,
    })?;
    if let Some(c) = code {
        let stored = ledger.set_trace_code(&TraceCodeRow {
            release: sealed.release,
            params: c.params,
            cutoff: c.cutoff,
            biases: c.biases,
        });
        if let Err(e) = stored {
            let _ = ledger.remove_release(&sealed.release);
            return Err(e.into());
        }
    }
    let tmp_path = tmp.keep();
    let placed = (|| -> Result<()> {
        if out.exists() {
            // The release being replaced stays in the ledger (its grants exist), but its
            // directory is gone: say so rather than point at the new release's files.
            let replaced = std::fs::read(out.join(CARD_FILE))
                .ok()
                .and_then(|b| SignedCard::inspect(&b).ok())
                .map(|c| c.release_id());
            if let Some(old) = replaced.filter(|id| *id != sealed.release) {
                let gone = parent.join(format!(
                    "{name} (replaced by {})",
                    &sealed.release.to_hex()[..12]
                ));
                let _ = ledger.set_release_dir(&old, &gone);
            }
            let trash = parent.join(format!(".{name}.replaced-{}", std::process::id()));
            std::fs::rename(&out, &trash)
                .with_context(|| format!("cannot move the old {} aside", out.display()))?;
            std::fs::rename(&tmp_path, &out)
                .with_context(|| format!("cannot rename into {}", out.display()))?;
            let _ = std::fs::remove_dir_all(&trash);
        } else {
            std::fs::rename(&tmp_path, &out)
                .with_context(|| format!("cannot rename into {}", out.display()))?;
        }
        Ok(())
    })();
    if let Err(e) = placed {
        let _ = ledger.remove_release(&sealed.release);
        let _ = std::fs::remove_dir_all(&tmp_path);
        return Err(e);
    }
    Ok((sealed, out))
}

/// `reelseal rotate`: re-seal a release's plaintext under a new key set (new release id,
/// new torrent, card `supersedes` the old one) and re-issue grants to every viewer of the
/// old release who is not revoked.
pub fn rotate(
    home: &Home,
    release: &str,
    out: Option<PathBuf>,
    out_dir: Option<PathBuf>,
    force: bool,
    json: bool,
    quiet: bool,
) -> Result<()> {
    let sk = home.secret()?;
    let mut ledger = home.ledger()?;
    let old = resolve_release(&ledger, release)?;
    let old_card = SignedCard::verify(&old.card, &sk.public())
        .context("the ledger's card does not verify with this publisher key")?;
    let keys = old.keys()?;
    let payload = seal::payload_dir(&old.dir, &old.torrent_name);
    let manifest = reelseal_core::open::read_manifest(&payload, old_card.card(), &keys)
        .with_context(|| {
            format!(
                "rotation re-seals from the old release's ciphertext in {}",
                old.dir.display()
            )
        })?;
    let mut inputs = Vec::with_capacity(manifest.files.len());
    for f in &manifest.files {
        inputs.push(seal::Input {
            source: seal::Source::Sealed {
                path: payload.join(&f.ct_name),
                key: zeroize::Zeroizing::new(*keys.get(f.key_id)?),
                nonce: f.nonce,
                release: old.id,
            },
            rel: f.path.clone(),
            size: f.size,
            key_id: f.key_id,
        });
    }
    // Tracks keep their segments and key ids, so every viewer keeps their codeword.
    let index_of = |ct: &str| manifest.files.iter().position(|f| f.ct_name == ct);
    let tracks = manifest
        .tracks
        .iter()
        .map(|t| seal::TrackPlan {
            path: t.path.clone(),
            media_type: t.media_type.clone(),
            segments: t
                .segments
                .iter()
                .map(|s| {
                    (
                        s.duration_ms,
                        s.alts.iter().filter_map(|a| index_of(a)).collect(),
                    )
                })
                .collect(),
        })
        .collect::<Vec<_>>();
    let old_code = ledger.trace_code(&old.id)?;
    let code = old_code.as_ref().map(|t| NewCode {
        params: t.params,
        cutoff: t.cutoff,
        biases: t.biases.clone(),
    });
    let c = old_card.card();
    let new_id = ReleaseId::random();
    let private = std::fs::read(old.dir.join(TORRENT_FILE))
        .ok()
        .and_then(|b| Metainfo::from_bytes(&b).ok())
        .is_some_and(|t| t.info.private == Some(1));
    let opts = SealOptions {
        title: c.title.clone(),
        trackers: c.trackers.clone(),
        piece_length: Some(c.piece),
        private,
        public_name: None,
        key_server: c.key_server.clone(),
        supersedes: Some(old.id),
        created: util::now(),
        release: Some(new_id),
    };
    let parent = old
        .dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."));
    let out = out.unwrap_or_else(|| {
        parent.join(format!(
            "{}-{}.reelseal",
            util::slug(&c.title),
            &new_id.to_hex()[..8]
        ))
    });
    let (sealed, out) = seal_and_place(
        home,
        &sk,
        &inputs,
        &tracks,
        code,
        &opts,
        &out,
        force,
        quiet || json,
    )?;
    let new_code = ledger.trace_code(&sealed.release)?;

    // Re-issue to every viewer of the old release who is not revoked.
    let grants_dir = out_dir.unwrap_or_else(|| {
        parent.join(format!(
            "{}-{}-grants",
            util::slug(&c.title),
            &new_id.to_hex()[..8]
        ))
    });
    let now = util::now();
    let mut rows = Vec::new();
    let mut files = Vec::new();
    let mut skipped = Vec::new();
    let mut taken = std::collections::HashSet::new();
    for g in ledger.grants(&old.id)? {
        if let Some(r) = ledger.is_revoked(&g.id, &g.viewer)? {
            skipped.push((g.label.clone(), r.reason));
            continue;
        }
        let w = Wanted {
            label: g.label.clone(),
            viewer: Some(ViewerPublic::from_bech32(&g.viewer)?),
            not_before: g.not_before,
            not_after: g.not_after,
            email: g.email.clone(),
            line: None,
            codeword: match (&g.codeword, &new_code) {
                (Some(bits), Some(tc)) => tardos::unpack(bits, tc.biases.len()),
                _ => None,
            },
        };
        let (row, text, private) = issue_one(
            &sealed.card,
            &sealed.keys,
            new_code.as_ref(),
            &sk,
            &w,
            now,
            sealed.release,
        )?;
        files.push((
            unique_path(&grants_dir, &util::slug(&g.label), &mut taken),
            text,
            private,
        ));
        rows.push(row);
    }
    ledger.add_grants(&rows)?;
    util::write_many(&files)?;
    let card = sealed.card.card();
    if json {
        util::print_json(&json!({
            "old_release_id": old.id.to_hex(), "release_id": sealed.release.to_hex(), "dir": out,
            "infohash": card.infohash_hex(), "magnet": card.magnet(&sealed.torrent_name),
            "reissued": rows.iter().zip(&files).map(|(g, (p, _, _))| json!({"grant_id": g.id.to_hex(), "label": g.label, "viewer": g.viewer, "file": p})).collect::<Vec<_>>(),
            "not_reissued": skipped.iter().map(|(l, why)| json!({"label": l, "reason": why})).collect::<Vec<_>>(),
        }));
    } else {
        println!(
            "rotated  {} → {} (supersedes {})",
            c.title, sealed.release, old.id
        );
        println!("dir      {}", out.display());
        println!("infohash {}", card.infohash_hex());
        println!(
            "grants   {} re-issued into {}, {} not re-issued (revoked)",
            rows.len(),
            grants_dir.display(),
            skipped.len()
        );
        for (l, why) in &skipped {
            println!("  revoked: {l} ({why})");
        }
        eprintln!("Seed the new release (`reelseal seed`) and send the new grants; viewers with a key server get them with `reelview renew`.");
    }
    Ok(())
}

impl Wanted {
    /// A grant for a known viewer key.
    pub fn new(
        label: String,
        viewer: ViewerPublic,
        not_before: Option<i64>,
        not_after: Option<i64>,
    ) -> Self {
        Wanted {
            label,
            viewer: Some(viewer),
            not_before,
            not_after,
            email: None,
            line: None,
            codeword: None,
        }
    }
}

/// Options of `reelseal grant`.
pub struct GrantArgs {
    /// Release.
    pub release: String,
    /// Viewer key for a single grant.
    pub to: Option<String>,
    /// Label for a single grant.
    pub name: Option<String>,
    /// CSV of recipients.
    pub recipients: Option<PathBuf>,
    /// Output dir for a batch.
    pub out_dir: Option<PathBuf>,
    /// Output file for a single grant.
    pub out: Option<PathBuf>,
    /// Generate identities for viewers without a key.
    pub new_viewer: bool,
    /// Window start.
    pub not_before: Option<String>,
    /// Window end.
    pub not_after: Option<String>,
    /// Stop at the first bad CSV row.
    pub strict: bool,
    /// Replace existing files.
    pub force: bool,
    /// JSON output.
    pub json: bool,
    /// No progress bar.
    pub quiet: bool,
}

fn parse_window(nb: Option<&str>, na: Option<&str>) -> Result<(Option<i64>, Option<i64>)> {
    let a = nb
        .filter(|s| !s.trim().is_empty())
        .map(|s| util::parse_time(s, End::Start))
        .transpose()?;
    let b = na
        .filter(|s| !s.trim().is_empty())
        .map(|s| util::parse_time(s, End::Finish))
        .transpose()?;
    if let (Some(a), Some(b)) = (a, b) {
        if a > b {
            bail!(
                "the window closes ({}) before it opens ({})",
                util::fmt_time(b),
                util::fmt_time(a)
            );
        }
    }
    Ok((a, b))
}

fn read_csv(
    path: &Path,
    default: (Option<i64>, Option<i64>),
    new_viewer: bool,
) -> Result<(Vec<Wanted>, Vec<(u64, String)>)> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .comment(Some(b'#'))
        .from_path(path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let mut ok = Vec::new();
    let mut bad = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let line = rec
            .as_ref()
            .ok()
            .and_then(|r| r.position())
            .map(|p| p.line())
            .unwrap_or(i as u64 + 1);
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                bad.push((line, format!("unreadable CSV: {e}")));
                continue;
            }
        };
        let field = |k: usize| rec.get(k).map(str::trim).filter(|s| !s.is_empty());
        if i == 0 && field(0).is_some_and(|f| f.eq_ignore_ascii_case("name")) {
            continue; // header
        }
        let parsed = (|| -> Result<Wanted> {
            let label = field(0)
                .context("the name (first column) is empty")?
                .to_string();
            let viewer = match field(1) {
                Some(k) => Some(ViewerPublic::from_bech32(k).with_context(|| format!("bad viewer key {k:?}"))?),
                None if new_viewer => None,
                None => bail!("no viewer key (second column); pass --new-viewer to make access keys for viewers without one"),
            };
            let (nb, na) = parse_window(field(2), field(3))?;
            Ok(Wanted {
                label,
                viewer,
                not_before: nb.or(default.0),
                not_after: na.or(default.1),
                email: field(4).map(String::from),
                line: Some(line),
                codeword: None,
            })
        })();
        match parsed {
            Ok(w) => ok.push(w),
            Err(e) => bad.push((line, format!("{e:#}"))),
        }
    }
    Ok((ok, bad))
}

fn unique_path(dir: &Path, stem: &str, taken: &mut std::collections::HashSet<PathBuf>) -> PathBuf {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.rskey")
        } else {
            format!("{stem}-{n}.rskey")
        };
        let p = dir.join(name);
        if taken.insert(p.clone()) {
            return p;
        }
        n += 1;
    }
}

/// `reelseal grant`.
pub fn grant(home: &Home, a: GrantArgs) -> Result<()> {
    let sk = home.secret()?;
    let mut ledger = home.ledger()?;
    let r = resolve_release(&ledger, &a.release)?;
    let card = SignedCard::verify(&r.card, &sk.public())
        .context("the ledger's card does not verify with this publisher key")?;
    let keys = r.keys()?;
    let code = ledger.trace_code(&r.id)?;
    let default_window = parse_window(a.not_before.as_deref(), a.not_after.as_deref())?;

    let (wanted, bad, out_dir, single_out) = if let Some(csv_path) = &a.recipients {
        if a.to.is_some() || a.out.is_some() {
            bail!("--recipients makes a batch; use --out-dir DIR for it, not --to/--out");
        }
        let dir = a
            .out_dir
            .clone()
            .context("--recipients needs --out-dir DIR for the grant files")?;
        let (ok, bad) = read_csv(csv_path, default_window, a.new_viewer)?;
        if a.strict {
            if let Some((line, why)) = bad.first() {
                bail!(
                    "{}:{line}: {why} (--strict: nothing was issued)",
                    csv_path.display()
                );
            }
        }
        (ok, bad, dir, None)
    } else {
        let label = a.name.clone().context(
            "give the viewer a name with --name \"…\" (it is recorded and shown to them)",
        )?;
        let viewer = match (&a.to, a.new_viewer) {
            (Some(k), false) => Some(ViewerPublic::from_bech32(k).with_context(|| format!("--to {k:?} is not a viewer key (rsview1…)"))?),
            (None, true) => None,
            (Some(_), true) => bail!("--to and --new-viewer exclude each other"),
            (None, false) => bail!("say who the grant is for: --to rsview1… (their `reelview keygen` output), or --new-viewer"),
        };
        let w = Wanted {
            label,
            viewer,
            not_before: default_window.0,
            not_after: default_window.1,
            email: None,
            line: None,
            codeword: None,
        };
        let dir = a.out_dir.clone().unwrap_or_else(|| PathBuf::from("."));
        (vec![w], Vec::new(), dir, a.out.clone())
    };

    // Decide every output path before writing anything.
    let mut taken = std::collections::HashSet::new();
    let plans: Vec<(Wanted, PathBuf)> = wanted
        .into_iter()
        .map(|w| {
            let p = match &single_out {
                Some(p) => p.clone(),
                None => unique_path(&out_dir, &util::slug(&w.label), &mut taken),
            };
            (w, p)
        })
        .collect();
    if !a.force {
        if let Some((_, p)) = plans.iter().find(|(_, p)| p.exists()) {
            bail!(
                "{} already exists; pass --force to overwrite, or choose another --out/--out-dir",
                p.display()
            );
        }
    }

    let now = util::now();
    let pb = util::count_bar(
        plans.len() as u64,
        "granting",
        a.quiet || a.json || plans.len() < 50,
    );
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    let mut rows = Vec::with_capacity(plans.len());
    let mut any_access = false;
    // Batches keep memory flat for any CSV size. Within a batch, issuing (X25519 + ed25519
    // per grant, CPU-bound) is spread over the cores; then the batch is recorded in the
    // ledger *before* its files are written, so a grant file never exists without its row.
    for batch in plans.chunks(GRANT_BATCH) {
        let per = batch.len().div_ceil(workers).max(1);
        let issued: Vec<Result<Vec<(GrantRow, String, bool)>>> = std::thread::scope(|s| {
            let handles: Vec<_> = batch
                .chunks(per)
                .map(|part| {
                    let (card, keys, code, sk, pb) = (&card, &keys, code.as_ref(), &sk, &pb);
                    s.spawn(move || {
                        part.iter()
                            .map(|(w, _)| {
                                let out = issue_one(card, keys, code, sk, w, now, r.id);
                                pb.inc(1);
                                out
                            })
                            .collect::<Result<Vec<_>>>()
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("grant worker panicked"))
                .collect()
        });
        let mut batch_rows = Vec::with_capacity(batch.len());
        let mut files = Vec::with_capacity(batch.len());
        let issued = issued
            .into_iter()
            .collect::<Result<Vec<_>>>()?
            .into_iter()
            .flatten();
        for ((row, text, private), (_, path)) in issued.zip(batch) {
            any_access |= private;
            files.push((path.clone(), text, private));
            batch_rows.push(row);
        }
        ledger.add_grants(&batch_rows)?;
        util::write_many(&files)?;
        // Only the summary is kept for the report.
        rows.extend(batch_rows.into_iter().map(|g| GrantRow {
            grant: Vec::new(),
            ..g
        }));
    }
    pb.finish_and_clear();

    let csv_name = a
        .recipients
        .as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default();
    if a.json {
        util::print_json(&json!({
            "release_id": r.id.to_hex(),
            "issued": rows.iter().zip(&plans).map(|(g, (w, p))| json!({
                "grant_id": g.id.to_hex(), "label": g.label, "viewer": g.viewer, "file": p,
                "not_before": g.not_before.map(util::fmt_time), "not_after": g.not_after.map(util::fmt_time),
                "access_key": w.viewer.is_none(), "email": g.email, "line": w.line,
            })).collect::<Vec<_>>(),
            "rejected": bad.iter().map(|(l, why)| json!({"line": l, "error": why})).collect::<Vec<_>>(),
        }));
    } else {
        if plans.len() > 1 || a.recipients.is_some() {
            println!(
                "{:<32}  {:<24}  {:<22}  {:<22}  FILE",
                "GRANT", "NAME", "NOT BEFORE", "NOT AFTER"
            );
            for (g, (_, p)) in rows.iter().zip(&plans) {
                println!(
                    "{:<32}  {:<24}  {:<22}  {:<22}  {}",
                    g.id,
                    g.label,
                    g.not_before
                        .map(util::fmt_time)
                        .unwrap_or_else(|| "-".into()),
                    g.not_after
                        .map(util::fmt_time)
                        .unwrap_or_else(|| "-".into()),
                    p.display()
                );
            }
            println!("{} issued, {} rejected", rows.len(), bad.len());
        } else if let (Some(g), Some((_, p))) = (rows.first(), plans.first()) {
            println!("granted  {} to {} ({})", g.id, g.label, g.viewer);
            println!("file     {}", p.display());
        }
        for (line, why) in &bad {
            eprintln!("{csv_name}:{line}: {why} — row skipped");
        }
    }
    if any_access {
        eprintln!("warning: access-key files contain a viewer secret: whoever holds one can watch. Send each only to its viewer.");
    }
    if !bad.is_empty() && !a.json {
        eprintln!("Fix the rows above and run the command again with a CSV of just those rows.");
    }
    Ok(())
}

/// Grants issued, recorded and written per step of a batch.
const GRANT_BATCH: usize = 2048;

/// Issue one grant; the text to write, and whether it holds a secret (an access key).
pub fn issue_one(
    card: &SignedCard,
    keys: &KeySet,
    code: Option<&TraceCodeRow>,
    sk: &PublisherSecret,
    w: &Wanted,
    now: i64,
    release: ReleaseId,
) -> Result<(GrantRow, String, bool)> {
    let (viewer, secret) = match w.viewer {
        Some(v) => (v, None),
        None => {
            let s = ViewerSecret::generate();
            (s.public(), Some(s))
        }
    };
    let params = GrantParams {
        id: GrantId::random(),
        label: w.label.clone(),
        viewer,
        not_before: w.not_before,
        not_after: w.not_after,
        issued: now,
    };
    // With a tracing code, the grant carries the main key plus, per traced segment, the
    // key of the one variant its codeword picks.
    let (subset, codeword) = match code {
        None => (None, None),
        Some(tc) => {
            let bits = match &w.codeword {
                Some(b) if b.len() == tc.biases.len() => b.clone(),
                _ => tardos::draw_codeword(&tc.biases, &mut util::csprng()),
            };
            let mut ks = KeySet::default();
            ks.insert(MAIN_KEY, *keys.main()?);
            for (t, &b) in bits.iter().enumerate() {
                let id = tardos::variant_key_id(t, b);
                ks.insert(id, *keys.get(id)?);
            }
            (Some(ks), Some(tardos::pack(&bits)))
        }
    };
    let g = grant::issue(card, subset.as_ref().unwrap_or(keys), &params, sk)?;
    let (text, private) = match secret {
        Some(s) => (AccessKey::new(s, &g)?.to_armor().to_string(), true),
        None => (g.to_armor(), false),
    };
    let row = GrantRow {
        id: params.id,
        release,
        viewer: viewer.to_bech32(),
        label: w.label.clone(),
        not_before: w.not_before,
        not_after: w.not_after,
        issued: now,
        email: w.email.clone(),
        grant: g.to_bytes().to_vec(),
        codeword,
    };
    Ok((row, text, private))
}

/// `reelseal grants RELEASE`.
pub fn grants(home: &Home, release: &str, json: bool) -> Result<()> {
    let ledger = home.ledger()?;
    let r = resolve_release(&ledger, release)?;
    let gs = ledger.grants(&r.id)?;
    if json {
        util::print_json(&json!(gs
            .iter()
            .map(|g| json!({"grant_id": g.id.to_hex(), "label": g.label, "viewer": g.viewer, "issued": util::fmt_time(g.issued),
                "not_before": g.not_before.map(util::fmt_time), "not_after": g.not_after.map(util::fmt_time), "email": g.email}))
            .collect::<Vec<_>>()));
        return Ok(());
    }
    println!(
        "{:<32}  {:<24}  {:<20}  {:<20}  {:<20}  VIEWER",
        "GRANT", "NAME", "ISSUED", "NOT BEFORE", "NOT AFTER"
    );
    for g in &gs {
        println!(
            "{:<32}  {:<24}  {:<20}  {:<20}  {:<20}  {}",
            g.id,
            g.label,
            util::fmt_time(g.issued),
            g.not_before
                .map(util::fmt_time)
                .unwrap_or_else(|| "-".into()),
            g.not_after
                .map(util::fmt_time)
                .unwrap_or_else(|| "-".into()),
            g.viewer
        );
    }
    eprintln!("{} grants for {} ({})", gs.len(), r.title, r.id);
    Ok(())
}

/// Which release a ReleaseId names, for messages.
pub fn short(id: &ReleaseId) -> String {
    id.to_hex()[..12].to_string()
}

/// Sign and store the next revocation list from the ledger's revocations; returns
/// `(sequence, signed bytes)`. Also written to `<home>/revocations.rsrl`.
pub fn publish_revocations(
    home: &Home,
    ledger: &Ledger,
    sk: &PublisherSecret,
) -> Result<(u64, Vec<u8>)> {
    use reelseal_core::revocation::{Entry, RevocationList, Subject};
    let seq = ledger
        .latest_revocation_list()?
        .map(|(s, _)| s)
        .unwrap_or(0)
        + 1;
    let mut entries = Vec::new();
    for r in ledger.revocations()? {
        let subject = match r.kind.as_str() {
            "grant" => Subject::Grant(GrantId::from_hex(&r.subject)?),
            _ => Subject::Viewer(ViewerPublic::from_bech32(&r.subject)?.to_bytes()),
        };
        entries.push(Entry {
            subject,
            reason: r.reason,
            time: r.time,
        });
    }
    let issued = util::now();
    let bytes = RevocationList {
        publisher: sk.public(),
        seq,
        issued,
        entries,
    }
    .sign(&sk)?;
    ledger.store_revocation_list(seq, issued, &bytes)?;
    util::write_atomic(&home.dir.join(REVOCATIONS_FILE), &bytes, false)?;
    Ok((seq, bytes))
}

/// The newest signed revocation list, making the first (empty) one if there is none.
pub fn current_revocations(
    home: &Home,
    ledger: &Ledger,
    sk: &PublisherSecret,
) -> Result<(u64, Vec<u8>)> {
    match ledger.latest_revocation_list()? {
        Some(l) => Ok(l),
        None => publish_revocations(home, ledger, sk),
    }
}

/// Where the newest revocation list is also written in the publisher's home.
pub const REVOCATIONS_FILE: &str = "revocations.rsrl";

/// Turn `GRANT_ID` (or a unique prefix of 8+ hex digits) or `rsview1…` into a revocation
/// subject known to the ledger: `(kind, subject)`.
pub fn revocation_subject(ledger: &Ledger, arg: &str) -> Result<(&'static str, String)> {
    let arg = arg.trim();
    if arg.to_ascii_lowercase().starts_with("rsview1") {
        let v = ViewerPublic::from_bech32(arg)
            .with_context(|| format!("{arg:?} is not a valid viewer key"))?;
        return Ok(("viewer", v.to_bech32()));
    }
    let q = arg.to_ascii_lowercase();
    if q.len() < 8 || !q.chars().all(|c| c.is_ascii_hexdigit()) {
        bail!("{arg:?} is neither a grant id (32 hex digits, or a unique prefix of 8+) nor a viewer key (rsview1…); `reelseal grants RELEASE` lists grant ids");
    }
    let mut found = Vec::new();
    for r in ledger.releases()? {
        for g in ledger.grants(&r.id)? {
            if g.id.to_hex().starts_with(&q) {
                found.push(g.id);
            }
        }
    }
    match found.len() {
        0 => bail!(
            "no grant in this ledger matches {arg:?}; `reelseal grants RELEASE` lists grant ids"
        ),
        1 => Ok(("grant", found[0].to_hex())),
        _ => bail!(
            "{arg:?} matches {} grants; give more of the grant id",
            found.len()
        ),
    }
}

/// `reelseal revoke`.
pub fn revoke(home: &Home, subject: &str, reason: &str, json: bool) -> Result<()> {
    let sk = home.secret()?;
    let ledger = home.ledger()?;
    let (kind, subject) = revocation_subject(&ledger, subject)?;
    let new = ledger.revoke(kind, &subject, reason, util::now())?;
    let (seq, _) = if new {
        publish_revocations(home, &ledger, &sk)?
    } else {
        current_revocations(home, &ledger, &sk)?
    };
    let path = home.dir.join(REVOCATIONS_FILE);
    if json {
        util::print_json(
            &json!({"revoked": {"kind": kind, "subject": subject, "reason": reason}, "new": new, "sequence": seq, "list": path}),
        );
    } else {
        if new {
            println!("revoked  {kind} {subject}: {reason}");
        } else {
            println!("already revoked: {kind} {subject}");
        }
        println!("list     sequence {seq}, {}", path.display());
        eprintln!("Publish it: `reelseal serve` hands it to every viewer; or send the file (`reelview … --revocations FILE`). Then `reelseal rotate RELEASE` so the revoked key opens nothing new.");
    }
    Ok(())
}

/// `reelseal revocations`.
pub fn revocations(home: &Home, out: Option<&Path>, json: bool) -> Result<()> {
    let sk = home.secret()?;
    let ledger = home.ledger()?;
    let (seq, bytes) = current_revocations(home, &ledger, &sk)?;
    let path = out
        .map(Path::to_path_buf)
        .unwrap_or_else(|| home.dir.join(REVOCATIONS_FILE));
    util::write_atomic(&path, &bytes, false)?;
    let rows = ledger.revocations()?;
    if json {
        util::print_json(
            &json!({"sequence": seq, "file": path, "entries": rows.iter().map(|r| json!({"kind": r.kind, "subject": r.subject, "reason": r.reason, "time": util::fmt_time(r.time)})).collect::<Vec<_>>()}),
        );
    } else {
        println!(
            "revocation list sequence {seq}: {} entries, written to {}",
            rows.len(),
            path.display()
        );
        for r in rows {
            println!(
                "  {:<6} {:<64} {}  {}",
                r.kind,
                r.subject,
                util::fmt_time(r.time),
                r.reason
            );
        }
    }
    Ok(())
}

/// Human-typable one-time access code: 160 random bits in base32, grouped by four.
pub fn new_code() -> (String, [u8; 32]) {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // Crockford base32
    let raw: [u8; 20] = reelseal_core::random_array();
    let mut bits = 0u32;
    let mut acc = 0u32;
    let mut s = String::from("RS");
    let mut n = 0;
    for b in raw {
        acc = (acc << 8) | b as u32;
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            if n % 4 == 0 {
                s.push('-');
            }
            s.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
            n += 1;
        }
    }
    let h = code_hash(&s);
    (s, h)
}

/// The hash a code is stored and looked up under (case, spaces and dashes do not matter).
pub fn code_hash(code: &str) -> [u8; 32] {
    use sha2::Digest;
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let mut h = sha2::Sha256::new();
    h.update(b"reelseal/v1/code\0");
    h.update(norm.as_bytes());
    h.finalize().into()
}

/// Mint `count` one-time codes for a release (shared by `reelseal codes` and the key server).
pub fn mint_codes(
    ledger: &mut Ledger,
    release: &ReleaseId,
    count: u32,
    not_before: Option<i64>,
    not_after: Option<i64>,
    actor: &str,
) -> Result<Vec<String>> {
    if count == 0 || count > 1_000_000 {
        bail!("--count must be between 1 and 1,000,000");
    }
    let (codes, hashes): (Vec<String>, Vec<[u8; 32]>) = (0..count).map(|_| new_code()).unzip();
    ledger.add_codes(release, &hashes, not_before, not_after, util::now(), actor)?;
    Ok(codes)
}

/// `reelseal codes`.
pub fn codes(
    home: &Home,
    release: &str,
    count: u32,
    not_before: Option<&str>,
    not_after: Option<&str>,
    out: Option<&Path>,
    json: bool,
) -> Result<()> {
    let mut ledger = home.ledger()?;
    let r = resolve_release(&ledger, release)?;
    let (nb, na) = parse_window(not_before, not_after)?;
    let codes = mint_codes(&mut ledger, &r.id, count, nb, na, "publisher")?;
    let text: String = codes.iter().map(|c| format!("{c}\n")).collect();
    if let Some(out) = out {
        util::write_atomic(out, text.as_bytes(), true)?;
        eprintln!(
            "{} codes for {} written to {} (mode 0600: each one is a grant waiting to be claimed)",
            codes.len(),
            r.title,
            out.display()
        );
    }
    if json {
        util::print_json(
            &json!({"release_id": r.id.to_hex(), "codes": codes, "not_before": nb.map(util::fmt_time), "not_after": na.map(util::fmt_time)}),
        );
    } else if out.is_none() {
        print!("{text}");
        eprintln!(
            "{} codes for {}: a buyer runs `reelview redeem URL CODE` against `reelseal serve`.",
            codes.len(),
            r.title
        );
    }
    Ok(())
}
