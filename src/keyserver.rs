//! `reelseal serve`: the key server, an HTTP/JSON service over the publisher's ledger.
//!
//! Public: redeem a one-time code for a grant bound to the caller's viewer key (rate-limited
//! per client address), fetch the signed revocation list, learn whether a release was
//! superseded, and fetch one's newest grants after a rotation (proving possession of the
//! viewer key by answering a challenge sealed to it). Admin (bearer token from
//! `<home>/admin.token`, compared in constant time): mint codes, list grants, revoke, read
//! the audit log. Every state change goes through the ledger and its audit log. The API
//! is described in `docs/keyserver.openapi.yaml`.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use axum::extract::{ConnectInfo, Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use reelseal_core::card::SignedCard;
use reelseal_core::grant::challenge;
use reelseal_core::keys::{PublisherSecret, ViewerPublic};
use reelseal_core::keyset::KeySet;
use reelseal_core::ReleaseId;
use reelseal_ledger::{Ledger, Redemption};
use serde::Deserialize;
use serde_json::{json, Value};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::publisher::{self, Home};
use crate::util;

/// File in the publisher's home holding the admin bearer token.
pub const ADMIN_TOKEN_FILE: &str = "admin.token";
const CHALLENGE_TTL: Duration = Duration::from_secs(300);

/// Options of `reelseal serve`.
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Redemptions per second allowed per client address (burst = 2×); 0 = unlimited.
    pub redeem_rate: u32,
}

struct AppState {
    home: Home,
    ledger: Mutex<Ledger>,
    sk: PublisherSecret,
    admin_token: Zeroizing<String>,
    releases: Mutex<HashMap<ReleaseId, ReleaseKeys>>,
    challenges: Mutex<HashMap<[u8; 32], ([u8; 32], Instant)>>,
    limiter: Mutex<HashMap<IpAddr, (f64, Instant)>>,
    redeem_rate: u32,
}

type Shared = Arc<AppState>;

/// An error as the API reports it: a status and `{"error": "..."}`.
struct ApiError(StatusCode, String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(json!({ "error": self.1 }))).into_response()
    }
}

impl From<anyhow::Error> for ApiError {
    fn from(e: anyhow::Error) -> Self {
        tracing::error!("internal error: {e:#}");
        ApiError(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error; see the server log".into(),
        )
    }
}

impl From<reelseal_ledger::LedgerError> for ApiError {
    fn from(e: reelseal_ledger::LedgerError) -> Self {
        anyhow::Error::from(e).into()
    }
}

fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

/// Read or create the admin token (0600).
pub fn admin_token(home: &Home) -> Result<Zeroizing<String>> {
    let p = home.dir.join(ADMIN_TOKEN_FILE);
    if !p.exists() {
        let t: [u8; 32] = reelseal_core::random_array();
        util::ensure_private_dir(&home.dir)?;
        util::write_atomic(&p, format!("{}\n", hex::encode(t)).as_bytes(), true)?;
    }
    let s = util::read_secret_file(&p)?;
    Ok(Zeroizing::new(s.trim().to_string()))
}

/// What issuing a grant of a release needs: card, key set, tracing code.
type ReleaseKeys = (SignedCard, KeySet, Option<reelseal_ledger::TraceCodeRow>);

fn load_releases(ledger: &Ledger, sk: &PublisherSecret) -> Result<HashMap<ReleaseId, ReleaseKeys>> {
    let mut m = HashMap::new();
    for r in ledger.releases()? {
        let card = SignedCard::verify(&r.card, &sk.public())?;
        m.insert(r.id, (card, r.keys()?, ledger.trace_code(&r.id)?));
    }
    Ok(m)
}

/// Build the router (also used by tests through [`serve`]).
fn router(state: Shared) -> Router {
    Router::new()
        .route("/v1/redeem", post(redeem))
        .route("/v1/revocations", get(revocations))
        .route("/v1/releases/{id}/newest", get(newest))
        .route("/v1/renew/challenge", post(renew_challenge))
        .route("/v1/renew", post(renew))
        .route("/v1/releases/{id}/codes", post(admin_codes))
        .route("/v1/releases/{id}/grants", get(admin_grants))
        .route("/v1/revoke", post(admin_revoke))
        .route("/v1/audit", get(admin_audit))
        .with_state(state)
}

