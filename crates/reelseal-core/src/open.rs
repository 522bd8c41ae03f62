//! Opening: decrypt a release's ciphertext files into the real file names.
//!
//! Every output goes through a [`FileSink`]: ciphertext is read in 2 MiB blocks and
//! hashed with SHA-256 in order (checked against the signed card as each file ends), then
//! decrypted chunk by chunk in place on every core and written at its offset in a temporary
//! file next to the destination. Only when every chunk authenticated *and* every file's
//! hash matched the card is the temporary file renamed into place; on any failure it is
//! removed, so no partial or unauthenticated output stays.

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};
use std::sync::Arc;
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::card::Card;
use crate::direct::{AlignedBuf, OutFile};
use crate::keyset::KeySet;
use crate::manifest::{Manifest, ManifestFile, Output, MANIFEST_NAME};
use crate::stream::{Geometry, CHUNK_CT, CHUNK_PLAIN, TAG_LEN};
use crate::Error;

/// Ciphertext read, hashed and decrypted at a time: 32 chunks, 2 MiB.
const BLOCK_CT: usize = 32 * CHUNK_CT;
/// The plaintext of a block.
const BLOCK_PLAIN: usize = 32 * CHUNK_PLAIN;

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
    let ct_dir = ct_path.parent().unwrap_or(Path::new("."));
    let mut sink = FileSink::create(card, keys, std::slice::from_ref(file), dest, ct_dir)?;
    feed_part(&mut sink, 0, ct_path, progress)?;
    sink.finish()
}

/// Read part `i` of `sink` from `path` in blocks and push them.
fn feed_part(
    sink: &mut FileSink,
    i: usize,
    path: &Path,
    progress: &mut dyn FnMut(u64),
) -> std::result::Result<(), OpenError> {
    let mut src = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(OpenError::Missing { path: path.into() })
        }
        Err(e) => return Err(Error::io(path, e).into()),
    };
    let geo = sink.geometry(i);
    let found = src.metadata().map_err(|e| Error::io(path, e))?.len();
    if found != geo.ct_len {
        return Err(OpenError::WrongLength {
            path: path.into(),
            found,
            expected: geo.ct_len,
        });
    }
    let mut off = 0u64;
    while off < geo.ct_len {
        let len = (geo.ct_len - off).min(BLOCK_CT as u64) as usize;
        let mut buf = sink.buffer();
        buf.resize(len, 0);
        src.read_exact(&mut buf).map_err(|e| Error::io(path, e))?;
        progress(sink.push(buf)?);
        off += len as u64;
    }
    Ok(())
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
        if let Err(e) = self.decrypt_at(self.next, block) {
            block.clear();
            return Err(e);
        }
        let mut plain_len = 0usize;
        for start in (0..block.len()).step_by(CHUNK_CT) {
            let n = (block.len() - start).min(CHUNK_CT) - TAG_LEN;
            block.copy_within(start..start + n, plain_len);
            plain_len += n;
            self.next += 1;
        }
        block.truncate(plain_len);
        Ok(())
    }

    /// Decrypt in place the whole chunks held in `block`, the first being chunk `first`:
    /// each chunk's plaintext is left at the start of its 64 KiB slot. On failure the bad
    /// chunk is wiped and the error names it.
    pub(crate) fn decrypt_at(
        &self,
        first: u64,
        block: &mut [u8],
    ) -> std::result::Result<(), OpenError> {
        for (k, slot) in block.chunks_mut(CHUNK_CT).enumerate() {
            let index = first + k as u64;
            let fits = index < self.geo.chunks && self.geo.chunk_range(index).1 == slot.len();
            if !fits
                || self
                    .cipher
                    .open_in_place(index, self.geo.is_last(index), slot)
                    .is_err()
            {
                slot.fill(0);
                return Err(self.tampered(index));
            }
        }
        Ok(())
    }

    fn tampered(&self, index: u64) -> OpenError {
        let (start, len) = self.geo.chunk_range(index.min(self.geo.chunks - 1));
        OpenError::Tampered {
            name: self.name.clone(),
            path: self.path.clone(),
            index,
            start,
            end: start + len as u64,
        }
    }
}

