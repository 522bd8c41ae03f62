//! `reelseal trace`: who leaked. Reads one symbol per traced segment from the leak and
//! scores every grant of the release against it with the Tardos code.
//!
//! Byte-exact copies are read by hashing against the decrypted A and B segments;
//! re-encoded copies by decoding the leak, A and B at a small size and correlating
//! `leak − A` with `B − A` frame by frame. Unclear segments are erasures. Leaked keys are
//! read by comparing keys. Scores and the threshold come from [`reelseal_core::tardos`].

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use reelseal_core::grant::{Grant, KeyFile};
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::{Manifest, ManifestFile};
use reelseal_core::stream::{self, Purpose};
use reelseal_core::tardos;
use reelseal_core::ReleaseId;
use serde::Serialize;
use subtle::ConstantTimeEq;

use super::mark::{need_tool, probe, probe_first};
use super::Studio;
use crate::ops::partials;

/// What `reelseal trace` was asked.
#[derive(Clone, Debug)]
pub struct TracePlan {
    /// RELEASE.
    pub release: String,
    /// The leaked file: a copy of the film, or a key file.
    pub leak: PathBuf,
    /// A smaller false-accusation bound than the release was sealed with (0 < ε < 1).
    pub epsilon: Option<f64>,
}

/// Who the leak points at.
#[derive(Clone, Debug, Serialize)]
pub struct TraceReport {
    /// Release id.
    pub release_id: String,
    /// The leak.
    pub leak: PathBuf,
    /// How it was read: exact copy, re-encoded copy, leaked access key, leaked key set.
    pub kind: String,
    /// Traced positions.
    pub positions: usize,
    /// Positions read.
    pub read: usize,
    /// Positions not read.
    pub erasures: usize,
    /// Positions read as B.
    pub b_symbols: usize,
    /// Grants with a codeword.
    pub grants_scored: usize,
    /// Accusation threshold (null when nothing was read).
    pub threshold: Option<f64>,
    /// The bound used.
    pub epsilon: f64,
    /// The bound the threshold guarantees for what was read.
    pub false_accusation_bound: f64,
    /// Grants whose score clears the threshold.
    pub accused: Vec<Score>,
    /// The five highest scores.
    pub top: Vec<Score>,
    /// The grant a leaked key file carries.
    pub grant_in_key: Option<String>,
    /// Anything unusual about the reading.
    pub note: Option<String>,
}

/// A grant's score.
#[derive(Clone, Debug, Serialize)]
pub struct Score {
    /// Grant id.
    pub grant_id: String,
    /// Label.
    pub label: String,
    /// Viewer key.
    pub viewer: String,
    /// Score, two decimals.
    pub score: f64,
}

impl Studio {
    /// Trace a leak of a release sealed with variants.
    pub fn trace(&self, plan: &TracePlan) -> Result<TraceReport> {
        let r = self.release(&plan.release)?;
        let code = self.ledger.trace_code(&r.id)?.with_context(|| {
            format!(
                "release {} was sealed without variant segments, so a copy of it cannot be traced; a leaked .rskey names its grant (`reelview inspect`). Seal with --variant-a/--variant-b to trace copies",
                &r.id.to_hex()[..12]
            )
        })?;
        if plan.epsilon.is_some_and(|e| e > code.params.eps) {
            bail!(
                "--epsilon can only be smaller than the {:e} the release was sealed with: the code was sized for that",
                code.params.eps
            );
        }
        let card = self.card(&r)?;
        let keys = r.keys()?;
        let payload = reelseal_core::seal::payload_dir(&r.dir, &r.torrent_name);
        let manifest = reelseal_core::open::read_manifest(&payload, card.card(), &keys)
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
        let reading = read_leak(&self.key().public(), &plan.leak, &ctx)?;
        let grants: Vec<_> = self
            .ledger
            .grants(&r.id)?
            .into_iter()
            .filter_map(|g| {
                let bits = tardos::unpack(g.codeword.as_deref()?, code.biases.len())?;
                Some((g, bits))
            })
            .collect();
        let read = reading.symbols.iter().filter(|s| s.is_some()).count();
        let n = grants.len().max(1) as u64;
        let eps = plan.epsilon.unwrap_or(code.params.eps);
        let z = tardos::threshold(read, n, eps, code.cutoff);
        let mut scored: Vec<(f64, Score)> = grants
            .iter()
            .map(|(g, bits)| {
                let s = tardos::score(&code.biases, bits, &reading.symbols);
                let row = Score {
                    grant_id: g.id.to_hex(),
                    label: g.label.clone(),
                    viewer: g.viewer.to_bech32(),
                    score: round2(s),
                };
                (s, row)
            })
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        let accused = scored
            .iter()
            .filter(|(s, _)| *s > z)
            .map(|(_, row)| row.clone())
            .collect();
        Ok(TraceReport {
            release_id: r.id.to_hex(),
            leak: plan.leak.clone(),
            kind: reading.kind.into(),
            positions: reading.symbols.len(),
            read,
            erasures: reading.symbols.len() - read,
            b_symbols: reading.symbols.iter().filter(|s| **s == Some(true)).count(),
            grants_scored: grants.len(),
            threshold: z.is_finite().then(|| round2(z)),
            epsilon: eps,
            false_accusation_bound: tardos::false_accusation_bound(read, n, z, code.cutoff),
            top: scored.iter().take(5).map(|(_, row)| row.clone()).collect(),
            accused,
            grant_in_key: reading.grant_in_key,
            note: reading.note,
        })
    }
}

