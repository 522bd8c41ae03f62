//! Renewal challenges: a random token sealed to the viewer key (x25519 keys cannot sign),
//! valid five minutes, answered once. The store keeps only the token's SHA-256 and its
//! expiry, so any replica can check an answer and a database dump holds no live token.
//! A viewer key may have several open at once (a new one does not cancel the others), up
//! to [`LIMITS`]; requests for them are rate-limited per address like redemptions.

use sha2::{Digest, Sha256};

use crate::store::ChallengeLimits;

/// Seconds a challenge stays open.
pub(crate) const TTL: i64 = 300;

/// Open challenges per viewer key and in all.
pub(crate) const LIMITS: ChallengeLimits = ChallengeLimits {
    per_viewer: 16,
    total: 100_000,
};

/// What the store keeps of a token (or of an answer, to look it up).
pub(crate) fn token_hash(token: &[u8]) -> [u8; 32] {
    Sha256::digest(token).into()
}