/// Writes one output of a release (a file, or a track made of segment files) from
/// ciphertext pushed to it in order (the swarm fetch feeds it from librqbit's verified
/// stream; `open` from the payload folder): hashes each part against the card, decrypts,
/// writes a partial file, and only [`FileSink::finish`] puts it under its real name.
/// Dropped unfinished, it removes the partial file.
///
/// The work runs on every core: each pushed block's SHA-256 is taken in order (one block
/// at a time, before anything touches it), then workers decrypt blocks in place in
/// parallel and write their plaintext at its offset. A few blocks are in flight at most;
/// a failure (a chunk that does not authenticate, a part whose hash is not the card's, a
/// write error) is returned by a later [`FileSink::push`] or by [`FileSink::finish`],
/// always the first one in stream order.
pub struct FileSink {
    parts: Arc<[SinkPart]>,
    geos: Vec<Geometry>,
    blocks: Option<SyncSender<Vec<u8>>>,
    recycled: Receiver<Vec<u8>>,
    pool: Option<JoinHandle<PoolOutcome>>,
    out: Arc<OutFile>,
    tmp: PathBuf,
    dest: PathBuf,
    done: bool,
}

/// One part of a [`FileSink`]'s output.
struct SinkPart {
    dec: ChunkDecryptor,
    sha256: Vec<u8>,
    /// Where its plaintext starts in the output.
    plain_start: u64,
}

/// How the pool ended: its first error, and how far the parts got.
struct PoolOutcome {
    result: std::result::Result<(), OpenError>,
    /// Index of the first part not complete, and its next chunk.
    cur: usize,
    next: u64,
}

/// A block on its way through the pool.
struct SinkJob {
    block: Vec<u8>,
    part: usize,
    first: u64,
    /// Found while hashing, reported after the block's own chunks are checked.
    failure: Option<OpenError>,
    write: Write,
    /// Its plaintext: where it goes, how long it is, how much the worker wrote.
    at: u64,
    plain: usize,
    written: usize,
}

/// How a block's plaintext is written (see [`crate::direct`]). Direct writes need every
/// block before to have been a whole 2 MiB block; the first block that is not switches
/// the output to the page cache for good, and is itself written only once every block
/// before it is on disk, so a cached page never races a direct write.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Write {
    /// By the worker, straight to the disk (the output's unaligned end: in order).
    Direct { last: bool },
    /// By the worker, through the page cache.
    Cached,
    /// In order, through the page cache.
    Deferred,
}

