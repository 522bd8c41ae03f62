//! The release card: what the publisher vouches for, signed with ed25519.
//!
//! Encoding: a *signed card* is the canonical bencode dictionary
//! `{"card": <canonical bencode of the card>, "sig": <64-byte signature>}`, where the
//! signature is over `"reelseal/v1/card" ‖ 0x00 ‖ card bytes`. The card names the torrent's
//! infohash and every ciphertext file's length and SHA-256, so pinned publisher key →
//! card → infohash → piece hashes → AEAD tags is one unbroken chain.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::keys::{PublisherPublic, PublisherSecret};
use crate::stream::CHUNK_CT;
use crate::torrent::{Metainfo, TorrentFile};
use crate::{canonical, fixed, Error, InfoHash, ReleaseId, Result, FORMAT_VERSION};

/// One ciphertext file of the torrent as the card vouches for it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CardFile {
    /// Ciphertext length in bytes.
    pub len: u64,
    /// Opaque file name in the torrent.
    pub name: String,
    /// SHA-256 of the whole ciphertext file.
    #[serde(with = "serde_bytes")]
    pub sha256: Vec<u8>,
}

/// The card's fields. Field names are the bencode keys; they are declared in sorted order.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Card {
    /// Ciphertext chunk size: always 65,536.
    pub chunk: u64,
    /// Creation time, Unix seconds (UTC).
    pub created: i64,
    /// Ciphertext files in torrent order, the manifest first.
    pub files: Vec<CardFile>,
    /// BitTorrent v1 infohash (SHA-1 of the bencoded info dict).
    #[serde(with = "serde_bytes")]
    pub infohash: Vec<u8>,
    /// Key server base URL, if the publisher runs one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_server: Option<String>,
    /// Torrent piece length.
    pub piece: u64,
    /// Publisher's ed25519 public key.
    #[serde(with = "serde_bytes")]
    pub publisher: Vec<u8>,
    /// Release id.
    #[serde(with = "serde_bytes")]
    pub release: Vec<u8>,
    /// Release id this one replaces (after a rotation).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_bytes")]
    pub supersedes: Option<Vec<u8>>,
    /// Human title.
    pub title: String,
    /// Tracker URLs (may be empty).
    pub trackers: Vec<String>,
    /// Format version.
    pub v: u64,
    /// Web seed base URLs (BEP 19 `url-list`, each `http(s)://…/` ending in `/`): static
    /// servers or object stores holding the release folder. Absent when empty, so cards
    /// without web seeds encode exactly as before.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub web_seeds: Vec<String>,
}

/// At most this many web seeds on a card.
pub const MAX_WEB_SEEDS: usize = 16;
/// At most this many bytes in a web seed URL.
pub const MAX_WEB_SEED_LEN: usize = 2048;

/// Check a web seed URL as a publisher typed it and give its canonical form (a trailing
/// `/` added): `http://` or `https://`, a host, no spaces, control characters, `?` or
/// `#` (a client appends `<torrent name>/<file>` to it, BEP 19). Anything else is
/// refused with a message saying what is wanted.
pub fn web_seed_url(url: &str) -> Result<String> {
    let bad = |why: &str| {
        Error::malformed(
            "web seed",
            format!("{url:?} {why}: give the http:// or https:// URL of the folder that holds the release folder's contents (release.torrent, card.rscard and the torrent's folder), e.g. https://cdn.example.org/films/my-film/"),
        )
    };
    let rest = if let Some(r) = url.strip_prefix("https://") {
        r
    } else if let Some(r) = url.strip_prefix("http://") {
        r
    } else {
        return Err(bad("is not an http:// or https:// URL"));
    };
    if url.len() > MAX_WEB_SEED_LEN {
        return Err(bad("is too long"));
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == '?' || c == '#')
    {
        return Err(bad(
            "has a space, a control character, a query (?) or a fragment (#)",
        ));
    }
    let host = rest.split('/').next().unwrap_or("");
    if host.is_empty() || host.contains('@') {
        return Err(bad("names no host (or has a user name in it)"));
    }
    let mut u = url.to_string();
    if !u.ends_with('/') {
        u.push('/');
    }
    Ok(u)
}

