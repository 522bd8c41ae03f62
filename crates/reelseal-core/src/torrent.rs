//! The standard BitTorrent v1 metainfo of a release, built with `serde_bencode`.
//!
//! Pieces are a power of two ≥ 64 KiB so they hold whole ciphertext chunks, and BEP 47
//! padding files (`attr` = `p`, path `.pad/<length>`) make every file start on a piece
//! boundary. Project data sits outside the info dict under `reelseal` (format version and
//! release id only: the title and publisher stay out of the public torrent), where stock
//! clients ignore it and the infohash does not cover it.

use serde::{Deserialize, Serialize};
use sha1::{Digest, Sha1};

use crate::stream::CHUNK_CT;
use crate::{canonical, Error, Result};

/// Smallest allowed piece length (one chunk).
pub const MIN_PIECE: u64 = CHUNK_CT as u64;
/// Largest allowed piece length.
pub const MAX_PIECE: u64 = 64 << 20;

/// One entry of the info dict's file list.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InfoFile {
    /// `p` for a BEP 47 padding file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attr: Option<String>,
    /// Length in bytes.
    pub length: u64,
    /// Path components.
    pub path: Vec<String>,
}

impl InfoFile {
    /// Is this a padding file?
    pub fn is_padding(&self) -> bool {
        self.attr.as_deref().is_some_and(|a| a.contains('p'))
    }
}

/// The info dict (multi-file form).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Info {
    /// Files, padding included.
    pub files: Vec<InfoFile>,
    /// Top-level folder name (opaque).
    pub name: String,
    /// Piece length.
    #[serde(rename = "piece length")]
    pub piece_length: u64,
    /// Concatenated SHA-1 piece hashes.
    #[serde(with = "serde_bytes")]
    pub pieces: Vec<u8>,
    /// BEP 27 private flag, only present when set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private: Option<u8>,
}

/// A whole `.torrent`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Metainfo {
    /// First tracker.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub announce: Option<String>,
    /// BEP 12 tiers.
    #[serde(
        default,
        rename = "announce-list",
        skip_serializing_if = "Option::is_none"
    )]
    pub announce_list: Option<Vec<Vec<String>>>,
    /// Free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Program that made it.
    #[serde(
        default,
        rename = "created by",
        skip_serializing_if = "Option::is_none"
    )]
    pub created_by: Option<String>,
    /// Unix time.
    #[serde(
        default,
        rename = "creation date",
        skip_serializing_if = "Option::is_none"
    )]
    pub creation_date: Option<i64>,
    /// The info dict.
    pub info: Info,
    /// reelseal's own data (outside the info dict).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reelseal: Option<ProjectData>,
    /// BEP 19 web seeds (base URLs ending in `/`; a client appends `<name>/<path>`).
    #[serde(default, rename = "url-list", skip_serializing_if = "Option::is_none")]
    pub url_list: Option<Vec<String>>,
}

/// What reelseal adds outside the info dict: enough to recognise a release, nothing that
/// names the film or the filmmaker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProjectData {
    /// Release id (random bytes).
    #[serde(with = "serde_bytes")]
    pub release: Vec<u8>,
    /// Format version.
    pub v: u64,
}

/// One file of a torrent as an engine lists it: index, `/`-joined path below the torrent's
/// top folder, length, and whether it is a BEP 47 padding file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TorrentFile {
    /// Index in the torrent's file list (padding files included).
    pub index: usize,
    /// Path components joined with `/`.
    pub path: String,
    /// Length in bytes.
    pub len: u64,
    /// A BEP 47 padding file.
    pub padding: bool,
}

impl TorrentFile {
    /// The last path component (the opaque ciphertext name).
    pub fn name(&self) -> &str {
        self.path.rsplit('/').next().unwrap_or(&self.path)
    }
}

/// Pick a piece length: about 1,000 pieces, between 256 KiB and 2 MiB (larger pieces make
/// seeking slower when streaming).
pub fn auto_piece_length(total: u64) -> u64 {
    (total / 1000).next_power_of_two().clamp(256 << 10, 2 << 20)
}

/// Check a user-chosen piece length.
pub fn check_piece_length(p: u64) -> Result<()> {
    if !p.is_power_of_two() || !(MIN_PIECE..=MAX_PIECE).contains(&p) {
        return Err(Error::malformed(
            "piece length",
            format!("{p} must be a power of two from 64 KiB to 64 MiB (e.g. 1048576)"),
        ));
    }
    Ok(())
}

/// Bytes of padding after a file ending at `end` so the next file starts on a piece boundary.
pub fn padding_after(end: u64, piece: u64) -> u64 {
    (piece - end % piece) % piece
}

/// The info-dict file list for real files `(name, length)` in order, with padding files.
pub fn layout(files: &[(String, u64)], piece: u64) -> Vec<InfoFile> {
    let mut out = Vec::with_capacity(files.len() * 2);
    let mut end = 0u64;
    for (i, (name, len)) in files.iter().enumerate() {
        out.push(InfoFile {
            attr: None,
            length: *len,
            path: vec![name.clone()],
        });
        end += len;
        let pad = padding_after(end, piece);
        if pad > 0 && i + 1 < files.len() {
            out.push(InfoFile {
                attr: Some("p".into()),
                length: pad,
                path: vec![".pad".into(), pad.to_string()],
            });
            end += pad;
        }
    }
    out
}

