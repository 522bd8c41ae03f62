//! Channels (FORMAT.md §12): a publisher-owned, signed sequence of versions, so a team
//! always has the latest cut and only what changed moves.
//!
//! - The **member list** (signed by the owner, `seq` growing with every change) names the
//!   channel, its owner, who may publish (editors, the owner first) and who may read
//!   (members), and wraps the current **epoch key** to each of them the way a grant wraps a
//!   key set (§7). Removing a member starts a new epoch with a fresh key.
//! - A **version card** (signed by the owner or an editor) is a release card without an
//!   infohash — it travels *inside* the version's torrent, as its first file — plus the
//!   channel id, the version number, the hash of the previous version card (the chain),
//!   the hash of the member list in force, and the version's key set sealed under the
//!   epoch key.
//! - The **pointer** to the newest version is a BEP 44 mutable item (BEP 46 value
//!   `{"ih": infohash}`, salt = channel id, `seq` = version) signed by the version's
//!   publisher; the key server serves the same signed item.
//!
//! Every version of a channel uses the channel id as its release id (§3): a file whose
//! content did not change keeps its key, its nonce and so exactly its ciphertext bytes.

use chacha20poly1305::{aead::Aead, ChaCha20Poly1305, KeyInit};
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::card::{Card, CardFile};
use crate::keys::{PublisherPublic, PublisherSecret, ViewerPublic, ViewerSecret};
use crate::keyset::KeySet;
use crate::stream::CHUNK_CT;
use crate::{canonical, fixed, Error, InfoHash, ReleaseId, Result, FORMAT_VERSION};

/// Name of the version card inside a version's torrent (always its first file).
pub const VERSION_CARD_NAME: &str = "version.rscv";
/// Armor label of a channel grant.
pub const CHANNEL_GRANT_LABEL: &str = "CHANNEL GRANT";
/// Longest note a version may carry.
pub const MAX_NOTE: usize = 4096;

/// A channel's id: 16 random bytes, also the release id of every version (§3).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ChannelId(pub [u8; 16]);

impl ChannelId {
    /// A fresh random id.
    pub fn random() -> Self {
        ChannelId(crate::random_array())
    }
    /// 32 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
    /// Parse exactly 32 hex digits.
    pub fn from_hex(s: &str) -> Result<Self> {
        let v = hex::decode(s).map_err(|_| Error::malformed("channel id", "not hex"))?;
        Self::from_slice(&v)
    }
    /// From exactly 16 bytes.
    pub fn from_slice(b: &[u8]) -> Result<Self> {
        Ok(ChannelId(fixed(b, "channel id")?))
    }
    /// The release id every version's sealed streams are bound to.
    pub fn release_id(&self) -> ReleaseId {
        ReleaseId(self.0)
    }
}
impl std::fmt::Debug for ChannelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ChannelId({})", self.to_hex())
    }
}
impl std::fmt::Display for ChannelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.to_hex())
    }
}

/// An epoch key: 32 secret bytes that open every version key set of one epoch.
pub type EpochKey = Zeroizing<[u8; 32]>;

#[derive(Serialize, Deserialize, Clone, Debug)]
struct WireStanza {
    #[serde(with = "serde_bytes")]
    body: Vec<u8>,
    #[serde(with = "serde_bytes")]
    epk: Vec<u8>,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct WireEntry {
    #[serde(with = "serde_bytes")]
    key: Vec<u8>,
    name: String,
    stanza: WireStanza,
}

#[derive(Serialize, Deserialize, Clone, Debug)]
struct WireMembers {
    #[serde(with = "serde_bytes")]
    channel: Vec<u8>,
    created: i64,
    editors: Vec<WireEntry>,
    epoch: u64,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::card::opt_bytes"
    )]
    follows: Option<Vec<u8>>,
    from: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_server: Option<String>,
    members: Vec<WireEntry>,
    #[serde(with = "serde_bytes")]
    owner: Vec<u8>,
    seq: u64,
    title: String,
    trackers: Vec<String>,
    v: u64,
}

#[derive(Serialize, Deserialize)]
struct WireSignedList {
    #[serde(with = "serde_bytes")]
    list: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

/// Someone who may publish versions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Editor {
    /// Their publisher key.
    pub key: PublisherPublic,
    /// Who they are.
    pub name: String,
}

/// Someone who may read versions.
#[derive(Clone, Debug, PartialEq)]
pub struct Member {
    /// Their viewer key.
    pub key: ViewerPublic,
    /// Who they are.
    pub name: String,
}

/// What the owner decides for one member list (the stanzas are made when it is signed).
#[derive(Clone, Debug)]
pub struct MemberListDraft {
    /// The channel.
    pub channel: ChannelId,
    /// Unix seconds.
    pub created: i64,
    /// Who may publish besides the owner (the owner is written first, named `owner`).
    pub editors: Vec<Editor>,
    /// The key epoch (0 at creation, +1 with every removal).
    pub epoch: u64,
    /// The first version this list governs (the newest version the owner knew of, + 1):
    /// a later version published under an older list is refused as stale.
    pub from_version: u64,
    /// The infohash of version `from_version - 1` as the owner knew it, if known: the one
    /// version below `from` whose pointer may be signed by someone this list no longer
    /// names (an editor removed after publishing it). See [`MemberList::may_point`].
    pub follows: Option<InfoHash>,
    /// The owner's key server, if any.
    pub key_server: Option<String>,
    /// Who may read.
    pub members: Vec<Member>,
    /// The list's own sequence number (1 at creation, +1 with every change).
    pub seq: u64,
    /// The channel's title.
    pub title: String,
    /// Trackers every version announces to.
    pub trackers: Vec<String>,
}

/// A verified member list with its exact signed bytes.
#[derive(Clone, Debug)]
pub struct MemberList {
    bytes: Vec<u8>,
    wire: WireMembers,
    /// The owner (verified signer).
    pub owner: PublisherPublic,
    /// Everything else as decided.
    pub draft: MemberListDraft,
}

