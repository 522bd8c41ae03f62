//! The key server's wire types, shared by the server and the client. Field names are the
//! JSON keys of `docs/keyserver.openapi.yaml`; the tests compare the two.

use base64::{engine::general_purpose::STANDARD, Engine};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// `POST` — redeem a one-time code.
pub const REDEEM: &str = "/v1/redeem";
/// `GET` — the signed revocation list (bytes).
pub const REVOCATIONS: &str = "/v1/revocations";
/// `POST` — a challenge sealed to a viewer key.
pub const RENEW_CHALLENGE: &str = "/v1/renew/challenge";
/// `POST` — grants for the newest release superseding an old one.
pub const RENEW: &str = "/v1/renew";
/// `POST` (admin) — revoke a grant or a viewer key.
pub const REVOKE: &str = "/v1/revoke";
/// `GET` (admin) — the audit log.
pub const AUDIT: &str = "/v1/audit";
/// `GET` — the process answers ([`HealthResponse`] `ok`).
pub const HEALTHZ: &str = "/healthz";
/// `GET` — the process and its database answer ([`HealthResponse`] `ready`, else 503).
pub const READYZ: &str = "/readyz";
/// `GET` — Prometheus metrics (text exposition format).
pub const METRICS: &str = "/metrics";

/// `GET` — whether release `id` was superseded.
pub fn newest_path(release_hex: &str) -> String {
    format!("/v1/releases/{release_hex}/newest")
}
/// `POST` (admin) — mint codes for release `id`.
pub fn codes_path(release_hex: &str) -> String {
    format!("/v1/releases/{release_hex}/codes")
}
/// `GET` (admin) — the grants of release `id`.
pub fn grants_path(release_hex: &str) -> String {
    format!("/v1/releases/{release_hex}/grants")
}

/// `GET` — the newest announced version of channel `id` ([`ChannelHead`]); `PUT` —
/// announce one.
pub fn channel_newest_path(channel_hex: &str) -> String {
    format!("/v1/channels/{channel_hex}/newest")
}

/// Every error answer: a message for the user.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ErrorBody {
    /// What went wrong and what to do.
    pub error: String,
}

/// Answer of [`HEALTHZ`] and [`READYZ`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct HealthResponse {
    /// `ok` (healthz) or `ready` (readyz).
    pub status: String,
}

/// Body of [`REDEEM`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct RedeemRequest {
    /// The code; case, spaces and dashes do not matter.
    pub code: String,
    /// The redeeming viewer's key, `rsview1…`.
    pub viewer: String,
}

/// A grant handed out.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct GrantResponse {
    /// ASCII-armored grant.
    pub grant: String,
    /// Grant id, 32 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grant_id: Option<String>,
    /// Release id, 32 hex digits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub release_id: Option<String>,
    /// The release's title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Answer of [`newest_path`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct NewestResponse {
    /// Whether a rotation replaced the release.
    pub superseded: bool,
    /// The newest release id, when superseded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest: Option<String>,
}

/// Body of [`RENEW_CHALLENGE`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChallengeRequest {
    /// The viewer key to seal the challenge to.
    pub viewer: String,
}

/// A random token sealed to the viewer key (x25519 keys cannot sign).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct ChallengeResponse {
    /// Ephemeral public key, hex.
    pub epk: String,
    /// The sealed token, hex.
    #[serde(rename = "box")]
    pub sealed: String,
}

/// Body of [`RENEW`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct RenewRequest {
    /// The viewer key.
    pub viewer: String,
    /// The opened challenge, hex.
    pub token: String,
    /// The old release id.
    pub release: String,
}

/// Answer of [`RENEW`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct RenewResponse {
    /// The newest release.
    pub release_id: String,
    /// The viewer's grants for it.
    pub grants: Vec<GrantResponse>,
}

/// Body of [`codes_path`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct CodesRequest {
    /// How many (1 to 1,000,000).
    pub count: u32,
    /// RFC 3339 or YYYY-MM-DD (UTC): grants made from these codes open no earlier.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_before: Option<String>,
    /// Codes expire, and their grants close, after this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_after: Option<String>,
}

