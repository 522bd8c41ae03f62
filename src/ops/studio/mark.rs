//! `reelseal mark`: A/B renditions of a film for tracing, made with ffmpeg.
//!
//! Rendition B adds a faint, low-frequency luma pattern (±`strength` levels in 16×9
//! blocks, fixed pseudo-random signs) to every frame; A is the same encode without it.
//! Both are cut at the same forced keyframes, so segment `i` of A and of B cover the same
//! frames and can be mixed freely. See docs/tracing.md.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use anyhow::{bail, Context, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::Studio;
use crate::feedback::{Feedback, Unit};

/// What `reelseal mark` was asked.
#[derive(Clone, Debug)]
pub struct MarkPlan {
    /// The film.
    pub film: PathBuf,
    /// Output directory (gets a/ and b/).
    pub out: PathBuf,
    /// Segment length in seconds (≥ 0.2).
    pub segment_seconds: f64,
    /// Mark amplitude in luma levels.
    pub strength: u8,
    /// x264 quality.
    pub crf: u8,
    /// Mark only this many segments, evenly spread (the rest stay identical in A and B).
    pub traced: Option<usize>,
    /// Replace an existing output.
    pub force: bool,
}

/// Renditions made.
#[derive(Clone, Debug, Serialize)]
pub struct MarkReport {
    /// Rendition A.
    pub a: PathBuf,
    /// Rendition B.
    pub b: PathBuf,
    /// Segments.
    pub segments: usize,
    /// Segments carrying the mark.
    pub traced: usize,
    /// Segment length asked for.
    pub segment_seconds: f64,
    /// Film length.
    pub duration_s: f64,
    /// Mark amplitude.
    pub strength: u8,
    /// Frame width.
    pub width: u32,
    /// Frame height.
    pub height: u32,
    /// The film marked.
    #[serde(skip)]
    pub film: PathBuf,
    /// The output directory.
    #[serde(skip)]
    pub out: PathBuf,
}

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

/// Run ffmpeg with `-progress pipe:1`, moving `pb` by the seconds of film it reports
/// (`out_time_us`), up to `seconds`; its stderr is kept for the error message.
fn run_with_progress(
    cmd: &mut Command,
    what: &str,
    seconds: u64,
    pb: &dyn crate::feedback::Progress,
) -> Result<()> {
    use std::io::{BufRead, Read};
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run {what}"))?;
    let mut stderr = child.stderr.take().expect("piped stderr");
    let errors = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let mut done = 0u64;
    for line in std::io::BufReader::new(child.stdout.take().expect("piped stdout")).lines() {
        let Ok(line) = line else { break };
        if let Some(us) = line.strip_prefix("out_time_us=") {
            let at = (us.trim().parse::<i64>().unwrap_or(0).max(0) as u64 / 1_000_000).min(seconds);
            if at > done {
                pb.inc(at - done);
                done = at;
            }
        }
    }
    let status = child.wait().with_context(|| format!("cannot run {what}"))?;
    let errors = errors.join().unwrap_or_default();
    if !status.success() {
        bail!("{what} failed: {}", errors.trim());
    }
    pb.inc(seconds - done);
    Ok(())
}

/// The film's duration in seconds, from its container.
fn probe_duration(file: &Path) -> Result<f64> {
    let out = Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(file)
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("cannot run ffprobe on {}", file.display()))?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse::<f64>()
        .with_context(|| format!("ffprobe gave no duration for {}", file.display()))
}

pub(crate) fn probe(file: &Path, entries: &str) -> Result<String> {
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
pub(crate) fn probe_first(file: &Path, entries: &str) -> Result<String> {
    Ok(probe(file, entries)?
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or_default()
        .to_string())
}

/// The mark's sign for block (bx, by) of the 16×9 grid: ±1 from a keyed hash, so the
/// pattern is the publisher's secret (kept in the ledger): a viewer who holds one rendition
/// of a segment cannot rebuild the other, or the pattern, to subtract it.
fn mark_sign(key: &[u8; 32], bx: u32, by: u32) -> i32 {
    let mut h = Sha256::new();
    h.update(b"reelseal/mark/v2\0");
    h.update(key);
    h.update(bx.to_be_bytes());
    h.update(by.to_be_bytes());
    if h.finalize()[0] & 1 == 1 {
        1
    } else {
        -1
    }
}

/// The file in a mark's output folder naming the mark (not secret): `seal` links the release
/// made from the renditions to it.
pub const MARK_ID_FILE: &str = "mark.id";

impl Studio {
    /// `reelseal mark FILM --out DIR`: a fresh secret mark key, recorded in the ledger, then
    /// the A and B renditions.
    pub fn mark(&self, a: &MarkPlan, fb: &dyn Feedback) -> Result<MarkReport> {
        need_tool("ffmpeg")?;
        need_tool("ffprobe")?;
        let key = zeroize::Zeroizing::new(reelseal_core::random_array::<32>());
        let id = hex::encode(reelseal_core::random_array::<8>());
        let report = render_renditions(a, &key, &id, fb)?;
        self.ledger
            .add_mark(&id, reelseal_core::validity::now(), &key, super::ACTOR)?;
        Ok(report)
    }
}

/// Encode both renditions into a temporary folder and rename it into place.
fn render_renditions(
    a: &MarkPlan,
    key: &[u8; 32],
    mark_id: &str,
    fb: &dyn Feedback,
) -> Result<MarkReport> {
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
            let s = mark_sign(key, x * 16 / w, y * 9 / h);
            pgm.push((128 + s * i32::from(a.strength)) as u8);
        }
    }
    let pattern = tmp.path().join("pattern.pgm");
    std::fs::write(&pattern, &pgm)?;
    let seg = format!("{}", a.segment_seconds);
    // Progress in seconds of film encoded (ffmpeg's `-progress`), both renditions.
    let seconds = probe_duration(&a.film).unwrap_or(0.0).ceil() as u64;
    let pb = fb.progress("encoding A, B", Unit::Seconds, 2 * seconds);
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
        cmd.args(["-progress", "pipe:1", "-nostats"]);
        run_with_progress(
            &mut cmd,
            &format!("ffmpeg (rendition {})", name.to_uppercase()),
            seconds,
            pb.as_ref(),
        )?;
    }
    pb.finish();
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
    if let Some(n) = a.traced.filter(|n| *n > total) {
        bail!(
            "--traced {n} is more than the {total} segments of this film at --segment-seconds {}: use at most {total}, or shorter segments",
            a.segment_seconds
        );
    }
    let traced = a.traced.unwrap_or(total);
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
    std::fs::write(tmp.path().join(MARK_ID_FILE), format!("{mark_id}\n"))?;
    if a.out.exists() {
        std::fs::remove_dir_all(&a.out)
            .with_context(|| format!("cannot replace {}", a.out.display()))?;
    }
    let kept = tmp.keep();
    std::fs::rename(&kept, &a.out)
        .with_context(|| format!("cannot rename into {}", a.out.display()))?;
    let duration: u64 = segs_a.iter().map(|s| s.duration_ms).sum();
    Ok(MarkReport {
        a: a.out.join("a"),
        b: a.out.join("b"),
        segments: total,
        traced,
        segment_seconds: a.segment_seconds,
        duration_s: duration as f64 / 1000.0,
        strength: a.strength,
        width: w,
        height: h,
        film: a.film.clone(),
        out: a.out.clone(),
    })
}