fn epoch_wrap_key(
    shared: &[u8; 32],
    epk: &[u8; 32],
    recipient: &[u8; 32],
    channel: &ChannelId,
    epoch: u64,
) -> Zeroizing<[u8; 32]> {
    let mut salt = [0u8; 64];
    salt[..32].copy_from_slice(epk);
    salt[32..].copy_from_slice(recipient);
    let mut info = b"reelseal/v1/channel-epoch\x00".to_vec();
    info.extend_from_slice(&channel.0);
    info.extend_from_slice(&epoch.to_be_bytes());
    let mut k = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(&salt), shared)
        .expand(&info, &mut *k)
        .expect("valid HKDF length");
    k
}

fn wrap_epoch(
    key: &[u8; 32],
    to: &ViewerPublic,
    channel: &ChannelId,
    epoch: u64,
    ephemeral: &[u8; 32],
) -> Result<WireStanza> {
    let e = ViewerSecret::from_bytes(ephemeral);
    let epk = e.public().to_bytes();
    let shared = e.diffie_hellman(to);
    if !shared.was_contributory() {
        return Err(Error::WeakKey);
    }
    let k = epoch_wrap_key(shared.as_bytes(), &epk, &to.to_bytes(), channel, epoch);
    let body = ChaCha20Poly1305::new((&*k).into())
        .encrypt(&[0u8; 12].into(), key.as_slice())
        .expect("small plaintext");
    Ok(WireStanza {
        body,
        epk: epk.to_vec(),
    })
}

fn unwrap_epoch(
    s: &WireStanza,
    me: &ViewerSecret,
    channel: &ChannelId,
    epoch: u64,
) -> Result<EpochKey> {
    let epk: [u8; 32] = fixed(&s.epk, "stanza ephemeral key")?;
    let shared = me.diffie_hellman(&ViewerPublic::from_bytes(&epk)?);
    if !shared.was_contributory() {
        return Err(Error::WeakKey);
    }
    let k = epoch_wrap_key(
        shared.as_bytes(),
        &epk,
        &me.public().to_bytes(),
        channel,
        epoch,
    );
    let plain = Zeroizing::new(
        ChaCha20Poly1305::new((&*k).into())
            .decrypt(&[0u8; 12].into(), s.body.as_slice())
            .map_err(|_| Error::Unwrap)?,
    );
    Ok(Zeroizing::new(fixed(&plain, "epoch key")?))
}

fn check_text(what: &'static str, s: &str, max: usize) -> Result<()> {
    if s.is_empty() || s.len() > max || s.chars().any(char::is_control) {
        return Err(Error::malformed(
            what,
            format!("must be 1–{max} bytes without control characters"),
        ));
    }
    Ok(())
}

impl MemberListDraft {
    /// Sign, wrapping `epoch_key` to the owner, every editor and every member.
    pub fn sign(&self, epoch_key: &[u8; 32], owner: &PublisherSecret) -> Result<MemberList> {
        self.sign_with_ephemerals(epoch_key, owner, &mut crate::random_array)
    }

