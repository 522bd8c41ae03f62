//! Sealing: encrypt film files and build the release's torrent in one streaming pass.
//!
//! Each file is cut into blocks of 32 chunks (2 MiB of ciphertext). Blocks are independent
//! (a chunk's nonce is its index), so they are sealed on every core: a worker reads a
//! block's plaintext straight into place (one `preadv`), encrypts it in place, hashes the
//! torrent pieces it holds (files start on piece boundaries, so pieces of up to 2 MiB never
//! straddle blocks) and writes it at its offset. The calling thread takes the blocks back in
//! order for what is sequential — each file's SHA-256 for the card, longer pieces, progress
//! — and a helper thread fsyncs each file once it is complete. Memory is a fixed handful of
//! blocks whatever the film's size.
//!
//! [`seal_into`] fills a directory the caller created; making that directory appear
//! atomically (temp name + rename) is the caller's job.

use std::fs::File;
use std::io::{IoSliceMut, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use sha1::Sha1;
use sha2::{Digest, Sha256};

use crate::card::{Card, CardFile, SignedCard};
use crate::direct::{AlignedBuf, OutFile};
use crate::keys::PublisherSecret;
use crate::keyset::{KeySet, MAIN_KEY};
use crate::manifest::{self, Manifest, ManifestFile, MANIFEST_NAME};
use crate::stream::{self, FileCipher, CHUNK_PLAIN, TAG_LEN};
use crate::torrent::{self, Info, Metainfo, PieceHasher};
use crate::{Error, ReleaseId, Result, FORMAT_VERSION};

/// Where a release directory keeps the torrent's content: a sub-directory named like the
/// torrent, so that any BitTorrent client given the release directory as its download
/// folder finds the files where it expects them.
pub fn payload_dir(release_dir: &Path, torrent_name: &str) -> PathBuf {
    release_dir.join(torrent_name)
}
/// Write the zero-filled BEP 47 padding files `info` declares (`.pad/<N>`) under
/// `payload`, the torrent's top folder. Clients that implement BEP 47 (libtorrent,
/// librqbit) never read them; aria2, Transmission, rtorrent and WebTorrent treat them as
/// real files and seed a folder only when they are there. The files are sparse (no disk
/// blocks on file systems that support holes). Paths are the torrent's own, already
/// checked safe by [`Metainfo::check`]. Returns how many distinct files were written.
pub fn write_padding_files(info: &Info, payload: &Path) -> Result<usize> {
    let mut written = std::collections::BTreeSet::new();
    for f in info.files.iter().filter(|f| f.is_padding()) {
        let rel: PathBuf = f.path.iter().collect();
        if !written.insert(rel.clone()) {
            continue; // `.pad/N` repeats for every pad of the same length
        }
        let path = payload.join(&rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        }
        let file = File::create(&path).map_err(|e| Error::io(&path, e))?;
        file.set_len(f.length).map_err(|e| Error::io(&path, e))?;
    }
    Ok(written.len())
}

/// The torrent file in a release directory.
pub const TORRENT_FILE: &str = "release.torrent";
/// The signed card in a release directory.
pub const CARD_FILE: &str = "card.rscard";

/// Where an input's plaintext comes from.
#[derive(Clone)]
pub enum Source {
    /// A plaintext file.
    File(PathBuf),
    /// A file of an earlier release, decrypted on the fly (rotation re-seals a release
    /// without needing the original film).
    Sealed {
        /// Ciphertext file.
        path: PathBuf,
        /// The key-set key it is sealed under.
        key: zeroize::Zeroizing<[u8; 32]>,
        /// Its file nonce.
        nonce: [u8; stream::FILE_NONCE_LEN],
        /// Its release.
        release: ReleaseId,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "File({})", p.display()),
            Source::Sealed { path, .. } => write!(f, "Sealed({}, key redacted)", path.display()),
        }
    }
}

impl Source {
    /// The file read.
    pub fn path(&self) -> &Path {
        match self {
            Source::File(p) | Source::Sealed { path: p, .. } => p,
        }
    }
}

/// One input file and the relative path it will have for the viewer.
#[derive(Clone, Debug)]
pub struct Input {
    /// Where to read it.
    pub source: Source,
    /// Path components the viewer will see.
    pub rel: Vec<String>,
    /// Size when listed.
    pub size: u64,
    /// Key-set key to seal it under ([`MAIN_KEY`] unless it is a variant segment).
    pub key_id: u32,
}

