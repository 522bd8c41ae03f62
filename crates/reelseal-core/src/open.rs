//! Opening: decrypt a release's ciphertext files into the real file names.
//!
//! Each file is streamed through two threads: one reads the ciphertext and hashes it with
//! SHA-256 (checked against the signed card at the end), the other decrypts chunk by chunk
//! and writes a temporary file next to the destination. Only when every chunk
//! authenticated *and* the whole file's hash matched the card is the temporary file renamed
//! into place; on any failure it is removed, so no partial or unauthenticated output stays.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::card::Card;
use crate::durable::DurableFile;
use crate::keyset::KeySet;
use crate::manifest::{Manifest, ManifestFile, Output, MANIFEST_NAME};
use crate::stream::{Geometry, CHUNK_CT};

const BLOCK_CHUNKS: usize = 16;
use crate::Error;

/// Why opening a release failed, with the file concerned.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// A ciphertext file is absent.
    #[error("ciphertext file {path} is missing: the download is incomplete or the folder is not this release's payload")]
    Missing {
        /// Expected path.
        path: PathBuf,
    },
    /// A ciphertext file has the wrong length.
    #[error("ciphertext file {path} is {found} bytes but the signed card says {expected}: it is truncated or still downloading")]
    WrongLength {
        /// Path.
        path: PathBuf,
        /// Length on disk.
        found: u64,
        /// Length in the card.
        expected: u64,
    },
    /// A chunk failed authentication.
    #[error("{name} ({path}): chunk {index} (bytes {start}..{end} of the ciphertext) failed authentication: the ciphertext was tampered with or damaged. Nothing of it was written; re-download the file")]
    Tampered {
        /// The real file name.
        name: String,
        /// Ciphertext path.
        path: PathBuf,
        /// Chunk index.
        index: u64,
        /// Ciphertext offset of the chunk.
        start: u64,
        /// End offset.
        end: u64,
    },
    /// The whole file's hash does not match the card.
    #[error("{path}: its SHA-256 does not match the signed card: this is not the publisher's ciphertext. Nothing was written; re-download the file")]
    HashMismatch {
        /// Ciphertext path.
        path: PathBuf,
    },
    /// The destination exists.
    #[error(
        "{path} already exists; pass --force to overwrite it, or choose another --out directory"
    )]
    Exists {
        /// Destination path.
        path: PathBuf,
    },
    /// The manifest is not in the card or does not decrypt.
    #[error("the release's manifest could not be read: {0}")]
    Manifest(#[source] Error),
    /// Any other format error.
    #[error(transparent)]
    Format(#[from] Error),
}

/// Read and decrypt the manifest from a payload directory, checking it against the card.
pub fn read_manifest(
    payload: &Path,
    card: &Card,
    keys: &KeySet,
) -> std::result::Result<Manifest, OpenError> {
    let path = payload.join(MANIFEST_NAME);
    let bytes = match std::fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OpenError::Missing { path })
        }
        Err(e) => return Err(Error::io(&path, e).into()),
    };
    check_manifest(card, keys, &bytes, &path)
}

/// The one card-vs-manifest check, for manifest bytes from disk or from the swarm
/// (`label` names where they came from): length and SHA-256 as the card vouches, then
/// decrypted, then every file it lists vouched for by the card with the same length.
pub fn check_manifest(
    card: &Card,
    keys: &KeySet,
    bytes: &[u8],
    label: &Path,
) -> std::result::Result<Manifest, OpenError> {
    let entry = card.file(MANIFEST_NAME).ok_or_else(|| {
        OpenError::Manifest(Error::malformed("release card", "it lists no manifest"))
    })?;
    if bytes.len() as u64 != entry.len {
        return Err(OpenError::WrongLength {
            path: label.to_path_buf(),
            found: bytes.len() as u64,
            expected: entry.len,
        });
    }
    if !bool::from(Sha256::digest(bytes).as_slice().ct_eq(&entry.sha256)) {
        return Err(OpenError::HashMismatch {
            path: label.to_path_buf(),
        });
    }
    let m = Manifest::open(bytes, keys, &card.release_id()).map_err(OpenError::Manifest)?;
    for f in &m.files {
        let c = card.file(&f.ct_name).ok_or_else(|| {
            OpenError::Manifest(Error::malformed(
                "manifest",
                format!("{} is not in the signed card", f.ct_name),
            ))
        })?;
        if c.len != f.ct_len() {
            return Err(OpenError::Manifest(Error::malformed(
                "manifest",
                format!("{} length disagrees with the card", f.ct_name),
            )));
        }
    }
    Ok(m)
}

