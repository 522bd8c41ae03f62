//! Grants: a viewer's access key (`.rskey`).
//!
//! A grant holds the signed card, a random 128-bit grant id, a label, the viewer's x25519
//! public key, an optional validity window and the release's key set wrapped to that viewer
//! the way age wraps a file key to an X25519 recipient:
//!
//! - ephemeral secret `e`, `epk = X25519(e, basepoint)`, `shared = X25519(e, viewer)`;
//!   an all-zero `shared` is rejected;
//! - wrap key = HKDF-SHA256(ikm = shared, salt = epk ‖ viewer, info = `"reelseal/v1/wrap" ‖ 0x00 ‖ release id`);
//! - body = ChaCha20-Poly1305(wrap key, nonce = 12 zero bytes, canonical key set).
//!
//! The whole grant is signed by the publisher (`"reelseal/v1/grant" ‖ 0x00 ‖ grant bytes`),
//! so its window, id and label cannot be edited. An *access key* bundles a freshly made
//! viewer secret with its grant, for viewers who have no key of their own.

use chacha20poly1305::{aead::Aead, ChaCha20Poly1305, KeyInit};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::card::{Card, SignedCard};
use crate::keys::{PublisherPublic, PublisherSecret, ViewerPublic, ViewerSecret};
use crate::keyset::KeySet;
use crate::validity::Validity;
use crate::{armor, canonical, fixed, Error, GrantId, ReleaseId, Result, FORMAT_VERSION};

/// Armor label of a grant.
pub const GRANT_LABEL: &str = "GRANT";
/// Armor label of an access key (grant + viewer secret).
pub const ACCESS_LABEL: &str = "ACCESS KEY";

#[derive(Serialize, Deserialize, Clone)]
struct WireStanza {
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
    #[serde(with = "serde_bytes")]
    epk: Vec<u8>,
}

#[derive(Serialize, Deserialize, Clone)]
struct WireGrant {
    #[serde(with = "serde_bytes")]
    card: Vec<u8>,
    #[serde(with = "serde_bytes")]
    grant: Vec<u8>,
    issued: i64,
    label: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    naf: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    nbf: Option<i64>,
    stanza: WireStanza,
    v: u64,
    #[serde(with = "serde_bytes")]
    viewer: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WireSignedGrant {
    #[serde(with = "serde_bytes")]
    grant: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WireAccess {
    #[serde(with = "serde_bytes")]
    grant: Vec<u8>,
    #[serde(with = "serde_bytes")]
    secret: Vec<u8>,
    v: u64,
}

/// What the publisher decides for one grant.
#[derive(Clone, Debug)]
pub struct GrantParams {
    /// Grant id (random in practice).
    pub id: GrantId,
    /// Who it is for, in words (e.g. "Berlinale jury 3").
    pub label: String,
    /// The viewer's public key.
    pub viewer: ViewerPublic,
    /// When the grant may be used.
    pub validity: Validity,
    /// Issue time, Unix seconds.
    pub issued: i64,
}

pub use crate::validity::Window;

/// A grant whose signature chain has been verified against a pinned publisher key.
#[derive(Clone)]
pub struct Grant {
    bytes: Vec<u8>,
    card: SignedCard,
    params: GrantParams,
    epk: [u8; 32],
    body: Vec<u8>,
}

fn wrap_key(
    shared: &[u8; 32],
    epk: &[u8; 32],
    viewer: &[u8; 32],
    release: &ReleaseId,
) -> Zeroizing<[u8; 32]> {
    derive_key(shared, epk, viewer, b"wrap", &release.0)
}

/// HKDF-SHA256(ikm = shared, salt = epk ‖ viewer, info = "reelseal/v1/" ‖ label ‖ 0 ‖ context).
fn derive_key(
    shared: &[u8; 32],
    epk: &[u8; 32],
    viewer: &[u8; 32],
    label: &[u8],
    context: &[u8],
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(epk);
    salt[32..].copy_from_slice(viewer);
    let mut info = b"reelseal/v1/".to_vec();
    info.extend_from_slice(label);
    info.push(0);
    info.extend_from_slice(context);
    let mut k = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), shared)
        .expand(&info, &mut k[..])
        .expect("valid HKDF length");
    k
}

