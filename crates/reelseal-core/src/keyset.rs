//! A release's secret: the key set, key id → 32-byte key.
//!
//! Key id 0 is the release's main content key (the manifest and every untraced file use
//! it). Further ids are for per-segment variant keys, so that different viewers can hold
//! different keys without a format change.
//!
//! Version 2 writes every id as 4 big-endian bytes, so every entry has the same length and
//! a grant's (encrypted) size says nothing about which variant keys it holds; version 1
//! (ids as bencode integers: `9` and `10` differ in length) is still read.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, Zeroizing};

use crate::{canonical, fixed, Error, Result};

/// The version written: 2 (fixed-width ids).
pub const KEYSET_VERSION: u64 = 2;

/// The id of the main content key.
pub const MAIN_KEY: u32 = 0;

/// Key id → key. Keys zeroize on drop.
#[derive(Clone, Default)]
pub struct KeySet {
    keys: BTreeMap<u32, Zeroizing<[u8; 32]>>,
}

#[derive(Serialize, Deserialize, Zeroize)]
#[zeroize(drop)]
struct WireKey {
    id: u32,
    #[serde(with = "serde_bytes")]
    key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WireKeySet {
    keys: Vec<WireKey>,
    v: u64,
}

#[derive(Serialize, Deserialize, Zeroize)]
#[zeroize(drop)]
struct WireKeyV2 {
    #[serde(with = "serde_bytes")]
    id: Vec<u8>,
    #[serde(with = "serde_bytes")]
    key: Vec<u8>,
}

#[derive(Serialize, Deserialize)]
struct WireKeySetV2 {
    keys: Vec<WireKeyV2>,
    v: u64,
}

impl KeySet {
    /// A key set with one fresh random main key.
    pub fn generate() -> Self {
        let mut ks = KeySet::default();
        ks.insert(MAIN_KEY, crate::random_array());
        ks
    }
    /// Add or replace a key.
    pub fn insert(&mut self, id: u32, key: [u8; 32]) {
        self.keys.insert(id, Zeroizing::new(key));
    }
    /// Look a key up.
    pub fn get(&self, id: u32) -> Result<&[u8; 32]> {
        self.keys
            .get(&id)
            .map(|k| &**k)
            .ok_or_else(|| Error::malformed("key set", format!("it holds no key with id {id}")))
    }
    /// The main content key.
    pub fn main(&self) -> Result<&[u8; 32]> {
        self.get(MAIN_KEY)
    }
    /// Key ids present, ascending.
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.keys.keys().copied()
    }
    /// Canonical encoding (secret: keep it encrypted or in a 0600 file).
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let wire = WireKeySetV2 {
            keys: self
                .keys
                .iter()
                .map(|(id, k)| WireKeyV2 {
                    id: id.to_be_bytes().to_vec(),
                    key: k.to_vec(),
                })
                .collect(),
            v: KEYSET_VERSION,
        };
        Zeroizing::new(canonical::encode(&wire))
    }
    /// Parse the canonical encoding (version 2, or version 1): ids strictly ascending, main
    /// key present.
    pub fn from_bytes(b: &[u8]) -> Result<Self> {
        let entries: Vec<(u32, Zeroizing<Vec<u8>>)> =
            match canonical::decode::<WireKeySetV2>(b, "key set") {
                Ok(w) if w.v == KEYSET_VERSION => w
                    .keys
                    .iter()
                    .map(|k| {
                        Ok((
                            u32::from_be_bytes(fixed(&k.id, "key id")?),
                            Zeroizing::new(k.key.clone()),
                        ))
                    })
                    .collect::<Result<_>>()?,
                Ok(w) => return Err(version(w.v)),
                Err(e2) => match canonical::decode::<WireKeySet>(b, "key set") {
                    Ok(w) if w.v == 1 => w
                        .keys
                        .iter()
                        .map(|k| (k.id, Zeroizing::new(k.key.clone())))
                        .collect(),
                    Ok(w) if w.v != KEYSET_VERSION => return Err(version(w.v)),
                    _ => return Err(e2),
                },
            };
        let mut ks = KeySet::default();
        let mut prev: Option<u32> = None;
        for (id, key) in &entries {
            if prev.is_some_and(|p| p >= *id) {
                return Err(Error::malformed(
                    "key set",
                    "key ids must be strictly ascending",
                ));
            }
            prev = Some(*id);
            ks.insert(*id, fixed(key, "key set key")?);
        }
        if !ks.keys.contains_key(&MAIN_KEY) {
            return Err(Error::malformed(
                "key set",
                "the main key (id 0) is missing",
            ));
        }
        Ok(ks)
    }
}

fn version(found: u64) -> Error {
    Error::Version {
        what: "key set",
        found,
        expected: KEYSET_VERSION,
    }
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeySet({} keys, redacted)", self.keys.len())
    }
}
