//! Sealing one version of a channel (FORMAT.md §12): files whose content did not change
//! since the previous version keep their key, nonce and so their exact ciphertext (copied,
//! never re-encrypted); changed and new files are sealed under a fresh key whose key-set
//! id is the version number. The torrent's piece length stays the channel's, and every
//! file starts on a piece boundary, so an unchanged file hashes to the same pieces.

use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::card::CardFile;
use crate::channel::{self, ChannelId, MemberList, SignedVersion, VersionCard, VERSION_CARD_NAME};
use crate::keys::PublisherSecret;
use crate::keyset::KeySet;
use crate::manifest::{self, Manifest, ManifestFile, MANIFEST_NAME};
use crate::seal::{payload_dir, write_padding_files, Input, Source, TORRENT_FILE};
use crate::stream::{self, FileCipher, Purpose, StreamWriter, CHUNK_CT, CHUNK_PLAIN};
use crate::torrent::{self, Info, Metainfo, PieceHasher, ProjectData};
use crate::{Error, InfoHash, Result, FORMAT_VERSION};

/// The version before the one being sealed, as its publisher or an editor holds it.
pub struct Previous<'a> {
    /// Its payload folder (the torrent's top folder).
    pub payload: &'a Path,
    /// Its manifest.
    pub manifest: &'a Manifest,
    /// Its key set.
    pub keys: &'a KeySet,
    /// Its signed card.
    pub card: &'a SignedVersion,
}

/// What to seal.
pub struct VersionPlan<'a> {
    /// The version number (previous + 1, or 1).
    pub version: u64,
    /// The publisher's note.
    pub note: Option<String>,
    /// Unix seconds.
    pub created: i64,
    /// The member list in force.
    pub members: &'a MemberList,
    /// Its epoch key.
    pub epoch_key: &'a [u8; 32],
    /// Piece length for version 1 (`None`: from the size); later versions keep the
    /// previous one's.
    pub piece: Option<u64>,
}

/// How one path changed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// New path, new content.
    Added,
    /// Same path, other content.
    Changed,
    /// Same content under another path (the ciphertext moves with it).
    Renamed,
    /// In the previous version, not in this one.
    Deleted,
    /// Same path, same content.
    Unchanged,
}

/// One line of what changed.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Change {
    /// The path (`/`-joined).
    pub path: String,
    /// How.
    pub kind: ChangeKind,
    /// For a rename, the old path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Plaintext bytes.
    pub bytes: u64,
}

/// A sealed version.
pub struct SealedVersion {
    /// The signed card.
    pub card: SignedVersion,
    /// The torrent bytes.
    pub torrent: Vec<u8>,
    /// The torrent's name (its payload folder).
    pub torrent_name: String,
    /// The infohash.
    pub infohash: InfoHash,
    /// The manifest.
    pub manifest: Manifest,
    /// The key set.
    pub keys: KeySet,
    /// What changed since the previous version.
    pub changes: Vec<Change>,
    /// Ciphertext bytes written anew (not copied from the previous version).
    pub new_ciphertext_bytes: u64,
}

/// Piece length of a channel's torrents (fixed by version 1): the largest power of two at
/// most `total / 8192` (ciphertext bytes), clamped to 64 KiB–4 MiB — so 8,192 to 16,384
/// pieces between those bounds. Smaller than a release's (§9) because every version moves
/// whole pieces — the card's, the manifest's and the last of each changed file — on top
/// of what changed. Rounded down, not up: a 1 GiB project is a little over 1 GiB of
/// ciphertext, and rounding up would double its pieces to 256 KiB; it gets 128 KiB
/// (about 8,200 hashes, 165 KB of metadata).
pub fn piece_length(total: u64) -> u64 {
    let target = (total / 8192).max(1);
    (1u64 << (63 - target.leading_zeros())).clamp(torrent::MIN_PIECE, 4 << 20)
}

/// The torrent name of a version: `reelseal-<12 hex of the channel>-v<version>`.
pub fn torrent_name(channel: &ChannelId, version: u64) -> String {
    format!("reelseal-{}-v{version}", &channel.to_hex()[..12])
}