/// A track to assemble from some of the inputs (variant releases).
#[derive(Clone, Debug)]
pub struct TrackPlan {
    /// Output path the viewer gets.
    pub path: Vec<String>,
    /// Its media type.
    pub media_type: String,
    /// Segments in order: duration in ms and the indices into the inputs of its
    /// alternatives (one, or two: variant A then B).
    pub segments: Vec<(u64, Vec<usize>)>,
}

/// A file in a folder being sealed that was left out, and why.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Skipped {
    /// The file.
    pub path: PathBuf,
    /// What it is ("a named pipe (FIFO)", "a socket", "a device file", "hidden", "an
    /// earlier release").
    pub kind: &'static str,
}

/// The inputs found, and the files of folders that were left out.
#[derive(Clone, Debug, Default)]
pub struct Collected {
    /// Regular files to seal, sorted.
    pub inputs: Vec<Input>,
    /// Named pipes, sockets and devices found in folders: never read.
    pub skipped: Vec<Skipped>,
}

/// Expand files and directories into a sorted list of inputs. A directory's files keep
/// their paths below the directory's own name (`extras/subs/en.srt`).
///
/// In a folder, hidden files and folders (`.git`, `.DS_Store`, a seal in progress) and
/// earlier releases (`*.reelseal`, or any folder holding a card — `seal .` thus skips its
/// own output) are skipped and listed; given by name, a file is sealed whatever it is called.
///
/// Only regular files are sealed. A named pipe, socket or device given as an input is
/// refused; one found in a folder is skipped and listed in [`Collected::skipped`] (never
/// opened, so a pipe cannot hang the seal). Symbolic links — given or found — are refused
/// unless `follow_links`, when what they point at is sealed under the link's name.
pub fn collect_inputs(paths: &[PathBuf], follow_links: bool) -> Result<Collected> {
    let mut c = Collected::default();
    for p in paths {
        let meta = stat(p, follow_links)?;
        // `seal .` (or `..`): the folder's own name, as for any other folder.
        let named = match p.file_name() {
            Some(_) => p.clone(),
            None => p.canonicalize().map_err(|e| Error::io(p, e))?,
        };
        let base = named
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| {
                Error::malformed(
                    "input path",
                    format!("{} has no usable UTF-8 file name", p.display()),
                )
            })?
            .to_string();
        if meta.is_dir() {
            walk(p, vec![base], follow_links, &mut c)?;
        } else if meta.is_file() {
            c.inputs.push(Input {
                source: Source::File(p.clone()),
                rel: vec![base],
                size: meta.len(),
                key_id: MAIN_KEY,
            });
        } else {
            return Err(Error::io(
                p,
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!(
                        "it is {}, not a film file or folder: reelseal seals regular files only and did not read it",
                        crate::durable::kind_of(&meta.file_type())
                    ),
                ),
            ));
        }
    }
    let mut seen = std::collections::HashSet::new();
    for i in &c.inputs {
        for part in &i.rel {
            manifest::check_component(part)?;
        }
        if !seen.insert(i.rel.clone()) {
            return Err(Error::malformed(
                "inputs",
                format!("two inputs would both be called {}", i.rel.join("/")),
            ));
        }
    }
    if c.inputs.is_empty() {
        return Err(Error::malformed(
            "inputs",
            "no files to seal (empty directories?)",
        ));
    }
    Ok(c)
}

/// The metadata of an input: a symbolic link is refused unless `follow`, then followed.
fn stat(path: &Path, follow: bool) -> Result<std::fs::Metadata> {
    let m = std::fs::symlink_metadata(path).map_err(|e| Error::io(path, e))?;
    if !m.file_type().is_symlink() {
        return Ok(m);
    }
    if !follow {
        return Err(Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "it is a symbolic link: reelseal does not follow links unless told to; seal what it points at, or pass --follow-symlinks",
            ),
        ));
    }
    std::fs::metadata(path).map_err(|e| Error::io(path, e))
}