fn round2(x: f64) -> f64 {
    (x * 100.0).round() / 100.0
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

fn decoder(file: &Path, fps: Option<&str>) -> Result<(std::process::Child, partials::Helper)> {
    let vf = match fps {
        Some(r) => format!("fps={r},scale={W}:{H}:flags=area,format=gray"),
        None => format!("scale={W}:{H}:flags=area,format=gray"),
    };
    partials::Helper::spawn(
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
            .stderr(Stdio::null()),
    )
    .context("cannot run ffmpeg")
}

fn next_frame(child: &mut std::process::Child, buf: &mut [u8]) -> bool {
    child
        .stdout
        .as_mut()
        .is_some_and(|o| o.read_exact(buf).is_ok())
}

/// Write the all-A and all-B films (every segment's first and last alternative).
fn write_references(
    ctx: &Ctx,
    track: &reelseal_core::manifest::Track,
    pa: &Path,
    pb: &Path,
) -> Result<()> {
    use std::io::Write;
    let (mut fa, mut fb) = (
        std::io::BufWriter::new(reelseal_core::durable::create_new(pa, 0o600)?),
        std::io::BufWriter::new(reelseal_core::durable::create_new(pb, 0o600)?),
    );
    for s in &track.segments {
        let v = ctx.variants(s)?;
        fa.write_all(&v[0].1)?;
        fb.write_all(&v[v.len() - 1].1)?;
    }
    fa.flush()?;
    fb.flush()?;
    Ok(())
}

/// For each frame of the reference (by presentation time, from the packets' timestamps,
/// which needs no decoding), the traced position its segment stands for, if any.
fn frame_positions(
    reference: &Path,
    track: &reelseal_core::manifest::Track,
) -> Result<Vec<Option<usize>>> {
    let mut times: Vec<f64> = probe(reference, "packet=pts_time")?
        .lines()
        .filter_map(|l| l.trim().trim_end_matches(',').parse().ok())
        .collect();
    times.sort_by(f64::total_cmp);
    let t0 = times.first().copied().unwrap_or(0.0);
    // Segment ends from the playlist durations, with the traced index of each.
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
    Ok(times
        .iter()
        .map(|time| {
            let ms = ((time - t0) * 1000.0 + 0.5).max(0.0) as u64;
            bounds
                .iter()
                .find(|(end, _)| ms < *end)
                .and_then(|(_, t)| *t)
        })
        .collect())
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
    let (tmp, _partial) = partials::temp_dir_in(&std::env::temp_dir(), "reelseal-trace-")?;
    let (pa, pb) = (tmp.path().join("a.ts"), tmp.path().join("b.ts"));
    write_references(ctx, track, &pa, &pb)?;
    let rate = probe_first(&pa, "stream=r_frame_rate")?;
    let positions = frame_positions(&pa, track)?;
    // An interrupt stops the decoders (and removes the references).
    let (mut dl, _hl) = decoder(leak, Some(&rate))?;
    let (mut da, _ha) = decoder(&pa, None)?;
    let (mut db, _hb) = decoder(&pb, None)?;
    let traced = ctx.manifest.traced_positions().len();
    let mut num = vec![0f64; traced];
    let mut den = vec![0f64; traced];
    let mut res = vec![0f64; traced];
    let (mut l, mut a, mut b) = (vec![0u8; W * H], vec![0u8; W * H], vec![0u8; W * H]);
    let mut frames = 0usize;
    let mut leak_frames = 0usize;
    for &position in &positions {
        if !next_frame(&mut da, &mut a) || !next_frame(&mut db, &mut b) {
            break;
        }
        frames += 1;
        if !next_frame(&mut dl, &mut l) {
            continue; // the leak ended early: the rest are erasures
        }
        leak_frames += 1;
        let Some(t) = position else { continue };
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
