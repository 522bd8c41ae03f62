//! One-time access codes: what a shop hands a buyer, redeemed at the key server for a
//! grant bound to the buyer's own viewer key.
//!
//! A code is 160 random bits in Crockford base32, grouped by four after `RS`
//! (`RS-7K2Q-…`). The ledger never stores a usable code, only its [`code_hash`]:
//! SHA-256 over `"reelseal/v1/code" ‖ 0x00 ‖ the code's letters and digits, uppercased`,
//! so case, spaces and dashes do not matter when a buyer types it.

use sha2::{Digest, Sha256};

use crate::{Error, Result};

/// Most codes minted in one request.
pub const MAX_BATCH: u32 = 1_000_000;

/// A freshly minted code and the hash it is stored under.
pub struct MintedCode {
    /// What the buyer types.
    pub code: String,
    /// What the ledger keeps.
    pub hash: [u8; 32],
}

/// Mint `count` codes (1 to [`MAX_BATCH`]).
pub fn mint(count: u32) -> Result<Vec<MintedCode>> {
    if count == 0 || count > MAX_BATCH {
        return Err(Error::malformed(
            "code count",
            format!("{count} is not between 1 and 1,000,000"),
        ));
    }
    Ok((0..count).map(|_| generate()).collect())
}

/// One new code.
pub fn generate() -> MintedCode {
    const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ"; // Crockford base32
    let raw: [u8; 20] = crate::random_array();
    let mut bits = 0u32;
    let mut acc = 0u32;
    let mut code = String::from("RS");
    let mut n = 0;
    for b in raw {
        acc = (acc << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            if n % 4 == 0 {
                code.push('-');
            }
            code.push(ALPHABET[((acc >> bits) & 31) as usize] as char);
            n += 1;
        }
    }
    let hash = code_hash(&code);
    MintedCode { code, hash }
}

/// The hash a code is stored and looked up under (case, spaces and dashes do not matter).
pub fn code_hash(code: &str) -> [u8; 32] {
    let norm: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let mut h = Sha256::new();
    h.update(b"reelseal/v1/code\0");
    h.update(norm.as_bytes());
    h.finalize().into()
}

/// The first two groups of a code (`RS-7K2Q`), safe to show in labels and logs.
pub fn prefix(code: &str) -> String {
    code.split('-').take(2).collect::<Vec<_>>().join("-")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_forgiving_to_type_and_counted() {
        let c = generate();
        assert_eq!(c.code.len(), 2 + 8 * 5);
        assert_eq!(code_hash(&c.code.to_lowercase().replace('-', " ")), c.hash);
        assert!(mint(0).is_err());
        assert!(mint(MAX_BATCH + 1).is_err());
        assert_eq!(mint(3).unwrap().len(), 3);
    }
}
