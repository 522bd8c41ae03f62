//! The encrypted manifest: real file names, sizes, media types and per-file nonces.
//!
//! On the wire (file `manifest.rsm` in the torrent) it is `file nonce (16 bytes) ‖ sealed
//! stream` of the canonical bencode below, under the main key with purpose `manifest`.
//! Ciphertext files have opaque names (`f000.rsc`, …), so the torrent reveals only sizes.
//!
//! A release with variant segments (for tracing) also lists *tracks*: one output file
//! (e.g. `film.ts`) made of segments in order, each segment one ciphertext file, or two
//! alternatives (variant A and B) under different keys. A viewer's key set holds the key
//! of exactly one alternative per segment, so each viewer assembles their own sequence.

use serde::{Deserialize, Serialize};

use crate::keyset::KeySet;
use crate::stream::{self, FileCipher, Purpose, FILE_NONCE_LEN};
use crate::{canonical, fixed, Error, ReleaseId, Result, FORMAT_VERSION};

/// Name of the manifest file inside the torrent.
pub const MANIFEST_NAME: &str = "manifest.rsm";

/// One film file as the viewer will see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestFile {
    /// Relative path components (no `..`, no empty parts, no separators inside a part).
    pub path: Vec<String>,
    /// Plaintext size in bytes.
    pub size: u64,
    /// Media type, e.g. `video/mp4`.
    pub media_type: String,
    /// Random per-file nonce (HKDF salt).
    pub nonce: [u8; FILE_NONCE_LEN],
    /// Key-set key this file is sealed under.
    pub key_id: u32,
    /// Opaque ciphertext file name in the torrent.
    pub ct_name: String,
}

impl ManifestFile {
    /// The path joined with `/`.
    pub fn display_path(&self) -> String {
        self.path.join("/")
    }
    /// The cipher for this file's payload.
    pub fn cipher(&self, keys: &KeySet, release: &ReleaseId) -> Result<FileCipher> {
        Ok(FileCipher::new(
            keys.get(self.key_id)?,
            &self.nonce,
            release,
            Purpose::Payload,
        ))
    }
    /// Ciphertext length implied by the plaintext size.
    pub fn ct_len(&self) -> u64 {
        stream::ciphertext_len(self.size)
    }
}

/// The decrypted manifest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Manifest {
    /// Release this manifest belongs to.
    pub release: ReleaseId,
    /// Files in torrent order.
    pub files: Vec<ManifestFile>,
    /// Tracks assembled from segment files (empty for releases without variants).
    pub tracks: Vec<Track>,
}

/// One output file assembled from segments.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Track {
    /// Output path components.
    pub path: Vec<String>,
    /// Media type of the assembled file.
    pub media_type: String,
    /// Segments in playback order.
    pub segments: Vec<Segment>,
}

/// One segment of a track.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// Duration in milliseconds (from the playlist).
    pub duration_ms: u64,
    /// Ciphertext names of the alternatives: one (shared by everyone) or two (variant A,
    /// variant B).
    pub alts: Vec<String>,
}

/// What a viewer gets out: a file of the release, or a track assembled from the segments
/// their keys open.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Output {
    /// Path components.
    pub path: Vec<String>,
    /// Media type.
    pub media_type: String,
    /// Ciphertext files, in order, whose plaintexts concatenate to this output.
    pub parts: Vec<ManifestFile>,
}

impl Output {
    /// The path joined with `/`.
    pub fn display_path(&self) -> String {
        self.path.join("/")
    }
    /// Plaintext size.
    pub fn size(&self) -> u64 {
        self.parts.iter().map(|p| p.size).sum()
    }
}

#[derive(Serialize, Deserialize)]
struct WireFile {
    ct: String,
    key: u32,
    #[serde(with = "serde_bytes")]
    nonce: Vec<u8>,
    path: Vec<String>,
    size: u64,
    #[serde(rename = "type")]
    media_type: String,
}

#[derive(Serialize, Deserialize)]
struct WireManifest {
    files: Vec<WireFile>,
    #[serde(with = "serde_bytes")]
    release: Vec<u8>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tracks: Vec<WireTrack>,
    v: u64,
}