/// Run the key server until ^C (or the process is stopped). Calls `ready` with the bound
/// address once it accepts connections.
pub async fn serve(home: Home, opts: ServeOptions, ready: impl FnOnce(SocketAddr)) -> Result<()> {
    let sk = home.secret()?;
    let ledger = home.ledger()?;
    let token = admin_token(&home)?;
    publisher::current_revocations(&home, &ledger, &sk)?;
    let releases = load_releases(&ledger, &sk)?;
    let state = Arc::new(AppState {
        home,
        ledger: Mutex::new(ledger),
        sk,
        admin_token: token,
        releases: Mutex::new(releases),
        challenges: Mutex::new(HashMap::new()),
        limiter: Mutex::new(HashMap::new()),
        redeem_rate: opts.redeem_rate,
    });
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .with_context(|| {
            format!(
                "cannot listen on {} (in use? try another --listen)",
                opts.listen
            )
        })?;
    let addr = listener.local_addr()?;
    ready(addr);
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let _ = tokio::signal::ctrl_c().await;
    })
    .await
    .context("key server stopped")?;
    Ok(())
}

/// Run blocking ledger work off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::from(anyhow::anyhow!("task failed: {e}")))?
}

fn check_rate(st: &AppState, ip: IpAddr) -> Result<(), ApiError> {
    if st.redeem_rate == 0 {
        return Ok(());
    }
    let rate = st.redeem_rate as f64;
    let mut m = st.limiter.lock().expect("limiter lock");
    let now = Instant::now();
    if m.len() > 100_000 {
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

#[derive(Deserialize)]
struct RedeemReq {
    code: String,
    viewer: String,
}

async fn redeem(
    State(st): State<Shared>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<RedeemReq>,
) -> Result<Json<Value>, ApiError> {
    check_rate(&st, peer.ip())?;
    let viewer = ViewerPublic::from_bech32(&req.viewer).map_err(|e| bad(format!("viewer: {e}")))?;
    let hash = publisher::code_hash(&req.code);
    let label = format!(
        "code {}",
        req.code.split('-').take(2).collect::<Vec<_>>().join("-")
    );
    let actor = format!("redeem from {}", peer.ip());
    blocking(move || {
        let now = util::now();
        let vb = viewer.to_bech32();
        let refusal = |r: Redemption| -> Result<Value, ApiError> {
            match r {
                Redemption::Again(g) => Ok(grant_json(&g)),
                Redemption::Unknown => Err(ApiError(StatusCode::NOT_FOUND, "unknown code: check it for typos (case and dashes do not matter)".into())),
                Redemption::Taken => Err(ApiError(
                    StatusCode::CONFLICT,
                    "this code was already redeemed with another viewer key; each code works for one viewer only".into(),
                )),
                Redemption::Expired(t) => Err(ApiError(StatusCode::GONE, format!("this code expired on {}", util::fmt_time(t)))),
            }
        };
        // Look up (brief lock), issue the grant with no lock held (the CPU-heavy part, so
        // redemptions run in parallel), then bind code and grant in one transaction.
        let status = st.ledger.lock().expect("ledger lock").code_status(&hash, &vb, now)?;
        let (release, nb, na) = match status {
            Ok(fresh) => fresh,
            Err(r) => return refusal(r),
        };
        let cached = st.releases.lock().expect("cache lock").get(&release).cloned();
        let (card, keys, code) = match cached {
            Some(c) => c,
            None => {
                // A release sealed after the server started.
                let fresh = load_releases(&st.ledger.lock().expect("ledger lock"), &st.sk)?;
                let c = fresh.get(&release).cloned().ok_or_else(|| anyhow::anyhow!("release {release} of a code is not in the ledger"))?;
                *st.releases.lock().expect("cache lock") = fresh;
                c
            }
        };
        let w = publisher::Wanted::new(label, viewer, nb, na);
        let (row, _, _) = publisher::issue_one(&card, &keys, code.as_ref(), &st.sk, &w, now, release)?;
        match st.ledger.lock().expect("ledger lock").complete_redemption(&hash, &row, now, &actor)? {
            Ok(g) => Ok(grant_json(&g)),
            Err(r) => refusal(r),
        }
    })
    .await
    .map(Json)
}

fn grant_json(bytes: &[u8]) -> Value {
    match reelseal_core::grant::Grant::inspect(bytes) {
        Ok(c) => json!({
            "grant": reelseal_core::armor::encode(reelseal_core::grant::GRANT_LABEL, bytes),
            "grant_id": c.params.id.to_hex(),
            "release_id": c.card.release_id().to_hex(),
            "title": c.card.title,
        }),
        Err(_) => {
            json!({ "grant": reelseal_core::armor::encode(reelseal_core::grant::GRANT_LABEL, bytes) })
        }
    }
}

async fn revocations(State(st): State<Shared>) -> Result<Response, ApiError> {
    let bytes = blocking(move || {
        let ledger = st.ledger.lock().expect("ledger lock");
        Ok(publisher::current_revocations(&st.home, &ledger, &st.sk)?.1)
    })
    .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response())
}

fn parse_release(id: &str) -> Result<ReleaseId, ApiError> {
    ReleaseId::from_hex(id).map_err(|_| bad("release id must be 32 hex digits"))
}

/// Follow `supersedes` links forward to the newest release.
fn newest_successor(ledger: &Ledger, id: &ReleaseId) -> Result<Option<ReleaseId>> {
    let mut cur = *id;
    let mut found = None;
    for _ in 0..64 {
        match ledger
            .successors(&cur)?
            .into_iter()
            .max_by_key(|r| r.created)
        {
            Some(r) => {
                cur = r.id;
                found = Some(r.id);
            }
            None => break,
        }
    }
    Ok(found)
}

async fn newest(
    State(st): State<Shared>,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    let id = parse_release(&id)?;
    blocking(move || {
        let ledger = st.ledger.lock().expect("ledger lock");
        match newest_successor(&ledger, &id)? {
            Some(n) => Ok(Json(json!({ "superseded": true, "newest": n.to_hex() }))),
            None => Ok(Json(json!({ "superseded": false }))),
        }
    })
    .await
}

#[derive(Deserialize)]
struct ChallengeReq {
    viewer: String,
}

async fn renew_challenge(
    State(st): State<Shared>,
    Json(req): Json<ChallengeReq>,
) -> Result<Json<Value>, ApiError> {
    let viewer = ViewerPublic::from_bech32(&req.viewer).map_err(|e| bad(format!("viewer: {e}")))?;
    let token: [u8; 32] = reelseal_core::random_array();
    let (epk, boxed) = challenge::seal(&viewer, &token).map_err(|e| bad(e.to_string()))?;
    let mut m = st.challenges.lock().expect("challenge lock");
    let now = Instant::now();
    m.retain(|_, (_, t)| now.duration_since(*t) < CHALLENGE_TTL);
    m.insert(viewer.to_bytes(), (token, now));
    Ok(Json(
        json!({ "epk": hex::encode(epk), "box": hex::encode(boxed) }),
    ))
}

#[derive(Deserialize)]
struct RenewReq {
    viewer: String,
    token: String,
    release: String,
}

async fn renew(
    State(st): State<Shared>,
    Json(req): Json<RenewReq>,
) -> Result<Json<Value>, ApiError> {
    let viewer = ViewerPublic::from_bech32(&req.viewer).map_err(|e| bad(format!("viewer: {e}")))?;
    let old = parse_release(&req.release)?;
    let answer = hex::decode(req.token.trim()).map_err(|_| bad("token must be hex"))?;
    let ok = {
        let mut m = st.challenges.lock().expect("challenge lock");
        match m.remove(&viewer.to_bytes()) {
            Some((t, at)) if at.elapsed() < CHALLENGE_TTL => {
                bool::from(t.as_slice().ct_eq(&answer))
            }
            _ => false,
        }
    };
    if !ok {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "challenge failed or expired: ask for a new one (POST /v1/renew/challenge)".into(),
        ));
    }
    blocking(move || {
        let ledger = st.ledger.lock().expect("ledger lock");
        let Some(newest) = newest_successor(&ledger, &old)? else {
            return Err(ApiError(StatusCode::NOT_FOUND, "this release has not been superseded".into()));
        };
        let vb = viewer.to_bech32();
        let grants: Vec<Value> = ledger.grants_for_viewer(&vb)?.into_iter().filter(|g| g.release == newest).map(|g| grant_json(&g.grant)).collect();
        if grants.is_empty() {
            return Err(ApiError(StatusCode::NOT_FOUND, "no grant for your key in the newest release (revoked, or never granted); contact the publisher".into()));
        }
        ledger.audit(&format!("viewer {vb}"), "renew", &format!("fetched {} grant(s) of release {newest}", grants.len()))?;
        Ok(Json(json!({ "release_id": newest.to_hex(), "grants": grants })))
    })
    .await
}

