//! Identities: the publisher's ed25519 signing key and a viewer's x25519 key.
//!
//! Text forms are bech32 (BIP 173 checksum, as age uses): public keys in lowercase with
//! the prefixes `rspub` and `rsview`; secret keys in uppercase with the prefixes
//! `REELSEAL-PUBLISHER-SECRET-` and `REELSEAL-VIEWER-SECRET-`. Secrets zeroize on drop.

use bech32::{primitives::decode::CheckedHrpstring, Bech32, Hrp};
use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::{fixed, Error, Result};

const HRP_PUB: &str = "rspub";
const HRP_VIEW: &str = "rsview";
const HRP_PUB_SECRET: &str = "reelseal-publisher-secret-";
const HRP_VIEW_SECRET: &str = "reelseal-viewer-secret-";

fn encode(hrp: &str, data: &[u8], upper: bool) -> String {
    let hrp = Hrp::parse(hrp).expect("static hrp is valid");
    if upper {
        bech32::encode_upper::<Bech32>(hrp, data).expect("32-byte payload fits")
    } else {
        bech32::encode::<Bech32>(hrp, data).expect("32-byte payload fits")
    }
}

fn decode(s: &str, hrp: &'static str, what: &'static str) -> Result<Zeroizing<[u8; 32]>> {
    let s = s.trim();
    let parsed = CheckedHrpstring::new::<Bech32>(s)
        .map_err(|e| Error::malformed(what, format!("not a valid bech32 string ({e})")))?;
    if !parsed.hrp().as_str().eq_ignore_ascii_case(hrp) {
        return Err(Error::malformed(
            what,
            format!(
                "expected a key starting with {}1…, found {}1…",
                if what.contains("secret") {
                    hrp.to_uppercase()
                } else {
                    hrp.to_string()
                },
                parsed.hrp().as_str()
            ),
        ));
    }
    let bytes = Zeroizing::new(parsed.byte_iter().collect::<Vec<u8>>());
    let key = Zeroizing::new(fixed(&bytes, what)?);
    // BIP 173 leaves the 4 padding bits of the last 5-bit group unchecked; accept only the
    // one canonical text (zero padding), so every key has exactly one spelling per case.
    if !Zeroizing::new(encode(hrp, &key[..], false)).eq_ignore_ascii_case(s) {
        return Err(Error::malformed(
            what,
            "not the canonical bech32 encoding (non-zero padding bits)",
        ));
    }
    Ok(key)
}

/// The publisher's secret signing key.
pub struct PublisherSecret(SigningKey);

/// The publisher's public key (`rspub1…`), pinned by viewers.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct PublisherPublic(VerifyingKey);

impl PublisherSecret {
    /// A fresh random key.
    pub fn generate() -> Self {
        PublisherSecret(SigningKey::generate(&mut rand_core::OsRng))
    }
    /// From 32 secret bytes (tests and vectors).
    pub fn from_bytes(b: &[u8; 32]) -> Self {
        PublisherSecret(SigningKey::from_bytes(b))
    }
    /// The public half.
    pub fn public(&self) -> PublisherPublic {
        PublisherPublic(self.0.verifying_key())
    }
    /// `REELSEAL-PUBLISHER-SECRET-1…` (treat as a secret).
    pub fn to_bech32(&self) -> Zeroizing<String> {
        Zeroizing::new(encode(HRP_PUB_SECRET, &self.0.to_bytes(), true))
    }
    /// Parse `REELSEAL-PUBLISHER-SECRET-1…`.
    pub fn from_bech32(s: &str) -> Result<Self> {
        let b = decode(s, HRP_PUB_SECRET, "publisher secret key")?;
        Ok(Self::from_bytes(&b))
    }
    /// Sign `"reelseal/v1/" ‖ kind ‖ 0 ‖ body`.
    pub(crate) fn sign(&self, kind: &str, body: &[u8]) -> [u8; 64] {
        self.0.sign(&crate::signed_message(kind, body)).to_bytes()
    }
    /// Sign bytes whose layout a foreign protocol fixes (BEP 44 items), so they cannot
    /// carry reelseal's domain prefix; only [`crate::channel::Pointer`] uses this.
    pub(crate) fn sign_raw(&self, msg: &[u8]) -> [u8; 64] {
        self.0.sign(msg).to_bytes()
    }
    /// The same key as an X25519 secret (the birational map age uses for `ssh-ed25519`
    /// recipients), so a channel's epoch key can be wrapped to an editor's `rspub1…` key.
    pub fn to_x25519(&self) -> ViewerSecret {
        ViewerSecret::from_bytes(&Zeroizing::new(self.0.to_scalar_bytes()))
    }
}