#[derive(Serialize, Deserialize)]
struct WireTrack {
    path: Vec<String>,
    segments: Vec<WireSegment>,
    #[serde(rename = "type")]
    media_type: String,
}

#[derive(Serialize, Deserialize)]
struct WireSegment {
    alts: Vec<String>,
    dur: u64,
}

/// Check one relative path component: no traversal, no separators, no control bytes.
pub fn check_component(c: &str) -> Result<()> {
    if c.is_empty()
        || c == "."
        || c == ".."
        || c.contains(['/', '\\', '\0'])
        || c.chars().any(char::is_control)
    {
        return Err(Error::malformed(
            "file path",
            format!("unsafe path component {c:?}"),
        ));
    }
    Ok(())
}

/// Names Windows reserves (with or without an extension), compared case-insensitively.
const WINDOWS_RESERVED: [&str; 22] = [
    "CON", "PRN", "AUX", "NUL", "COM1", "COM2", "COM3", "COM4", "COM5", "COM6", "COM7", "COM8",
    "COM9", "LPT1", "LPT2", "LPT3", "LPT4", "LPT5", "LPT6", "LPT7", "LPT8", "LPT9",
];

/// The stricter rules a publisher's file names must meet when sealing, so that every viewer
/// can write them on any system (FORMAT.md §5): each component safe ([`check_component`]),
/// free of invisible format characters, in Unicode NFC, at most 255 bytes, not a Windows
/// reserved name and not ending in a dot or space; and no two paths equal when case is
/// ignored. Readers do not re-check these (they only refuse unsafe components).
pub fn check_seal_paths<'a>(paths: impl IntoIterator<Item = &'a [String]>) -> Result<()> {
    use unicode_normalization::UnicodeNormalization;
    let mut seen: std::collections::HashMap<String, String> = Default::default();
    for path in paths {
        let shown = path.join("/");
        let bad = |why: String| {
            Error::malformed(
                "file name",
                format!("{shown:?} {why}; rename it before sealing"),
            )
        };
        for c in path {
            check_component(c)?;
            if let Some(ch) = c.chars().find(|ch| crate::text::is_dangerous(*ch)) {
                return Err(bad(format!(
                    "contains the invisible character U+{:04X}",
                    ch as u32
                )));
            }
            if c.nfc().collect::<String>() != *c {
                return Err(bad(
                    "is not in Unicode NFC form (it would show the same as another name)".into(),
                ));
            }
            if c.len() > 255 {
                return Err(bad(format!(
                    "has a component of {} bytes (at most 255)",
                    c.len()
                )));
            }
            let stem = c.split('.').next().unwrap_or(c);
            if WINDOWS_RESERVED
                .iter()
                .any(|r| r.eq_ignore_ascii_case(stem))
            {
                return Err(bad(format!("uses {stem:?}, a name Windows reserves")));
            }
            if c.ends_with(['.', ' ']) {
                return Err(bad("ends with a dot or a space (Windows drops them)".into()));
            }
        }
        let folded = shown.to_lowercase();
        if let Some(other) = seen.insert(folded, shown.clone()) {
            return Err(bad(format!("and {other:?} differ only in case (one would overwrite the other on Windows and macOS)")));
        }
    }
    Ok(())
}

impl Manifest {
    /// Canonical plaintext encoding.
    pub fn to_bytes(&self) -> Vec<u8> {
        canonical::encode(&WireManifest {
            files: self
                .files
                .iter()
                .map(|f| WireFile {
                    ct: f.ct_name.clone(),
                    key: f.key_id,
                    nonce: f.nonce.to_vec(),
                    path: f.path.clone(),
                    size: f.size,
                    media_type: f.media_type.clone(),
                })
                .collect(),
            release: self.release.0.to_vec(),
            tracks: self
                .tracks
                .iter()
                .map(|t| WireTrack {
                    path: t.path.clone(),
                    segments: t
                        .segments
                        .iter()
                        .map(|s| WireSegment {
                            alts: s.alts.clone(),
                            dur: s.duration_ms,
                        })
                        .collect(),
                    media_type: t.media_type.clone(),
                })
                .collect(),
            v: FORMAT_VERSION,
        })
    }