/// Where a manifest file goes under `out`.
pub fn destination(out: &Path, f: &ManifestFile) -> PathBuf {
    let mut p = out.to_path_buf();
    for c in &f.path {
        p.push(c);
    }
    p
}

/// A temporary sibling path for atomic writes.
pub fn partial_path(dest: &Path) -> PathBuf {
    let name = dest
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dest.with_file_name(format!(".{name}.reelseal-partial"))
}

/// Decrypt one file of the release from `ct_path` to `dest` (atomically). `progress` gets
/// plaintext byte counts as they are written.
pub fn open_file(
    ct_path: &Path,
    card: &Card,
    keys: &KeySet,
    file: &ManifestFile,
    dest: &Path,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), OpenError> {
    let entry = card_entry(card, file)?;
    let mut src = match File::open(ct_path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OpenError::Missing {
                path: ct_path.into(),
            })
        }
        Err(e) => return Err(Error::io(ct_path, e).into()),
    };
    let found = src.metadata().map_err(|e| Error::io(ct_path, e))?.len();
    if found != entry.len {
        return Err(OpenError::WrongLength {
            path: ct_path.into(),
            found,
            expected: entry.len,
        });
    }
    let mut dec = ChunkDecryptor::new(card, keys, file, ct_path)?;
    let geo = dec.geo;
    let tmp = prepare_partial(dest)?;
    // Three stages: a thread reads and SHA-256-hashes ciphertext blocks, this thread
    // decrypts them in place, a thread writes plaintext (flushed behind as it goes).
    let (ct_tx, ct_rx) = sync_channel::<std::io::Result<Vec<u8>>>(4);
    let (pt_tx, pt_rx) = sync_channel::<Vec<u8>>(4);
    let reader = std::thread::Builder::new()
        .name("reelseal-read".into())
        .spawn(move || -> [u8; 32] {
            let mut sha = Sha256::new();
            let mut off = 0u64;
            while off < geo.ct_len {
                let len = (geo.ct_len - off).min((CHUNK_CT * BLOCK_CHUNKS) as u64) as usize;
                let mut buf = vec![0u8; len];
                let r = src.read_exact(&mut buf).map(|_| {
                    sha.update(&buf);
                    buf
                });
                let failed = r.is_err();
                if ct_tx.send(r).is_err() || failed {
                    break;
                }
                off += len as u64;
            }
            sha.finalize().into()
        })
        .map_err(|e| Error::io(ct_path, e))?;
    let tmp_w = tmp.clone();
    let writer = std::thread::Builder::new()
        .name("reelseal-write".into())
        .spawn(move || -> crate::Result<DurableFile> {
            let mut out = DurableFile::create(&tmp_w)?;
            for b in pt_rx {
                if let Err(e) = out.write_all(&b) {
                    out.abandon();
                    return Err(e);
                }
            }
            Ok(out)
        })
        .map_err(|e| Error::io(&tmp, e))?;

    let decrypted = (|| -> std::result::Result<(), OpenError> {
        while !dec.done() {
            let mut block = match ct_rx.recv() {
                Ok(Ok(b)) => b,
                Ok(Err(e)) => return Err(Error::io(ct_path, e).into()),
                Err(_) => {
                    return Err(Error::io(ct_path, std::io::Error::other("reader stopped")).into())
                }
            };
            dec.decrypt_block(&mut block)?;
            progress(block.len() as u64);
            if pt_tx.send(block).is_err() {
                break; // the writer failed; its error is reported below
            }
        }
        Ok(())
    })();
    drop(pt_tx);
    drop(ct_rx);
    let digest = reader
        .join()
        .map_err(|_| Error::io(ct_path, std::io::Error::other("reader thread panicked")))?;
    let written = writer
        .join()
        .map_err(|_| Error::io(&tmp, std::io::Error::other("writer thread panicked")))?;
    match (written, decrypted) {
        (Ok(out), Ok(())) => finish_file(out, &digest, &entry.sha256, &tmp, dest, ct_path),
        (Ok(out), Err(e)) => {
            out.abandon();
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
        (Err(e), _) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e.into())
        }
    }
}

fn card_entry<'a>(
    card: &'a Card,
    file: &ManifestFile,
) -> std::result::Result<&'a crate::card::CardFile, OpenError> {
    Ok(card
        .files
        .iter()
        .find(|c| c.name == file.ct_name)
        .ok_or_else(|| {
            Error::malformed(
                "manifest",
                format!("{} is not in the signed card", file.ct_name),
            )
        })?)
}

