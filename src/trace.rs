//! `reelseal mark` (A/B renditions with ffmpeg) and `reelseal trace` (who leaked).
//!
//! The mark: rendition B adds a faint, low-frequency luma pattern (±`strength` levels in
//! 16×9 blocks, fixed pseudo-random signs) to every frame; A is the same encode without
//! it. Both are cut at the same forced keyframes, so segment `i` of A and of B cover the
//! same frames and can be mixed freely. See docs/tracing.md.
//!
//! Tracing reads one symbol per traced segment from the leak: byte-exact copies by hashing
//! against the decrypted A and B segments; re-encoded copies by decoding the leak, A and B
//! at a small size and correlating `leak − A` with `B − A` frame by frame. Unclear
//! segments are erasures. Leaked keys are read by comparing keys. Scores and the threshold
//! come from [`reelseal_core::tardos`].

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use reelseal_core::card::SignedCard;
use reelseal_core::grant::{Grant, KeyFile};
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::{Manifest, ManifestFile};
use reelseal_core::stream::{self, Purpose};
use reelseal_core::tardos;
use reelseal_core::ReleaseId;
use serde_json::json;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::publisher::{resolve_release, Home};
use crate::util;

/// Check that an ffmpeg tool runs, or say how to install it.
pub fn need_tool(tool: &str) -> Result<()> {
    match Command::new(tool)
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
    {
        Ok(s) if s.success() => Ok(()),
        Ok(_) => bail!("{tool} is installed but `{tool} -version` failed"),
        Err(_) => bail!(
            "{tool} is not installed; it is needed to make or read video variants. On Debian/Ubuntu: `sudo apt-get install ffmpeg`"
        ),
    }
}