    /// The file with ciphertext name `ct`.
    pub fn file(&self, ct: &str) -> Option<&ManifestFile> {
        self.files.iter().find(|f| f.ct_name == ct)
    }

    /// Does a track use this ciphertext file?
    pub fn is_segment(&self, ct: &str) -> bool {
        self.tracks
            .iter()
            .any(|t| t.segments.iter().any(|s| s.alts.iter().any(|a| a == ct)))
    }

    /// Traced segments, in order: (track index, segment index) of every segment with two
    /// alternatives. Position `t` of the tracing code is the `t`-th of these.
    pub fn traced_positions(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        for (ti, t) in self.tracks.iter().enumerate() {
            for (si, s) in t.segments.iter().enumerate() {
                if s.alts.len() == 2 {
                    out.push((ti, si));
                }
            }
        }
        out
    }

    /// What `keys` can write out: every file that is not a segment, then every track
    /// assembled from the first alternative of each segment whose key `keys` holds.
    /// Fails, naming the segment, if `keys` opens no alternative of some segment.
    pub fn outputs(&self, keys: &KeySet) -> Result<Vec<Output>> {
        let mut out: Vec<Output> = self
            .files
            .iter()
            .filter(|f| !self.is_segment(&f.ct_name))
            .map(|f| Output {
                path: f.path.clone(),
                media_type: f.media_type.clone(),
                parts: vec![f.clone()],
            })
            .collect();
        for t in &self.tracks {
            let mut parts = Vec::with_capacity(t.segments.len());
            for (i, s) in t.segments.iter().enumerate() {
                let f = s
                    .alts
                    .iter()
                    .filter_map(|a| self.file(a))
                    .find(|f| keys.get(f.key_id).is_ok())
                    .ok_or_else(|| {
                        Error::malformed(
                            "grant",
                            format!(
                                "it holds no key for segment {i} of {}: it was issued for another release, or the publisher must issue it again",
                                t.path.join("/")
                            ),
                        )
                    })?;
                parts.push(f.clone());
            }
            out.push(Output {
                path: t.path.clone(),
                media_type: t.media_type.clone(),
                parts,
            });
        }
        Ok(out)
    }

