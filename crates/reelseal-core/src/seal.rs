//! Sealing: encrypt film files and build the release's torrent in one streaming pass.
//!
//! Two threads share the work so the film is read once and memory stays flat: the
//! calling thread reads, encrypts and SHA-256-hashes the ciphertext in ~1 MiB blocks; a
//! second thread writes each block and feeds it to the SHA-1 piece hasher. A bounded
//! channel (4 blocks) between them keeps memory constant whatever the film's size.
//!
//! [`seal_into`] fills a directory the caller created; making that directory appear
//! atomically (temp name + rename) is the caller's job.

use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, Receiver, SyncSender};

use sha2::{Digest, Sha256};

use crate::card::{Card, CardFile, SignedCard};
use crate::durable::DurableFile;
use crate::keys::PublisherSecret;
use crate::keyset::{KeySet, MAIN_KEY};
use crate::manifest::{self, Manifest, ManifestFile, MANIFEST_NAME};
use crate::stream::{self, FileCipher, CHUNK_PLAIN};
use crate::torrent::{self, Info, Metainfo, PieceHasher};
use crate::{Error, ReleaseId, Result, FORMAT_VERSION};

/// Where a release directory keeps the torrent's content: a sub-directory named like the
/// torrent, so that any BitTorrent client given the release directory as its download
/// folder finds the files where it expects them.
pub fn payload_dir(release_dir: &Path, torrent_name: &str) -> PathBuf {
    release_dir.join(torrent_name)
}
/// The torrent file in a release directory.
pub const TORRENT_FILE: &str = "release.torrent";
/// The signed card in a release directory.
pub const CARD_FILE: &str = "card.rscard";

const BLOCK_CHUNKS: usize = 16;

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
    fn open(&self) -> Result<Box<dyn Read>> {
        let f = File::open(self.path()).map_err(|e| Error::io(self.path(), e))?;
        Ok(match self {
            Source::File(_) => Box::new(f),
            Source::Sealed {
                key,
                nonce,
                release,
                path,
            } => {
                let cipher = FileCipher::new(key, nonce, release, stream::Purpose::Payload);
                Box::new(stream::StreamReader::new(f, cipher).map_err(|e| Error::io(path, e))?)
            }
        })
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

/// Expand files and directories into a sorted list of inputs. A directory's files keep
/// their paths below the directory's own name (`extras/subs/en.srt`).
pub fn collect_inputs(paths: &[PathBuf]) -> Result<Vec<Input>> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| Error::io(p, e))?;
        let base = p
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
            walk(p, vec![base], &mut out)?;
        } else {
            out.push(Input {
                source: Source::File(p.clone()),
                rel: vec![base],
                size: meta.len(),
                key_id: MAIN_KEY,
            });
        }
    }
    let mut seen = std::collections::HashSet::new();
    for i in &out {
        for c in &i.rel {
            manifest::check_component(c)?;
        }
        if !seen.insert(i.rel.clone()) {
            return Err(Error::malformed(
                "inputs",
                format!("two inputs would both be called {}", i.rel.join("/")),
            ));
        }
    }
    if out.is_empty() {
        return Err(Error::malformed(
            "inputs",
            "no files to seal (empty directories?)",
        ));
    }
    Ok(out)
}