fn run(cmd: &mut Command, what: &str) -> Result<()> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run {what}"))?;
    if !out.status.success() {
        bail!(
            "{what} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(())
}

fn probe(file: &Path, entries: &str) -> Result<String> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-select_streams",
            "v:0",
            "-show_entries",
            entries,
        ])
        .args(["-of", "csv=p=0"])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .context("cannot run ffprobe")?;
    if !out.status.success() {
        bail!(
            "ffprobe cannot read {}: {}",
            file.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The first non-empty line ffprobe prints (MPEG-TS repeats streams under programs).
fn probe_first(file: &Path, entries: &str) -> Result<String> {
    Ok(probe(file, entries)?
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string())
}

/// The mark's sign for block (bx, by) of the 16×9 grid: a fixed pseudo-random ±1.
fn mark_sign(bx: u32, by: u32) -> i32 {
    let h = Sha256::digest(format!("reelseal/mark/v1/{bx}/{by}"));
    if h[0] & 1 == 1 {
        1
    } else {
        -1
    }
}

/// Options of `reelseal mark`.
pub struct MarkArgs {
    /// The film.
    pub film: PathBuf,
    /// Output directory (gets a/ and b/).
    pub out: PathBuf,
    /// Segment length in seconds.
    pub segment_seconds: f64,
    /// Mark amplitude in luma levels.
    pub strength: u8,
    /// x264 quality.
    pub crf: u8,
    /// Mark only this many segments, evenly spread (the rest stay identical in A and B).
    pub traced: Option<usize>,
    /// Replace an existing output.
    pub force: bool,
    /// JSON output.
    pub json: bool,
}

/// `reelseal mark FILM --out DIR`.
pub fn mark(a: MarkArgs) -> Result<()> {
    need_tool("ffmpeg")?;
    need_tool("ffprobe")?;
    if a.segment_seconds.is_nan() || a.segment_seconds < 0.2 {
        bail!("--segment-seconds must be at least 0.2");
    }
    if a.out.exists() && !a.force {
        bail!(
            "{} already exists; pass --force to replace it, or choose another --out",
            a.out.display()
        );
    }
    let dims = probe_first(&a.film, "stream=width,height")?;
    let (w, h) = dims
        .split_once(',')
        .and_then(|(w, h)| Some((w.trim().parse::<u32>().ok()?, h.trim().parse::<u32>().ok()?)))
        .with_context(|| format!("{} has no video stream ffprobe can read", a.film.display()))?;
    let parent = a
        .out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)?;
    let tmp = tempfile::Builder::new()
        .prefix(".reelseal-mark-")
        .tempdir_in(parent)?;
    // The pattern: mid-grey ± strength in a 16×9 grid of blocks (PGM, read by ffmpeg).
    let mut pgm = format!("P5\n{w} {h}\n255\n").into_bytes();
    for y in 0..h {
        for x in 0..w {
            let s = mark_sign(x * 16 / w, y * 9 / h);
            pgm.push((128 + s * i32::from(a.strength)) as u8);
        }
    }
    let pattern = tmp.path().join("pattern.pgm");
    std::fs::write(&pattern, &pgm)?;
    let seg = format!("{}", a.segment_seconds);
    let pb = util::count_bar(2, "encoding A and B", a.json);
    for (name, marked) in [("a", false), ("b", true)] {
        let dir = tmp.path().join(name);
        std::fs::create_dir_all(&dir)?;
        let mut cmd = Command::new("ffmpeg");
        cmd.args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(&a.film);
        if marked {
            cmd.args(["-loop", "1", "-i"]).arg(&pattern);
            cmd.args([
                "-filter_complex",
                "[1:v]format=yuv420p[p];[0:v:0]format=yuv420p[v];[v][p]blend=all_mode=grainmerge:shortest=1:repeatlast=1[out]",
                "-map",
                "[out]",
            ]);
        } else {
            cmd.args(["-map", "0:v:0", "-pix_fmt", "yuv420p"]);
        }
        cmd.args(["-map", "0:a:0?", "-c:a", "aac", "-b:a", "128k"]);
        cmd.args(["-c:v", "libx264", "-preset", "veryfast", "-crf"])
            .arg(a.crf.to_string())
            .args(["-sc_threshold", "0", "-force_key_frames"])
            .arg(format!("expr:gte(t,n_forced*{seg})"))
            .args(["-f", "hls", "-hls_time"])
            .arg(&seg)
            .args(["-hls_playlist_type", "vod", "-hls_segment_filename"])
            .arg(dir.join("seg%05d.ts"))
            .arg(dir.join("film.m3u8"));
        run(
            &mut cmd,
            &format!("ffmpeg (rendition {})", name.to_uppercase()),
        )?;
        pb.inc(1);
    }
    pb.finish_and_clear();
    let (_, segs_a) = reelseal_core::variants::read_rendition(&tmp.path().join("a"))?;
    let (_, segs_b) = reelseal_core::variants::read_rendition(&tmp.path().join("b"))?;
    if segs_a.len() != segs_b.len()
        || segs_a
            .iter()
            .zip(&segs_b)
            .any(|(x, y)| x.duration_ms.abs_diff(y.duration_ms) > 1)
    {
        bail!("ffmpeg cut A and B differently ({} vs {} segments); please report this with the film's ffprobe output", segs_a.len(), segs_b.len());
    }
    // Fewer traced segments: the rest of B becomes byte-identical to A (stored once).
    let total = segs_a.len();
    let traced = a.traced.unwrap_or(total).min(total);
    if traced < total {
        let keep: std::collections::HashSet<usize> =
            (0..traced).map(|k| k * total / traced.max(1)).collect();
        for (i, s) in segs_a.iter().enumerate() {
            if !keep.contains(&i) {
                std::fs::copy(
                    tmp.path().join("a").join(&s.uri),
                    tmp.path().join("b").join(&segs_b[i].uri),
                )?;
            }
        }
    }
    let _ = std::fs::remove_file(&pattern);
    if a.out.exists() {
        std::fs::remove_dir_all(&a.out)
            .with_context(|| format!("cannot replace {}", a.out.display()))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, &a.out)
        .with_context(|| format!("cannot rename into {}", a.out.display()))?;
    let duration: u64 = segs_a.iter().map(|s| s.duration_ms).sum();
    if a.json {
        util::print_json(&json!({
            "a": a.out.join("a"), "b": a.out.join("b"), "segments": total, "traced": traced,
            "segment_seconds": a.segment_seconds, "duration_s": duration as f64 / 1000.0,
            "strength": a.strength, "width": w, "height": h,
        }));
    } else {
        println!(
            "marked   {} → {} ({} segments of {} s, {} carry the mark, ±{} luma levels)",
            a.film.display(),
            a.out.display(),
            total,
            a.segment_seconds,
            traced,
            a.strength
        );
        eprintln!(
            "Next: `reelseal seal --variant-a {} --variant-b {} --title \"…\" --viewers N --colluders C`",
            a.out.join("a").display(),
            a.out.join("b").display()
        );
    }
    Ok(())
}

/// The release as the publisher sees it: manifest, full key set, ciphertext folder.
struct Ctx<'a> {
    manifest: &'a Manifest,
    keys: &'a KeySet,
    payload: &'a Path,
    release: &'a ReleaseId,
}

