//! `reelseal rotate`: re-seal a release under a new key set from its own ciphertext (new
//! release id and torrent; the card `supersedes` the old one) and re-issue grants to every
//! viewer of the old release who is not revoked, keeping their tracing codewords.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use reelseal_core::issue::GrantRequest;
use reelseal_core::manifest::Manifest;
use reelseal_core::seal::{self, SealOptions, TORRENT_FILE};
use reelseal_core::torrent::Metainfo;
use reelseal_core::validity::now;
use reelseal_core::{tardos, ReleaseId};
use serde::Serialize;

use super::grant::Wanted;
use super::Studio;
use crate::feedback::Feedback;
use crate::fsutil;

/// What `reelseal rotate` was asked.
#[derive(Clone, Debug)]
pub struct RotatePlan {
    /// RELEASE.
    pub release: String,
    /// New release directory; default next to the old one.
    pub out: Option<PathBuf>,
    /// Folder for the re-issued grants; default next to the new release.
    pub out_dir: Option<PathBuf>,
    /// Replace existing directories.
    pub force: bool,
    /// Web seeds of the new release (its folder is new, so the old release's web seeds
    /// are not carried over).
    pub web_seeds: Vec<String>,
}

/// A rotation done.
#[derive(Clone, Debug, Serialize)]
pub struct RotateReport {
    /// The release rotated away from.
    pub old_release_id: String,
    /// The new release.
    pub release_id: String,
    /// Its directory.
    pub dir: PathBuf,
    /// Its infohash.
    pub infohash: String,
    /// Its magnet link.
    pub magnet: String,
    /// Grants re-issued.
    pub reissued: Vec<Reissued>,
    /// Viewers left out, and why.
    pub not_reissued: Vec<NotReissued>,
    /// The title.
    #[serde(skip)]
    pub title: String,
    /// Where the new grants went.
    #[serde(skip)]
    pub grants_dir: PathBuf,
}

/// A re-issued grant.
#[derive(Clone, Debug, Serialize)]
pub struct Reissued {
    /// Grant id.
    pub grant_id: String,
    /// Label.
    pub label: String,
    /// Viewer key.
    pub viewer: String,
    /// File written.
    pub file: PathBuf,
}

/// A viewer who gets no new grant.
#[derive(Clone, Debug, Serialize)]
pub struct NotReissued {
    /// Label.
    pub label: String,
    /// The revocation reason.
    pub reason: String,
}

impl Studio {
    /// Rotate a release.
    pub fn rotate(&mut self, plan: &RotatePlan, fb: &dyn Feedback) -> Result<RotateReport> {
        let old = self.release(&plan.release)?;
        let old_card = self.card(&old)?;
        let keys = old.keys()?;
        let payload = seal::payload_dir(&old.dir, &old.torrent_name);
        let manifest = reelseal_core::open::read_manifest(&payload, old_card.card(), &keys)
            .with_context(|| {
                format!(
                    "rotation re-seals from the old release's ciphertext in {}",
                    old.dir.display()
                )
            })?;
        let (inputs, tracks) = reseal_inputs(&manifest, &keys, &payload, old.id)?;
        let code = self.ledger.trace_code(&old.id)?;
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
            created: now(),
            release: Some(new_id),
            web_seeds: plan.web_seeds.clone(),
        };
        let parent = old
            .dir
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_else(|| PathBuf::from("."));
        let stem = format!("{}-{}", fsutil::slug(&c.title), &new_id.to_hex()[..8]);
        let out = plan
            .out
            .clone()
            .unwrap_or_else(|| parent.join(format!("{stem}.reelseal")));
        let replace = if plan.force {
            super::seal::Replace::IfUnused
        } else {
            super::seal::Replace::Never
        };
        let (sealed, dir) = self.place(&inputs, &tracks, code.clone(), &opts, &out, replace, fb)?;

        // Re-issue to every viewer of the old release who is not revoked.
        let grants_dir = plan
            .out_dir
            .clone()
            .unwrap_or_else(|| parent.join(format!("{stem}-grants")));
        let mut wanted = Vec::new();
        let mut not_reissued = Vec::new();
        let mut taken = HashSet::new();
        for g in self.ledger.grants(&old.id)? {
            if let Some(r) = self.ledger.is_revoked(&g.id, &g.viewer)? {
                not_reissued.push(NotReissued {
                    label: g.label.clone(),
                    reason: r.reason,
                });
                continue;
            }
            let codeword = match (&g.codeword, &code) {
                (Some(bits), Some(tc)) => tardos::unpack(bits, tc.biases.len()),
                _ => None,
            };
            wanted.push(Wanted {
                file: fsutil::unique_path(&grants_dir, &fsutil::slug(&g.label), &mut taken),
                request: GrantRequest {
                    label: g.label,
                    viewer: Some(g.viewer),
                    validity: g.validity,
                    codeword,
                },
                email: g.email,
                line: None,
            });
        }
        let new_row = self
            .ledger
            .release(&sealed.release)?
            .context("the new release is in the ledger")?;
        let issued = self.issue_batch(&new_row, &wanted, fb)?;
        let card = sealed.card.card();
        Ok(RotateReport {
            old_release_id: old.id.to_hex(),
            release_id: sealed.release.to_hex(),
            dir,
            infohash: card.infohash_hex(),
            magnet: card.magnet(&sealed.torrent_name),
            reissued: issued
                .into_iter()
                .map(|i| Reissued {
                    grant_id: i.grant_id,
                    label: i.label,
                    viewer: i.viewer,
                    file: i.file,
                })
                .collect(),
            not_reissued,
            title: c.title.clone(),
            grants_dir,
        })
    }
}

/// The old release's files as inputs decrypted on the fly, and its tracks with the same
/// segments and key ids (so every viewer keeps their codeword).
fn reseal_inputs(
    manifest: &Manifest,
    keys: &reelseal_core::keyset::KeySet,
    payload: &Path,
    old: ReleaseId,
) -> Result<(Vec<seal::Input>, Vec<seal::TrackPlan>)> {
    let mut inputs = Vec::with_capacity(manifest.files.len());
    for f in &manifest.files {
        inputs.push(seal::Input {
            source: seal::Source::Sealed {
                path: payload.join(&f.ct_name),
                key: zeroize::Zeroizing::new(*keys.get(f.key_id)?),
                nonce: f.nonce,
                release: old,
            },
            rel: f.path.clone(),
            size: f.size,
            key_id: f.key_id,
        });
    }
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
        .collect();
    Ok((inputs, tracks))
}
