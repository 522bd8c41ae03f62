//! Per-address token buckets (`rate` per second, bursts of twice that), kept in the store
//! so every replica draws from the same bucket; and who the client is: the connection's
//! address, or — only when that address is a trusted proxy — the nearest untrusted
//! address in `X-Forwarded-For`.

use std::net::IpAddr;

use axum::http::{HeaderMap, StatusCode};
use ipnet::IpNet;

use super::ApiError;
use crate::store::Store;

pub(crate) struct Limiter {
    rate: u32,
    trusted: Vec<IpNet>,
}

impl Limiter {
    pub(crate) fn new(rate: u32, trusted: Vec<IpNet>) -> Self {
        Limiter { rate, trusted }
    }

    /// The client's address: `peer`, unless `peer` is a trusted proxy and
    /// `X-Forwarded-For` names someone (read right to left, skipping trusted proxies).
    pub(crate) fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let trusted = |ip: &IpAddr| self.trusted.iter().any(|n| n.contains(ip));
        if !trusted(&peer) {
            return peer;
        }
        let hops: Vec<IpAddr> = headers
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map_while(|s| s.parse().ok())
            .collect();
        hops.iter()
            .rev()
            .find(|ip| !trusted(ip))
            .or(hops.first())
            .copied()
            .unwrap_or(peer)
    }

    /// Take one token of `what` (`redeem`, `challenge`) for `ip`, or refuse with 429.
    pub(crate) async fn check<S: Store>(
        &self,
        store: &S,
        what: &str,
        ip: IpAddr,
    ) -> Result<(), ApiError> {
        if self.rate == 0 {
            return Ok(());
        }
        let rate = f64::from(self.rate);
        if store
            .take_token(format!("{what}/{ip}"), rate, 2.0 * rate)
            .await?
        {
            Ok(())
        } else {
            Err(ApiError::status(
                StatusCode::TOO_MANY_REQUESTS,
                "too many attempts from your address; wait a few seconds",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn xff(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", v.parse().unwrap());
        h
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let l = Limiter::new(5, vec!["10.0.0.0/8".parse().unwrap()]);
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        let stranger: IpAddr = "192.0.2.9".parse().unwrap();
        let h = xff("203.0.113.7, 10.9.9.9");
        assert_eq!(
            l.client(proxy, &h),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
        assert_eq!(l.client(stranger, &h), stranger);
        assert_eq!(l.client(proxy, &HeaderMap::new()), proxy);
        assert_eq!(l.client(proxy, &xff("garbage")), proxy);
        // A client cannot push a spoofed address past the proxy's own entry.
        let h = xff("198.51.100.1, 203.0.113.7");
        assert_eq!(
            l.client(proxy, &h),
            "203.0.113.7".parse::<IpAddr>().unwrap()
        );
    }
}