impl Ctx<'_> {
    fn decrypt(&self, f: &ManifestFile) -> Result<Vec<u8>> {
        let path = self.payload.join(&f.ct_name);
        let ct = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
        let key = self.keys.get(f.key_id)?;
        let cipher = stream::FileCipher::new(key, &f.nonce, self.release, Purpose::Payload);
        stream::open_to_vec(cipher, &ct)
            .with_context(|| format!("{} does not decrypt", path.display()))
    }

    /// A segment's plaintexts with the symbol each stands for: A (`false`) and B
    /// (`true`) for a traced segment, or the one everyone shares (`None`). Decrypted one
    /// segment at a time, so memory stays at a segment's size whatever the film's.
    fn variants(
        &self,
        s: &reelseal_core::manifest::Segment,
    ) -> Result<Vec<(Option<bool>, Vec<u8>)>> {
        let symbol = |v: usize| (s.alts.len() == 2).then_some(v == 1);
        s.alts
            .iter()
            .enumerate()
            .map(|(v, ct)| {
                let f = self
                    .manifest
                    .file(ct)
                    .context("segment file missing from the manifest")?;
                Ok((symbol(v), self.decrypt(f)?))
            })
            .collect()
    }
}

/// How the leak was read.
struct Reading {
    kind: &'static str,
    symbols: Vec<Option<bool>>,
    note: Option<String>,
    grant_in_key: Option<String>,
}

/// `reelseal trace RELEASE LEAK`.
pub fn trace(
    home: &Home,
    release: &str,
    leak: &Path,
    epsilon: Option<f64>,
    json: bool,
) -> Result<()> {
    if let Some(e) = epsilon {
        if !(e > 0.0 && e < 1.0) {
            bail!("--epsilon must be between 0 and 1, for example 1e-6");
        }
    }
    let sk = home.secret()?;
    let ledger = home.ledger()?;
    let r = resolve_release(&ledger, release)?;
    let code = ledger.trace_code(&r.id)?.with_context(|| {
        format!(
            "release {} was sealed without variant segments, so a copy of it cannot be traced; a leaked .rskey names its grant (`reelview inspect`). Seal with --variant-a/--variant-b to trace copies",
            &r.id.to_hex()[..12]
        )
    })?;
    let card = SignedCard::verify(&r.card, &sk.public())
        .context("the ledger's card does not verify with this publisher key")?;
    let keys = r.keys()?;
    let payload = reelseal_core::seal::payload_dir(&r.dir, &r.torrent_name);
    let manifest = reelseal_core::open::read_manifest(&payload, card.card(), &keys)
        .map_err(|e| anyhow::anyhow!("{e}"))
        .with_context(|| {
            format!(
                "tracing reads the release's segments from {}",
                payload.display()
            )
        })?;
    let positions = manifest.traced_positions();
    if positions.len() != code.biases.len() {
        bail!(
            "the ledger's code has {} positions but the release has {} traced segments",
            code.biases.len(),
            positions.len()
        );
    }
    let ctx = Ctx {
        manifest: &manifest,
        keys: &keys,
        payload: &payload,
        release: &r.id,
    };
    let reading = read_leak(&sk.public(), leak, &ctx)?;
    let grants: Vec<_> = ledger
        .grants(&r.id)?
        .into_iter()
        .filter_map(|g| {
            let bits = tardos::unpack(g.codeword.as_deref()?, code.biases.len())?;
            Some((g, bits))
        })
        .collect();
    let read = reading.symbols.iter().filter(|s| s.is_some()).count();
    let n = grants.len().max(1) as u64;
    if epsilon.is_some_and(|e| e > code.params.eps) {
        bail!(
            "--epsilon can only be smaller than the {:e} the release was sealed with: the code was sized for that",
            code.params.eps
        );
    }
    let eps = epsilon.unwrap_or(code.params.eps);
    let z = tardos::threshold(read, n, eps, code.cutoff);
    let mut scored: Vec<(f64, &reelseal_ledger::GrantRow)> = grants
        .iter()
        .map(|(g, bits)| (tardos::score(&code.biases, bits, &reading.symbols), g))
        .collect();
    scored.sort_by(|a, b| b.0.total_cmp(&a.0));
    let accused: Vec<_> = scored.iter().filter(|(s, _)| *s > z).collect();
    let row = |(s, g): &(f64, &reelseal_ledger::GrantRow)| json!({"grant_id": g.id.to_hex(), "label": g.label, "viewer": g.viewer, "score": (s * 100.0).round() / 100.0});
    let b_count = reading.symbols.iter().filter(|s| **s == Some(true)).count();
    if json {
        util::print_json(&json!({
            "release_id": r.id.to_hex(), "leak": leak, "kind": reading.kind,
            "positions": reading.symbols.len(), "read": read, "erasures": reading.symbols.len() - read,
            "b_symbols": b_count,
            "grants_scored": grants.len(), "threshold": if z.is_finite() { json!((z * 100.0).round() / 100.0) } else { json!(null) },
            "epsilon": eps,
            "false_accusation_bound": tardos::false_accusation_bound(read, n, z, code.cutoff),
            "accused": accused.iter().map(|x| row(x)).collect::<Vec<_>>(),
            "top": scored.iter().take(5).map(row).collect::<Vec<_>>(),
            "grant_in_key": reading.grant_in_key,
            "note": reading.note,
        }));
    } else {
        println!(
            "leak     {} ({}): {} of {} traced segments read, {} erasures",
            leak.display(),
            reading.kind,
            read,
            reading.symbols.len(),
            reading.symbols.len() - read
        );
        if let Some(n) = &reading.note {
            println!("note     {n}");
        }
        if let Some(g) = &reading.grant_in_key {
            println!("key      the leaked key file carries grant {g}");
        }
        println!(
            "scored   {} grants; threshold {:.1} (chance of accusing anyone innocent ≤ {:e})",
            grants.len(),
            z,
            eps
        );
        if accused.is_empty() {
            println!("accused  nobody: no grant's score clears the threshold (too few segments read, or too many colluders)");
        }
        for (s, g) in &accused {
            println!(
                "ACCUSED  grant {}  {:?}  {}  score {:.1}",
                g.id, g.label, g.viewer, s
            );
        }
        println!("highest scores:");
        for (s, g) in scored.iter().take(5) {
            println!("  {:>8.1}  {}  {:?}", s, g.id, g.label);
        }
        if !accused.is_empty() {
            eprintln!(
                "Next: `reelseal revoke {}` and `reelseal rotate {}`.",
                accused[0].1.id,
                &r.id.to_hex()[..8]
            );
        }
    }
    Ok(())
}