pub(crate) mod opt_bytes {
    use serde::{Deserialize, Deserializer, Serializer};
    pub fn serialize<S: Serializer>(v: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => s.serialize_bytes(b),
            None => s.serialize_none(),
        }
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Ok(Some(serde_bytes::ByteBuf::deserialize(d)?.into_vec()))
    }
}

impl Card {
    /// The release id, typed.
    pub fn release_id(&self) -> ReleaseId {
        ReleaseId::from_slice(&self.release).expect("validated on parse")
    }
    /// The publisher key, typed.
    pub fn publisher_key(&self) -> PublisherPublic {
        PublisherPublic::from_bytes(&self.publisher).expect("validated on parse")
    }
    /// Infohash as 40 hex digits.
    pub fn infohash_hex(&self) -> String {
        hex::encode(&self.infohash)
    }
    /// The infohash, typed.
    pub fn infohash(&self) -> InfoHash {
        InfoHash::from_slice(&self.infohash).expect("validated on parse")
    }
    /// The entry for a ciphertext file by its opaque name.
    pub fn file(&self, name: &str) -> Option<&CardFile> {
        self.files.iter().find(|f| f.name == name)
    }
    /// Check a torrent's file list (as an engine reports it) against the card: the real
    /// (non-padding) files must be exactly the card's, in order, with the same lengths.
    pub fn check_torrent_files(&self, files: &[TorrentFile]) -> Result<()> {
        let real: Vec<&TorrentFile> = files.iter().filter(|f| !f.padding).collect();
        if real.len() != self.files.len() {
            return Err(Error::Mismatch {
                what: "torrent",
                why: format!(
                    "it has {} files where the signed card lists {}",
                    real.len(),
                    self.files.len()
                ),
            });
        }
        for (t, c) in real.iter().zip(&self.files) {
            if t.name() != c.name || t.len != c.len {
                return Err(Error::Mismatch {
                    what: "torrent",
                    why: format!(
                        "its file {} ({} bytes) is not the card's {} ({} bytes)",
                        t.path, t.len, c.name, c.len
                    ),
                });
            }
        }
        Ok(())
    }
    /// Check `release.torrent` bytes against the card: infohash and file list. Returns
    /// the parsed torrent.
    pub fn check_torrent(&self, bytes: &[u8]) -> Result<Metainfo> {
        let m = Metainfo::from_bytes(bytes)?;
        if m.infohash() != self.infohash().0 {
            return Err(Error::Mismatch {
                what: "torrent",
                why: format!(
                    "its infohash {} is not the signed card's {}: the torrent was edited or belongs to another release",
                    hex::encode(m.infohash()),
                    self.infohash_hex()
                ),
            });
        }
        self.check_torrent_files(&m.files())?;
        Ok(m)
    }
    /// The release this one supersedes, if any.
    pub fn supersedes_id(&self) -> Option<ReleaseId> {
        self.supersedes
            .as_ref()
            .map(|b| ReleaseId::from_slice(b).expect("validated on parse"))
    }
    /// A magnet link for the torrent (display name is the opaque torrent name).
    pub fn magnet(&self, display_name: &str) -> String {
        let mut m = format!("magnet:?xt=urn:btih:{}", self.infohash_hex());
        if !display_name.is_empty() {
            m.push_str("&dn=");
            m.push_str(&url_escape(display_name));
        }
        for t in &self.trackers {
            m.push_str("&tr=");
            m.push_str(&url_escape(t));
        }
        m
    }