fn walk(dir: &Path, prefix: Vec<String>, out: &mut Vec<Input>) -> Result<()> {
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
        let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
        let mut rel = prefix.clone();
        rel.push(name);
        if meta.is_dir() {
            walk(&path, rel, out)?;
        } else if meta.is_file() {
            out.push(Input {
                source: Source::File(path),
                rel,
                size: meta.len(),
                key_id: MAIN_KEY,
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

/// What flows down the pipeline, in order.
enum Msg {
    /// Start a new ciphertext file.
    Open(PathBuf),
    /// Ciphertext bytes of the current file.
    Data(Vec<u8>),
    /// End of the current file; `pad` zero bytes follow it in the torrent.
    End { pad: u64 },
}

/// Stage 2: SHA-1 piece hashes over the whole torrent and SHA-256 per file; passes every
/// message on to the writer unchanged.
fn hash_stage(rx: Receiver<Msg>, tx: SyncSender<Msg>, piece: u64) -> (Vec<u8>, Vec<[u8; 32]>) {
    let mut pieces = PieceHasher::new(piece);
    let mut sha = Sha256::new();
    let mut digests = Vec::new();
    for m in rx {
        match &m {
            Msg::Open(_) => sha = Sha256::new(),
            Msg::Data(b) => {
                pieces.update(b);
                sha.update(b);
            }
            Msg::End { pad } => {
                pieces.zeros(*pad);
                digests.push(std::mem::take(&mut sha).finalize().into());
            }
        }
        if tx.send(m).is_err() {
            break; // the writer failed; its error is reported
        }
    }
    (pieces.finish(), digests)
}

/// Stage 3: write files (flushed to disk behind the writer as they grow).
fn write_stage(rx: Receiver<Msg>, recycle: SyncSender<Vec<u8>>) -> Result<()> {
    let mut cur: Option<DurableFile> = None;
    for m in rx {
        match m {
            Msg::Open(path) => cur = Some(DurableFile::create(&path)?),
            Msg::Data(b) => {
                cur.as_mut().expect("Open comes first").write_all(&b)?;
                let _ = recycle.try_send(b);
            }
            Msg::End { .. } => cur.take().expect("Open comes first").finish()?,
        }
    }
    Ok(())
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

    // Three stages on bounded channels: this thread reads and encrypts, one thread hashes,
    // one writes. Memory is a handful of 1 MiB blocks whatever the film's size.
    let (hash_tx, hash_rx) = sync_channel::<Msg>(4);
    let (write_tx, write_rx) = sync_channel::<Msg>(4);
    let (recycle_tx, recycle_rx) = sync_channel::<Vec<u8>>(8);
    let hasher = std::thread::Builder::new()
        .name("reelseal-hash".into())
        .spawn(move || hash_stage(hash_rx, write_tx, piece))
        .map_err(|e| Error::io(dir, e))?;
    let writer = std::thread::Builder::new()
        .name("reelseal-write".into())
        .spawn(move || write_stage(write_rx, recycle_tx))
        .map_err(|e| Error::io(dir, e))?;

    let mut ct_lens = Vec::with_capacity(sizes.len());
    let result = (|| -> Result<()> {
        let n = inputs.len();
        let send = |m: Msg| hash_tx.send(m).is_ok();
        // The manifest (small, already encrypted) first.
        let mut end = manifest_ct.len() as u64;
        let pad = pad_if_more(end, piece, true);
        end += pad;
        if !(send(Msg::Open(payload.join(MANIFEST_NAME)))
            && send(Msg::Data(manifest_ct.clone()))
            && send(Msg::End { pad }))
        {
            return Ok(());
        }
        ct_lens.push(manifest_ct.len() as u64);
        for (i, (inp, mf)) in inputs.iter().zip(&manifest.files).enumerate() {
            if !send(Msg::Open(payload.join(&mf.ct_name))) {
                return Ok(());
            }
            let cipher = mf.cipher(&keys, &release)?;
            let Some(len) = encrypt_file(
                &inp.source,
                inp.size,
                cipher,
                &hash_tx,
                &recycle_rx,
                progress,
            )?
            else {
                return Ok(());
            };
            end += len;
            let pad = pad_if_more(end, piece, i + 1 < n);
            end += pad;
            if !send(Msg::End { pad }) {
                return Ok(());
            }
            ct_lens.push(len);
        }
        Ok(())
    })();
    drop(hash_tx);
    let hashed = hasher
        .join()
        .map_err(|_| Error::io(dir, std::io::Error::other("hash thread panicked")))?;
    let written = writer
        .join()
        .map_err(|_| Error::io(dir, std::io::Error::other("writer thread panicked")))?;
    // A writer failure (disk full…) explains any reader-side symptom, so it wins.
    written?;
    result?;
    let (pieces, digests) = hashed;
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
    };
    meta.check()?;
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

fn pad_if_more(end: u64, piece: u64, more: bool) -> u64 {
    if more {
        torrent::padding_after(end, piece)
    } else {
        0
    }
}

/// Read, encrypt and send one file. Plaintext is read straight into the outgoing block and
/// sealed in place. Returns the ciphertext length, or `None` if the pipeline stopped.
fn encrypt_file(
    source: &Source,
    expected: u64,
    cipher: FileCipher,
    tx: &SyncSender<Msg>,
    recycle: &Receiver<Vec<u8>>,
    progress: &mut dyn FnMut(u64),
) -> Result<Option<u64>> {
    let src = source.path();
    let mut f = source.open()?;
    // The size listed up front fixes which chunk is last; a file that changes meanwhile is
    // caught below and refused.
    let chunks = expected.div_ceil(CHUNK_PLAIN as u64).max(1);
    let changed = |how: String| {
        Error::io(
            src,
            std::io::Error::other(format!(
                "the file changed while sealing ({how}); seal again once it is complete"
            )),
        )
    };
    let mut remaining = expected;
    let mut ct_total = 0u64;
    let mut index = 0u64;
    while index < chunks {
        let mut block = recycle
            .try_recv()
            .unwrap_or_else(|_| Vec::with_capacity(stream::CHUNK_CT * BLOCK_CHUNKS));
        block.clear();
        let mut plain_in_block = 0u64;
        for _ in 0..BLOCK_CHUNKS {
            if index == chunks {
                break;
            }
            let take = remaining.min(CHUNK_PLAIN as u64) as usize;
            let start = block.len();
            block.resize(start + take, 0);
            if read_full(&mut *f, &mut block[start..], src)? != take {
                return Err(changed(format!(
                    "{expected} bytes when listed, fewer when read"
                )));
            }
            let tag = cipher.seal_in_place(index, index + 1 == chunks, &mut block[start..]);
            block.extend_from_slice(&tag);
            remaining -= take as u64;
            plain_in_block += take as u64;
            index += 1;
        }
        progress(plain_in_block);
        ct_total += block.len() as u64;
        if tx.send(Msg::Data(block)).is_err() {
            return Ok(None);
        }
    }
    if read_full(&mut *f, &mut [0u8; 1], src)? != 0 {
        return Err(changed(format!(
            "it grew beyond the {expected} bytes listed"
        )));
    }
    Ok(Some(ct_total))
}

fn read_full(f: &mut dyn Read, buf: &mut [u8], path: &Path) -> Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match f.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Error::io(path, e)),
        }
    }
    Ok(n)
}

fn write_synced(path: &Path, data: &[u8]) -> Result<()> {
    let mut f = File::create(path).map_err(|e| Error::io(path, e))?;
    f.write_all(data).map_err(|e| Error::io(path, e))?;
    f.sync_all().map_err(|e| Error::io(path, e))
}