/// Issue a grant with a fresh ephemeral key.
pub fn issue(
    card: &SignedCard,
    keys: &KeySet,
    p: &GrantParams,
    publisher: &PublisherSecret,
) -> Result<Grant> {
    issue_with_ephemeral(card, keys, p, publisher, &crate::random_array())
}

/// Issue a grant with a given ephemeral secret (test vectors only; never reuse one).
pub fn issue_with_ephemeral(
    card: &SignedCard,
    keys: &KeySet,
    p: &GrantParams,
    publisher: &PublisherSecret,
    ephemeral: &[u8; 32],
) -> Result<Grant> {
    if card.card().publisher != publisher.public().to_bytes() {
        return Err(Error::malformed(
            "grant",
            "the card was signed by a different publisher key",
        ));
    }
    let e = ViewerSecret::from_bytes(ephemeral);
    let epk = e.public().to_bytes();
    let shared = e.diffie_hellman(&p.viewer);
    if !shared.was_contributory() {
        return Err(Error::WeakKey);
    }
    let viewer = p.viewer.to_bytes();
    let k = wrap_key(shared.as_bytes(), &epk, &viewer, &card.card().release_id());
    let body = ChaCha20Poly1305::new((&*k).into())
        .encrypt(&[0u8; 12].into(), keys.to_bytes().as_slice())
        .expect("small plaintext");
    let g = encode_grant(card.as_bytes(), p, &body, &epk, &viewer);
    let sig = publisher.sign("grant", &g);
    let bytes = encode_signed_grant(&g, &sig);
    Ok(Grant {
        bytes,
        card: card.clone(),
        params: p.clone(),
        epk,
        body,
    })
}

/// The canonical bencode of a grant (a `WireGrant`), written field by field in key order:
/// the same bytes as `canonical::encode` gives (a test checks), without first copying the
/// card and the rest into a `WireGrant`.
fn encode_grant(
    card: &[u8],
    p: &GrantParams,
    body: &[u8],
    epk: &[u8; 32],
    viewer: &[u8; 32],
) -> Vec<u8> {
    let mut o = Vec::with_capacity(card.len() + p.label.len() + body.len() + 192);
    o.push(b'd');
    ben::bytes_field(&mut o, "card", card);
    ben::bytes_field(&mut o, "grant", &p.id.0);
    ben::int_field(&mut o, "issued", p.issued.into());
    ben::bytes_field(&mut o, "label", p.label.as_bytes());
    if let Some(t) = p.validity.not_after() {
        ben::int_field(&mut o, "naf", t.into());
    }
    if let Some(t) = p.validity.not_before() {
        ben::int_field(&mut o, "nbf", t.into());
    }
    ben::bytes(&mut o, b"stanza");
    o.push(b'd');
    ben::bytes_field(&mut o, "body", body);
    ben::bytes_field(&mut o, "epk", epk);
    o.push(b'e');
    ben::int_field(&mut o, "v", FORMAT_VERSION.into());
    ben::bytes_field(&mut o, "viewer", viewer);
    o.push(b'e');
    o
}

/// The canonical bencode of a `WireSignedGrant`.
fn encode_signed_grant(g: &[u8], sig: &[u8; 64]) -> Vec<u8> {
    let mut o = Vec::with_capacity(g.len() + 96);
    o.push(b'd');
    ben::bytes_field(&mut o, "grant", g);
    ben::bytes_field(&mut o, "sig", sig);
    o.push(b'e');
    o
}

/// Bencode pieces for the writers above.
mod ben {
    use std::io::Write;