    fn validate(&self) -> Result<()> {
        if self.v != FORMAT_VERSION {
            return Err(Error::Version {
                what: "release card",
                found: self.v,
                expected: FORMAT_VERSION,
            });
        }
        if self.chunk != CHUNK_CT as u64 {
            return Err(Error::malformed(
                "release card",
                format!("chunk size {} is not 65536", self.chunk),
            ));
        }
        if !self.piece.is_power_of_two() || self.piece < CHUNK_CT as u64 {
            return Err(Error::malformed(
                "release card",
                format!("piece length {} is not a power of two ≥ 65536", self.piece),
            ));
        }
        ReleaseId::from_slice(&self.release)?;
        PublisherPublic::from_bytes(&self.publisher)?;
        let _: [u8; 20] = fixed(&self.infohash, "infohash")?;
        if let Some(s) = &self.supersedes {
            ReleaseId::from_slice(s)?;
        }
        if self.files.is_empty() {
            return Err(Error::malformed("release card", "no files"));
        }
        if self.web_seeds.len() > MAX_WEB_SEEDS {
            return Err(Error::malformed(
                "release card",
                format!(
                    "{} web seeds, at most {MAX_WEB_SEEDS}",
                    self.web_seeds.len()
                ),
            ));
        }
        for (i, w) in self.web_seeds.iter().enumerate() {
            if web_seed_url(w)? != *w {
                return Err(Error::malformed(
                    "release card",
                    format!("web seed {w:?} does not end in /"),
                ));
            }
            if self.web_seeds[..i].contains(w) {
                return Err(Error::malformed(
                    "release card",
                    format!("web seed {w:?} is listed twice"),
                ));
            }
        }
        for f in &self.files {
            crate::manifest::check_component(&f.name)?;
            let _: [u8; 32] = fixed(&f.sha256, "file sha256")?;
        }
        Ok(())
    }

    /// Sign the card, producing the bytes of a signed card.
    pub fn sign(&self, key: &PublisherSecret) -> Result<SignedCard> {
        self.validate()?;
        if self.publisher != key.public().to_bytes() {
            return Err(Error::malformed(
                "release card",
                "the card names a different publisher than the signing key",
            ));
        }
        let card = canonical::encode(self);
        let sig = key.sign("card", &card);
        let wire = WireSigned {
            card,
            sig: sig.to_vec(),
        };
        Ok(SignedCard {
            bytes: canonical::encode(&wire).into(),
            card: Arc::new(self.clone()),
        })
    }
}

fn url_escape(s: &str) -> String {
    let mut o = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

#[derive(Serialize, Deserialize)]
struct WireSigned {
    #[serde(with = "serde_bytes")]
    card: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

/// A card together with its exact signed encoding. Cheap to clone (every grant of a
/// release carries one).
#[derive(Clone, Debug)]
pub struct SignedCard {
    bytes: Arc<[u8]>,
    card: Arc<Card>,
}

impl SignedCard {
    /// Parse and verify against the publisher key the caller trusts. The card must name
    /// that same key.
    pub fn verify(bytes: &[u8], pinned: &PublisherPublic) -> Result<SignedCard> {
        let (card, body, sig) = Self::parse_unverified(bytes)?;
        if card.publisher != pinned.to_bytes() {
            return Err(Error::BadSignature {
                what: "release card",
            });
        }
        pinned.verify("card", &body, &sig, "release card")?;
        Ok(SignedCard {
            bytes: bytes.into(),
            card: Arc::new(card),
        })
    }

    /// Parse without checking the signature, to *show* what a card claims (e.g. which
    /// publisher to pin). Never act on the result without [`SignedCard::verify`].
    pub fn inspect(bytes: &[u8]) -> Result<Card> {
        Ok(Self::parse_unverified(bytes)?.0)
    }

    fn parse_unverified(bytes: &[u8]) -> Result<(Card, Vec<u8>, Vec<u8>)> {
        let w: WireSigned = canonical::decode(bytes, "signed release card")?;
        let card: Card = canonical::decode(&w.card, "release card")?;
        card.validate()?;
        Ok((card, w.card, w.sig))
    }

    /// The signed encoding.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The verified card.
    pub fn card(&self) -> &Card {
        &self.card
    }
}
