//! # reelseal-core
//!
//! The formats and cryptography of reelseal, and nothing else: no networking, no async.
//! Everything here is specified byte for byte in `docs/FORMAT.md`, with known-answer
//! vectors under `tests/vectors/`.
//!
//! - [`keys`]: publisher (ed25519) and viewer (x25519) identities and their bech32 text forms.
//! - [`stream`]: the *sealed stream*, the payload format: STREAM over ChaCha20-Poly1305 in
//!   64 KiB ciphertext chunks, random access, truncation/reordering/splicing detected.
//! - [`keyset`]: a release's secret: key id → 32-byte key.
//! - [`manifest`]: the encrypted list of real file names, sizes and media types.
//! - [`card`]: the publisher-signed release card (release id, infohash, files, …).
//! - [`grant`]: a viewer's access key: the card plus the key set wrapped to the viewer, signed.
//! - [`revocation`]: the publisher-signed, sequenced revocation list.
//! - [`armor`]: ASCII armor so grants survive e-mail.
//! - [`torrent`]: building and checking the standard BitTorrent v1 metainfo.
//! - [`seal`] and [`open`]: the streaming file pipelines built on the above (plain `std::fs`).
//! - [`validity`]: the one validity-window type and check, and the times windows are written in.
//! - [`issue`]: issuing a grant for a release (with its tracing codeword): used alike by
//!   `reelseal grant`, rotation and the key server.
//! - [`code`]: one-time access codes and the hash they are stored under.
//! - [`range`]: the plan that maps a plaintext byte range onto ciphertext chunks.
//! - [`text`]: what titles and labels may contain, and which characters never reach a terminal.
//!
//! Every parser of untrusted bytes rejects anything that is not in canonical form.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

pub mod armor;
pub mod canonical;
pub mod card;
pub mod channel;
pub mod code;
mod direct;
pub mod durable;
mod error;
pub mod grant;
pub mod issue;
pub mod keys;
pub mod keyset;
pub mod manifest;
pub mod open;
mod par;
pub mod range;
pub mod revocation;
pub mod seal;
pub mod stream;
pub mod tardos;
pub mod text;
pub mod torrent;
pub mod validity;
pub mod variants;
pub mod version;

pub use error::{Error, Result};

/// The format version written by this library into every versioned structure.
pub const FORMAT_VERSION: u64 = 1;

/// A release id: 16 random bytes, shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ReleaseId(pub [u8; 16]);

impl ReleaseId {
    /// A fresh random release id.
    pub fn random() -> Self {
        ReleaseId(random_array())
    }
    /// Lowercase hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parse exactly 32 hex digits.
    pub fn from_hex(s: &str) -> Result<Self> {
        let v = hex::decode(s).map_err(|_| Error::malformed("release id", "not hex"))?;
        Self::from_slice(&v)
    }
    /// From exactly 16 bytes.
    pub fn from_slice(b: &[u8]) -> Result<Self> {
        Ok(ReleaseId(fixed(b, "release id")?))
    }
}

impl std::fmt::Debug for ReleaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ReleaseId({})", self.to_hex())
    }
}
impl std::fmt::Display for ReleaseId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A grant id: 16 random bytes (128 bits), shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GrantId(pub [u8; 16]);

impl GrantId {
    /// A fresh random grant id.
    pub fn random() -> Self {
        GrantId(random_array())
    }
    /// Lowercase hex form.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parse exactly 32 hex digits.
    pub fn from_hex(s: &str) -> Result<Self> {
        let v = hex::decode(s).map_err(|_| Error::malformed("grant id", "not hex"))?;
        Ok(GrantId(fixed(&v, "grant id")?))
    }
}
impl std::fmt::Debug for GrantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "GrantId({})", self.to_hex())
    }
}
impl std::fmt::Display for GrantId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// A BitTorrent v1 infohash: the SHA-1 of the bencoded info dictionary.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash(pub [u8; 20]);

impl InfoHash {
    /// From exactly 20 bytes.
    pub fn from_slice(b: &[u8]) -> Result<Self> {
        Ok(InfoHash(fixed(b, "infohash")?))
    }
    /// 40 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parse exactly 40 hex digits.
    pub fn from_hex(s: &str) -> Result<Self> {
        let v = hex::decode(s).map_err(|_| Error::malformed("infohash", "not hex"))?;
        Self::from_slice(&v)
    }
}
impl std::fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "InfoHash({})", self.to_hex())
    }
}
impl std::fmt::Display for InfoHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// Fill an array from the operating system's CSPRNG.
pub fn random_array<const N: usize>() -> [u8; N] {
    use rand_core::RngCore;
    let mut a = [0u8; N];
    rand_core::OsRng.fill_bytes(&mut a);
    a
}

/// A CSPRNG (ChaCha20) seeded from the operating system, for drawing many secret values
/// (tracing biases and codewords) without a system call each.
pub fn csprng() -> rand_chacha::ChaCha20Rng {
    use rand_core::SeedableRng;
    rand_chacha::ChaCha20Rng::from_rng(rand_core::OsRng).expect("the OS random source works")
}

/// Copy a slice into a fixed-size array, or say which field had the wrong length.
pub(crate) fn fixed<const N: usize>(b: &[u8], what: &'static str) -> Result<[u8; N]> {
    b.try_into()
        .map_err(|_| Error::malformed(what, format!("expected {N} bytes, found {}", b.len())))
}

/// Domain-separated message for an ed25519 signature: `"reelseal/v1/" ‖ kind ‖ 0x00 ‖ body`.
pub(crate) fn signed_message(kind: &str, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(body.len() + 32);
    m.extend_from_slice(b"reelseal/v1/");
    m.extend_from_slice(kind.as_bytes());
    m.push(0);
    m.extend_from_slice(body);
    m
}