/// Incremental SHA-1 piece hasher over the concatenated files.
pub struct PieceHasher {
    piece: u64,
    filled: u64,
    cur: Sha1,
    pieces: Vec<u8>,
}

impl PieceHasher {
    /// Start hashing with the given piece length.
    pub fn new(piece: u64) -> Self {
        PieceHasher {
            piece,
            filled: 0,
            cur: Sha1::new(),
            pieces: Vec::new(),
        }
    }
    /// Feed content bytes.
    pub fn update(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            let take = ((self.piece - self.filled) as usize).min(data.len());
            self.cur.update(&data[..take]);
            self.filled += take as u64;
            data = &data[take..];
            if self.filled == self.piece {
                self.pieces.extend_from_slice(&self.cur.finalize_reset());
                self.filled = 0;
            }
        }
    }
    /// Feed `n` zero bytes (a padding file).
    pub fn zeros(&mut self, mut n: u64) {
        let z = [0u8; 8192];
        while n > 0 {
            let k = n.min(z.len() as u64) as usize;
            self.update(&z[..k]);
            n -= k as u64;
        }
    }
    /// The concatenated piece hashes (the last piece may be short, never empty).
    pub fn finish(mut self) -> Vec<u8> {
        if self.filled > 0 {
            self.pieces.extend_from_slice(&self.cur.finalize());
        }
        self.pieces
    }
}

impl Metainfo {
    /// Canonical bencode.
    pub fn to_bytes(&self) -> Vec<u8> {
        canonical::encode(self)
    }
    /// The v1 infohash: SHA-1 of the bencoded info dict.
    pub fn infohash(&self) -> [u8; 20] {
        Sha1::digest(canonical::encode(&self.info)).into()
    }
    /// Rebuild a release's `.torrent` from its info dict as peers sent it (BEP 9), the
    /// trackers and the release id (both from the signed card): what a viewer who fetched
    /// by magnet writes next to the ciphertext so that any client can seed it. The info
    /// dict must be canonical, so the result has the same infohash.
    pub fn from_info(info: &[u8], trackers: &[String], release: &[u8]) -> Result<Self> {
        let info: Info = canonical::decode(info, "info dict")?;
        let m = Metainfo {
            announce: trackers.first().cloned(),
            announce_list: (trackers.len() > 1)
                .then(|| trackers.iter().map(|t| vec![t.clone()]).collect()),
            comment: None,
            created_by: None,
            creation_date: None,
            info,
            reelseal: Some(ProjectData {
                release: release.to_vec(),
                v: crate::FORMAT_VERSION,
            }),
            url_list: None,
        };
        m.check()?;
        Ok(m)
    }
    /// Parse a reelseal torrent (canonical encoding only) and check its geometry.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let m: Metainfo = canonical::decode(b, "torrent")?;
        m.check()?;
        Ok(m)
    }
    /// Check what BitTorrent engines assume: piece geometry, hash count, safe paths.
    pub fn check(&self) -> Result<()> {
        let i = &self.info;
        check_piece_length(i.piece_length)?;
        crate::manifest::check_component(&i.name)?;
        if i.files.is_empty() {
            return Err(Error::malformed("torrent", "no files"));
        }
        let mut total = 0u64;
        for f in &i.files {
            if f.path.is_empty() {
                return Err(Error::malformed("torrent", "a file has an empty path"));
            }
            for c in &f.path {
                crate::manifest::check_component(c)?;
            }
            total = total
                .checked_add(f.length)
                .ok_or_else(|| Error::malformed("torrent", "total length overflows"))?;
        }
        for w in self.url_list.iter().flatten() {
            if crate::card::web_seed_url(w)? != *w {
                return Err(Error::malformed(
                    "torrent",
                    format!("web seed {w:?} does not end in /"),
                ));
            }
        }
        let want = total.div_ceil(i.piece_length) * 20;
        if i.pieces.len() as u64 != want {
            return Err(Error::malformed(
                "torrent",
                format!("{} bytes of piece hashes, expected {want}", i.pieces.len()),
            ));
        }
        Ok(())
    }
    /// Every file, padding included, as [`TorrentFile`]s.
    pub fn files(&self) -> Vec<TorrentFile> {
        self.info
            .files
            .iter()
            .enumerate()
            .map(|(index, f)| TorrentFile {
                index,
                path: f.path.join("/"),
                len: f.length,
                padding: f.is_padding(),
            })
            .collect()
    }
    /// The real (non-padding) files with their byte offsets in the torrent.
    pub fn real_files(&self) -> Vec<(usize, u64, &InfoFile)> {
        let mut off = 0;
        let mut v = Vec::new();
        for (idx, f) in self.info.files.iter().enumerate() {
            if !f.is_padding() {
                v.push((idx, off, f));
            }
            off += f.length;
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padding_aligns_every_file() {
        let l = layout(
            &[("a".into(), 10), ("b".into(), 65536), ("c".into(), 5)],
            65536,
        );
        let mut off = 0;
        for f in &l {
            if !f.is_padding() {
                assert_eq!(off % 65536, 0, "{f:?}");
            }
            off += f.length;
        }
        assert_eq!(l.len(), 4); // a, pad, b (aligned end: no pad), c
    }

    #[test]
    fn exact_multiple_has_no_extra_hash() {
        let mut h = PieceHasher::new(65536);
        h.zeros(2 * 65536);
        assert_eq!(h.finish().len(), 40);
    }
}
