//! Canonical bencode: the one encoding every signed or encrypted structure uses.
//!
//! Encoding goes through `serde_bencode` (dictionary keys sorted, integers minimal).
//! Decoding re-encodes what it parsed and rejects the input unless the bytes are identical,
//! so unknown keys, unsorted keys, duplicate keys and trailing bytes are all refused.
//!
//! Before any of that, a flat scan (no recursion) checks the bytes are one well-formed
//! bencode value no larger than [`MAX_INPUT`] and nested no deeper than [`MAX_DEPTH`], so a
//! crafted `.rskey`, leak file or revocation list cannot exhaust the stack or memory.

use serde::{de::DeserializeOwned, Serialize};

use crate::{Error, Result};

/// Encode a value in canonical bencode.
pub fn encode<T: Serialize>(v: &T) -> Vec<u8> {
    // Our own structs only hold types bencode can represent; failure is a programming error.
    serde_bencode::to_bytes(v).expect("reelseal structures always encode")
}

/// Largest bencode structure read (a torrent of a 4 TB release with 64 KiB pieces is
/// ~1.3 GB of hashes, but ours keep pieces ≥ 256 KiB by default: 64 MiB is ample).
pub const MAX_INPUT: usize = 64 << 20;
/// Deepest nesting of lists and dictionaries in any reelseal structure is 5 (torrent
/// file paths); anything deeper is refused before parsing.
pub const MAX_DEPTH: usize = 16;

/// Check that `bytes` hold one well-formed bencode value (and possibly trailing bytes,
/// which the canonical check refuses), within [`MAX_INPUT`] and [`MAX_DEPTH`], without
/// recursion.
pub fn check_shape(bytes: &[u8], what: &'static str) -> Result<()> {
    let bad = |why: &str| Error::malformed(what, why.to_string());
    if bytes.len() > MAX_INPUT {
        return Err(bad(&format!("larger than {MAX_INPUT} bytes")));
    }
    let mut depth = 0usize;
    let mut i = 0usize;
    loop {
        let b = *bytes.get(i).ok_or_else(|| bad("truncated bencode"))?;
        match b {
            b'l' | b'd' => {
                depth += 1;
                if depth > MAX_DEPTH {
                    return Err(bad(&format!("nested deeper than {MAX_DEPTH} levels")));
                }
                i += 1;
                continue;
            }
            b'e' if depth > 0 => {
                depth -= 1;
                i += 1;
            }
            b'i' => {
                let end = bytes[i..]
                    .iter()
                    .position(|&c| c == b'e')
                    .ok_or_else(|| bad("unterminated integer"))?;
                i += end + 1;
            }
            b'0'..=b'9' => {
                let colon = bytes[i..]
                    .iter()
                    .take(20)
                    .position(|&c| c == b':')
                    .ok_or_else(|| bad("bad string length"))?;
                let len: usize = std::str::from_utf8(&bytes[i..i + colon])
                    .ok()
                    .and_then(|s| s.parse().ok())
                    .ok_or_else(|| bad("bad string length"))?;
                i = (i + colon + 1)
                    .checked_add(len)
                    .filter(|&end| end <= bytes.len())
                    .ok_or_else(|| bad("string runs past the end"))?;
            }
            _ => return Err(bad("not bencode")),
        }
        if depth == 0 {
            return Ok(());
        }
    }
}

/// Decode canonical bencode, rejecting any other encoding of the same value.
pub fn decode<T: DeserializeOwned + Serialize>(bytes: &[u8], what: &'static str) -> Result<T> {
    check_shape(bytes, what)?;
    let v: T =
        serde_bencode::from_bytes(bytes).map_err(|e| Error::malformed(what, e.to_string()))?;
    if encode(&v) != bytes {
        return Err(Error::NotCanonical { what });
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deep_or_broken_input_is_refused_before_parsing() {
        let deep = format!("{}{}", "l".repeat(100_000), "e".repeat(100_000));
        let e = check_shape(deep.as_bytes(), "test").unwrap_err();
        assert!(e.to_string().contains("deeper"), "{e}");
        assert!(decode::<Vec<u8>>(deep.as_bytes(), "test").is_err());
        for bad in [
            "",
            "l",
            "d3:abc",
            "5:ab",
            "i12",
            "x",
            "99999999999999999999999:a",
        ] {
            assert!(check_shape(bad.as_bytes(), "test").is_err(), "{bad}");
        }
        for ok in ["le", "de", "i-3e", "0:", "d1:al1:bee"] {
            assert!(check_shape(ok.as_bytes(), "t").is_ok(), "{ok}");
        }
        assert!(check_shape(
            format!("{}{}", "l".repeat(16), "e".repeat(16)).as_bytes(),
            "t"
        )
        .is_ok());
        assert!(check_shape(b"d1:al1:bee", "t").is_ok());
    }
}