fn prepare_partial(dest: &Path) -> std::result::Result<PathBuf, OpenError> {
    if let Some(parent) = dest.parent() {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    Ok(partial_path(dest))
}

/// Decrypts one file's chunks in order, in place; names the file and chunk on failure.
pub struct ChunkDecryptor {
    cipher: crate::stream::FileCipher,
    geo: Geometry,
    next: u64,
    name: String,
    path: PathBuf,
}

impl ChunkDecryptor {
    /// For `file` of the release; `ct_label` is the ciphertext path used in messages.
    pub fn new(
        card: &Card,
        keys: &KeySet,
        file: &ManifestFile,
        ct_label: &Path,
    ) -> std::result::Result<Self, OpenError> {
        let entry = card_entry(card, file)?;
        Ok(ChunkDecryptor {
            cipher: file.cipher(keys, &card.release_id())?,
            geo: Geometry::from_ciphertext_len(entry.len)?,
            next: 0,
            name: file.display_path(),
            path: ct_label.to_path_buf(),
        })
    }

    /// The file's chunk layout.
    pub fn geometry(&self) -> Geometry {
        self.geo
    }

    /// Every chunk decrypted?
    pub fn done(&self) -> bool {
        self.next == self.geo.chunks
    }

    /// Decrypt the next whole chunks held in `block` (ciphertext, chunk-aligned); on
    /// success `block` holds their plaintext. On failure no plaintext of the bad chunk is
    /// kept and the error names it.
    pub fn decrypt_block(&mut self, block: &mut Vec<u8>) -> std::result::Result<(), OpenError> {
        let mut plain_len = 0usize;
        for start in (0..block.len()).step_by(CHUNK_CT) {
            let end = (start + CHUNK_CT).min(block.len());
            let index = self.next;
            let ok = index < self.geo.chunks && self.geo.chunk_range(index).1 == end - start;
            match ok.then(|| {
                self.cipher
                    .open_in_place(index, self.geo.is_last(index), &mut block[start..end])
            }) {
                Some(Ok(n)) => {
                    block.copy_within(start..start + n, plain_len);
                    plain_len += n;
                }
                _ => {
                    block.clear();
                    let (start, len) = self.geo.chunk_range(index.min(self.geo.chunks - 1));
                    return Err(OpenError::Tampered {
                        name: self.name.clone(),
                        path: self.path.clone(),
                        index,
                        start,
                        end: start + len as u64,
                    });
                }
            }
            self.next += 1;
        }
        block.truncate(plain_len);
        Ok(())
    }
}

/// Last step of writing a file: the ciphertext's SHA-256 must match the card's, then sync
/// and rename into place; otherwise the partial file is removed.
fn finish_file(
    out: DurableFile,
    digest: &[u8; 32],
    expected: &[u8],
    tmp: &Path,
    dest: &Path,
    ct_label: &Path,
) -> std::result::Result<(), OpenError> {
    let r = if !bool::from(digest.as_slice().ct_eq(expected)) {
        out.abandon();
        Err(OpenError::HashMismatch {
            path: ct_label.into(),
        })
    } else {
        out.finish()
            .map_err(OpenError::from)
            .and_then(|()| std::fs::rename(tmp, dest).map_err(|e| Error::io(dest, e).into()))
    };
    if r.is_err() {
        let _ = std::fs::remove_file(tmp);
    }
    r
}

/// Writes one output of a release (a file, or a track made of segment files) from
/// ciphertext pushed to it in order (the swarm fetch feeds it from librqbit's verified
/// stream; `open` from the payload folder): hashes each part against the card, decrypts,
/// writes a partial file, and only [`FileSink::finish`] puts it under its real name.
/// Dropped unfinished, it removes the partial file.
pub struct FileSink {
    parts: Vec<(ChunkDecryptor, Vec<u8>)>,
    cur: usize,
    sha: Sha256,
    out: Option<DurableFile>,
    tmp: PathBuf,
    dest: PathBuf,
}

impl FileSink {
    /// Start writing the concatenation of `parts` to `dest`; `ct_dir` is where their
    /// ciphertext is (for messages).
    pub fn create(
        card: &Card,
        keys: &KeySet,
        parts: &[ManifestFile],
        dest: &Path,
        ct_dir: &Path,
    ) -> std::result::Result<Self, OpenError> {
        let parts = parts
            .iter()
            .map(|f| {
                let dec = ChunkDecryptor::new(card, keys, f, &ct_dir.join(&f.ct_name))?;
                Ok((dec, card_entry(card, f)?.sha256.clone()))
            })
            .collect::<std::result::Result<Vec<_>, OpenError>>()?;
        let tmp = prepare_partial(dest)?;
        let out = DurableFile::create(&tmp)?;
        Ok(FileSink {
            parts,
            cur: 0,
            sha: Sha256::new(),
            out: Some(out),
            tmp,
            dest: dest.to_path_buf(),
        })
    }

    /// The ciphertext layout of part `i` (to read it chunk by chunk).
    pub fn geometry(&self, i: usize) -> Geometry {
        self.parts[i].0.geo
    }

    /// Push the next whole chunks of the current part's ciphertext (never spanning two
    /// parts); returns plaintext bytes written. A part's hash is checked as it completes.
    pub fn push(&mut self, mut block: Vec<u8>) -> std::result::Result<u64, OpenError> {
        let (dec, expected) = self
            .parts
            .get_mut(self.cur)
            .ok_or_else(|| Error::malformed("output", "more ciphertext than the parts hold"))?;
        self.sha.update(&block);
        dec.decrypt_block(&mut block)?;
        if dec.done() {
            let digest: [u8; 32] = std::mem::take(&mut self.sha).finalize().into();
            if !bool::from(digest.as_slice().ct_eq(expected)) {
                return Err(OpenError::HashMismatch {
                    path: dec.path.clone(),
                });
            }
            self.cur += 1;
        }
        self.out
            .as_mut()
            .expect("open until finished")
            .write_all(&block)?;
        Ok(block.len() as u64)
    }

    /// Every part complete and checked: put the file in place.
    pub fn finish(mut self) -> std::result::Result<(), OpenError> {
        if let Some((dec, _)) = self.parts.get(self.cur) {
            return Err(OpenError::WrongLength {
                path: dec.path.clone(),
                found: dec.next,
                expected: dec.geo.chunks,
            });
        }
        let out = self.out.take().expect("open until finished");
        let r = out.finish().map_err(OpenError::from).and_then(|()| {
            std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e).into())
        });
        if r.is_err() {
            let _ = std::fs::remove_file(&self.tmp);
        }
        r
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        if let Some(out) = self.out.take() {
            out.abandon();
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// Where an output goes under `out`.
pub fn output_destination(out: &Path, o: &Output) -> PathBuf {
    let mut p = out.to_path_buf();
    for c in &o.path {
        p.push(c);
    }
    p
}

/// Decrypt a multi-part output (a track) from `payload` into `dest`.
fn open_parts(
    payload: &Path,
    card: &Card,
    keys: &KeySet,
    o: &Output,
    dest: &Path,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), OpenError> {
    let mut sink = FileSink::create(card, keys, &o.parts, dest, payload)?;
    for (i, part) in o.parts.iter().enumerate() {
        let path = payload.join(&part.ct_name);
        let mut src = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(OpenError::Missing { path })
            }
            Err(e) => return Err(Error::io(&path, e).into()),
        };
        let geo = sink.geometry(i);
        let found = src.metadata().map_err(|e| Error::io(&path, e))?.len();
        if found != geo.ct_len {
            return Err(OpenError::WrongLength {
                path,
                found,
                expected: geo.ct_len,
            });
        }
        let mut off = 0u64;
        while off < geo.ct_len {
            let len = (geo.ct_len - off).min((CHUNK_CT * BLOCK_CHUNKS) as u64) as usize;
            let mut buf = vec![0u8; len];
            src.read_exact(&mut buf).map_err(|e| Error::io(&path, e))?;
            progress(sink.push(buf)?);
            off += len as u64;
        }
    }
    sink.finish()
}

/// Decrypt every output of a release (files, and tracks assembled from the segments the
/// key set opens) from `payload` into `out`. Refuses to overwrite existing files unless
/// `force`. Returns the outputs and the destinations written.
pub fn open_release(
    payload: &Path,
    card: &Card,
    keys: &KeySet,
    out: &Path,
    force: bool,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(Vec<Output>, Vec<PathBuf>), OpenError> {
    let m = read_manifest(payload, card, keys)?;
    let outputs = m.outputs(keys)?;
    if !force {
        for o in &outputs {
            let d = output_destination(out, o);
            if d.exists() {
                return Err(OpenError::Exists { path: d });
            }
        }
    }
    let mut written = Vec::new();
    for o in &outputs {
        let d = output_destination(out, o);
        match o.parts.as_slice() {
            [f] => open_file(&payload.join(&f.ct_name), card, keys, f, &d, progress)?,
            _ => open_parts(payload, card, keys, o, &d, progress)?,
        }
        written.push(d);
    }
    Ok((outputs, written))
}