    /// [`MemberListDraft::sign`] with given ephemeral secrets, one per stanza in list order
    /// (test vectors only; never reuse one).
    #[doc(hidden)]
    pub fn sign_with_ephemerals(
        &self,
        epoch_key: &[u8; 32],
        owner: &PublisherSecret,
        ephemeral: &mut dyn FnMut() -> [u8; 32],
    ) -> Result<MemberList> {
        let mut wrap =
            |to: &ViewerPublic| wrap_epoch(epoch_key, to, &self.channel, self.epoch, &ephemeral());
        let owner_pub = owner.public();
        let mut editors = vec![WireEntry {
            key: owner_pub.to_bytes().to_vec(),
            name: "owner".into(),
            stanza: wrap(&owner_pub.to_x25519()?)?,
        }];
        for e in &self.editors {
            editors.push(WireEntry {
                key: e.key.to_bytes().to_vec(),
                name: e.name.clone(),
                stanza: wrap(&e.key.to_x25519()?)?,
            });
        }
        let members = self
            .members
            .iter()
            .map(|m| {
                Ok(WireEntry {
                    key: m.key.to_bytes().to_vec(),
                    name: m.name.clone(),
                    stanza: wrap(&m.key)?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let wire = WireMembers {
            channel: self.channel.0.to_vec(),
            created: self.created,
            editors,
            epoch: self.epoch,
            follows: self.follows.map(|f| f.0.to_vec()),
            from: self.from_version,
            key_server: self.key_server.clone(),
            members,
            owner: owner_pub.to_bytes().to_vec(),
            seq: self.seq,
            title: self.title.clone(),
            trackers: self.trackers.clone(),
            v: FORMAT_VERSION,
        };
        let list = canonical::encode(&wire);
        let sig = owner.sign("channel-members", &list);
        let bytes = canonical::encode(&WireSignedList {
            list,
            sig: sig.to_vec(),
        });
        MemberList::verify(&bytes, &owner_pub)
    }
}

impl MemberList {
    /// Parse and verify with the owner key the caller pinned (a channel grant's owner).
    pub fn verify(bytes: &[u8], owner: &PublisherPublic) -> Result<MemberList> {
        let s: WireSignedList = canonical::decode(bytes, "signed member list")?;
        let wire: WireMembers = canonical::decode(&s.list, "member list")?;
        if wire.v != FORMAT_VERSION {
            return Err(Error::Version {
                what: "member list",
                found: wire.v,
                expected: FORMAT_VERSION,
            });
        }
        if wire.owner != owner.to_bytes() {
            return Err(Error::BadSignature {
                what: "member list (signed by another owner)",
            });
        }
        owner.verify("channel-members", &s.list, &s.sig, "member list")?;
        let channel = ChannelId::from_slice(&wire.channel)?;
        check_text("channel title", &wire.title, 256)?;
        if wire.editors.first().map(|e| e.key.as_slice()) != Some(&owner.to_bytes()[..]) {
            return Err(Error::malformed(
                "member list",
                "its first editor must be the owner",
            ));
        }
        let mut editors = Vec::new();
        for (i, e) in wire.editors.iter().enumerate() {
            check_text("editor name", &e.name, 256)?;
            let key = PublisherPublic::from_bytes(&e.key)?;
            let _: [u8; 32] = fixed(&e.stanza.epk, "stanza ephemeral key")?;
            if wire.editors[..i].iter().any(|o| o.key == e.key) {
                return Err(Error::malformed("member list", "an editor is listed twice"));
            }
            if i > 0 {
                editors.push(Editor {
                    key,
                    name: e.name.clone(),
                });
            }
        }
        let mut members = Vec::new();
        for (i, m) in wire.members.iter().enumerate() {
            check_text("member name", &m.name, 256)?;
            let _: [u8; 32] = fixed(&m.stanza.epk, "stanza ephemeral key")?;
            if wire.members[..i].iter().any(|o| o.key == m.key) {
                return Err(Error::malformed("member list", "a member is listed twice"));
            }
            members.push(Member {
                key: ViewerPublic::from_bytes(&m.key)?,
                name: m.name.clone(),
            });
        }
        if wire.seq == 0 || wire.from == 0 {
            return Err(Error::malformed(
                "member list",
                "seq and from (a version number) start at 1",
            ));
        }
        let follows = match &wire.follows {
            None => None,
            Some(_) if wire.from < 2 => {
                return Err(Error::malformed(
                    "member list",
                    "follows names version from - 1, and from is 1",
                ))
            }
            Some(f) => Some(InfoHash::from_slice(f)?),
        };
        let draft = MemberListDraft {
            channel,
            created: wire.created,
            editors,
            epoch: wire.epoch,
            from_version: wire.from,
            follows,
            key_server: wire.key_server.clone(),
            members,
            seq: wire.seq,
            title: wire.title.clone(),
            trackers: wire.trackers.clone(),
        };
        Ok(MemberList {
            bytes: bytes.to_vec(),
            wire,
            owner: *owner,
            draft,
        })
    }

    /// The signed bytes (the `members.rsml` file).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// May `key` publish versions under this list?
    pub fn may_publish(&self, key: &PublisherPublic) -> bool {
        self.wire.editors.iter().any(|e| e.key == key.to_bytes())
    }
    /// May a pointer to `version` (`infohash`) signed by `signer` stand beside this list?
    /// Yes for its editors. Someone it no longer names (an editor removed since) only for
    /// the version the list `follows`: version `from - 1` with exactly that infohash, the
    /// removed editor's last version as the owner knew it. Anything else from them — a
    /// later version, or another version `from - 1` made after the removal — is refused,
    /// so a removed editor cannot slip a version in below `from` either. (The version's
    /// card is then checked on download by [`check_version`].)
    pub fn may_point(&self, signer: &PublisherPublic, version: u64, infohash: &InfoHash) -> bool {
        self.may_publish(signer)
            || (version + 1 == self.draft.from_version && self.draft.follows == Some(*infohash))
    }
    /// The name this list gives a publisher key, if it may publish.
    pub fn editor_name(&self, key: &PublisherPublic) -> Option<&str> {
        self.wire
            .editors
            .iter()
            .find(|e| e.key == key.to_bytes())
            .map(|e| e.name.as_str())
    }
    /// Is `key` a member?
    pub fn is_member(&self, key: &ViewerPublic) -> bool {
        self.wire.members.iter().any(|m| m.key == key.to_bytes())
    }
    /// The epoch key, opened with a member's viewer secret.
    pub fn epoch_key_for_member(&self, me: &ViewerSecret) -> Result<EpochKey> {
        let mine = me.public().to_bytes();
        let entry = self
            .wire
            .members
            .iter()
            .find(|m| m.key == mine)
            .ok_or_else(|| Error::NotMember {
                channel: self.draft.channel.to_hex(),
                seq: self.draft.seq,
            })?;
        unwrap_epoch(&entry.stanza, me, &self.draft.channel, self.draft.epoch)
    }
    /// The epoch key, opened with the owner's or an editor's publisher secret.
    pub fn epoch_key_for_editor(&self, me: &PublisherSecret) -> Result<EpochKey> {
        let mine = me.public().to_bytes();
        let entry = self
            .wire
            .editors
            .iter()
            .find(|e| e.key == mine)
            .ok_or_else(|| Error::NotMember {
                channel: self.draft.channel.to_hex(),
                seq: self.draft.seq,
            })?;
        unwrap_epoch(
            &entry.stanza,
            &me.to_x25519(),
            &self.draft.channel,
            self.draft.epoch,
        )
    }
}

// ---------------------------------------------------------------------------------------
// Version card

/// A version card as signed (canonical bencode, keys sorted).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct VersionCard {
    /// The channel.
    #[serde(with = "serde_bytes")]
    pub channel: Vec<u8>,
    /// Ciphertext chunk size (65,536).
    pub chunk: u64,
    /// Unix seconds.
    pub created: i64,
    /// Epoch of the member list in force.
    pub epoch: u64,
    /// The torrent's other real files (`manifest.rsm`, `f000.rsc`, …) in
    /// torrent order, with length and SHA-256 (as a release card's `files`).
    pub files: Vec<CardFile>,
    /// 16-byte salt ‖ the version's key set sealed under the epoch key.
    #[serde(with = "serde_bytes")]
    pub keys: Vec<u8>,
    /// The signed member list in force (it wraps this epoch's key to every member).
    #[serde(with = "serde_bytes")]
    pub members: Vec<u8>,
    /// What changed, in the publisher's words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Piece length of the torrent.
    pub piece: u64,
    /// SHA-256 of the previous version's signed card (absent for version 1).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        with = "crate::card::opt_bytes"
    )]
    pub prev: Option<Vec<u8>>,
    /// Who published it (the owner or an editor).
    #[serde(with = "serde_bytes")]
    pub publisher: Vec<u8>,
    /// Format version.
    pub v: u64,
    /// Version number: 1, 2, 3, … (the pointer's `seq`).
    pub version: u64,
}

#[derive(Serialize, Deserialize)]
struct WireSignedVersion {
    #[serde(with = "serde_bytes")]
    card: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

fn keys_key(
    epoch_key: &[u8; 32],
    salt: &[u8],
    channel: &[u8],
    version: u64,
) -> Zeroizing<[u8; 32]> {
    let mut info = b"reelseal/v1/channel-keys\x00".to_vec();
    info.extend_from_slice(channel);
    info.extend_from_slice(&version.to_be_bytes());
    let mut k = Zeroizing::new([0u8; 32]);
    Hkdf::<Sha256>::new(Some(salt), epoch_key)
        .expand(&info, &mut *k)
        .expect("valid HKDF length");
    k
}

/// Seal a version's key set under the epoch key (a fresh 16-byte salt per version).
pub fn seal_keys(
    keys: &KeySet,
    epoch_key: &[u8; 32],
    channel: &ChannelId,
    version: u64,
    salt: [u8; 16],
) -> Vec<u8> {
    let k = keys_key(epoch_key, &salt, &channel.0, version);
    let mut out = salt.to_vec();
    out.extend(
        ChaCha20Poly1305::new((&*k).into())
            .encrypt(&[0u8; 12].into(), keys.to_bytes().as_slice())
            .expect("small plaintext"),
    );
    out
}

impl VersionCard {
    /// The channel, typed.
    pub fn channel_id(&self) -> ChannelId {
        ChannelId::from_slice(&self.channel).expect("validated on parse")
    }
    /// The publisher, typed.
    pub fn publisher_key(&self) -> PublisherPublic {
        PublisherPublic::from_bytes(&self.publisher).expect("validated on parse")
    }
    /// Open the version's key set with the epoch key.
    pub fn open_keys(&self, epoch_key: &[u8; 32]) -> Result<KeySet> {
        if self.keys.len() < 16 {
            return Err(Error::malformed("version card", "its key set is too short"));
        }
        let k = keys_key(epoch_key, &self.keys[..16], &self.channel, self.version);
        let plain = Zeroizing::new(
            ChaCha20Poly1305::new((&*k).into())
                .decrypt(&[0u8; 12].into(), &self.keys[16..])
                .map_err(|_| Error::Unwrap)?,
        );
        KeySet::from_bytes(&plain)
    }
    /// The release card this version stands for once its infohash is known, for the
    /// release checks and decryption (§6): release id = channel id, and `files` with the
    /// version card itself first.
    pub fn as_release_card(&self, infohash: &InfoHash, own: &[u8], title: &str) -> Card {
        let mut files = vec![CardFile {
            len: own.len() as u64,
            name: VERSION_CARD_NAME.into(),
            sha256: Sha256::digest(own).to_vec(),
        }];
        files.extend(self.files.iter().cloned());
        Card {
            chunk: self.chunk,
            created: self.created,
            files,
            infohash: infohash.0.to_vec(),
            key_server: None,
            piece: self.piece,
            publisher: self.publisher.clone(),
            release: self.channel.clone(),
            supersedes: None,
            title: title.to_string(),
            trackers: Vec::new(),
            v: FORMAT_VERSION,
            web_seeds: Vec::new(),
        }
    }