impl PublisherPublic {
    /// From 32 bytes: the canonical encoding of an ed25519 point that is not of small
    /// order (strict, as RFC 8032 verifiers should be; FORMAT.md §2).
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let a: [u8; 32] = fixed(b, "publisher key")?;
        let vk = VerifyingKey::from_bytes(&a)
            .map_err(|_| Error::malformed("publisher key", "not a valid ed25519 point"))?;
        if vk.to_edwards().compress().to_bytes() != a {
            return Err(Error::NotCanonical {
                what: "publisher key",
            });
        }
        if vk.is_weak() {
            return Err(Error::WeakKey);
        }
        Ok(PublisherPublic(vk))
    }
    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// `rspub1…`
    pub fn to_bech32(&self) -> String {
        encode(HRP_PUB, self.0.as_bytes(), false)
    }
    /// Parse `rspub1…`.
    pub fn from_bech32(s: &str) -> Result<Self> {
        let b = decode(s, HRP_PUB, "publisher key")?;
        Self::from_bytes(&b[..])
    }
    /// Verify a domain-separated signature (strict: no malleable or small-order forms).
    pub(crate) fn verify(
        &self,
        kind: &str,
        body: &[u8],
        sig: &[u8],
        what: &'static str,
    ) -> Result<()> {
        let sig: [u8; 64] = fixed(sig, "signature")?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        self.0
            .verify_strict(&crate::signed_message(kind, body), &sig)
            .map_err(|_| Error::BadSignature { what })
    }
    /// Verify a signature over bytes a foreign protocol lays out (BEP 44), strictly.
    pub(crate) fn verify_raw(&self, msg: &[u8], sig: &[u8], what: &'static str) -> Result<()> {
        let sig: [u8; 64] = fixed(sig, "signature")?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig);
        self.0
            .verify_strict(msg, &sig)
            .map_err(|_| Error::BadSignature { what })
    }
    /// The X25519 public key matching [`PublisherSecret::to_x25519`].
    pub fn to_x25519(&self) -> Result<ViewerPublic> {
        ViewerPublic::from_bytes(&self.0.to_montgomery().to_bytes())
    }
}

impl std::fmt::Display for PublisherPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_bech32())
    }
}
impl std::fmt::Debug for PublisherPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublisherPublic({})", self.to_bech32())
    }
}
impl std::str::FromStr for PublisherPublic {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_bech32(s)
    }
}

/// A viewer's secret x25519 key.
pub struct ViewerSecret(x25519_dalek::StaticSecret);

/// A viewer's public key (`rsview1…`), which grants are addressed to.
#[derive(Clone, Copy)]
pub struct ViewerPublic(x25519_dalek::PublicKey);

impl ViewerSecret {
    /// A fresh random key.
    pub fn generate() -> Self {
        ViewerSecret(x25519_dalek::StaticSecret::random_from_rng(
            rand_core::OsRng,
        ))
    }
    /// From 32 secret bytes.
    pub fn from_bytes(b: &[u8; 32]) -> Self {
        ViewerSecret(x25519_dalek::StaticSecret::from(*b))
    }
    /// The raw 32 bytes (zeroized when dropped).
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }
    /// The public half.
    pub fn public(&self) -> ViewerPublic {
        ViewerPublic(x25519_dalek::PublicKey::from(&self.0))
    }
    /// `REELSEAL-VIEWER-SECRET-1…` (treat as a secret).
    pub fn to_bech32(&self) -> Zeroizing<String> {
        Zeroizing::new(encode(HRP_VIEW_SECRET, &self.0.to_bytes(), true))
    }
    /// Parse `REELSEAL-VIEWER-SECRET-1…`.
    pub fn from_bech32(s: &str) -> Result<Self> {
        let b = decode(s, HRP_VIEW_SECRET, "viewer secret key")?;
        Ok(Self::from_bytes(&b))
    }
    pub(crate) fn diffie_hellman(&self, other: &ViewerPublic) -> x25519_dalek::SharedSecret {
        self.0.diffie_hellman(&other.0)
    }
}

/// The canonical X25519 public keys of small order (RFC 7748 §6.1 leaves them to the
/// caller): a shared secret with any of them is predictable, so no grant may be made for
/// one. (Non-canonical encodings of the others are refused as non-canonical.)
const LOW_ORDER: [[u8; 32]; 5] = [
    [0; 32],
    {
        let mut one = [0; 32];
        one[0] = 1;
        one
    },
    [
        0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4,
        0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49,
        0xb8, 0x00,
    ],
    [
        0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef,
        0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f,
        0x11, 0x57,
    ],
    [
        0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xff, 0x7f,
    ],
];