/// What changed from `old` to `new`. A file's identity is its sealed content (nonce and
/// key id: a version keeps both only for content that did not change), so a file with
/// the same identity under another path was renamed.
pub fn diff(old: Option<&Manifest>, new: &Manifest) -> Vec<Change> {
    let id = |f: &ManifestFile| (f.nonce, f.key_id);
    let old_files: &[ManifestFile] = old.map(|m| m.files.as_slice()).unwrap_or_default();
    let mut out = Vec::new();
    for f in &new.files {
        let same = old_files.iter().find(|o| id(o) == id(f));
        let (kind, from) = match same {
            Some(o) if o.path == f.path => (ChangeKind::Unchanged, None),
            Some(o) => (ChangeKind::Renamed, Some(o.display_path())),
            None if old_files.iter().any(|o| o.path == f.path) => (ChangeKind::Changed, None),
            None => (ChangeKind::Added, None),
        };
        out.push(Change {
            path: f.display_path(),
            kind,
            from,
            bytes: f.size,
        });
    }
    for o in old_files {
        let kept = new.files.iter().any(|f| f.path == o.path || id(f) == id(o));
        if !kept {
            out.push(Change {
                path: o.display_path(),
                kind: ChangeKind::Deleted,
                from: None,
                bytes: o.size,
            });
        }
    }
    out
}

/// Does the plaintext at `plain` seal, under `cipher`, to exactly the ciphertext at `ct`?
/// (Same key and nonce, so equal ciphertext means equal content.) Stops at the first
/// differing chunk.
fn seals_to(plain: &Path, size: u64, ct: &Path, cipher: &FileCipher) -> Result<bool> {
    let ct_len = std::fs::metadata(ct).map_err(|e| Error::io(ct, e))?.len();
    if ct_len != stream::ciphertext_len(size) {
        return Ok(false);
    }
    let mut p =
        BufReader::with_capacity(1 << 20, File::open(plain).map_err(|e| Error::io(plain, e))?);
    let mut c = BufReader::with_capacity(1 << 20, File::open(ct).map_err(|e| Error::io(ct, e))?);
    let geo = stream::Geometry::from_ciphertext_len(ct_len)?;
    let mut buf = Vec::with_capacity(CHUNK_CT);
    let mut old = vec![0u8; CHUNK_CT];
    for i in 0..geo.chunks {
        let (_, n) = geo.chunk_range(i);
        let plain_n = n - stream::TAG_LEN;
        buf.resize(plain_n, 0);
        p.read_exact(&mut buf).map_err(|e| Error::io(plain, e))?;
        cipher.seal_chunk(i, geo.is_last(i), &mut buf);
        c.read_exact(&mut old[..n]).map_err(|e| Error::io(ct, e))?;
        if buf[..] != old[..n] {
            return Ok(false);
        }
    }
    Ok(true)
}

fn hard_link_or_copy(from: &Path, to: &Path) -> Result<()> {
    if std::fs::hard_link(from, to).is_err() {
        std::fs::copy(from, to).map_err(|e| Error::io(to, e))?;
    }
    Ok(())
}

fn write_new(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = crate::durable::create_new(path, 0o644)?;
    f.write_all(data).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}

fn sha256_file(path: &Path) -> Result<[u8; 32]> {
    let mut f = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().into())
}