    fn validate(&self) -> Result<()> {
        if self.v != FORMAT_VERSION {
            return Err(Error::Version {
                what: "version card",
                found: self.v,
                expected: FORMAT_VERSION,
            });
        }
        ChannelId::from_slice(&self.channel)?;
        PublisherPublic::from_bytes(&self.publisher)?;
        if self.chunk != CHUNK_CT as u64 {
            return Err(Error::malformed("version card", "chunk size is not 65536"));
        }
        if !self.piece.is_power_of_two() || self.piece < CHUNK_CT as u64 {
            return Err(Error::malformed(
                "version card",
                "piece length is not a power of two ≥ 65536",
            ));
        }
        if self.version == 0 {
            return Err(Error::malformed("version card", "versions start at 1"));
        }
        match (&self.prev, self.version) {
            (None, 1) => {}
            (Some(p), v) if v > 1 => {
                let _: [u8; 32] = fixed(p, "previous card hash")?;
            }
            _ => {
                return Err(Error::malformed(
                    "version card",
                    "version 1 has no previous card and every later version has one",
                ))
            }
        }
        if let Some(n) = &self.note {
            if n.is_empty() || n.len() > MAX_NOTE {
                return Err(Error::malformed(
                    "version card",
                    format!("its note must be 1–{MAX_NOTE} bytes"),
                ));
            }
        }
        let names: Vec<&str> = self.files.iter().map(|f| f.name.as_str()).collect();
        if names.first() != Some(&crate::manifest::MANIFEST_NAME) {
            return Err(Error::malformed(
                "version card",
                "its files must start with manifest.rsm",
            ));
        }
        for (i, f) in self.files.iter().enumerate() {
            crate::manifest::check_component(&f.name)?;
            let _: [u8; 32] = fixed(&f.sha256, "file sha256")?;
            if f.name == VERSION_CARD_NAME || names[..i].contains(&f.name.as_str()) {
                return Err(Error::malformed("version card", "a file is listed twice"));
            }
        }
        Ok(())
    }

