//! Canonical bencode: the one encoding every signed or encrypted structure uses.
//!
//! Encoding goes through `serde_bencode` (dictionary keys sorted, integers minimal).
//! Decoding re-encodes what it parsed and rejects the input unless the bytes are identical,
//! so unknown keys, unsorted keys, duplicate keys and trailing bytes are all refused.

use serde::{de::DeserializeOwned, Serialize};

use crate::{Error, Result};

/// Encode a value in canonical bencode.
pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    // Our own structs only hold types bencode can represent; failure is a programming error.
    serde_bencode::to_bytes(v).expect("reelseal structures always encode")
}

/// Decode canonical bencode, rejecting any other encoding of the same value.
pub fn decode<T: DeserializeOwned + Serialize>(bytes: &[u8], what: &'static str) -> Result<T> {
    let v: T =
        serde_bencode::from_bytes(bytes).map_err(|e| Error::malformed(what, e.to_string()))?;
    if encode(&v) != bytes {
        return Err(Error::NotCanonical { what });
    }
    Ok(v)
}