/// Seal `inputs` (plaintext files, sorted as [`crate::seal::collect_inputs`] gives them)
/// as version `plan.version` into the empty directory `dir`: `dir/release.torrent` and
/// `dir/<torrent name>/` with `version.rscv`, `manifest.rsm`, `f000.rsc`, ….
/// `progress` gets plaintext bytes as they are read.
pub fn seal_version(
    dir: &Path,
    inputs: &[Input],
    prev: Option<Previous<'_>>,
    plan: &VersionPlan<'_>,
    publisher: &PublisherSecret,
    progress: &mut dyn FnMut(u64),
) -> Result<SealedVersion> {
    let channel = plan.members.draft.channel;
    let release = channel.release_id();
    if let Some(p) = &prev {
        if p.card.card().version + 1 != plan.version {
            return Err(Error::malformed(
                "version",
                format!(
                    "version {} does not follow version {}",
                    plan.version,
                    p.card.card().version
                ),
            ));
        }
    }
    let name = torrent_name(&channel, plan.version);
    let payload = payload_dir(dir, &name);
    std::fs::create_dir_all(&payload).map_err(|e| Error::io(&payload, e))?;

    let fresh_id = u32::try_from(plan.version)
        .map_err(|_| Error::malformed("version", "more than 2^32 versions"))?;
    let mut keys = KeySet::generate();
    let fresh_key: zeroize::Zeroizing<[u8; 32]> = zeroize::Zeroizing::new(crate::random_array());
    let mut files: Vec<ManifestFile> = Vec::with_capacity(inputs.len());
    let mut used_prev = std::collections::HashSet::new();
    let mut new_ct = 0u64;
    for (i, inp) in inputs.iter().enumerate() {
        let Source::File(src) = &inp.source else {
            return Err(Error::malformed(
                "version",
                "inputs must be plaintext files",
            ));
        };
        let ct_name = format!("f{i:03}.rsc");
        let dest = payload.join(&ct_name);
        // The same path first, then any other file of the same size (a rename).
        let mut reused = None;
        if let Some(p) = &prev {
            let mut candidates: Vec<&ManifestFile> = p
                .manifest
                .files
                .iter()
                .filter(|f| f.size == inp.size && !used_prev.contains(&f.ct_name))
                .collect();
            candidates.sort_by_key(|f| f.path != inp.rel);
            for c in candidates {
                let cipher = c.cipher(p.keys, &release)?;
                let old = p.payload.join(&c.ct_name);
                if seals_to(src, inp.size, &old, &cipher)? {
                    reused = Some((c.clone(), old));
                    break;
                }
            }
        }
        let entry = match reused {
            Some((c, old)) => {
                used_prev.insert(c.ct_name.clone());
                hard_link_or_copy(&old, &dest)?;
                progress(inp.size);
                keys.insert(
                    c.key_id,
                    *prev.as_ref().expect("reused").keys.get(c.key_id)?,
                );
                ManifestFile {
                    path: inp.rel.clone(),
                    size: inp.size,
                    media_type: c.media_type.clone(),
                    nonce: c.nonce,
                    key_id: c.key_id,
                    ct_name,
                }
            }
            None => {
                keys.insert(fresh_id, *fresh_key);
                let nonce = crate::random_array();
                let cipher = FileCipher::new(&fresh_key, &nonce, &release, Purpose::Payload);
                let out = crate::durable::create_new(&dest, 0o644)?;
                let mut w = StreamWriter::new(BufWriter::with_capacity(1 << 20, out), cipher);
                let mut r = File::open(src).map_err(|e| Error::io(src, e))?;
                let mut buf = vec![0u8; CHUNK_PLAIN * 16];
                let mut total = 0u64;
                loop {
                    let n = r.read(&mut buf).map_err(|e| Error::io(src, e))?;
                    if n == 0 {
                        break;
                    }
                    total += n as u64;
                    w.write_all(&buf[..n]).map_err(|e| Error::io(&dest, e))?;
                    progress(n as u64);
                }
                if total != inp.size {
                    return Err(Error::malformed(
                        "input",
                        format!("{} changed size while being sealed", src.display()),
                    ));
                }
                let f = w
                    .finish()
                    .map_err(|e| Error::io(&dest, e))?
                    .into_inner()
                    .map_err(|e| Error::io(&dest, e.into_error()))?;
                f.sync_all().map_err(|e| Error::io(&dest, e))?;
                new_ct += stream::ciphertext_len(inp.size);
                ManifestFile {
                    path: inp.rel.clone(),
                    size: inp.size,
                    media_type: manifest::media_type_for(
                        inp.rel.last().map(String::as_str).unwrap_or(""),
                    )
                    .to_string(),
                    nonce,
                    key_id: fresh_id,
                    ct_name,
                }
            }
        };
        files.push(entry);
    }
    let manifest = Manifest {
        release,
        files,
        tracks: Vec::new(),
    };
    Manifest::from_bytes(&manifest.to_bytes())?;
    let manifest_ct = manifest.seal(&keys)?;
    write_new(&payload.join(MANIFEST_NAME), &manifest_ct)?;

    let mut card_files = vec![CardFile {
        len: manifest_ct.len() as u64,
        name: MANIFEST_NAME.into(),
        sha256: Sha256::digest(&manifest_ct).to_vec(),
    }];
    for f in &manifest.files {
        let p = payload.join(&f.ct_name);
        card_files.push(CardFile {
            len: f.ct_len(),
            name: f.ct_name.clone(),
            sha256: sha256_file(&p)?.to_vec(),
        });
    }
    let total: u64 = card_files.iter().map(|f| f.len).sum();
    let piece = match (&prev, plan.piece) {
        (Some(p), _) => p.card.card().piece,
        (None, Some(p)) => {
            torrent::check_piece_length(p)?;
            p
        }
        (None, None) => piece_length(total),
    };
    let card = VersionCard {
        channel: channel.0.to_vec(),
        chunk: CHUNK_CT as u64,
        created: plan.created,
        epoch: plan.members.draft.epoch,
        files: card_files.clone(),
        keys: channel::seal_keys(
            &keys,
            plan.epoch_key,
            &channel,
            plan.version,
            crate::random_array(),
        ),
        members: plan.members.as_bytes().to_vec(),
        note: plan.note.clone(),
        piece,
        prev: prev.as_ref().map(|p| p.card.hash().to_vec()),
        publisher: publisher.public().to_bytes().to_vec(),
        v: FORMAT_VERSION,
        version: plan.version,
    }
    .sign(publisher)?;
    write_new(&payload.join(VERSION_CARD_NAME), card.as_bytes())?;

    // Pieces over every file in torrent order, padding as zeros.
    let mut sizes = vec![(VERSION_CARD_NAME.to_string(), card.as_bytes().len() as u64)];
    sizes.extend(card_files.iter().map(|f| (f.name.clone(), f.len)));
    let mut hasher = PieceHasher::new(piece);
    let mut end = 0u64;
    let mut buf = vec![0u8; 1 << 20];
    for (i, (n, len)) in sizes.iter().enumerate() {
        let p: PathBuf = payload.join(n);
        let mut f = File::open(&p).map_err(|e| Error::io(&p, e))?;
        loop {
            let k = f.read(&mut buf).map_err(|e| Error::io(&p, e))?;
            if k == 0 {
                break;
            }
            hasher.update(&buf[..k]);
        }
        end += len;
        if i + 1 < sizes.len() {
            let pad = torrent::padding_after(end, piece);
            hasher.zeros(pad);
            end += pad;
        }
    }
    let meta = Metainfo {
        announce: plan.members.draft.trackers.first().cloned(),
        announce_list: (plan.members.draft.trackers.len() > 1).then(|| {
            plan.members
                .draft
                .trackers
                .iter()
                .map(|t| vec![t.clone()])
                .collect()
        }),
        comment: None,
        created_by: Some(format!("reelseal {}", env!("CARGO_PKG_VERSION"))),
        creation_date: Some(plan.created),
        info: Info {
            files: torrent::layout(&sizes, piece),
            name: name.clone(),
            piece_length: piece,
            pieces: hasher.finish(),
            private: None,
        },
        reelseal: Some(ProjectData {
            release: release.0.to_vec(),
            v: FORMAT_VERSION,
        }),
        url_list: None,
    };
    meta.check()?;
    write_padding_files(&meta.info, &payload)?;
    let torrent = meta.to_bytes();
    write_new(&dir.join(TORRENT_FILE), &torrent)?;
    let changes = diff(prev.as_ref().map(|p| p.manifest), &manifest);
    Ok(SealedVersion {
        infohash: InfoHash(meta.infohash()),
        card,
        torrent,
        torrent_name: name,
        manifest,
        keys,
        changes,
        new_ciphertext_bytes: new_ct,
    })
}

#[cfg(test)]
mod tests {
    use super::piece_length;

    #[test]
    fn piece_length_rounds_down_to_keep_8192_to_16384_pieces() {
        // The 1 GiB project of bench/sync.sh: 1,076,355,402 bytes of ciphertext.
        assert_eq!(piece_length(1_076_355_402), 128 << 10);
        assert_eq!(piece_length(1 << 30), 128 << 10);
        assert_eq!(piece_length((2 << 30) - 1), 128 << 10);
        assert_eq!(piece_length(0), 64 << 10);
        assert_eq!(piece_length(6 << 20), 64 << 10);
        assert_eq!(piece_length(1 << 40), 4 << 20);
        for total in [1u64 << 29, 3 << 30, 5 << 31, (1 << 35) - 7] {
            let n = total.div_ceil(piece_length(total));
            assert!((8192..=16384).contains(&n), "{total}: {n} pieces");
        }
    }
}