fn check_admin(st: &AppState, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let ok: bool = given.as_bytes().ct_eq(st.admin_token.as_bytes()).into();
    if ok && !given.is_empty() {
        Ok(())
    } else {
        Err(ApiError(StatusCode::UNAUTHORIZED, format!("admin endpoints need `Authorization: Bearer <token from {ADMIN_TOKEN_FILE} in the publisher home>`")))
    }
}

#[derive(Deserialize)]
struct CodesReq {
    count: u32,
    not_before: Option<String>,
    not_after: Option<String>,
}

async fn admin_codes(
    State(st): State<Shared>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Json(req): Json<CodesReq>,
) -> Result<Json<Value>, ApiError> {
    check_admin(&st, &headers)?;
    let id = parse_release(&id)?;
    let nb = req
        .not_before
        .as_deref()
        .map(|t| util::parse_time(t, util::End::Start))
        .transpose()
        .map_err(|e| bad(format!("{e:#}")))?;
    let na = req
        .not_after
        .as_deref()
        .map(|t| util::parse_time(t, util::End::Finish))
        .transpose()
        .map_err(|e| bad(format!("{e:#}")))?;
    blocking(move || {
        let mut ledger = st.ledger.lock().expect("ledger lock");
        if ledger.release(&id)?.is_none() {
            return Err(ApiError(StatusCode::NOT_FOUND, "no such release".into()));
        }
        let codes = publisher::mint_codes(&mut ledger, &id, req.count, nb, na, "admin api")
            .map_err(|e| bad(format!("{e:#}")))?;
        Ok(Json(json!({ "release_id": id.to_hex(), "codes": codes })))
    })
    .await
}

