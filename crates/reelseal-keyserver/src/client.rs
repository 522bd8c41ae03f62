//! The key server's client, used by `reelview` (redeem, renew, revocation checks) and by
//! tests and examples for the admin endpoints. Blocking: viewer operations call it from
//! synchronous code (or from tokio's blocking pool). Every answer is size-capped before it
//! is read.

use std::io::Read;
use std::time::Duration;

use reelseal_core::channel::ChannelId;
use reelseal_core::keys::ViewerPublic;
use reelseal_core::ReleaseId;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::{self, *};

/// Largest answer read from a key server (a revocation list of ~100,000 entries fits).
pub const MAX_RESPONSE: u64 = 16 << 20;

/// Why a key server call failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// No answer (DNS, connection, timeout).
    #[error("cannot reach the key server at {url}: {source}")]
    Unreachable {
        /// What was asked.
        url: String,
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The server answered with an error status and its message.
    #[error("{message} (HTTP {status})")]
    Refused {
        /// HTTP status.
        status: u16,
        /// The server's `error` message, or the status text.
        message: String,
    },
    /// A key server URL that is not `https://` (plain `http://` only on loopback).
    #[error("{url}: {why}")]
    BadUrl {
        /// The URL.
        url: String,
        /// What is wrong with it.
        why: String,
    },
    /// An answer that is not what the API promises.
    #[error("the key server at {url} sent an answer this client cannot use: {why}")]
    BadAnswer {
        /// What was asked.
        url: String,
        /// What is wrong with it.
        why: String,
    },
}

impl ClientError {
    /// The HTTP status of a refusal.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Refused { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// Result with [`ClientError`].
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// A key server at a base URL (`https://keys.example.org`).
pub struct Client {
    base: String,
    http: reqwest::blocking::Client,
    admin_token: Option<String>,
}

/// Check a key server URL: `https://` anywhere, plain `http://` only when the host is on
/// this machine (127.0.0.0/8, ::1, localhost) — grants, codes and revocation lists must
/// not cross a network in the clear.
pub fn check_url(url: &str) -> Result<()> {
    let bad = |why: &str| ClientError::BadUrl {
        url: url.to_string(),
        why: why.to_string(),
    };
    let u = reqwest::Url::parse(url).map_err(|e| bad(&format!("not a URL ({e})")))?;
    let loopback = match u.host() {
        Some(url::Host::Ipv4(a)) => a.is_loopback(),
        Some(url::Host::Ipv6(a)) => a.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => return Err(bad("it names no host")),
    };
    match u.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        "http" => Err(bad(
            "a key server must be https:// (plain http:// only on this machine, e.g. http://127.0.0.1:8787); put it behind a TLS proxy",
        )),
        other => Err(bad(&format!("unsupported scheme {other:?}: use https://"))),
    }
}