    pub(super) fn bytes(o: &mut Vec<u8>, b: &[u8]) {
        write!(o, "{}:", b.len()).expect("writing to a Vec");
        o.extend_from_slice(b);
    }
    pub(super) fn bytes_field(o: &mut Vec<u8>, key: &str, b: &[u8]) {
        bytes(o, key.as_bytes());
        bytes(o, b);
    }
    pub(super) fn int_field(o: &mut Vec<u8>, key: &str, v: i128) {
        bytes(o, key.as_bytes());
        write!(o, "i{v}e").expect("writing to a Vec");
    }
}

/// What a grant claims, parsed but *not* verified: for showing to a user.
#[derive(Clone, Debug)]
pub struct GrantClaims {
    /// The card as claimed.
    pub card: Card,
    /// The grant's parameters as claimed.
    pub params: GrantParams,
}

fn parse(bytes: &[u8]) -> Result<(WireGrant, Vec<u8>, Vec<u8>)> {
    let s: WireSignedGrant = canonical::decode(bytes, "signed grant")?;
    let g: WireGrant = canonical::decode(&s.grant, "grant")?;
    if g.v != FORMAT_VERSION {
        return Err(Error::Version {
            what: "grant",
            found: g.v,
            expected: FORMAT_VERSION,
        });
    }
    Ok((g, s.grant, s.sig))
}

fn params_of(g: &WireGrant) -> Result<GrantParams> {
    Ok(GrantParams {
        id: GrantId(fixed(&g.grant, "grant id")?),
        label: g.label.clone(),
        viewer: ViewerPublic::from_bytes(&g.viewer)?,
        validity: Validity::new(g.nbf, g.naf)?,
        issued: g.issued,
    })
}

impl Grant {
    /// Parse a binary grant and verify card and grant signatures against the pinned key.
    pub fn verify(bytes: &[u8], pinned: &PublisherPublic) -> Result<Grant> {
        let (g, body, sig) = parse(bytes)?;
        let card = SignedCard::verify(&g.card, pinned)?;
        pinned.verify("grant", &body, &sig, "grant")?;
        let params = params_of(&g)?;
        Ok(Grant {
            bytes: bytes.to_vec(),
            card,
            params,
            epk: fixed(&g.stanza.epk, "grant ephemeral key")?,
            body: g.stanza.body,
        })
    }

    /// Parse without verifying, to show what the grant claims (e.g. which publisher).
    pub fn inspect(bytes: &[u8]) -> Result<GrantClaims> {
        let (g, _, _) = parse(bytes)?;
        Ok(GrantClaims {
            card: SignedCard::inspect(&g.card)?,
            params: params_of(&g)?,
        })
    }

    /// Unwrap the key set with the viewer's secret.
    pub fn unwrap_keys(&self, me: &ViewerSecret) -> Result<KeySet> {
        let mine = me.public();
        if mine != self.params.viewer {
            return Err(Error::NotMyGrant {
                grant_viewer: self.params.viewer.to_bech32(),
                mine: mine.to_bech32(),
            });
        }
        let epk = ViewerPublic::from_bytes(&self.epk)?;
        let shared = me.diffie_hellman(&epk);
        if !shared.was_contributory() {
            return Err(Error::WeakKey);
        }
        let k = wrap_key(
            shared.as_bytes(),
            &self.epk,
            &mine.to_bytes(),
            &self.card.card().release_id(),
        );
        let plain = Zeroizing::new(
            ChaCha20Poly1305::new((&*k).into())
                .decrypt(&[0u8; 12].into(), self.body.as_slice())
                .map_err(|_| Error::Unwrap)?,
        );
        KeySet::from_bytes(&plain)
    }

    /// Where the window stands at Unix time `now` (both ends inclusive).
    pub fn window(&self, now: i64) -> Window {
        self.params.validity.check(now)
    }

    /// The verified card.
    pub fn card(&self) -> &SignedCard {
        &self.card
    }
    /// The verified parameters.
    pub fn params(&self) -> &GrantParams {
        &self.params
    }
    /// Binary encoding.
    pub fn to_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// Armored text for a `.rskey` file.
    pub fn to_armor(&self) -> String {
        armor::encode(GRANT_LABEL, &self.bytes)
    }
}