    /// Parse and validate the plaintext encoding.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let w: WireManifest = canonical::decode(b, "manifest")?;
        if w.v != FORMAT_VERSION {
            return Err(Error::Version {
                what: "manifest",
                found: w.v,
                expected: FORMAT_VERSION,
            });
        }
        let mut files = Vec::with_capacity(w.files.len());
        let mut seen_paths = std::collections::HashSet::new();
        let mut seen_ct = std::collections::HashSet::new();
        for f in w.files {
            if f.path.is_empty() {
                return Err(Error::malformed("manifest", "a file has an empty path"));
            }
            for c in f.path.iter().chain(std::iter::once(&f.ct)) {
                check_component(c)?;
            }
            if !seen_paths.insert(f.path.clone())
                || !seen_ct.insert(f.ct.clone())
                || f.ct == MANIFEST_NAME
            {
                return Err(Error::malformed(
                    "manifest",
                    format!("duplicate file {}", f.path.join("/")),
                ));
            }
            files.push(ManifestFile {
                path: f.path,
                size: f.size,
                media_type: f.media_type,
                nonce: fixed(&f.nonce, "manifest file nonce")?,
                key_id: f.key,
                ct_name: f.ct,
            });
        }
        let mut tracks = Vec::with_capacity(w.tracks.len());
        let mut used = std::collections::HashSet::new();
        for t in w.tracks {
            if t.path.is_empty() || t.segments.is_empty() {
                return Err(Error::malformed(
                    "manifest",
                    "a track has an empty path or no segments",
                ));
            }
            for c in &t.path {
                check_component(c)?;
            }
            if !seen_paths.insert(t.path.clone()) {
                return Err(Error::malformed(
                    "manifest",
                    format!("duplicate file {}", t.path.join("/")),
                ));
            }
            let mut segments = Vec::with_capacity(t.segments.len());
            for s in t.segments {
                let keys: Vec<u32> = s
                    .alts
                    .iter()
                    .map(|a| files.iter().find(|f| &f.ct_name == a).map(|f| f.key_id))
                    .collect::<Option<_>>()
                    .ok_or_else(|| {
                        Error::malformed("manifest", "a segment names a file it does not list")
                    })?;
                let distinct_keys = keys.len() < 2 || keys[0] != keys[1];
                if !(1..=2).contains(&s.alts.len())
                    || !distinct_keys
                    || !s.alts.iter().all(|a| used.insert(a.clone()))
                {
                    return Err(Error::malformed(
                        "manifest",
                        "a segment needs one or two alternatives under distinct keys, each used once",
                    ));
                }
                segments.push(Segment {
                    duration_ms: s.dur,
                    alts: s.alts,
                });
            }
            tracks.push(Track {
                path: t.path,
                media_type: t.media_type,
                segments,
            });
        }
        Ok(Manifest {
            release: ReleaseId::from_slice(&w.release)?,
            files,
            tracks,
        })
    }

    /// Encrypt with a given file nonce (random in practice; fixed in test vectors).
    pub fn seal_with_nonce(&self, keys: &KeySet, nonce: [u8; FILE_NONCE_LEN]) -> Result<Vec<u8>> {
        let cipher = FileCipher::new(keys.main()?, &nonce, &self.release, Purpose::Manifest);
        let mut out = nonce.to_vec();
        out.extend_from_slice(&stream::seal_to_vec(cipher, &self.to_bytes()));
        Ok(out)
    }

    /// Encrypt with a fresh random nonce.
    pub fn seal(&self, keys: &KeySet) -> Result<Vec<u8>> {
        self.seal_with_nonce(keys, crate::random_array())
    }

    /// Decrypt and parse `manifest.rsm`; the manifest must name the expected release.
    pub fn open(bytes: &[u8], keys: &KeySet, release: &ReleaseId) -> Result<Self> {
        if bytes.len() < FILE_NONCE_LEN {
            return Err(Error::Truncated {
                len: bytes.len() as u64,
                why: "manifest shorter than its nonce",
            });
        }
        let nonce: [u8; FILE_NONCE_LEN] = fixed(&bytes[..FILE_NONCE_LEN], "manifest nonce")?;
        let cipher = FileCipher::new(keys.main()?, &nonce, release, Purpose::Manifest);
        let plain = stream::open_to_vec(cipher, &bytes[FILE_NONCE_LEN..])?;
        let m = Manifest::from_bytes(&plain)?;
        if m.release != *release {
            return Err(Error::malformed(
                "manifest",
                "it belongs to another release",
            ));
        }
        Ok(m)
    }
}