/// Answer of [`codes_path`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct CodesResponse {
    /// The release.
    pub release_id: String,
    /// The codes, one per buyer.
    pub codes: Vec<String>,
}

/// One grant in the admin listing ([`grants_path`]).
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct GrantSummary {
    /// Grant id.
    pub grant_id: String,
    /// Label.
    pub label: String,
    /// Viewer key.
    pub viewer: String,
    /// Issue time, RFC 3339.
    pub issued: String,
    /// Window start, RFC 3339.
    pub not_before: Option<String>,
    /// Window end, RFC 3339.
    pub not_after: Option<String>,
}

impl From<&reelseal_ledger::GrantRow> for GrantSummary {
    fn from(g: &reelseal_ledger::GrantRow) -> Self {
        use reelseal_core::validity::fmt_time;
        GrantSummary {
            grant_id: g.id.to_hex(),
            label: g.label.clone(),
            viewer: g.viewer.to_bech32(),
            issued: fmt_time(g.issued),
            not_before: g.validity.not_before().map(fmt_time),
            not_after: g.validity.not_after().map(fmt_time),
        }
    }
}

/// Body of [`REVOKE`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct RevokeRequest {
    /// Grant id (or a unique prefix of 8+ hex digits) or `rsview1…`.
    pub subject: String,
    /// Why (shown to the viewer whose grant is refused).
    pub reason: String,
}

/// Answer of [`REVOKE`].
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct RevokeResponse {
    /// `grant` or `viewer`.
    pub kind: String,
    /// The grant id or viewer key revoked.
    pub subject: String,
    /// Whether it was not revoked before.
    pub new: bool,
    /// Sequence of the signed list that now includes it.
    pub sequence: u64,
}

/// Query of [`AUDIT`].
#[derive(Clone, Debug, Default, Serialize, Deserialize, JsonSchema)]
pub struct AuditQuery {
    /// Newest entries to return (default 100, at most 10,000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<u32>,
}

/// One audit log entry.
#[derive(Clone, Debug, Serialize, Deserialize, JsonSchema)]
pub struct AuditEntry {
    /// Sequence number.
    pub seq: i64,
    /// RFC 3339.
    pub time: String,
    /// Who.
    pub actor: String,
    /// What.
    pub action: String,
    /// Details.
    pub detail: String,
}

/// A channel's newest announced version (FORMAT.md §12): answer of `GET`
/// [`channel_newest_path`] and body (and answer) of `PUT`. Both parts are signed, so
/// whoever reads them verifies them with the channel owner's key they already trust; the
/// server is only a mirror of the DHT pointer that cannot forge one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ChannelHead {
    /// The version the pointer names (its `seq`).
    pub version: u64,
    /// The signed pointer (BEP 44 item: `k`, `salt`, `seq`, `sig`, `v`), standard base64
    /// with padding.
    pub pointer: String,
    /// The signed member list in force for that version (`members.rsml`), standard
    /// base64 with padding.
    pub members: String,
}

impl ChannelHead {
    /// The head announcing `pointer` under `members` (the caller's verified objects).
    pub fn new(
        pointer: &reelseal_core::channel::Pointer,
        members: &reelseal_core::channel::MemberList,
    ) -> Self {
        ChannelHead {
            version: pointer.version,
            pointer: STANDARD.encode(pointer.to_bytes()),
            members: STANDARD.encode(members.as_bytes()),
        }
    }
}

/// The signed pointer and member list bytes of a head, base64-decoded and nothing more:
/// verifying them (`Pointer::from_bytes`, `MemberList::verify` with the owner key the
/// caller pinned, the pointer's signer an editor, the version the pointer's) is the
/// caller's job.
pub fn decode_head(h: &ChannelHead) -> Result<(Vec<u8>, Vec<u8>), String> {
    let pointer = STANDARD
        .decode(&h.pointer)
        .map_err(|e| format!("pointer: not base64 ({e})"))?;
    let members = STANDARD
        .decode(&h.members)
        .map_err(|e| format!("members: not base64 ({e})"))?;
    Ok((pointer, members))
}