async fn admin_grants(
    State(st): State<Shared>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Value>, ApiError> {
    check_admin(&st, &headers)?;
    let id = parse_release(&id)?;
    blocking(move || {
        let ledger = st.ledger.lock().expect("ledger lock");
        let v: Vec<Value> = ledger
            .grants(&id)?
            .iter()
            .map(|g| json!({"grant_id": g.id.to_hex(), "label": g.label, "viewer": g.viewer, "issued": util::fmt_time(g.issued), "not_before": g.not_before.map(util::fmt_time), "not_after": g.not_after.map(util::fmt_time)}))
            .collect();
        Ok(Json(json!(v)))
    })
    .await
}

#[derive(Deserialize)]
struct RevokeReq {
    subject: String,
    reason: String,
}

async fn admin_revoke(
    State(st): State<Shared>,
    headers: HeaderMap,
    Json(req): Json<RevokeReq>,
) -> Result<Json<Value>, ApiError> {
    check_admin(&st, &headers)?;
    blocking(move || {
        let ledger = st.ledger.lock().expect("ledger lock");
        let (kind, subject) = publisher::revocation_subject(&ledger, &req.subject)
            .map_err(|e| bad(format!("{e:#}")))?;
        let new = ledger.revoke(kind, &subject, &req.reason, util::now())?;
        let (seq, _) = if new {
            publisher::publish_revocations(&st.home, &ledger, &st.sk)?
        } else {
            publisher::current_revocations(&st.home, &ledger, &st.sk)?
        };
        Ok(Json(
            json!({ "kind": kind, "subject": subject, "new": new, "sequence": seq }),
        ))
    })
    .await
}

#[derive(Deserialize)]
struct AuditQuery {
    limit: Option<u32>,
}

async fn admin_audit(
    State(st): State<Shared>,
    headers: HeaderMap,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    check_admin(&st, &headers)?;
    blocking(move || {
        let ledger = st.ledger.lock().expect("ledger lock");
        let v: Vec<Value> = ledger
            .audit_log(q.limit.unwrap_or(100).min(10_000))?
            .into_iter()
            .map(|(seq, t, actor, action, detail)| json!({"seq": seq, "time": util::fmt_time(t), "actor": actor, "action": action, "detail": detail}))
            .collect();
        Ok(Json(json!(v)))
    })
    .await
}