/// Guess a media type from a file name's extension (what players need in Content-Type).
pub fn media_type_for(name: &str) -> &'static str {
    let ext = name
        .rsplit_once('.')
        .map(|(_, e)| e.to_ascii_lowercase())
        .unwrap_or_default();
    match ext.as_str() {
        "mp4" | "m4v" => "video/mp4",
        "mkv" => "video/x-matroska",
        "webm" => "video/webm",
        "mov" => "video/quicktime",
        "avi" => "video/x-msvideo",
        "ts" => "video/mp2t",
        "m3u8" => "application/vnd.apple.mpegurl",
        "mp3" => "audio/mpeg",
        "m4a" => "audio/mp4",
        "flac" => "audio/flac",
        "wav" => "audio/wav",
        "ogg" => "audio/ogg",
        "srt" => "application/x-subrip",
        "vtt" => "text/vtt",
        "ass" | "ssa" => "text/x-ssa",
        "txt" => "text/plain",
        "pdf" => "application/pdf",
        "jpg" | "jpeg" => "image/jpeg",
        "png" => "image/png",
        _ => "application/octet-stream",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(ct: &str, key_id: u32) -> ManifestFile {
        ManifestFile {
            path: vec!["segments".into(), format!("{ct}.ts")],
            size: 10,
            media_type: "video/mp2t".into(),
            nonce: [1; 16],
            key_id,
            ct_name: ct.into(),
        }
    }

    fn with_tracks() -> Manifest {
        Manifest {
            release: ReleaseId([7; 16]),
            files: vec![
                file("f000.rsc", 0),
                file("f001.rsc", 1),
                file("f002.rsc", 2),
            ],
            tracks: vec![Track {
                path: vec!["film.ts".into()],
                media_type: "video/mp2t".into(),
                segments: vec![
                    Segment {
                        duration_ms: 1000,
                        alts: vec!["f000.rsc".into()],
                    },
                    Segment {
                        duration_ms: 1000,
                        alts: vec!["f001.rsc".into(), "f002.rsc".into()],
                    },
                ],
            }],
        }
    }

    #[test]
    fn tracks_round_trip_and_pick_the_viewers_variant() {
        let m = with_tracks();
        assert_eq!(Manifest::from_bytes(&m.to_bytes()).unwrap(), m);
        assert_eq!(m.traced_positions(), vec![(0, 1)]);
        let mut keys = KeySet::generate();
        keys.insert(2, [9; 32]);
        let outs = m.outputs(&keys).unwrap();
        assert_eq!(outs.len(), 1, "segments are not outputs of their own");
        let cts: Vec<_> = outs[0].parts.iter().map(|p| p.ct_name.as_str()).collect();
        assert_eq!(cts, ["f000.rsc", "f002.rsc"]);
        let e = m.outputs(&KeySet::generate()).unwrap_err().to_string();
        assert!(e.contains("segment 1 of film.ts"), "{e}");
    }

    #[test]
    fn bad_tracks_are_refused() {
        let mut m = with_tracks();
        m.tracks[0].segments[1].alts = vec!["f001.rsc".into(), "f001.rsc".into()];
        assert!(Manifest::from_bytes(&m.to_bytes()).is_err());
        let mut m = with_tracks();
        m.tracks[0].segments[0].alts = vec!["f009.rsc".into()];
        assert!(Manifest::from_bytes(&m.to_bytes()).is_err());
        let mut m = with_tracks();
        m.files[2].key_id = 1;
        assert!(
            Manifest::from_bytes(&m.to_bytes()).is_err(),
            "alternatives under one key"
        );
        let mut m = with_tracks();
        m.tracks[0].path = vec!["segments".into(), "f000.rsc.ts".into()];
        assert!(
            Manifest::from_bytes(&m.to_bytes()).is_err(),
            "track path collides with a file"
        );
    }
}

#[cfg(test)]
mod seal_path_tests {
    use super::check_seal_paths;

    fn check(paths: &[&[&str]]) -> Result<(), String> {
        let owned: Vec<Vec<String>> = paths
            .iter()
            .map(|p| p.iter().map(|c| c.to_string()).collect())
            .collect();
        check_seal_paths(owned.iter().map(|p| p.as_slice())).map_err(|e| e.to_string())
    }

    #[test]
    fn names_every_viewer_can_write() {
        assert!(check(&[&["Film.mp4"], &["subs", "fr.srt"], &["Café.txt"]]).is_ok());
        for bad in [
            vec![vec!["a\u{202E}b.mp4"]],
            vec![vec!["Cafe\u{301}.txt"]], // decomposed é: not NFC
            vec![vec!["con.txt"]],
            vec![vec!["LPT1"]],
            vec![vec!["name."]],
            vec![vec!["name "]],
            vec![vec!["Film.mp4"], vec!["film.MP4"]],
        ] {
            let b: Vec<&[&str]> = bad.iter().map(|p| p.as_slice()).collect();
            assert!(check(&b).is_err(), "{bad:?}");
        }
        assert!(check(&[&[&"x".repeat(256)]]).is_err());
    }
}