impl Client {
    /// A client for the server at `base` (checked with [`check_url`]).
    pub fn new(base: &str) -> Result<Self> {
        check_url(base)?;
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(10))
            .user_agent(concat!("reelseal/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|source| ClientError::Unreachable {
                url: base.to_string(),
                source,
            })?;
        Ok(Client {
            base: base.trim_end_matches('/').to_string(),
            http,
            admin_token: None,
        })
    }

    /// Use the admin bearer token for admin calls.
    pub fn with_admin_token(mut self, token: &str) -> Self {
        self.admin_token = Some(token.trim().to_string());
        self
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn send(&self, req: reqwest::blocking::RequestBuilder, url: &str) -> Result<Vec<u8>> {
        let req = match &self.admin_token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        let resp = req.send().map_err(|source| ClientError::Unreachable {
            url: url.to_string(),
            source,
        })?;
        let status = resp.status();
        let mut body = Vec::new();
        resp.take(MAX_RESPONSE + 1)
            .read_to_end(&mut body)
            .map_err(|e| ClientError::BadAnswer {
                url: url.to_string(),
                why: e.to_string(),
            })?;
        if body.len() as u64 > MAX_RESPONSE {
            return Err(ClientError::BadAnswer {
                url: url.to_string(),
                why: format!("larger than {MAX_RESPONSE} bytes"),
            });
        }
        if !status.is_success() {
            let message = serde_json::from_slice::<api::ErrorBody>(&body)
                .map(|b| b.error)
                .unwrap_or_else(|_| status.to_string());
            return Err(ClientError::Refused {
                status: status.as_u16(),
                message,
            });
        }
        Ok(body)
    }

    fn json<T: DeserializeOwned>(&self, bytes: &[u8], url: &str) -> Result<T> {
        serde_json::from_slice(bytes).map_err(|e| ClientError::BadAnswer {
            url: url.to_string(),
            why: e.to_string(),
        })
    }

    fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let b = self.send(self.http.get(&url), &url)?;
        self.json(&b, &url)
    }

    fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T> {
        let url = format!("{}{path}", self.base);
        let b = self.send(self.http.post(&url).json(body), &url)?;
        self.json(&b, &url)
    }

    /// Redeem a one-time code for a grant bound to `viewer`.
    pub fn redeem(&self, code: &str, viewer: &ViewerPublic) -> Result<GrantResponse> {
        self.post(
            api::REDEEM,
            &RedeemRequest {
                code: code.to_string(),
                viewer: viewer.to_bech32(),
            },
        )
    }

    /// The signed revocation list (verify it with the pinned publisher key).
    pub fn revocations(&self) -> Result<Vec<u8>> {
        let url = format!("{}{}", self.base, api::REVOCATIONS);
        self.send(self.http.get(&url), &url)
    }

    /// Whether `release` was superseded, and by which.
    pub fn newest(&self, release: &ReleaseId) -> Result<NewestResponse> {
        self.get(&api::newest_path(&release.to_hex()))
    }

    /// The newest version announced for `channel`, or `None` if none was (404). The parts
    /// are signed: decode them with [`api::decode_head`] and verify them with the owner
    /// key the caller trusts before using them.
    pub fn channel_head(&self, channel: &ChannelId) -> Result<Option<ChannelHead>> {
        match self.get(&api::channel_newest_path(&channel.to_hex())) {
            Ok(h) => Ok(Some(h)),
            Err(ClientError::Refused { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Announce `head` as the newest version of `channel`; the head the server now holds.
    /// Refusals: 400 (malformed or mismatched parts), 403 (a member list not signed by the
    /// server's publisher, or a pointer not signed by an editor), 409 (a version, or a
    /// member list, older than the one already announced).
    pub fn put_channel_head(&self, head: &ChannelHead, channel: &ChannelId) -> Result<ChannelHead> {
        let url = format!(
            "{}{}",
            self.base,
            api::channel_newest_path(&channel.to_hex())
        );
        let b = self.send(self.http.put(&url).json(head), &url)?;
        self.json(&b, &url)
    }

    /// A challenge sealed to `viewer`.
    pub fn challenge(&self, viewer: &ViewerPublic) -> Result<ChallengeResponse> {
        self.post(
            api::RENEW_CHALLENGE,
            &ChallengeRequest {
                viewer: viewer.to_bech32(),
            },
        )
    }

    /// The viewer's grants for the newest release superseding `old`, proving the key with
    /// the opened challenge `token`.
    pub fn renew(
        &self,
        viewer: &ViewerPublic,
        token: &[u8; 32],
        old: &ReleaseId,
    ) -> Result<RenewResponse> {
        self.post(
            api::RENEW,
            &RenewRequest {
                viewer: viewer.to_bech32(),
                token: hex::encode(token),
                release: old.to_hex(),
            },
        )
    }

    /// Admin: mint codes.
    pub fn mint_codes(&self, release: &ReleaseId, req: &CodesRequest) -> Result<CodesResponse> {
        self.post(&api::codes_path(&release.to_hex()), req)
    }

    /// Admin: the grants of a release.
    pub fn grants(&self, release: &ReleaseId) -> Result<Vec<GrantSummary>> {
        self.get(&api::grants_path(&release.to_hex()))
    }

    /// Admin: revoke a grant or viewer key.
    pub fn revoke(&self, req: &RevokeRequest) -> Result<RevokeResponse> {
        self.post(api::REVOKE, req)
    }

    /// Admin: the newest audit entries.
    pub fn audit(&self, limit: u32) -> Result<Vec<AuditEntry>> {
        self.get(&format!("{}?limit={limit}", api::AUDIT))
    }
}

#[cfg(test)]
mod tests {
    use super::check_url;

    #[test]
    fn key_servers_are_https_except_on_this_machine() {
        for ok in [
            "https://keys.example.org",
            "https://keys.example.org:8443/base",
            "http://127.0.0.1:8787",
            "http://127.9.9.9",
            "http://[::1]:8787",
            "http://localhost:8787",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://keys.example.org",
            "http://10.0.0.5:8787",
            "ftp://127.0.0.1",
            "keys.example.org",
            "http://",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