fn walk(dir: &Path, prefix: Vec<String>, follow: bool, out: &mut Collected) -> Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .collect::<std::io::Result<_>>()
        .map_err(|e| Error::io(dir, e))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let name = e.file_name().into_string().map_err(|_| {
            Error::malformed(
                "input path",
                format!("{} is not valid UTF-8", path.display()),
            )
        })?;
        if name.starts_with('.') {
            out.skipped.push(Skipped {
                kind: "hidden",
                path,
            });
            continue;
        }
        if name.ends_with(".reelseal") || path.join(CARD_FILE).exists() {
            out.skipped.push(Skipped {
                kind: "an earlier release",
                path,
            });
            continue;
        }
        let meta = stat(&path, follow)?;
        let mut rel = prefix.clone();
        rel.push(name);
        if meta.is_dir() {
            walk(&path, rel, follow, out)?;
        } else if meta.is_file() {
            out.inputs.push(Input {
                source: Source::File(path),
                rel,
                size: meta.len(),
                key_id: MAIN_KEY,
            });
        } else {
            out.skipped.push(Skipped {
                kind: crate::durable::kind_of(&meta.file_type()),
                path,
            });
        }
    }
    Ok(())
}

/// Choices for one seal.
#[derive(Clone, Debug, Default)]
pub struct SealOptions {
    /// Title on the card.
    pub title: String,
    /// Tracker URLs (torrent announce list and card).
    pub trackers: Vec<String>,
    /// Piece length; `None` picks one from the size.
    pub piece_length: Option<u64>,
    /// Set the BEP 27 private flag.
    pub private: bool,
    /// Torrent name; default `reelseal-<first 12 hex of release id>`.
    pub public_name: Option<String>,
    /// Key server URL for the card.
    pub key_server: Option<String>,
    /// Release this one replaces.
    pub supersedes: Option<ReleaseId>,
    /// Creation time (Unix seconds).
    pub created: i64,
    /// Release id to use (random if `None`).
    pub release: Option<ReleaseId>,
    /// Web seed base URLs (BEP 19), already checked by [`crate::card::web_seed_url`]:
    /// the torrent's `url-list` and the card's `web_seeds`.
    pub web_seeds: Vec<String>,
}

/// What a seal produced.
pub struct Sealed {
    /// The new release id.
    pub release: ReleaseId,
    /// Its secret key set.
    pub keys: KeySet,
    /// The signed card.
    pub card: SignedCard,
    /// The torrent bytes (as written to `release.torrent`).
    pub torrent: Vec<u8>,
    /// The torrent's name.
    pub torrent_name: String,
    /// The decrypted manifest.
    pub manifest: Manifest,
}

/// Ciphertext chunks per block: a block (2 MiB of ciphertext) is the unit of parallel work,
/// of reading (one `preadv`) and of writing (one `pwrite`).
const BLOCK_CHUNKS: u64 = 32;
const BLOCK_CT: usize = BLOCK_CHUNKS as usize * stream::CHUNK_CT;

/// One payload file being sealed, shared by the workers sealing its blocks.
struct SealFile {
    src: File,
    src_path: PathBuf,
    /// For a file of an earlier release, its cipher: each chunk is decrypted in place and
    /// sealed again under the new key (the chunk layout is the same).
    resealed: Option<FileCipher>,
    dst: OutFile,
    cipher: FileCipher,
    plain_len: u64,
    chunks: u64,
    blocks: u64,
    /// Zero bytes that follow it in the torrent, up to the next piece boundary.
    pad: u64,
}

/// A block of one file, or the failure to open the next file (reported in order).
enum Job {
    Block { file: Arc<SealFile>, block: u64 },
    Failed(Option<Error>),
}

/// What a worker did with a block.
struct BlockDone {
    ct_len: usize,
    /// Bytes of it written; the rest (the file's unaligned end) is written in order.
    written: usize,
    plain: u64,
    /// SHA-1 of each piece the block holds (when pieces are no longer than a block).
    pieces: Vec<[u8; 20]>,
}

fn changed(path: &Path, how: String) -> Error {
    Error::io(
        path,
        std::io::Error::other(format!(
            "the file changed while sealing ({how}); seal again once it is complete"
        )),
    )
}