/// Blocks of ciphertext waiting to be hashed (besides the ones in the workers).
const QUEUED: usize = 1;

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
        let mut plain_start = 0u64;
        let parts = parts
            .iter()
            .map(|f| {
                let dec = ChunkDecryptor::new(card, keys, f, &ct_dir.join(&f.ct_name))?;
                let start = plain_start;
                plain_start += dec.geo.plain_len;
                Ok(SinkPart {
                    dec,
                    sha256: card_entry(card, f)?.sha256.clone(),
                    plain_start: start,
                })
            })
            .collect::<std::result::Result<Vec<_>, OpenError>>()?;
        let geos = parts.iter().map(|p| p.dec.geo).collect();
        let parts: Arc<[SinkPart]> = parts.into();
        let tmp = prepare_partial(dest)?;
        // Direct writes need every block at a multiple of a block's plaintext: only when
        // the output is one part (a track's parts start anywhere).
        let offsets = if parts.len() == 1 {
            BLOCK_PLAIN as u64
        } else {
            1
        };
        let out = Arc::new(OutFile::create(&tmp, plain_start, offsets)?);
        let workers = crate::par::workers();
        let (tx, rx) = sync_channel::<Vec<u8>>(QUEUED);
        let (recycle_tx, recycled) = sync_channel::<Vec<u8>>(QUEUED + crate::par::buffers(workers));
        let pool = {
            let (parts, out) = (parts.clone(), out.clone());
            std::thread::Builder::new()
                .name("reelseal-open".into())
                .spawn(move || decrypt_pool(&parts, &out, rx, recycle_tx, workers))
                .map_err(|e| Error::io(&tmp, e))?
        };
        Ok(FileSink {
            parts,
            geos,
            blocks: Some(tx),
            recycled,
            pool: Some(pool),
            out,
            tmp,
            dest: dest.to_path_buf(),
            done: false,
        })
    }

    /// The ciphertext layout of part `i` (to read it chunk by chunk).
    pub fn geometry(&self, i: usize) -> Geometry {
        self.geos[i]
    }

    /// A buffer for the next block: a recycled one when there is one (its length and
    /// contents are left over: resize it and overwrite it), else a new empty one.
    pub fn buffer(&self) -> Vec<u8> {
        self.recycled.try_recv().unwrap_or_default()
    }

    /// Push the next whole chunks of the current part's ciphertext (never spanning two
    /// parts); returns the plaintext bytes they hold. Blocks of 32 chunks (2 MiB) are
    /// best: they are written straight to the disk. A part's hash is checked as it
    /// completes. Waits while enough work is queued.
    pub fn push(&mut self, block: Vec<u8>) -> std::result::Result<u64, OpenError> {
        let chunks = block.len().div_ceil(CHUNK_CT);
        let plain = block.len().saturating_sub(chunks * TAG_LEN) as u64;
        if block.len() > BLOCK_CT {
            for b in block.chunks(BLOCK_CT) {
                self.send(b.to_vec())?;
            }
        } else {
            self.send(block)?;
        }
        Ok(plain)
    }

    fn send(&mut self, block: Vec<u8>) -> std::result::Result<(), OpenError> {
        match self.blocks.as_ref().map(|tx| tx.send(block)) {
            Some(Ok(())) => Ok(()),
            // The pool stopped: it has an error to tell.
            _ => Err(self.stop().result.err().unwrap_or_else(more_than_the_parts)),
        }
    }

    fn stop(&mut self) -> PoolOutcome {
        self.blocks = None;
        match self.pool.take().map(|h| h.join()) {
            Some(Ok(o)) => o,
            Some(Err(_)) => PoolOutcome {
                result: Err(Error::io(
                    &self.tmp,
                    std::io::Error::other("decrypting thread panicked"),
                )
                .into()),
                cur: 0,
                next: 0,
            },
            None => PoolOutcome {
                result: Err(Error::malformed("output", "already failed").into()),
                cur: 0,
                next: 0,
            },
        }
    }

    /// Every part complete and checked: put the file in place.
    pub fn finish(mut self) -> std::result::Result<(), OpenError> {
        let outcome = self.stop();
        outcome.result?;
        if let Some(p) = self.parts.get(outcome.cur) {
            return Err(OpenError::WrongLength {
                path: p.dec.path.clone(),
                found: outcome.next,
                expected: p.dec.geo.chunks,
            });
        }
        self.out.sync()?;
        std::fs::rename(&self.tmp, &self.dest).map_err(|e| Error::io(&self.dest, e))?;
        self.done = true;
        Ok(())
    }
}

impl Drop for FileSink {
    fn drop(&mut self) {
        if !self.done {
            if self.pool.is_some() {
                self.stop();
            }
            let _ = std::fs::remove_file(&self.tmp);
        }
    }
}

