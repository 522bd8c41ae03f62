//! `reelseal seal`: encrypt + torrent + signed card in one streaming pass, then record the
//! release and put its directory in place atomically. [`Studio::place`] is shared with
//! rotation.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use reelseal_core::card::SignedCard;
use reelseal_core::seal::{self, Input, SealOptions, Sealed, TrackPlan, CARD_FILE, TORRENT_FILE};
use reelseal_core::tardos;
use reelseal_core::validity::{fmt_time, now};
use reelseal_ledger::ReleaseRow;
use serde::Serialize;

use super::{Studio, ACTOR};
use crate::feedback::{Feedback, Unit};
use crate::fsutil;
use crate::ops::partials;

/// What to seal and how.
#[derive(Clone, Debug)]
pub struct SealPlan {
    /// Film files and folders.
    pub inputs: Vec<PathBuf>,
    /// Two renditions for tracing, instead of or besides the inputs.
    pub variants: Option<VariantInputs>,
    /// Title shown to viewers (non-empty).
    pub title: String,
    /// Release directory; default `./<title>.reelseal`.
    pub out: Option<PathBuf>,
    /// Tracker URLs.
    pub trackers: Vec<String>,
    /// Piece length (checked), or automatic.
    pub piece_size: Option<u64>,
    /// BEP 27 private flag.
    pub private: bool,
    /// Torrent name seen by the swarm.
    pub public_name: Option<String>,
    /// Key server URL for the card.
    pub key_server: Option<String>,
    /// Web seed base URLs (checked, ending in `/`): torrent `url-list` and card.
    pub web_seeds: Vec<String>,
    /// Whether an existing release directory may be replaced.
    pub replace: Replace,
    /// Seal what symbolic links among the inputs point at (else they are refused).
    pub follow_symlinks: bool,
}

/// May an existing release directory be replaced?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Replace {
    /// No: refuse if the directory exists.
    Never,
    /// Yes, unless the release it holds has grants (`--force`).
    IfUnused,
    /// Yes, even if its grants then open nothing (`--force --discard-grants`).
    EvenWithGrants,
}

/// `--variant-a/--variant-b` and the code they are sealed for.
#[derive(Clone, Debug)]
pub struct VariantInputs {
    /// Rendition A (HLS playlist + MPEG-TS segments).
    pub a: PathBuf,
    /// Rendition B, cut into the same segments.
    pub b: PathBuf,
    /// Viewers, colluders and ε the code must serve.
    pub params: tardos::Params,
    /// Seal even with fewer traced segments than the code needs.
    pub allow_short_code: bool,
}

/// A sealed release.
#[derive(Clone, Debug, Serialize)]
pub struct SealReport {
    /// Release id.
    pub release_id: String,
    /// Title.
    pub title: String,
    /// Release directory.
    pub dir: PathBuf,
    /// Its torrent file.
    pub torrent: PathBuf,
    /// Infohash.
    pub infohash: String,
    /// Magnet link.
    pub magnet: String,
    /// Piece length.
    pub piece_length: u64,
    /// The viewer's files.
    pub files: Vec<SealedFile>,
    /// Tracing summary, when sealed with variants.
    pub variants: Option<VariantSummary>,
    /// Files in the input folders that were left out (named pipes, sockets, devices).
    pub skipped: Vec<seal::Skipped>,
    /// Plaintext bytes sealed.
    #[serde(skip)]
    pub total_bytes: u64,
}

/// One file as the viewer will see it, and the ciphertext files it is made of.
#[derive(Clone, Debug, Serialize)]
pub struct SealedFile {
    /// Path the viewer gets.
    pub path: String,
    /// Plaintext size.
    pub size: u64,
    /// Opaque ciphertext names in the torrent.
    pub ciphertext: Vec<String>,
}

/// What a variant seal traced and what it cost.
#[derive(Clone, Debug, Serialize)]
pub struct VariantSummary {
    /// Segments in the film.
    pub segments: usize,
    /// Segments that differ between A and B.
    pub traced: usize,
    /// Segments stored once.
    pub shared: usize,
    /// Traced segments the code needs.
    pub code_length_needed: usize,
    /// Viewers the code tells apart.
    pub viewers: u64,
    /// Coalition size resisted.
    pub colluders: u32,
    /// False-accusation bound.
    pub epsilon: f64,
    /// Bias cutoff δ.
    pub cutoff: f64,
    /// Film length.
    pub duration_s: f64,
    /// Bytes of rendition A.
    pub bytes_a: u64,
    /// Extra bytes B adds.
    pub extra_bytes_b: u64,
    /// `extra_bytes_b / bytes_a`.
    pub storage_overhead: f64,
}

