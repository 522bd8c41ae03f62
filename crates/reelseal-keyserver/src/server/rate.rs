//! Per-address token buckets for redemptions: `rate` per second, bursts of twice that.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::StatusCode;

use super::ApiError;

/// Addresses remembered before idle buckets are dropped.
const MAX_TRACKED: usize = 100_000;

pub(crate) struct Limiter {
    rate: u32,
    buckets: Mutex<HashMap<IpAddr, (f64, Instant)>>,
}

impl Limiter {
    pub(crate) fn new(rate: u32) -> Self {
        Limiter {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Take one token for `ip`, or refuse with 429.
    pub(crate) fn check(&self, ip: IpAddr) -> Result<(), ApiError> {
        if self.rate == 0 {
            return Ok(());
        }
        let rate = f64::from(self.rate);
        let mut m = self.buckets.lock().expect("limiter lock");
        let now = Instant::now();
        if m.len() > MAX_TRACKED {
            m.retain(|_, (_, t)| now.duration_since(*t) < Duration::from_secs(60));
        }
        let (tokens, last) = m.entry(ip).or_insert((2.0 * rate, now));
        *tokens = (*tokens + now.duration_since(*last).as_secs_f64() * rate).min(2.0 * rate);
        *last = now;
        if *tokens < 1.0 {
            return Err(ApiError(
                StatusCode::TOO_MANY_REQUESTS,
                "too many redemption attempts from your address; wait a few seconds".into(),
            ));
        }
        *tokens -= 1.0;
        Ok(())
    }
}
