//! `reelview open`: decrypt a release whose ciphertext is already here (any client, a
//! USB drive), and the mapping of core's open errors to exit codes.

use std::path::{Path, PathBuf};

use anyhow::Result;
use reelseal_core::card::SignedCard;
use reelseal_core::manifest::{Output, MANIFEST_NAME};
use reelseal_core::open::{self, OpenError};
use serde::Serialize;
use sha2::Digest;

use super::{Access, Viewer};
use crate::exit::{refuse, Exit};
use crate::feedback::{Feedback, Unit};
use crate::ops::partials::Partial;

/// What `reelview open` was asked.
#[derive(Clone, Debug)]
pub struct OpenPlan {
    /// The `.rskey`.
    pub key: PathBuf,
    /// The payload folder, release folder or download folder.
    pub from: PathBuf,
    /// Where the film files go.
    pub out: PathBuf,
    /// Overwrite existing files.
    pub force: bool,
    /// Mode of the film files (0600 unless `--mode`).
    pub mode: u32,
    /// Trust and revocations.
    pub access: Access,
}

/// Files decrypted (by `open` or `fetch`).
#[derive(Clone, Debug, Serialize)]
pub struct OpenedFile {
    /// Path in the release.
    pub path: String,
    /// Size.
    pub size: u64,
    /// Media type.
    pub media_type: String,
    /// Where it was written.
    pub written: PathBuf,
}

/// A release opened.
#[derive(Clone, Debug, Serialize)]
pub struct OpenReport {
    /// Title.
    pub title: String,
    /// Release id.
    pub release_id: String,
    /// Grant id.
    pub grant_id: String,
    /// The files.
    pub files: Vec<OpenedFile>,
}

/// The outputs of a release paired with where they were written.
pub fn opened(outputs: &[Output], written: &[PathBuf]) -> Vec<OpenedFile> {
    outputs
        .iter()
        .zip(written)
        .map(|(o, p)| OpenedFile {
            path: o.display_path(),
            size: o.size(),
            media_type: o.media_type.clone(),
            written: p.clone(),
        })
        .collect()
}

/// Turn an open error into a refusal with the right exit code.
pub fn open_refusal(e: OpenError) -> anyhow::Error {
    let exit = match &e {
        OpenError::Tampered { .. } | OpenError::HashMismatch { .. } => Exit::Tampered,
        OpenError::Missing { .. } | OpenError::WrongLength { .. } => Exit::Missing,
        _ => Exit::Error,
    };
    refuse(exit, e.to_string())
}

/// Find the payload directory (the one holding `manifest.rsm`) given a release directory,
/// a payload directory, or a download folder holding the torrent's top folder. A manifest
/// that is there but does not match the signed card is reported as tampered (exit 14),
/// not as missing.
pub fn find_payload(from: &Path, card: &SignedCard) -> Result<PathBuf> {
    if from.join(MANIFEST_NAME).is_file() {
        return Ok(from.to_path_buf());
    }
    // A release directory or a client's download folder: the torrent's top folder is one
    // level down; pick the one whose manifest the card vouches for.
    let want = card.card().file(MANIFEST_NAME).map(|f| f.sha256.clone());
    let default_name = format!("reelseal-{}", &card.card().release_id().to_hex()[..12]);
    let mut impostors = Vec::new();
    if let Ok(rd) = std::fs::read_dir(from) {
        for e in rd.flatten() {
            if let Ok(b) = reelseal_core::durable::read_regular(&e.path().join(MANIFEST_NAME)) {
                if Some(sha2::Sha256::digest(&b).to_vec()) == want {
                    return Ok(e.path());
                }
                impostors.push(e.path());
            }
        }
    }
    // One candidate, or the one named as this release's torrent: its manifest was altered.
    let suspect = match impostors.as_slice() {
        [only] => Some(only.clone()),
        many => many.iter().find(|p| p.ends_with(&default_name)).cloned(),
    };
    if let Some(p) = suspect {
        return Err(refuse(
            Exit::Tampered,
            format!("{}: its SHA-256 does not match the signed card: the manifest was tampered with or damaged (or belongs to another release). Nothing was written; re-download the release", p.join(MANIFEST_NAME).display()),
        ));
    }
    Err(refuse(
        Exit::Missing,
        format!("{} holds no {MANIFEST_NAME} of this release: point --from at the folder your BitTorrent client downloaded, or use `reelview fetch`", from.display()),
    ))
}

impl Viewer {
    /// Decrypt a release from ciphertext on disk.
    pub fn open(&self, plan: &OpenPlan, fb: &dyn Feedback) -> Result<OpenReport> {
        let auth = self.authorize(&plan.key, &plan.access, fb)?;
        let card = auth.grant.card();
        let payload = find_payload(&plan.from, card)?;
        let m = open::read_manifest(&payload, card.card(), &auth.keys).map_err(open_refusal)?;
        let outputs = m.outputs(&auth.keys).map_err(|e| open_refusal(e.into()))?;
        let total: u64 = outputs.iter().map(|o| o.size()).sum();
        // An interrupt removes whichever partial file is being written.
        let _partials: Vec<Partial> = outputs
            .iter()
            .map(|o| Partial::track(open::partial_path(&open::output_destination(&plan.out, o))))
            .collect();
        let pb = fb.progress("decrypting", Unit::Bytes, total);
        let (outputs, written) = open::open_release(
            &payload,
            card.card(),
            &auth.keys,
            &plan.out,
            open::Placement {
                mode: plan.mode,
                replace: plan.force,
            },
            &mut |n| pb.inc(n),
        )
        .map_err(open_refusal)?;
        pb.finish();
        Ok(OpenReport {
            title: card.card().title.clone(),
            release_id: card.card().release_id().to_hex(),
            grant_id: auth.grant.params().id.to_hex(),
            files: opened(&outputs, &written),
        })
    }
}