    /// Sign as `publisher` (who must be the card's `publisher`).
    pub fn sign(&self, publisher: &PublisherSecret) -> Result<SignedVersion> {
        self.validate()?;
        if self.publisher != publisher.public().to_bytes() {
            return Err(Error::malformed(
                "version card",
                "it names a different publisher than the signing key",
            ));
        }
        let card = canonical::encode(self);
        let sig = publisher.sign("channel-version", &card);
        let bytes = canonical::encode(&WireSignedVersion {
            card,
            sig: sig.to_vec(),
        });
        Ok(SignedVersion {
            bytes,
            card: self.clone(),
        })
    }
}

/// A version card with its exact signed bytes. Verified against its own `publisher`; who
/// that may be is the member list's business ([`check_version`]).
#[derive(Clone, Debug)]
pub struct SignedVersion {
    bytes: Vec<u8>,
    card: VersionCard,
}

impl SignedVersion {
    /// Parse and verify the signature of the publisher the card names.
    pub fn parse(bytes: &[u8]) -> Result<SignedVersion> {
        let w: WireSignedVersion = canonical::decode(bytes, "signed version card")?;
        let card: VersionCard = canonical::decode(&w.card, "version card")?;
        card.validate()?;
        card.publisher_key()
            .verify("channel-version", &w.card, &w.sig, "version card")?;
        Ok(SignedVersion {
            bytes: bytes.to_vec(),
            card,
        })
    }
    /// The signed bytes (the `version.rscv` file).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// The card.
    pub fn card(&self) -> &VersionCard {
        &self.card
    }
    /// The member list the card carries, verified with the channel owner's key.
    pub fn member_list(&self, owner: &PublisherPublic) -> Result<MemberList> {
        MemberList::verify(&self.card.members, owner)
    }
    /// SHA-256 of the signed bytes: what the next version's `prev` names.
    pub fn hash(&self) -> [u8; 32] {
        Sha256::digest(&self.bytes).into()
    }
}

/// Why a version is refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VersionRefusal {
    /// Older than or equal to what we hold.
    #[error("it is version {found}, and version {have} is already held: a pointer or card that goes back is a rollback")]
    Rollback {
        /// Offered.
        found: u64,
        /// Held.
        have: u64,
    },
    /// Not the continuation of what we hold.
    #[error("version {found} does not continue version {have} (its previous-card hash differs): the chain forked")]
    Fork {
        /// Offered.
        found: u64,
        /// Held.
        have: u64,
    },
    /// Signed by someone the member list does not allow.
    #[error("version {version} is signed by {signer}, who is not an editor of this channel")]
    NotEditor {
        /// Version.
        version: u64,
        /// Its signer.
        signer: String,
    },
    /// Another channel, or a member list of another owner or an older seq.
    #[error("{0}")]
    Members(String),
}

/// The newest member list a viewer has seen: its `seq` and the first version it governs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Newest {
    /// Its sequence number.
    pub seq: u64,
    /// Its `from` version.
    pub from_version: u64,
}

impl MemberList {
    /// This list as the newest seen.
    pub fn newest(&self) -> Newest {
        Newest {
            seq: self.draft.seq,
            from_version: self.draft.from_version,
        }
    }
}