impl Studio {
    /// Seal a film into a new release.
    pub fn seal(&self, plan: &SealPlan, fb: &dyn Feedback) -> Result<SealReport> {
        if plan.key_server.is_none() {
            fb.warn("no --key-server: a revocation will reach viewers of this release only if you hand them the list (`reelseal revocations --out FILE`); access codes and `reelview renew` need a key server too");
        }
        let seal::Collected {
            mut inputs,
            skipped,
        } = if plan.inputs.is_empty() {
            seal::Collected::default()
        } else {
            seal::collect_inputs(&plan.inputs, plan.follow_symlinks)?
        };
        let mut tracks = Vec::new();
        let mut code = None;
        let mut variants = None;
        if let Some(v) = &plan.variants {
            let (summary, c, vplan) = plan_variants(v, inputs.len())?;
            variants = Some(summary);
            code = Some(c);
            inputs.extend(vplan.inputs);
            tracks.push(vplan.track);
        }
        reelseal_core::manifest::check_seal_paths(inputs.iter().map(|i| i.rel.as_slice()))?;
        let total_bytes: u64 = inputs.iter().map(|i| i.size).sum();
        let fingerprint = fingerprint(&inputs)?;
        self.warn_if_sealed_before(&fingerprint, &plan.title, fb)?;
        let out = plan
            .out
            .clone()
            .unwrap_or_else(|| PathBuf::from(format!("{}.reelseal", fsutil::slug(&plan.title))));
        let opts = SealOptions {
            title: plan.title.clone(),
            trackers: plan.trackers.clone(),
            piece_length: plan.piece_size,
            private: plan.private,
            public_name: plan.public_name.clone(),
            key_server: plan.key_server.clone(),
            supersedes: None,
            created: now(),
            release: None,
            web_seeds: plan.web_seeds.clone(),
        };
        let (sealed, dir) = self.place(&inputs, &tracks, code, &opts, &out, plan.replace, fb)?;
        if !fingerprint.is_empty() {
            self.ledger
                .record_fingerprint(&sealed.release, &fingerprint)?;
        }
        if let Some(v) = &plan.variants {
            self.link_mark(v, &sealed.release, fb)?;
        }
        let card = sealed.card.card();
        let files = sealed
            .manifest
            .outputs(&sealed.keys)?
            .iter()
            .map(|o| SealedFile {
                path: o.display_path(),
                size: o.size(),
                ciphertext: o.parts.iter().map(|p| p.ct_name.clone()).collect(),
            })
            .collect();
        Ok(SealReport {
            release_id: sealed.release.to_hex(),
            title: plan.title.clone(),
            torrent: dir.join(TORRENT_FILE),
            dir,
            infohash: card.infohash_hex(),
            magnet: card.magnet(&sealed.torrent_name),
            piece_length: card.piece,
            files,
            variants,
            skipped,
            total_bytes,
        })
    }

    /// Seal into a temporary sibling of `out`, record the release, then rename it into
    /// place: an interrupted seal never leaves a directory that looks complete, and a
    /// rerun cleans up after it. Shared by `seal` and `rotate`.
    #[allow(clippy::too_many_arguments)]
    pub fn place(
        &self,
        inputs: &[Input],
        tracks: &[TrackPlan],
        code: Option<tardos::Code>,
        opts: &SealOptions,
        out: &Path,
        replace: Replace,
        fb: &dyn Feedback,
    ) -> Result<(Sealed, PathBuf)> {
        let target = Target::prepare(out, replace != Replace::Never)?;
        if replace != Replace::EvenWithGrants {
            self.refuse_replacing_granted(&target.out)?;
        }
        // An interrupt removes the temporary directory.
        let (tmp, _partial) = partials::temp_dir_in(&target.parent, &target.partial_prefix())
            .with_context(|| {
                format!(
                    "cannot create a temporary directory in {}",
                    target.parent.display()
                )
            })?;
        let total: u64 = inputs.iter().map(|i| i.size).sum();
        let pb = fb.progress("sealing", Unit::Bytes, total);
        let sealed = seal::seal_into(tmp.path(), inputs, tracks, opts, self.key(), &mut |n| {
            pb.inc(n)
        })
        .with_context(|| {
            format!(
                "sealing into {} failed; nothing was kept",
                target.out.display()
            )
        })?;
        pb.finish();
        // Recorded and in place, or neither: an interrupt waits for this.
        partials::settle(|| {
            self.record(&sealed, &target.out, opts, code)?;
            let tmp_path = tmp.keep();
            if let Err(e) = target.replace_with(&tmp_path, &sealed, self) {
                let _ = self.ledger.remove_release(&sealed.release);
                let _ = std::fs::remove_dir_all(&tmp_path);
                return Err(e);
            }
            Ok(())
        })?;
        Ok((sealed, target.out))
    }