fn read_leak(
    publisher: &reelseal_core::keys::PublisherPublic,
    leak: &Path,
    ctx: &Ctx,
) -> Result<Reading> {
    let (manifest, keys) = (ctx.manifest, ctx.keys);
    let head = {
        let mut f =
            std::fs::File::open(leak).with_context(|| format!("cannot open {}", leak.display()))?;
        let mut b = vec![0u8; 4096];
        let n = f.read(&mut b)?;
        b.truncate(n);
        b
    };
    let positions = manifest.traced_positions();
    let alt_file = |t: usize, v: usize| -> Result<&ManifestFile> {
        let (ti, si) = positions[t];
        let ct = &manifest.tracks[ti].segments[si].alts[v];
        manifest
            .file(ct)
            .context("segment file missing from manifest")
    };
    // A leaked key: an armored .rskey (access key or grant), or a raw key set.
    let leaked_keys: Option<(KeySet, Option<String>, &'static str)> = if let Ok(text) =
        std::str::from_utf8(&head).map(|_| std::fs::read_to_string(leak))
    {
        match text.ok().map(|t| KeyFile::parse(&t)) {
                Some(Ok(KeyFile::Access(a))) => {
                    let g = Grant::verify(&a.grant, publisher)
                        .context("the access key's grant is not signed by this publisher")?;
                    let ks = g.unwrap_keys(&a.secret)?;
                    Some((ks, Some(g.params().id.to_hex()), "leaked access key"))
                }
                Some(Ok(KeyFile::Grant(_))) => bail!(
                    "{} is a grant without its viewer secret: it opens nothing by itself. `reelview inspect` shows whose it is",
                    leak.display()
                ),
                _ => None,
            }
    } else {
        None
    };
    let leaked_keys = match leaked_keys {
        Some(k) => Some(k),
        None => std::fs::read(leak)
            .ok()
            .and_then(|b| KeySet::from_bytes(&b).ok())
            .map(|k| (k, None, "leaked key set")),
    };
    if let Some((ks, grant, kind)) = leaked_keys {
        let mut symbols = Vec::with_capacity(positions.len());
        for t in 0..positions.len() {
            let mut has = [false; 2];
            for (v, h) in has.iter_mut().enumerate() {
                let want = keys.get(alt_file(t, v)?.key_id)?;
                *h = ks.ids().any(|id| {
                    ks.get(id)
                        .is_ok_and(|k| bool::from(k.as_slice().ct_eq(want.as_slice())))
                });
            }
            symbols.push(match has {
                [true, false] => Some(false),
                [false, true] => Some(true),
                _ => None,
            });
        }
        return Ok(Reading {
            kind,
            symbols,
            note: None,
            grant_in_key: grant,
        });
    }
    // A copy of the film: byte-exact, or else re-encoded.
    if let Some(symbols) = exact_walk(leak, ctx)? {
        return Ok(Reading {
            kind: "exact copy",
            symbols,
            note: None,
            grant_in_key: None,
        });
    }
    correlate(leak, ctx)
}

/// Walk the leak segment by segment, matching each against the variants' bytes. `None` if
/// it is not a byte-exact assembly of the release's segments.
fn exact_walk(leak: &Path, ctx: &Ctx) -> Result<Option<Vec<Option<bool>>>> {
    let Some(track) = ctx.manifest.tracks.first() else {
        return Ok(None);
    };
    let mut f = BufReader::new(std::fs::File::open(leak)?);
    let mut symbols = Vec::new();
    let mut window: Vec<u8> = Vec::new();
    let mut fill = |window: &mut Vec<u8>, n: usize| -> Result<()> {
        if window.len() < n {
            let mut more = vec![0u8; n - window.len()];
            let mut got = 0;
            while got < more.len() {
                let k = f.read(&mut more[got..])?;
                if k == 0 {
                    break;
                }
                got += k;
            }
            more.truncate(got);
            window.extend_from_slice(&more);
        }
        Ok(())
    };
    for s in &track.segments {
        let candidates = ctx.variants(s)?;
        let longest = candidates.iter().map(|c| c.1.len()).max().unwrap_or(0);
        fill(&mut window, longest)?;
        let hit = candidates
            .iter()
            .find(|(_, p)| window.len() >= p.len() && window[..p.len()] == p[..]);
        let Some((sym, p)) = hit else {
            return Ok(None);
        };
        window.drain(..p.len());
        if s.alts.len() == 2 {
            symbols.push(*sym);
        }
    }
    fill(&mut window, 1)?;
    Ok(window.is_empty().then_some(symbols))
}

/// Largest `|leak − A|² / |B − A|²` per segment still read as this film (measured: ≤ 1.1
/// for copies re-encoded at 150 kbit/s, ~1,000 for unrelated footage).
const MAX_RESIDUAL: f64 = 16.0;

const W: usize = 128;
const H: usize = 72;

fn decoder(file: &Path, fps: Option<&str>) -> Result<std::process::Child> {
    let vf = match fps {
        Some(r) => format!("fps={r},scale={W}:{H}:flags=area,format=gray"),
        None => format!("scale={W}:{H}:flags=area,format=gray"),
    };
    Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-i"])
        .arg(file)
        .args([
            "-map",
            "0:v:0",
            "-vf",
            &vf,
            "-fps_mode",
            "passthrough",
            "-f",
            "rawvideo",
            "-",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .context("cannot run ffmpeg")
}

fn next_frame(child: &mut std::process::Child, buf: &mut [u8]) -> bool {
    child
        .stdout
        .as_mut()
        .is_some_and(|o| o.read_exact(buf).is_ok())
}

/// Read a re-encoded copy: correlate each frame's `leak − A` with `B − A`.
fn correlate(leak: &Path, ctx: &Ctx) -> Result<Reading> {
    need_tool("ffmpeg")?;
    need_tool("ffprobe")?;
    let track = ctx
        .manifest
        .tracks
        .first()
        .context("the release has no track")?;
    // The all-A and all-B films, assembled in a private temporary folder.
    let tmp = tempfile::Builder::new()
        .prefix("reelseal-trace-")
        .tempdir()?;
    let (pa, pb) = (tmp.path().join("a.ts"), tmp.path().join("b.ts"));
    {
        use std::io::Write;
        let (mut fa, mut fb) = (
            std::io::BufWriter::new(std::fs::File::create(&pa)?),
            std::io::BufWriter::new(std::fs::File::create(&pb)?),
        );
        for s in &track.segments {
            let v = ctx.variants(s)?;
            fa.write_all(&v[0].1)?;
            fb.write_all(&v[v.len() - 1].1)?;
        }
        fa.flush()?;
        fb.flush()?;
    }
    let rate = probe_first(&pa, "stream=r_frame_rate")?;
    // Presentation times of the frames: the video packets' timestamps, sorted (packets
    // come in decode order), which needs no decoding.
    let mut times: Vec<f64> = probe(&pa, "packet=pts_time")?
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    times.sort_by(f64::total_cmp);
    let t0 = times.first().copied().unwrap_or(0.0);
    // Segment of every frame, from the playlist durations; traced index or None.
    let mut bounds = Vec::new();
    let mut acc = 0u64;
    let mut t = 0usize;
    for s in &track.segments {
        acc += s.duration_ms;
        bounds.push((
            acc,
            (s.alts.len() == 2).then(|| {
                t += 1;
                t - 1
            }),
        ));
    }
    let seg_of = |time: f64| -> Option<usize> {
        let ms = ((time - t0) * 1000.0 + 0.5).max(0.0) as u64;
        bounds
            .iter()
            .find(|(end, _)| ms < *end)
            .and_then(|(_, t)| *t)
    };
    let (mut dl, mut da, mut db) = (
        decoder(leak, Some(&rate))?,
        decoder(&pa, None)?,
        decoder(&pb, None)?,
    );
    let traced = ctx.manifest.traced_positions().len();
    let mut num = vec![0f64; traced];
    let mut den = vec![0f64; traced];
    let mut res = vec![0f64; traced];
    let (mut l, mut a, mut b) = (vec![0u8; W * H], vec![0u8; W * H], vec![0u8; W * H]);
    let mut frames = 0usize;
    let mut leak_frames = 0usize;
    for &time in &times {
        if !next_frame(&mut da, &mut a) || !next_frame(&mut db, &mut b) {
            break;
        }
        frames += 1;
        if !next_frame(&mut dl, &mut l) {
            continue; // the leak ended early: the rest are erasures
        }
        leak_frames += 1;
        let Some(t) = seg_of(time) else { continue };
        let n = (W * H) as f64;
        let mean_r: f64 = l
            .iter()
            .zip(&a)
            .map(|(&x, &y)| f64::from(x) - f64::from(y))
            .sum::<f64>()
            / n;
        let mean_d: f64 = b
            .iter()
            .zip(&a)
            .map(|(&x, &y)| f64::from(x) - f64::from(y))
            .sum::<f64>()
            / n;
        for i in 0..W * H {
            let r = f64::from(l[i]) - f64::from(a[i]) - mean_r;
            let d = f64::from(b[i]) - f64::from(a[i]) - mean_d;
            num[t] += r * d;
            den[t] += d * d;
            res[t] += r * r;
        }
    }
    for c in [&mut dl, &mut da, &mut db] {
        let _ = c.kill();
        let _ = c.wait();
    }
    if leak_frames == 0 {
        bail!(
            "{} is neither a key file nor a video ffmpeg can decode",
            leak.display()
        );
    }
    let symbols: Vec<Option<bool>> = (0..traced)
        .map(|t| {
            // An erasure, never a guess, when: too little mark in the reference; the leak
            // differs from A far more than the mark does (other footage, misaligned frames:
            // copies of this film, even at 150 kbit/s, stay near 1); or the fit lands
            // between or outside the two variants (an averaged copy).
            if den[t] < 1.0 || res[t] > MAX_RESIDUAL * den[t] {
                return None;
            }
            let c = num[t] / den[t];
            if (0.65..=1.35).contains(&c) {
                Some(true)
            } else if (-0.35..=0.35).contains(&c) {
                Some(false)
            } else {
                None
            }
        })
        .collect();
    Ok(Reading {
        kind: "re-encoded copy",
        symbols,
        note: (leak_frames != frames).then(|| {
            format!("the leak has {leak_frames} frames where the release has {frames}; unmatched segments are erasures")
        }),
        grant_in_key: None,
    })
}
