//! The encrypted manifest: real file names, sizes, media types and per-file nonces.
//!
//! On the wire (file `manifest.rsm` in the torrent) it is `file nonce (16 bytes) ‖ sealed
//! stream` of the canonical bencode below, under the main key with purpose `manifest`.
//! Ciphertext files have opaque names (`f000.rsc`, …), so the torrent reveals only sizes.

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
    v: u64,
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
            v: FORMAT_VERSION,
        })
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
        Ok(Manifest {
            release: ReleaseId::from_slice(&w.release)?,
            files,
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