    /// Sealing the same film twice makes a second release whose grants do not open the
    /// first: say so (naming the earlier release), and say when a title is taken, since
    /// titles name releases on the command line.
    fn warn_if_sealed_before(
        &self,
        fingerprint: &str,
        title: &str,
        fb: &dyn Feedback,
    ) -> Result<()> {
        let earlier = if fingerprint.is_empty() {
            Vec::new()
        } else {
            self.ledger.releases_with_fingerprint(fingerprint)?
        };
        for r in earlier {
            fb.warn(&format!(
                "these files were sealed before, as {} \"{}\" ({}): its viewers' grants will not open the new release. To give more viewers the same film, grant on that release; to re-key it, `reelseal rotate {}`",
                &r.id.to_hex()[..12],
                r.title,
                fmt_time(r.created),
                &r.id.to_hex()[..12]
            ));
        }
        let same_title = self
            .ledger
            .releases()?
            .into_iter()
            .filter(|r| r.title.trim().to_lowercase() == title.trim().to_lowercase())
            .count();
        if same_title > 0 {
            fb.warn(&format!(
                "another release is titled {title:?}: name releases by id (or a unique prefix) on the command line"
            ));
        }
        Ok(())
    }

    /// Replacing a release that viewers hold grants for would leave them with keys to
    /// ciphertext that no longer exists: refuse, and point to `rotate`.
    fn refuse_replacing_granted(&self, out: &Path) -> Result<()> {
        let Some(old) = std::fs::read(out.join(CARD_FILE))
            .ok()
            .and_then(|b| SignedCard::inspect(&b).ok())
            .map(|c| c.release_id())
        else {
            return Ok(());
        };
        let n = self.ledger.grants(&old)?.len();
        if n > 0 {
            bail!(
                "{} holds release {} with {n} grant{}: replacing it would leave those viewers with keys to ciphertext that is gone. \
                 To give them a new version, use `reelseal rotate {}` (grants are re-issued); to replace it anyway, add --discard-grants",
                out.display(),
                &old.to_hex()[..12],
                if n == 1 { "" } else { "s" },
                &old.to_hex()[..12]
            );
        }
        Ok(())
    }

    /// Link the mark the renditions were made with (its id sits next to them) to the release.
    fn link_mark(
        &self,
        v: &VariantInputs,
        release: &reelseal_core::ReleaseId,
        fb: &dyn Feedback,
    ) -> Result<()> {
        let Some(file) = v.a.parent().map(|p| p.join(super::mark::MARK_ID_FILE)) else {
            return Ok(());
        };
        let Ok(text) = std::fs::read_to_string(&file) else {
            fb.note("the renditions carry no mark id (not made by `reelseal mark`): tracing still works on the segments sealed");
            return Ok(());
        };
        let id = text.trim();
        if self.ledger.mark(id)?.is_none() {
            fb.warn(&format!(
                "{} names mark {id}, which is not in this ledger (made with another --home?)",
                file.display()
            ));
            return Ok(());
        }
        Ok(self.ledger.link_mark(id, release)?)
    }

    /// Record a sealed release (and its tracing code) in the ledger, all or nothing.
    fn record(
        &self,
        sealed: &Sealed,
        dir: &Path,
        opts: &SealOptions,
        code: Option<tardos::Code>,
    ) -> Result<()> {
        let card = sealed.card.card();
        self.ledger.add_release(
            &ReleaseRow {
                id: sealed.release,
                title: opts.title.clone(),
                dir: dir.to_path_buf(),
                infohash: card.infohash(),
                torrent_name: sealed.torrent_name.clone(),
                created: opts.created,
                card: sealed.card.as_bytes().to_vec(),
                keyset: sealed.keys.to_bytes(),
                supersedes: opts.supersedes,
            },
            ACTOR,
        )?;
        if let Some(c) = code {
            if let Err(e) = self.ledger.set_trace_code(&sealed.release, &c) {
                let _ = self.ledger.remove_release(&sealed.release);
                return Err(e.into());
            }
        }
        Ok(())
    }
}

