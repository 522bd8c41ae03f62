//! Renewal challenges: a random token sealed to the viewer key (x25519 keys cannot sign),
//! valid five minutes, used once.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reelseal_core::keys::ViewerPublic;
use subtle::ConstantTimeEq;

const TTL: Duration = Duration::from_secs(300);

/// Viewer key → (expected answer, when it was issued).
type Open = HashMap<[u8; 32], ([u8; 32], Instant)>;

#[derive(Default)]
pub(crate) struct Challenges {
    open: Mutex<Open>,
}

impl Challenges {
    /// Remember `token` as the answer expected from `viewer`.
    pub(crate) fn issue(&self, viewer: &ViewerPublic, token: [u8; 32]) {
        let mut m = self.open.lock().expect("challenge lock");
        let now = Instant::now();
        m.retain(|_, (_, t)| now.duration_since(*t) < TTL);
        m.insert(viewer.to_bytes(), (token, now));
    }

    /// Whether `answer` is the open challenge of `viewer` (constant time); it is used up
    /// either way.
    pub(crate) fn answer(&self, viewer: &ViewerPublic, answer: &[u8]) -> bool {
        let mut m = self.open.lock().expect("challenge lock");
        match m.remove(&viewer.to_bytes()) {
            Some((t, at)) if at.elapsed() < TTL => bool::from(t.as_slice().ct_eq(answer)),
            _ => false,
        }
    }
}