/// Open input `inp` and create its ciphertext file.
fn open_seal_file(
    inp: &Input,
    mf: &ManifestFile,
    keys: &KeySet,
    release: &ReleaseId,
    payload: &Path,
    pad: u64,
) -> Result<SealFile> {
    let cipher = mf.cipher(keys, release)?;
    let src_path = inp.source.path().to_path_buf();
    let src = crate::durable::open_regular(&src_path, true).map_err(|e| Error::io(&src_path, e))?;
    let resealed = match &inp.source {
        Source::File(_) => None,
        Source::Sealed {
            key,
            nonce,
            release,
            ..
        } => {
            let len = src.metadata().map_err(|e| Error::io(&src_path, e))?.len();
            let want = stream::ciphertext_len(inp.size);
            if len != want {
                return Err(changed(
                    &src_path,
                    format!("{want} bytes of ciphertext expected, {len} found"),
                ));
            }
            Some(FileCipher::new(
                key,
                nonce,
                release,
                stream::Purpose::Payload,
            ))
        }
    };
    let dst = OutFile::create(
        &payload.join(&mf.ct_name),
        stream::ciphertext_len(inp.size),
        BLOCK_CT as u64,
        PUBLIC_MODE,
    )?;
    // The size listed up front fixes which chunk is last; a file that changes meanwhile is
    // caught when its blocks are read and refused.
    let chunks = inp.size.div_ceil(CHUNK_PLAIN as u64).max(1);
    Ok(SealFile {
        src,
        src_path,
        resealed,
        dst,
        cipher,
        plain_len: inp.size,
        chunks,
        blocks: chunks.div_ceil(BLOCK_CHUNKS),
        pad,
    })
}

static ZEROS: [u8; 1 << 16] = [0; 1 << 16];

/// Read, encrypt, piece-hash and write one block of `f` (runs on a worker). Plaintext is
/// read straight into its place in the ciphertext block (one `preadv` with a slice per
/// chunk, leaving room for the tags) and sealed in place: no copies.
fn seal_block(
    f: &SealFile,
    block: u64,
    buf: &mut AlignedBuf,
    piece: Option<usize>,
) -> Result<BlockDone> {
    let c0 = block * BLOCK_CHUNKS;
    let c1 = (c0 + BLOCK_CHUNKS).min(f.chunks);
    let plain_off = c0 * CHUNK_PLAIN as u64;
    let plain = (f.plain_len - plain_off).min((c1 - c0) * CHUNK_PLAIN as u64);
    let ct_len = plain as usize + (c1 - c0) as usize * TAG_LEN;
    let data = &mut buf.get()[..ct_len];
    let last_block = c1 == f.chunks;
    match &f.resealed {
        None => {
            let mut slots: Vec<IoSliceMut<'_>> = data
                .chunks_mut(stream::CHUNK_CT)
                .map(|s| {
                    let n = s.len() - TAG_LEN;
                    IoSliceMut::new(&mut s[..n])
                })
                .collect();
            let got =
                pread_full(&f.src, &mut slots, plain_off).map_err(|e| Error::io(&f.src_path, e))?;
            if got != plain {
                return Err(changed(
                    &f.src_path,
                    format!("{} bytes when listed, fewer when read", f.plain_len),
                ));
            }
            if last_block && read_one(&f.src, f.plain_len, &f.src_path)? {
                return Err(changed(
                    &f.src_path,
                    format!("it grew beyond the {} bytes listed", f.plain_len),
                ));
            }
        }
        Some(old) => {
            let off = c0 * stream::CHUNK_CT as u64;
            f.src.read_exact_at(data, off).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    changed(&f.src_path, "it is shorter than when listed".into())
                } else {
                    Error::io(&f.src_path, e)
                }
            })?;
            if last_block && read_one(&f.src, off + ct_len as u64, &f.src_path)? {
                return Err(changed(&f.src_path, "it grew".into()));
            }
            for (k, slot) in data.chunks_mut(stream::CHUNK_CT).enumerate() {
                let i = c0 + k as u64;
                old.open_in_place(i, i + 1 == f.chunks, slot)
                    .map_err(|e| Error::io(&f.src_path, e.into()))?;
            }
        }
    }
    for (k, slot) in data.chunks_mut(stream::CHUNK_CT).enumerate() {
        let i = c0 + k as u64;
        let (text, tag) = slot.split_at_mut(slot.len() - TAG_LEN);
        tag.copy_from_slice(&f.cipher.seal_in_place(i, i + 1 == f.chunks, text));
    }
    let mut pieces = Vec::new();
    if let Some(p) = piece {
        // Files start on piece boundaries and blocks hold whole pieces, so every piece
        // but a file's last is inside one block; the last is topped up with the padding.
        pieces.reserve(ct_len.div_ceil(p));
        for w in data.chunks(p) {
            let mut h = Sha1::new();
            h.update(w);
            if last_block && w.len() < p {
                let mut z = f.pad;
                while z > 0 {
                    let k = z.min(ZEROS.len() as u64) as usize;
                    h.update(&ZEROS[..k]);
                    z -= k as u64;
                }
            }
            pieces.push(h.finalize().into());
        }
    }
    let written = f
        .dst
        .write_block(data, c0 * stream::CHUNK_CT as u64, last_block)?;
    Ok(BlockDone {
        ct_len,
        written,
        plain,
        pieces,
    })
}