/// Read the two renditions, design the code, and refuse a film too short for it.
fn plan_variants(
    v: &VariantInputs,
    first: usize,
) -> Result<(
    VariantSummary,
    tardos::Code,
    reelseal_core::variants::VariantPlan,
)> {
    let plan = reelseal_core::variants::plan(&v.a, &v.b, first)?;
    let p = v.params;
    let design = tardos::design(p).context("--viewers/--colluders/--epsilon")?;
    if plan.traced == 0 {
        bail!(
            "{} and {} are byte-identical: there is nothing to trace. Make B with `reelseal mark`, or seal the film without --variant-a/--variant-b",
            v.a.display(),
            v.b.display()
        );
    }
    if plan.traced < design.length && !v.allow_short_code {
        bail!(
            "the film has {} traced segments (of {}), but tracing coalitions of {} among {} viewers with ε = {:e} needs {}. \
             Cut shorter segments (`reelseal mark --segment-seconds`), mark more of them, resist fewer colluders (--colluders) or accept a larger ε (--epsilon). \
             --allow-short-code seals anyway: `trace` still never accuses anyone below its threshold, it may just find nobody.",
            plan.traced,
            plan.traced + plan.shared,
            p.c,
            p.n,
            p.eps,
            design.length
        );
    }
    let summary = VariantSummary {
        segments: plan.traced + plan.shared,
        traced: plan.traced,
        shared: plan.shared,
        code_length_needed: design.length,
        viewers: p.n,
        colluders: p.c,
        epsilon: p.eps,
        cutoff: design.cutoff,
        duration_s: plan.duration_ms as f64 / 1000.0,
        bytes_a: plan.bytes_a,
        extra_bytes_b: plan.extra_bytes,
        storage_overhead: plan.extra_bytes as f64 / plan.bytes_a.max(1) as f64,
    };
    let code = tardos::Code::draw(&design, plan.traced);
    Ok((summary, code, plan))
}

/// Where a release directory goes: checked, its parent created, leftovers of
/// interrupted seals of the same name cleaned.
struct Target {
    out: PathBuf,
    parent: PathBuf,
    name: String,
}

impl Target {
    fn prepare(out: &Path, force: bool) -> Result<Self> {
        let out = std::path::absolute(out)
            .with_context(|| format!("bad output path {}", out.display()))?;
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
        let t = Target { out, parent, name };
        // Leftovers of interrupted seals of the same output are ours to clean.
        if let Ok(rd) = std::fs::read_dir(&t.parent) {
            for e in rd.flatten() {
                if e.file_name()
                    .to_string_lossy()
                    .starts_with(&t.partial_prefix())
                {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        Ok(t)
    }

    fn partial_prefix(&self) -> String {
        format!(".{}.partial-", self.name)
    }

    /// Rename the finished temporary directory into place, moving an existing one aside
    /// (`--force`) and noting in the ledger that the release it held lost its directory.
    fn replace_with(&self, tmp: &Path, sealed: &Sealed, studio: &Studio) -> Result<()> {
        if self.out.exists() {
            let replaced = std::fs::read(self.out.join(CARD_FILE))
                .ok()
                .and_then(|b| SignedCard::inspect(&b).ok())
                .map(|c| c.release_id());
            if let Some(old) = replaced.filter(|id| *id != sealed.release) {
                let gone = self.parent.join(format!(
                    "{} (replaced by {})",
                    self.name,
                    &sealed.release.to_hex()[..12]
                ));
                let _ = studio.ledger.set_release_dir(&old, &gone);
            }
            let trash = self
                .parent
                .join(format!(".{}.replaced-{}", self.name, std::process::id()));
            std::fs::rename(&self.out, &trash)
                .with_context(|| format!("cannot move the old {} aside", self.out.display()))?;
            std::fs::rename(tmp, &self.out)
                .with_context(|| format!("cannot rename into {}", self.out.display()))?;
            let _ = std::fs::remove_dir_all(&trash);
        } else {
            std::fs::rename(tmp, &self.out)
                .with_context(|| format!("cannot rename into {}", self.out.display()))?;
        }
        Ok(())
    }
}

/// A cheap fingerprint of a film's input files — each one's path, size, and SHA-256 of its
/// first and last MiB — to notice the same film sealed twice without reading it whole.
/// Rotations (inputs from an earlier release) have none worth comparing: they return "".
fn fingerprint(inputs: &[Input]) -> Result<String> {
    use sha2::{Digest, Sha256};
    use std::io::{Read, Seek, SeekFrom};
    const EDGE: u64 = 1 << 20;
    let mut all = Sha256::new();
    let mut files: Vec<(&Input, &Path)> = Vec::new();
    for i in inputs {
        match &i.source {
            seal::Source::File(p) => files.push((i, p)),
            _ => return Ok(String::new()),
        }
    }
    files.sort_by(|a, b| a.0.rel.cmp(&b.0.rel));
    for (i, path) in files {
        let mut f =
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?;
        let mut buf = Vec::with_capacity(EDGE as usize);
        (&mut f).take(EDGE).read_to_end(&mut buf)?;
        if i.size > EDGE {
            f.seek(SeekFrom::Start(i.size.saturating_sub(EDGE).max(EDGE)))?;
            f.take(EDGE).read_to_end(&mut buf)?;
        }
        all.update(i.rel.join("/").as_bytes());
        all.update([0]);
        all.update(i.size.to_le_bytes());
        all.update(Sha256::digest(&buf));
    }
    Ok(hex::encode(all.finalize()))
}