/// An access key: a viewer secret and the grant made for it.
pub struct AccessKey {
    /// The bundled viewer secret.
    pub secret: ViewerSecret,
    /// The grant's binary encoding (verify it with [`Grant::verify`]).
    pub grant: Vec<u8>,
}

impl AccessKey {
    /// Bundle a secret with a grant made for its public key.
    pub fn new(secret: ViewerSecret, grant: &Grant) -> Result<Self> {
        if secret.public() != grant.params.viewer {
            return Err(Error::malformed(
                "access key",
                "the grant is not for this secret's public key",
            ));
        }
        Ok(AccessKey {
            secret,
            grant: grant.bytes.clone(),
        })
    }
    /// Armored text (secret!).
    pub fn to_armor(&self) -> Zeroizing<String> {
        let wire = WireAccess {
            grant: self.grant.clone(),
            secret: self.secret.to_bytes().to_vec(),
            v: FORMAT_VERSION,
        };
        let bytes = Zeroizing::new(canonical::encode(&wire));
        Zeroizing::new(armor::encode(ACCESS_LABEL, &bytes))
    }
    /// Parse the binary form inside the armor.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let w: WireAccess = canonical::decode(b, "access key")?;
        if w.v != FORMAT_VERSION {
            return Err(Error::Version {
                what: "access key",
                found: w.v,
                expected: FORMAT_VERSION,
            });
        }
        let secret =
            ViewerSecret::from_bytes(&Zeroizing::new(fixed(&w.secret, "access key secret")?));
        let (g, _, _) = parse(&w.grant)?;
        if ViewerPublic::from_bytes(&g.viewer)? != secret.public() {
            return Err(Error::malformed(
                "access key",
                "the bundled grant is not for the bundled secret",
            ));
        }
        Ok(AccessKey {
            secret,
            grant: w.grant,
        })
    }
}

/// A `.rskey` file's content, by its armor label.
pub enum KeyFile {
    /// A grant for a viewer key held elsewhere.
    Grant(Vec<u8>),
    /// A grant bundled with its viewer secret.
    Access(AccessKey),
}

impl KeyFile {
    /// Parse an armored `.rskey` text, or a message it was pasted into (e-mail quoting,
    /// indentation and text around the block are ignored: [`armor::extract`]).
    pub fn parse(text: &str) -> Result<Self> {
        let Some((label, block)) = armor::extract(text) else {
            return Err(Error::malformed("key file", "not a reelseal grant or access key (expected -----BEGIN REELSEAL GRANT----- or ACCESS KEY)"));
        };
        let block = Zeroizing::new(block);
        match label.as_str() {
            GRANT_LABEL => Ok(KeyFile::Grant(armor::decode(GRANT_LABEL, &block)?)),
            ACCESS_LABEL => {
                let b = Zeroizing::new(armor::decode(ACCESS_LABEL, &block)?);
                Ok(KeyFile::Access(AccessKey::from_bytes(&b)?))
            }
            other => Err(Error::malformed(
                "key file",
                format!("it holds a REELSEAL {other} block, not a GRANT or ACCESS KEY"),
            )),
        }
    }
    /// The grant's binary encoding.
    pub fn grant_bytes(&self) -> &[u8] {
        match self {
            KeyFile::Grant(b) => b,
            KeyFile::Access(a) => &a.grant,
        }
    }
}

/// Proof that a client holds a viewer secret, for the key server (x25519 keys cannot sign):
/// the server seals a random 32-byte token to the viewer key the same way grants wrap key
/// sets (label `challenge`, no context); only the secret's holder can return it.
pub mod challenge {
    use super::*;

