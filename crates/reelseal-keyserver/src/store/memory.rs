//! Renewal challenges and rate-limit buckets in one process's memory, for a store that
//! only one process serves ([`super::SqliteStore`]). Both are bounded: challenges by
//! [`ChallengeLimits`], buckets by [`MAX_BUCKETS`] (idle ones are dropped first).

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reelseal_core::keys::ViewerPublic;
use subtle::ConstantTimeEq;

use super::{ChallengeLimits, ChallengeOpened};

/// Buckets remembered before idle ones are dropped.
pub const MAX_BUCKETS: usize = 100_000;

/// A bucket idle this long is full again for any rate worth limiting; it is dropped.
const IDLE: Duration = Duration::from_secs(60);

/// Token buckets by key.
#[derive(Default)]
pub struct Buckets(Mutex<HashMap<String, (f64, Instant)>>);

impl Buckets {
    /// Take one token from `key` (refilled at `rate`/s up to `burst`); whether it had one.
    pub fn take(&self, key: String, rate: f64, burst: f64) -> bool {
        let mut m = self.0.lock().expect("bucket lock");
        let now = Instant::now();
        if m.len() >= MAX_BUCKETS {
            m.retain(|_, (_, t)| now.duration_since(*t) < IDLE);
        }
        let (tokens, last) = m.entry(key).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(burst);
        *last = now;
        if *tokens < 1.0 {
            return false;
        }
        *tokens -= 1.0;
        true
    }

    /// Drop idle buckets.
    pub fn sweep(&self) {
        let now = Instant::now();
        self.0
            .lock()
            .expect("bucket lock")
            .retain(|_, (_, t)| now.duration_since(*t) < IDLE);
    }
}

/// Viewer key → (token hash, expiry) of each open challenge.
type Open = HashMap<[u8; 32], Vec<([u8; 32], i64)>>;

/// Open challenges.
#[derive(Default)]
pub struct Challenges {
    open: Mutex<Open>,
}

impl Challenges {
    fn total(m: &Open) -> usize {
        m.values().map(Vec::len).sum()
    }

    /// Remember a challenge, within `limits`.
    pub fn open(
        &self,
        viewer: &ViewerPublic,
        token_hash: [u8; 32],
        now: i64,
        expires: i64,
        limits: ChallengeLimits,
    ) -> ChallengeOpened {
        let mut m = self.open.lock().expect("challenge lock");
        let mine = m.entry(viewer.to_bytes()).or_default();
        mine.retain(|(_, exp)| *exp > now);
        if mine.len() >= limits.per_viewer as usize {
            return ChallengeOpened::TooManyForViewer;
        }
        if Self::total(&m) >= limits.total as usize {
            Self::prune(&mut m, now);
            if Self::total(&m) >= limits.total as usize {
                return ChallengeOpened::Full;
            }
        }
        m.entry(viewer.to_bytes())
            .or_default()
            .push((token_hash, expires));
        ChallengeOpened::Opened
    }

    /// Use up the challenge with this token hash: whether it was open and not expired.
    pub fn take(&self, viewer: &ViewerPublic, token_hash: &[u8; 32], now: i64) -> bool {
        let mut m = self.open.lock().expect("challenge lock");
        let Some(mine) = m.get_mut(&viewer.to_bytes()) else {
            return false;
        };
        let Some(i) = mine
            .iter()
            .position(|(h, _)| bool::from(h.as_slice().ct_eq(token_hash)))
        else {
            return false;
        };
        let (_, expires) = mine.swap_remove(i);
        if mine.is_empty() {
            m.remove(&viewer.to_bytes());
        }
        expires > now
    }

    /// Forget expired challenges.
    pub fn sweep(&self, now: i64) {
        Self::prune(&mut self.open.lock().expect("challenge lock"), now);
    }

    fn prune(m: &mut Open, now: i64) {
        m.retain(|_, v| {
            v.retain(|(_, exp)| *exp > now);
            !v.is_empty()
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelseal_core::keys::ViewerSecret;

    const LIMITS: ChallengeLimits = ChallengeLimits {
        per_viewer: 2,
        total: 3,
    };

    #[test]
    fn challenges_are_single_use_several_per_key_and_bounded() {
        let c = Challenges::default();
        let (a, b) = (
            ViewerSecret::generate().public(),
            ViewerSecret::generate().public(),
        );
        assert_eq!(c.open(&a, [1; 32], 0, 300, LIMITS), ChallengeOpened::Opened);
        assert_eq!(c.open(&a, [2; 32], 0, 300, LIMITS), ChallengeOpened::Opened);
        assert_eq!(
            c.open(&a, [3; 32], 0, 300, LIMITS),
            ChallengeOpened::TooManyForViewer
        );
        assert_eq!(c.open(&b, [4; 32], 0, 10, LIMITS), ChallengeOpened::Opened);
        assert_eq!(c.open(&b, [5; 32], 0, 300, LIMITS), ChallengeOpened::Full);
        // The first of a's challenges still works after the second was issued; once.
        assert!(c.take(&a, &[1; 32], 1));
        assert!(!c.take(&a, &[1; 32], 1));
        assert!(!c.take(&b, &[2; 32], 1), "another viewer's token");
        // b's expired one makes room once swept.
        assert!(!c.take(&b, &[4; 32], 10));
        assert_eq!(
            c.open(&b, [6; 32], 11, 300, LIMITS),
            ChallengeOpened::Opened
        );
    }

    #[test]
    fn buckets_refuse_past_the_burst_without_taking() {
        let b = Buckets::default();
        assert!(b.take("x".into(), 0.001, 2.0));
        assert!(b.take("x".into(), 0.001, 2.0));
        assert!(!b.take("x".into(), 0.001, 2.0));
        assert!(b.take("y".into(), 0.001, 2.0));
    }
}