/// `preadv` until the slices are full or the file ends; returns the bytes read.
fn pread_full(f: &File, mut slots: &mut [IoSliceMut<'_>], mut off: u64) -> std::io::Result<u64> {
    let mut total = 0u64;
    while !slots.is_empty() {
        match rustix::io::preadv(f, slots, off) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                off += n as u64;
                IoSliceMut::advance_slices(&mut slots, n);
            }
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(total)
}

/// Is there a byte at `off`?
fn read_one(f: &File, off: u64, path: &Path) -> Result<bool> {
    loop {
        match f.read_at(&mut [0u8; 1], off) {
            Ok(n) => return Ok(n > 0),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
}

/// What the in-order part of the pipeline collects.
#[derive(Default)]
struct Hashed {
    pieces: Vec<u8>,
    digests: Vec<[u8; 32]>,
    ct_lens: Vec<u64>,
}

/// Seal every input into `payload`, in parallel blocks. Returns the piece hashes (after
/// `pieces`, the manifest's) and each file's SHA-256 and ciphertext length, in order.
#[allow(clippy::too_many_arguments)]
fn seal_payload(
    inputs: &[Input],
    files: &[ManifestFile],
    keys: &KeySet,
    release: &ReleaseId,
    payload: &Path,
    pads: &[u64],
    piece: u64,
    mut hashed: Hashed,
    progress: &mut dyn FnMut(u64),
) -> Result<Hashed> {
    let par_piece = (piece <= BLOCK_CT as u64).then_some(piece as usize);
    // Each file is fsynced by this thread as soon as all of it is written.
    let (sync_tx, sync_rx) = std::sync::mpsc::channel::<Arc<SealFile>>();
    let syncer = std::thread::Builder::new()
        .name("reelseal-sync".into())
        .spawn(move || -> Result<()> {
            for f in sync_rx {
                f.dst.sync()?;
            }
            Ok(())
        })
        .map_err(|e| Error::io(payload, e))?;

    let mut next_input = 0usize;
    let mut cur: Option<(Arc<SealFile>, u64)> = None;
    let mut failed = false;
    let next_job = |_: &mut AlignedBuf| -> Option<Job> {
        loop {
            if failed {
                return None;
            }
            if let Some((f, b)) = &mut cur {
                if *b < f.blocks {
                    *b += 1;
                    return Some(Job::Block {
                        file: f.clone(),
                        block: *b - 1,
                    });
                }
                cur = None;
            }
            let i = next_input;
            let (inp, mf) = (inputs.get(i)?, files.get(i)?);
            next_input += 1;
            match open_seal_file(inp, mf, keys, release, payload, pads[i]) {
                Ok(f) => cur = Some((Arc::new(f), 0)),
                Err(e) => {
                    failed = true;
                    return Some(Job::Failed(Some(e)));
                }
            }
        }
    };
    let work = |job: &mut Job, buf: &mut AlignedBuf| match job {
        Job::Block { file, block } => seal_block(file, *block, buf, par_piece),
        Job::Failed(e) => Err(e.take().expect("a failed job runs once")),
    };
    let mut sha = Sha256::new();
    let mut big = PieceHasher::new(piece);
    let consume = |job: Job, r: Result<BlockDone>, buf: &mut AlignedBuf| -> Result<()> {
        let done = r?;
        let Job::Block { file, block } = job else {
            unreachable!("a failed job returns its error")
        };
        let data = &buf.get()[..done.ct_len];
        if done.written < data.len() {
            // The file's end, after all its blocks.
            let off = block * BLOCK_CT as u64 + done.written as u64;
            file.dst.write_tail(&data[done.written..], off)?;
        }
        sha.update(data);
        if par_piece.is_some() {
            for p in &done.pieces {
                hashed.pieces.extend_from_slice(p);
            }
        } else {
            big.update(data);
        }
        progress(done.plain);
        if block + 1 == file.blocks {
            hashed
                .digests
                .push(std::mem::take(&mut sha).finalize().into());
            hashed.ct_lens.push(stream::ciphertext_len(file.plain_len));
            if par_piece.is_none() {
                big.zeros(file.pad);
                let h = std::mem::replace(&mut big, PieceHasher::new(piece));
                hashed.pieces.extend_from_slice(&h.finish());
            }
            let _ = sync_tx.send(file); // a sync failure is reported below
        }
        Ok(())
    };
    let workers = crate::par::workers();
    let buffers = (0..crate::par::buffers(workers))
        .map(|_| AlignedBuf::new(BLOCK_CT))
        .collect();
    let sealed = crate::par::run_ordered(workers, buffers, next_job, work, consume);
    drop(sync_tx);
    let synced = syncer
        .join()
        .map_err(|_| Error::io(payload, std::io::Error::other("sync thread panicked")))?;
    sealed?;
    synced?;
    Ok(hashed)
}

/// Seal `inputs` into the (existing, empty) directory `dir`. `progress` is called with the
/// number of plaintext bytes read since the last call.
pub fn seal_into(
    dir: &Path,
    inputs: &[Input],
    tracks: &[TrackPlan],
    opts: &SealOptions,
    publisher: &PublisherSecret,
    progress: &mut dyn FnMut(u64),
) -> Result<Sealed> {
    let release = opts.release.unwrap_or_else(ReleaseId::random);
    let mut keys = KeySet::generate();
    for inp in inputs {
        if keys.get(inp.key_id).is_err() {
            keys.insert(inp.key_id, crate::random_array());
        }
    }
    let torrent_name = opts
        .public_name
        .clone()
        .unwrap_or_else(|| format!("reelseal-{}", &release.to_hex()[..12]));
    manifest::check_component(&torrent_name)?;
    if [TORRENT_FILE, CARD_FILE].contains(&torrent_name.as_str()) || torrent_name.starts_with('.') {
        return Err(Error::malformed(
            "torrent name",
            format!("{torrent_name:?} is reserved; choose another --public-name"),
        ));
    }
    let payload = payload_dir(dir, &torrent_name);
    std::fs::create_dir_all(&payload).map_err(|e| Error::io(&payload, e))?;

    let files: Vec<ManifestFile> = inputs
        .iter()
        .enumerate()
        .map(|(i, inp)| ManifestFile {
            path: inp.rel.clone(),
            size: inp.size,
            media_type: manifest::media_type_for(inp.rel.last().map(String::as_str).unwrap_or(""))
                .to_string(),
            nonce: crate::random_array(),
            key_id: inp.key_id,
            ct_name: format!("f{i:03}.rsc"),
        })
        .collect();
    let ct_of = |i: &usize| {
        files
            .get(*i)
            .map(|f| f.ct_name.clone())
            .ok_or_else(|| Error::malformed("track", format!("segment input {i} does not exist")))
    };
    let tracks = tracks
        .iter()
        .map(|t| {
            Ok(manifest::Track {
                path: t.path.clone(),
                media_type: t.media_type.clone(),
                segments: t
                    .segments
                    .iter()
                    .map(|(ms, alts)| {
                        Ok(manifest::Segment {
                            duration_ms: *ms,
                            alts: alts.iter().map(ct_of).collect::<Result<_>>()?,
                        })
                    })
                    .collect::<Result<_>>()?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let manifest = Manifest {
        release,
        files,
        tracks,
    };
    // What the viewer will parse must parse: catches bad plans before any work.
    Manifest::from_bytes(&manifest.to_bytes())?;
    let manifest_ct = manifest.seal(&keys)?;

    // Torrent order: manifest, then payload files.
    let mut sizes: Vec<(String, u64)> = vec![(MANIFEST_NAME.to_string(), manifest_ct.len() as u64)];
    sizes.extend(
        manifest
            .files
            .iter()
            .map(|f| (f.ct_name.clone(), f.ct_len())),
    );
    let total: u64 = sizes.iter().map(|s| s.1).sum();
    let piece = match opts.piece_length {
        Some(p) => {
            torrent::check_piece_length(p)?;
            p
        }
        None => torrent::auto_piece_length(total),
    };

    // Torrent layout: every file but the last is padded to the next piece boundary.
    let mut end = manifest_ct.len() as u64;
    let mut pad_after = |len: u64, more: bool| {
        end += len;
        let pad = if more {
            torrent::padding_after(end, piece)
        } else {
            0
        };
        end += pad;
        pad
    };
    let manifest_pad = pad_after(0, !inputs.is_empty());
    let pads: Vec<u64> = manifest
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| pad_after(f.ct_len(), i + 1 < inputs.len()))
        .collect();

    // The manifest (small, already encrypted) first, then the payload in parallel blocks.
    write_synced(&payload.join(MANIFEST_NAME), &manifest_ct)?;
    let mut first = PieceHasher::new(piece);
    first.update(&manifest_ct);
    first.zeros(manifest_pad);
    let hashed = Hashed {
        pieces: first.finish(),
        digests: vec![Sha256::digest(&manifest_ct).into()],
        ct_lens: vec![manifest_ct.len() as u64],
    };
    let Hashed {
        pieces,
        digests,
        ct_lens,
    } = seal_payload(
        inputs,
        &manifest.files,
        &keys,
        &release,
        &payload,
        &pads,
        piece,
        hashed,
        progress,
    )?;
    let card_files: Vec<CardFile> = sizes
        .iter()
        .zip(&ct_lens)
        .zip(&digests)
        .map(|(((name, _), len), sha)| CardFile {
            len: *len,
            name: name.clone(),
            sha256: sha.to_vec(),
        })
        .collect();

    let meta = Metainfo {
        announce: opts.trackers.first().cloned(),
        announce_list: (opts.trackers.len() > 1)
            .then(|| opts.trackers.iter().map(|t| vec![t.clone()]).collect()),
        comment: None,
        created_by: Some(format!("reelseal {}", env!("CARGO_PKG_VERSION"))),
        creation_date: Some(opts.created),
        info: Info {
            files: torrent::layout(&sizes, piece),
            name: torrent_name.clone(),
            piece_length: piece,
            pieces,
            private: opts.private.then_some(1),
        },
        reelseal: Some(torrent::ProjectData {
            release: release.0.to_vec(),
            v: FORMAT_VERSION,
        }),
        url_list: (!opts.web_seeds.is_empty()).then(|| opts.web_seeds.clone()),
    };
    meta.check()?;
    write_padding_files(&meta.info, &payload)?;
    let card = Card {
        chunk: stream::CHUNK_CT as u64,
        created: opts.created,
        files: card_files,
        infohash: meta.infohash().to_vec(),
        key_server: opts.key_server.clone(),
        piece,
        publisher: publisher.public().to_bytes().to_vec(),
        release: release.0.to_vec(),
        supersedes: opts.supersedes.map(|r| r.0.to_vec()),
        title: opts.title.clone(),
        trackers: opts.trackers.clone(),
        v: FORMAT_VERSION,
        web_seeds: opts.web_seeds.clone(),
    }
    .sign(publisher)?;
    let torrent = meta.to_bytes();
    write_synced(&dir.join(TORRENT_FILE), &torrent)?;
    write_synced(&dir.join(CARD_FILE), card.as_bytes())?;
    Ok(Sealed {
        release,
        keys,
        card,
        torrent,
        torrent_name,
        manifest,
    })
}

/// Mode of a release's files: ciphertext, torrent and card are for anyone to seed.
const PUBLIC_MODE: u32 = 0o644;

/// Write a new file of the release (never an existing one, never through a link).
fn write_synced(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = crate::durable::create_new(path, PUBLIC_MODE)?;
    f.write_all(data).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}