    /// Seal `token` to `viewer`: returns (ephemeral public key, ciphertext).
    pub fn seal(viewer: &ViewerPublic, token: &[u8; 32]) -> Result<([u8; 32], Vec<u8>)> {
        let e = ViewerSecret::from_bytes(&crate::random_array());
        let epk = e.public().to_bytes();
        let shared = e.diffie_hellman(viewer);
        if !shared.was_contributory() {
            return Err(Error::WeakKey);
        }
        let k = derive_key(
            shared.as_bytes(),
            &epk,
            &viewer.to_bytes(),
            b"challenge",
            b"",
        );
        let boxed = ChaCha20Poly1305::new((&*k).into())
            .encrypt(&[0u8; 12].into(), &token[..])
            .expect("small plaintext");
        Ok((epk, boxed))
    }

    /// Open a challenge with the viewer secret.
    pub fn open(me: &ViewerSecret, epk: &[u8; 32], boxed: &[u8]) -> Result<[u8; 32]> {
        let shared = me.diffie_hellman(&ViewerPublic::from_bytes(epk)?);
        if !shared.was_contributory() {
            return Err(Error::WeakKey);
        }
        let k = derive_key(
            shared.as_bytes(),
            epk,
            &me.public().to_bytes(),
            b"challenge",
            b"",
        );
        let plain = ChaCha20Poly1305::new((&*k).into())
            .decrypt(&[0u8; 12].into(), boxed)
            .map_err(|_| Error::Unwrap)?;
        fixed(&plain, "challenge token")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `access_key` fuzz target: a key file with text after the armor (as a
    /// mail client leaves it) parses as the block alone, decoded strictly; the block
    /// without an armor line around it does not.
    #[test]
    fn a_key_file_is_its_armor_block_whatever_follows() {
        let text =
            "-----BEGIN REELSEAL GRANT-----\nZDU6ZQ==\n-----END REELSEAL GRANT-----\n(\n\n\n";
        match KeyFile::parse(text).unwrap() {
            KeyFile::Grant(b) => assert_eq!(b, b"d5:e"),
            KeyFile::Access(_) => panic!("a grant armor is a grant"),
        }
        assert!(
            armor::decode(GRANT_LABEL, text).is_err(),
            "decode alone stays strict"
        );
        assert!(KeyFile::parse("ZDU6ZQ==").is_err());
    }

    /// The direct writers give exactly the canonical (serde) encoding.
    #[test]
    fn direct_encoding_is_canonical() {
        let viewer = ViewerSecret::from_bytes(&[5; 32]).public();
        let windows = [
            (None, None),
            (Some(-5), None),
            (None, Some(1_900_000_000)),
            (Some(0), Some(i64::MAX)),
            (Some(i64::MIN), Some(0)),
        ];
        for (i, (nbf, naf)) in windows.into_iter().enumerate() {
            let p = GrantParams {
                id: GrantId([i as u8; 16]),
                label: ["", "jury 3", "Jüri «3» 🎬", &"x".repeat(300)][i % 4].into(),
                viewer,
                validity: Validity::new(nbf, naf).unwrap(),
                issued: [0, -1, 1_800_000_000, i64::MAX, i64::MIN][i],
            };
            let card = vec![i as u8; 300 + 97 * i];
            let body = vec![7u8; 16 + 41 * i];
            let (epk, v) = ([1u8; 32], viewer.to_bytes());
            let wire = WireGrant {
                card: card.clone(),
                grant: p.id.0.to_vec(),
                issued: p.issued,
                label: p.label.clone(),
                naf,
                nbf,
                stanza: WireStanza {
                    body: body.clone(),
                    epk: epk.to_vec(),
                },
                v: FORMAT_VERSION,
                viewer: v.to_vec(),
            };
            let g = encode_grant(&card, &p, &body, &epk, &v);
            assert_eq!(g, canonical::encode(&wire), "case {i}");
            let sig = [i as u8; 64];
            let signed = WireSignedGrant {
                grant: g.clone(),
                sig: sig.to_vec(),
            };
            assert_eq!(encode_signed_grant(&g, &sig), canonical::encode(&signed));
        }
    }
}