/// The pool behind a [`FileSink`]: hash in order, decrypt and write in parallel.
fn decrypt_pool(
    parts: &[SinkPart],
    out: &OutFile,
    blocks: Receiver<Vec<u8>>,
    recycle: SyncSender<Vec<u8>>,
    workers: usize,
) -> PoolOutcome {
    let (mut cur, mut next) = (0usize, 0u64);
    let (cur_at, next_at) = (&mut cur, &mut next);
    let mut sha = Sha256::new();
    let mut failed = false;
    let mut direct = true;
    // In order, one block at a time: check its chunk layout and hash it (before any
    // worker decrypts it in place), and decide how it is written.
    let next_job = move |_: &mut AlignedBuf| -> Option<SinkJob> {
        if failed {
            return None;
        }
        let block = blocks.recv().ok()?;
        let (part, first) = (*cur_at, *next_at);
        let mut last = false;
        let failure = match parts.get(part) {
            None => Some(more_than_the_parts()),
            Some(p) => {
                let f = p.hash_block(&block, next_at, &mut sha);
                if f.is_none() && *next_at == p.dec.geo.chunks {
                    last = part + 1 == parts.len();
                    *cur_at += 1;
                    *next_at = 0;
                }
                f
            }
        };
        failed = failure.is_some();
        let write = if !direct {
            Write::Cached
        } else if block.len() == BLOCK_CT || last {
            Write::Direct { last }
        } else {
            direct = false;
            Write::Deferred
        };
        let at = parts
            .get(part)
            .map_or(0, |p| p.plain_start + first * CHUNK_PLAIN as u64);
        Some(SinkJob {
            block,
            part,
            first,
            failure,
            write,
            at,
            plain: 0,
            written: 0,
        })
    };
    // In parallel: decrypt in place, gather the plaintext into an aligned buffer, write.
    let work =
        |job: &mut SinkJob, scratch: &mut AlignedBuf| -> std::result::Result<(), OpenError> {
            let Some(p) = parts.get(job.part) else {
                return Err(job.failure.take().unwrap_or_else(more_than_the_parts));
            };
            p.dec.decrypt_at(job.first, &mut job.block)?;
            if let Some(f) = job.failure.take() {
                return Err(f);
            }
            let plain = scratch.get();
            for c in job.block.chunks(CHUNK_CT) {
                let n = c.len() - TAG_LEN;
                plain[job.plain..job.plain + n].copy_from_slice(&c[..n]);
                job.plain += n;
            }
            let plain = &plain[..job.plain];
            job.written = match job.write {
                Write::Direct { last } => out.write_block(plain, job.at, last)?,
                Write::Cached => {
                    out.write_tail(plain, job.at)?;
                    plain.len()
                }
                Write::Deferred => 0,
            };
            Ok(())
        };
    // In order: what is left to write (every block before is written by now).
    let consume = |job: SinkJob,
                   r: std::result::Result<(), OpenError>,
                   scratch: &mut AlignedBuf|
     -> std::result::Result<(), OpenError> {
        r?;
        if job.written < job.plain {
            let rest = &scratch.get()[job.written..job.plain];
            out.write_tail(rest, job.at + job.written as u64)?;
        }
        let _ = recycle.try_send(job.block);
        Ok(())
    };
    let scratch = (0..crate::par::buffers(workers))
        .map(|_| AlignedBuf::new(BLOCK_PLAIN))
        .collect();
    let result = crate::par::run_ordered(workers, scratch, next_job, work, consume);
    PoolOutcome { result, cur, next }
}

fn more_than_the_parts() -> OpenError {
    Error::malformed("output", "more ciphertext than the parts hold").into()
}

impl SinkPart {
    /// Check that `block` holds whole chunks from chunk `*next` on and hash it; at the
    /// part's end compare the hash with the card's. Advances `*next` past the block.
    fn hash_block(&self, block: &[u8], next: &mut u64, sha: &mut Sha256) -> Option<OpenError> {
        let geo = self.dec.geo;
        let mut at = 0;
        while at < block.len() {
            let len = (block.len() - at).min(CHUNK_CT);
            if *next >= geo.chunks || geo.chunk_range(*next).1 != len {
                return Some(self.dec.tampered(*next));
            }
            at += len;
            *next += 1;
        }
        sha.update(block);
        if *next == geo.chunks {
            let digest: [u8; 32] = std::mem::take(sha).finalize().into();
            if !bool::from(digest.as_slice().ct_eq(&self.sha256)) {
                return Some(OpenError::HashMismatch {
                    path: self.dec.path.clone(),
                });
            }
        }
        None
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
        feed_part(&mut sink, i, &payload.join(&part.ct_name), progress)?;
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