/// The chain rule: is `next` (with its member list `members`) an acceptable successor of
/// what the viewer holds (`held`: version number and card hash of the newest version held)
/// given the newest member list seen? Versions may be skipped (the newest pointer names
/// the newest), so a gap is accepted when `next.prev` cannot be checked; equal numbers or
/// going back never are. A version that the newest list already governs (its number is at
/// least that list's `from`) must be published under that list or a newer one: else it
/// was made with a stale list — by someone removed since, or under the old epoch key.
pub fn check_version(
    next: &SignedVersion,
    members: &MemberList,
    channel: &ChannelId,
    held: Option<(u64, [u8; 32])>,
    newest: Option<Newest>,
) -> std::result::Result<(), VersionRefusal> {
    let c = next.card();
    if c.channel_id() != *channel || members.draft.channel != *channel {
        return Err(VersionRefusal::Members(format!(
            "it belongs to channel {} (member list for {}), not to channel {channel}",
            c.channel_id(),
            members.draft.channel
        )));
    }
    if c.members != members.as_bytes() || c.epoch != members.draft.epoch {
        return Err(VersionRefusal::Members(
            "its member list is not the one the card names".into(),
        ));
    }
    if members.draft.from_version > c.version {
        return Err(VersionRefusal::Members(format!(
            "its member list governs versions from {} on, not version {}",
            members.draft.from_version, c.version
        )));
    }
    if let Some(n) = newest {
        if n.seq > members.draft.seq && n.from_version <= c.version {
            return Err(VersionRefusal::Members(format!(
                "{} published it under member list {}, but list {} governs versions from {} on: a stale list (someone was removed or added since). If they are still an editor, they run `reelseal channel pull` and publish again",
                c.publisher_key(), members.draft.seq, n.seq, n.from_version
            )));
        }
    }
    if !members.may_publish(&c.publisher_key()) {
        return Err(VersionRefusal::NotEditor {
            version: c.version,
            signer: c.publisher_key().to_bech32(),
        });
    }
    if let Some((have, hash)) = held {
        if c.version <= have {
            return Err(VersionRefusal::Rollback {
                found: c.version,
                have,
            });
        }
        if c.version == have + 1 && c.prev.as_deref() != Some(&hash[..]) {
            return Err(VersionRefusal::Fork {
                found: c.version,
                have,
            });
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------
// Channel grant

#[derive(Serialize, Deserialize, Clone, Debug)]
struct WireChannelGrant {
    #[serde(with = "serde_bytes")]
    channel: Vec<u8>,
    #[serde(with = "serde_bytes")]
    grant: Vec<u8>,
    issued: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    key_server: Option<String>,
    label: String,
    #[serde(with = "serde_bytes")]
    members: Vec<u8>,
    #[serde(with = "serde_bytes")]
    owner: Vec<u8>,
    role: String,
    v: u64,
    #[serde(with = "serde_bytes")]
    who: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WireSignedChannelGrant {
    #[serde(with = "serde_bytes")]
    grant: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

/// Who a channel grant is for.
#[derive(Clone, Debug, PartialEq)]
pub enum Holder {
    /// A member (reads versions).
    Member(ViewerPublic),
    /// An editor (publishes versions with this key).
    Editor(PublisherPublic),
}

/// A channel grant: the owner's word that `holder` belongs to the channel, with the
/// member list that made them one (the start of their chain of trust: owner key, channel
/// id, key server). Reading needs no more: every version carries the member list that
/// wraps its epoch key to each member.
#[derive(Clone, Debug)]
pub struct ChannelGrant {
    bytes: Vec<u8>,
    /// The channel.
    pub channel: ChannelId,
    /// The owner (verified signer).
    pub owner: PublisherPublic,
    /// For whom.
    pub holder: Holder,
    /// Their name in the channel.
    pub label: String,
    /// Unix seconds.
    pub issued: i64,
    /// The owner's key server, if any.
    pub key_server: Option<String>,
    /// The member list in force when it was issued (verified).
    pub members: MemberList,
}

impl ChannelGrant {
    /// Issue a grant for `holder`, who must be in `members`.
    pub fn issue(
        members: &MemberList,
        holder: Holder,
        label: &str,
        issued: i64,
        owner: &PublisherSecret,
    ) -> Result<ChannelGrant> {
        Self::issue_with_id(members, holder, label, issued, owner, crate::random_array())
    }

    /// [`ChannelGrant::issue`] with a given grant id (test vectors only).
    #[doc(hidden)]
    pub fn issue_with_id(
        members: &MemberList,
        holder: Holder,
        label: &str,
        issued: i64,
        owner: &PublisherSecret,
        id: [u8; 16],
    ) -> Result<ChannelGrant> {
        let (role, who) = match &holder {
            Holder::Member(k) => ("member", k.to_bytes()),
            Holder::Editor(k) => ("editor", k.to_bytes()),
        };
        let w = WireChannelGrant {
            channel: members.draft.channel.0.to_vec(),
            grant: id.to_vec(),
            issued,
            key_server: members.draft.key_server.clone(),
            label: label.to_string(),
            members: members.as_bytes().to_vec(),
            owner: owner.public().to_bytes().to_vec(),
            role: role.into(),
            v: FORMAT_VERSION,
            who: who.to_vec(),
        };
        let g = canonical::encode(&w);
        let sig = owner.sign("channel-grant", &g);
        let bytes = canonical::encode(&WireSignedChannelGrant {
            grant: g,
            sig: sig.to_vec(),
        });
        Self::verify(&bytes, None)
    }

    /// Parse and verify. `pinned`: the owner key the holder already trusts for this
    /// channel; `None` takes the key the grant names (first use, like `trust`).
    pub fn verify(bytes: &[u8], pinned: Option<&PublisherPublic>) -> Result<ChannelGrant> {
        let s: WireSignedChannelGrant = canonical::decode(bytes, "signed channel grant")?;
        let w: WireChannelGrant = canonical::decode(&s.grant, "channel grant")?;
        if w.v != FORMAT_VERSION {
            return Err(Error::Version {
                what: "channel grant",
                found: w.v,
                expected: FORMAT_VERSION,
            });
        }
        let owner = PublisherPublic::from_bytes(&w.owner)?;
        if let Some(p) = pinned {
            if *p != owner {
                return Err(Error::BadSignature {
                    what: "channel grant (another owner than the one pinned)",
                });
            }
        }
        owner.verify("channel-grant", &s.grant, &s.sig, "channel grant")?;
        let members = MemberList::verify(&w.members, &owner)?;
        let channel = ChannelId::from_slice(&w.channel)?;
        if members.draft.channel != channel {
            return Err(Error::malformed(
                "channel grant",
                "its member list is another channel's",
            ));
        }
        let holder = match w.role.as_str() {
            "member" => Holder::Member(ViewerPublic::from_bytes(&w.who)?),
            "editor" => Holder::Editor(PublisherPublic::from_bytes(&w.who)?),
            _ => return Err(Error::malformed("channel grant", "unknown role")),
        };
        let listed = match &holder {
            Holder::Member(k) => members.is_member(k),
            Holder::Editor(k) => members.may_publish(k),
        };
        if !listed {
            return Err(Error::malformed(
                "channel grant",
                "its holder is not in its member list",
            ));
        }
        check_text("channel grant label", &w.label, 256)?;
        Ok(ChannelGrant {
            bytes: bytes.to_vec(),
            channel,
            owner,
            holder,
            label: w.label,
            issued: w.issued,
            key_server: w.key_server,
            members,
        })
    }

    /// The signed bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
    /// ASCII armor (`REELSEAL CHANNEL GRANT`).
    pub fn to_armor(&self) -> String {
        crate::armor::encode(CHANNEL_GRANT_LABEL, &self.bytes)
    }
    /// Parse armored or binary bytes.
    pub fn from_file_bytes(b: &[u8], pinned: Option<&PublisherPublic>) -> Result<ChannelGrant> {
        match std::str::from_utf8(b) {
            Ok(t) if t.contains("-----BEGIN REELSEAL") => {
                let raw = crate::armor::decode(CHANNEL_GRANT_LABEL, t)?;
                Self::verify(&raw, pinned)
            }
            _ => Self::verify(b, pinned),
        }
    }
}

// ---------------------------------------------------------------------------------------
// Pointer (BEP 44 mutable item, BEP 46 value)

/// The newest-version pointer: a BEP 44 mutable item signed by the version's publisher,
/// salt = channel id, `seq` = version, value = bencoded `{"ih": infohash}` (BEP 46).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Pointer {
    /// Who signed it (the version's publisher).
    pub signer: PublisherPublic,
    /// The channel (the salt).
    pub channel: ChannelId,
    /// The version (the item's `seq`).
    pub version: u64,
    /// The version's torrent.
    pub infohash: InfoHash,
    /// Ed25519 signature over the BEP 44 signable bytes.
    pub sig: [u8; 64],
}

#[derive(Serialize, Deserialize)]
struct WireValue {
    #[serde(with = "serde_bytes")]
    ih: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WirePointer {
    #[serde(with = "serde_bytes")]
    k: Vec<u8>,
    #[serde(with = "serde_bytes")]
    salt: Vec<u8>,
    seq: i64,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
    #[serde(with = "serde_bytes")]
    v: Vec<u8>,
}

/// BEP 44's signable bytes: `4:salt<len>:<salt>3:seqi<seq>e1:v<len>:<value>`.
pub fn bep44_signable(salt: &[u8], seq: i64, value: &[u8]) -> Vec<u8> {
    let mut m = format!("4:salt{}:", salt.len()).into_bytes();
    m.extend_from_slice(salt);
    m.extend_from_slice(format!("3:seqi{seq}e1:v{}:", value.len()).as_bytes());
    m.extend_from_slice(value);
    m
}

impl Pointer {
    /// The BEP 46 value, `{"ih": infohash}` bencoded.
    pub fn value(&self) -> Vec<u8> {
        canonical::encode(&WireValue {
            ih: self.infohash.0.to_vec(),
        })
    }
    /// The item's `seq`.
    pub fn seq(&self) -> i64 {
        i64::try_from(self.version).unwrap_or(i64::MAX)
    }
    /// Sign a pointer.
    pub fn sign(
        key: &PublisherSecret,
        channel: &ChannelId,
        version: u64,
        infohash: &InfoHash,
    ) -> Pointer {
        let mut p = Pointer {
            signer: key.public(),
            channel: *channel,
            version,
            infohash: *infohash,
            sig: [0; 64],
        };
        p.sig = key.sign_raw(&bep44_signable(&channel.0, p.seq(), &p.value()));
        p
    }
    /// Check an item as the DHT or a key server hands it over.
    pub fn from_item(
        key: &[u8],
        salt: &[u8],
        seq: i64,
        value: &[u8],
        sig: &[u8],
    ) -> Result<Pointer> {
        let signer = PublisherPublic::from_bytes(key)?;
        signer.verify_raw(&bep44_signable(salt, seq, value), sig, "channel pointer")?;
        let v: WireValue = canonical::decode(value, "channel pointer value")?;
        if seq < 1 {
            return Err(Error::malformed("channel pointer", "seq must be ≥ 1"));
        }
        Ok(Pointer {
            signer,
            channel: ChannelId::from_slice(salt)?,
            version: seq as u64,
            infohash: InfoHash::from_slice(&v.ih)?,
            sig: fixed(sig, "signature")?,
        })
    }
    /// The key server's wire form: `{"k", "salt", "seq", "sig", "v"}` (BEP 44's names).
    pub fn to_bytes(&self) -> Vec<u8> {
        canonical::encode(&WirePointer {
            k: self.signer.to_bytes().to_vec(),
            salt: self.channel.0.to_vec(),
            seq: self.seq(),
            sig: self.sig.to_vec(),
            v: self.value(),
        })
    }
    /// Parse and verify the key server's wire form.
    pub fn from_bytes(b: &[u8]) -> Result<Pointer> {
        let w: WirePointer = canonical::decode(b, "channel pointer")?;
        Self::from_item(&w.k, &w.salt, w.seq, &w.v, &w.sig)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn draft(members: Vec<Member>, editors: Vec<Editor>) -> MemberListDraft {
        MemberListDraft {
            channel: ChannelId([7; 16]),
            created: 1_700_000_000,
            editors,
            epoch: 0,
            from_version: 1,
            follows: None,
            key_server: None,
            members,
            seq: 1,
            title: "Project".into(),
            trackers: vec![],
        }
    }

    #[test]
    fn epoch_key_opens_for_members_owner_and_editors_only() {
        let owner = PublisherSecret::generate();
        let editor = PublisherSecret::generate();
        let alice = ViewerSecret::generate();
        let eve = ViewerSecret::generate();
        let key = [9u8; 32];
        let list = draft(
            vec![Member {
                key: alice.public(),
                name: "alice".into(),
            }],
            vec![Editor {
                key: editor.public(),
                name: "ed".into(),
            }],
        )
        .sign(&key, &owner)
        .unwrap();
        assert_eq!(*list.epoch_key_for_member(&alice).unwrap(), key);
        assert_eq!(*list.epoch_key_for_editor(&owner).unwrap(), key);
        assert_eq!(*list.epoch_key_for_editor(&editor).unwrap(), key);
        assert_eq!(
            list.epoch_key_for_member(&eve).unwrap_err().kind(),
            "not_member"
        );
        // Verifies only with its owner.
        let again = MemberList::verify(list.as_bytes(), &owner.public()).unwrap();
        assert_eq!(again.as_bytes(), list.as_bytes());
        assert!(MemberList::verify(list.as_bytes(), &editor.public()).is_err());
    }

    fn version(
        publisher: &PublisherSecret,
        members: &MemberList,
        version: u64,
        prev: Option<[u8; 32]>,
    ) -> SignedVersion {
        VersionCard {
            channel: members.draft.channel.0.to_vec(),
            chunk: CHUNK_CT as u64,
            created: 0,
            epoch: members.draft.epoch,
            files: vec![CardFile {
                len: 1,
                name: crate::manifest::MANIFEST_NAME.into(),
                sha256: vec![0; 32],
            }],
            keys: seal_keys(
                &KeySet::generate(),
                &[1; 32],
                &members.draft.channel,
                version,
                [0; 16],
            ),
            members: members.as_bytes().to_vec(),
            note: None,
            piece: 1 << 18,
            prev: prev.map(|p| p.to_vec()),
            publisher: publisher.public().to_bytes().to_vec(),
            v: 1,
            version,
        }
        .sign(publisher)
        .unwrap()
    }

    #[test]
    fn the_chain_refuses_rollbacks_forks_strangers_and_stale_member_lists() {
        let owner = PublisherSecret::generate();
        let editor = PublisherSecret::generate();
        let stranger = PublisherSecret::generate();
        let ch = ChannelId([7; 16]);
        let mut d = draft(
            vec![],
            vec![Editor {
                key: editor.public(),
                name: "ed".into(),
            }],
        );
        let list = d.sign(&[1; 32], &owner).unwrap();
        let n = Some(list.newest());
        let v1 = version(&owner, &list, 1, None);
        assert_eq!(check_version(&v1, &list, &ch, None, n), Ok(()));
        let v2 = version(&editor, &list, 2, Some(v1.hash()));
        assert_eq!(
            check_version(&v2, &list, &ch, Some((1, v1.hash())), n),
            Ok(())
        );
        // Going back, or the same number again.
        assert!(matches!(
            check_version(&v1, &list, &ch, Some((2, v2.hash())), n),
            Err(VersionRefusal::Rollback { found: 1, have: 2 })
        ));
        // A version 2 that does not continue the version 1 held.
        let other = version(&owner, &list, 2, Some([9; 32]));
        assert!(matches!(
            check_version(&other, &list, &ch, Some((1, v1.hash())), n),
            Err(VersionRefusal::Fork { .. })
        ));
        // Signed by someone the list does not name.
        let x = version(&stranger, &list, 2, Some(v1.hash()));
        assert!(matches!(
            check_version(&x, &list, &ch, Some((1, v1.hash())), n),
            Err(VersionRefusal::NotEditor { version: 2, .. })
        ));
        // The editor removed in list 2, which governs from version 3: version 2 under
        // list 1 is still good (published before); version 3 under list 1 is stale.
        d.seq = 2;
        d.from_version = 3;
        d.follows = Some(InfoHash([2; 20]));
        d.editors.clear();
        let list2 = d.sign(&[2; 32], &owner).unwrap();
        let newer = Some(list2.newest());
        assert_eq!(
            check_version(&v2, &list, &ch, Some((1, v1.hash())), newer),
            Ok(())
        );
        // Pointers beside list 2: the former editor's to the version 2 it follows stands;
        // to another version 2, to version 1 or to version 3 it does not; nor a stranger's.
        let (ih2, other) = (InfoHash([2; 20]), InfoHash([9; 20]));
        assert!(list2.may_point(&editor.public(), 2, &ih2));
        assert!(!list2.may_point(&editor.public(), 2, &other));
        assert!(!list2.may_point(&editor.public(), 1, &ih2));
        assert!(!list2.may_point(&editor.public(), 3, &ih2));
        assert!(list2.may_point(&owner.public(), 3, &other));
        assert!(!list2.may_point(&stranger.public(), 2, &other));
        {
            // Without `follows` (the owner did not know version 2), none of theirs stands;
            // `follows` with `from` 1 names no version: malformed.
            let mut d = d.clone();
            d.follows = None;
            let list3 = d.sign(&[2; 32], &owner).unwrap();
            assert!(!list3.may_point(&editor.public(), 2, &ih2));
            d.from_version = 1;
            d.follows = Some(ih2);
            assert_eq!(d.sign(&[2; 32], &owner).unwrap_err().kind(), "malformed");
        }
        let v3 = version(&editor, &list, 3, Some(v2.hash()));
        assert!(matches!(
            check_version(&v3, &list, &ch, Some((2, v2.hash())), newer),
            Err(VersionRefusal::Members(_))
        ));
        // Another channel.
        assert!(check_version(&v1, &list, &ChannelId([8; 16]), None, n).is_err());
    }

    proptest::proptest! {
        #[test]
        fn parsers_never_panic_and_what_parses_is_canonical(data in proptest::collection::vec(proptest::num::u8::ANY, 0..512)) {
            let owner = PublisherSecret::from_bytes(&[7; 32]).public();
            let _ = MemberList::verify(&data, &owner);
            if let Ok(v) = SignedVersion::parse(&data) {
                proptest::prop_assert_eq!(v.as_bytes(), &data[..]);
            }
            let _ = ChannelGrant::from_file_bytes(&data, None);
            if let Ok(p) = Pointer::from_bytes(&data) {
                proptest::prop_assert_eq!(p.to_bytes(), data);
            }
        }
    }

    #[test]
    fn pointer_round_trips_and_rejects_tampering() {
        let k = PublisherSecret::generate();
        let p = Pointer::sign(&k, &ChannelId([1; 16]), 3, &InfoHash([2; 20]));
        assert_eq!(Pointer::from_bytes(&p.to_bytes()).unwrap(), p);
        assert_eq!(p.value(), b"d2:ih20:\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02\x02e");
        let bad = Pointer::from_item(&k.public().to_bytes(), &[1; 16], 4, &p.value(), &p.sig);
        assert_eq!(bad.unwrap_err().kind(), "bad_signature");
    }

    #[test]
    fn keys_seal_and_open_under_the_epoch_key_only() {
        let owner = PublisherSecret::generate();
        let keys = KeySet::generate();
        let ch = ChannelId([3; 16]);
        let sealed = seal_keys(&keys, &[5; 32], &ch, 2, [0; 16]);
        let card = VersionCard {
            channel: ch.0.to_vec(),
            chunk: CHUNK_CT as u64,
            created: 0,
            epoch: 0,
            files: vec![CardFile {
                len: 1,
                name: crate::manifest::MANIFEST_NAME.into(),
                sha256: vec![0; 32],
            }],
            keys: sealed,
            members: vec![0; 32],
            note: Some("first".into()),
            piece: 1 << 18,
            prev: Some(vec![1; 32]),
            publisher: owner.public().to_bytes().to_vec(),
            v: 1,
            version: 2,
        };
        let signed = card.sign(&owner).unwrap();
        let parsed = SignedVersion::parse(signed.as_bytes()).unwrap();
        assert_eq!(
            parsed.card().open_keys(&[5; 32]).unwrap().to_bytes(),
            keys.to_bytes()
        );
        assert_eq!(
            parsed.card().open_keys(&[6; 32]).unwrap_err().kind(),
            "unwrap"
        );
        let mut v1 = card.clone();
        v1.version = 1;
        assert!(v1.sign(&owner).is_err(), "version 1 with a prev");
    }
}