/// Is `u` (little-endian) the canonical encoding of a field element: below 2^255 − 19?
fn canonical_u(u: &[u8; 32]) -> bool {
    let top_ok =
        u[31] < 0x7f || (u[31] == 0x7f && !(u[1..31].iter().all(|&b| b == 0xff) && u[0] >= 0xed));
    u[31] & 0x80 == 0 && top_ok
}

impl ViewerPublic {
    /// From 32 bytes: the canonical encoding of a point that is not of small order.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let a: [u8; 32] = fixed(b, "viewer key")?;
        if !canonical_u(&a) {
            return Err(Error::NotCanonical { what: "viewer key" });
        }
        if LOW_ORDER.contains(&a) {
            return Err(Error::WeakKey);
        }
        Ok(ViewerPublic(x25519_dalek::PublicKey::from(a)))
    }
    /// The 32 raw bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }
    /// `rsview1…`
    pub fn to_bech32(&self) -> String {
        encode(HRP_VIEW, self.0.as_bytes(), false)
    }
    /// Parse `rsview1…`.
    pub fn from_bech32(s: &str) -> Result<Self> {
        let b = decode(s, HRP_VIEW, "viewer key")?;
        Self::from_bytes(&b[..])
    }
}

impl PartialEq for ViewerPublic {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_bytes().ct_eq(other.0.as_bytes()).into()
    }
}
impl Eq for ViewerPublic {}
impl std::fmt::Display for ViewerPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_bech32())
    }
}
impl std::fmt::Debug for ViewerPublic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ViewerPublic({})", self.to_bech32())
    }
}
impl std::str::FromStr for ViewerPublic {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_bech32(s)
    }
}

/// Read a secret key file's text: `#` comment lines and blank lines are skipped, and the
/// one remaining line is the key.
pub fn secret_line(text: &str) -> Result<Zeroizing<String>> {
    let mut lines = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    let first = lines
        .next()
        .ok_or_else(|| Error::malformed("secret key file", "no key line found"))?;
    if lines.next().is_some() {
        return Err(Error::malformed(
            "secret key file",
            "more than one key line",
        ));
    }
    Ok(Zeroizing::new(first.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_prefixes() {
        let p = PublisherSecret::generate();
        let s = p.to_bech32();
        assert!(s.starts_with("REELSEAL-PUBLISHER-SECRET-1"));
        assert_eq!(
            PublisherSecret::from_bech32(&s).unwrap().public(),
            p.public()
        );
        let pk = p.public().to_bech32();
        assert!(pk.starts_with("rspub1"));
        assert_eq!(PublisherPublic::from_bech32(&pk).unwrap(), p.public());

        let v = ViewerSecret::generate();
        let s = v.to_bech32();
        assert!(s.starts_with("REELSEAL-VIEWER-SECRET-1"));
        assert_eq!(ViewerSecret::from_bech32(&s).unwrap().public(), v.public());
        let vk = v.public().to_bech32();
        assert!(vk.starts_with("rsview1"));
        assert_eq!(ViewerPublic::from_bech32(&vk).unwrap(), v.public());
        // A viewer key is not a publisher key.
        assert!(PublisherPublic::from_bech32(&vk).is_err());
        // A flipped character breaks the checksum.
        let mut bad = vk.clone().into_bytes();
        let i = bad.len() - 3;
        bad[i] = if bad[i] == b'q' { b'p' } else { b'q' };
        assert!(ViewerPublic::from_bech32(std::str::from_utf8(&bad).unwrap()).is_err());
    }
}

#[cfg(test)]
mod viewer_key_tests {
    use super::*;

    #[test]
    fn viewer_keys_are_canonical_and_not_of_small_order() {
        for weak in LOW_ORDER {
            assert_eq!(
                ViewerPublic::from_bytes(&weak).unwrap_err().kind(),
                "weak_key"
            );
        }
        let mut p = LOW_ORDER[4];
        p[0] = 0xed; // p itself: ≡ 0, not canonical
        assert_eq!(
            ViewerPublic::from_bytes(&p).unwrap_err().kind(),
            "not_canonical"
        );
        let mut high = ViewerSecret::from_bytes(&[9; 32]).public().to_bytes();
        high[31] |= 0x80;
        assert_eq!(
            ViewerPublic::from_bytes(&high).unwrap_err().kind(),
            "not_canonical"
        );
        let ok = ViewerSecret::from_bytes(&[9; 32]).public();
        assert_eq!(ViewerPublic::from_bytes(&ok.to_bytes()).unwrap(), ok);
    }
}
