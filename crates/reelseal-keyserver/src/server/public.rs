//! Public endpoints: redeem a code, the revocation list, whether a release was
//! superseded, and renewal after a rotation (with proof of the viewer key).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use reelseal_core::grant::{challenge, Grant, GRANT_LABEL};
use reelseal_core::issue::{self, GrantRequest};
use reelseal_core::keys::ViewerPublic;
use reelseal_core::validity::{fmt_time, now};
use reelseal_core::{armor, code, ReleaseId};
use reelseal_ledger::{GrantRow, Redemption};

use super::extract::{ApiJson, ApiPath};
use super::{bad, challenge as challenges, internal, ApiError, Shared};
use crate::api::{
    ChallengeRequest, ChallengeResponse, GrantResponse, NewestResponse, RedeemRequest,
    RenewRequest, RenewResponse,
};
use crate::store::{ChallengeOpened, Store};

pub(crate) fn parse_viewer(text: &str) -> Result<ViewerPublic, ApiError> {
    ViewerPublic::from_bech32(text).map_err(|e| bad(format!("viewer: {e}")))
}

pub(crate) fn parse_release(id: &str) -> Result<ReleaseId, ApiError> {
    ReleaseId::from_hex(id).map_err(|_| bad("release id must be 32 hex digits"))
}

/// A stored grant as the API hands it out.
fn grant_response(bytes: &[u8]) -> GrantResponse {
    let claims = Grant::inspect(bytes).ok();
    GrantResponse {
        grant: armor::encode(GRANT_LABEL, bytes),
        grant_id: claims.as_ref().map(|c| c.params.id.to_hex()),
        release_id: claims.as_ref().map(|c| c.card.release_id().to_hex()),
        title: claims.map(|c| c.card.title),
    }
}

fn refusal(r: Redemption) -> Result<GrantResponse, ApiError> {
    match r {
        Redemption::Again(g) => Ok(grant_response(&g)),
        Redemption::Unknown => Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "unknown_code",
            "unknown code: check it for typos (case and dashes do not matter)",
        )),
        Redemption::Taken => Err(ApiError::new(
            StatusCode::CONFLICT,
            "code_taken",
            "this code was already redeemed with another viewer key; each code works for one viewer only",
        )),
        Redemption::Expired(t) => Err(ApiError::new(
            StatusCode::GONE,
            "code_expired",
            format!("this code expired on {}", fmt_time(t)),
        )),
    }
}

pub(crate) async fn redeem<S: Store>(
    State(st): State<Shared<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RedeemRequest>,
) -> Result<Json<GrantResponse>, ApiError> {
    let client = st.limiter.client(peer.ip(), &headers);
    st.limiter.check(&st.store, "redeem", client).await?;
    let viewer = parse_viewer(&req.viewer)?;
    let hash = code::code_hash(&req.code);
    let now = now();
    let fresh = match st.store.code_status(hash, viewer, now).await? {
        Ok(f) => f,
        Err(r) => return again(&st, refusal(r)),
    };
    // A code made for a release that was rotated since (a leak, a new cut) redeems for the
    // newest release: the old ciphertext may be gone from the swarm, and its keys leaked.
    let target = st
        .store
        .newest_successor(fresh.release)
        .await?
        .unwrap_or(fresh.release);
    let release = st
        .store
        .release_keys(target)
        .await?
        .ok_or_else(|| internal(format!("release {target} of a code is not stored")))?;
    // Issue with no lock held (X25519 + ed25519: the CPU-heavy part, so redemptions run in
    // parallel), then bind code and grant in one transaction: exactly one grant per code.
    let request = GrantRequest {
        label: format!("code {}", code::prefix(&req.code)),
        viewer: Some(viewer),
        validity: fresh.validity,
        codeword: None,
    };
    let key = st.key.clone();
    let row = tokio::task::spawn_blocking(move || {
        issue::issue(
            &release.card,
            &release.keys,
            release.code.as_ref(),
            &key,
            &request,
            now,
        )
        .map(|g| GrantRow::from_issued(&g, None))
    })
    .await
    .map_err(internal)?
    .map_err(internal)?;
    let actor = format!("redeem from {client}");
    match st.store.complete_redemption(hash, row, now, actor).await? {
        Ok(g) => {
            st.metrics.redeemed("granted");
            tracing::info!(
                target: "reelseal_keyserver::events",
                code = %code::prefix(&req.code),
                release = %target,
                made_for = %fresh.release,
                viewer = %viewer,
                client = %client,
                "code redeemed"
            );
            Ok(Json(grant_response(&g)))
        }
        Err(r) => again(&st, refusal(r)),
    }
}

/// A refusal, or the same viewer's grant again (counted as such).
fn again<S>(
    st: &Shared<S>,
    r: Result<GrantResponse, ApiError>,
) -> Result<Json<GrantResponse>, ApiError> {
    let g = r?;
    st.metrics.redeemed("again");
    Ok(Json(g))
}

pub(crate) async fn revocations<S: Store>(
    State(st): State<Shared<S>>,
) -> Result<Response, ApiError> {
    let bytes = st.store.revocation_list(now()).await?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        bytes,
    )
        .into_response())
}

pub(crate) async fn newest<S: Store>(
    State(st): State<Shared<S>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<NewestResponse>, ApiError> {
    let id = parse_release(&id)?;
    let newest = st.store.newest_successor(id).await?;
    Ok(Json(NewestResponse {
        superseded: newest.is_some(),
        newest: newest.map(|n| n.to_hex()),
    }))
}

pub(crate) async fn renew_challenge<S: Store>(
    State(st): State<Shared<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<ChallengeRequest>,
) -> Result<Json<ChallengeResponse>, ApiError> {
    let client = st.limiter.client(peer.ip(), &headers);
    st.limiter.check(&st.store, "challenge", client).await?;
    let viewer = parse_viewer(&req.viewer)?;
    let token: [u8; 32] = reelseal_core::random_array();
    let (epk, boxed) = challenge::seal(&viewer, &token).map_err(|e| bad(e.to_string()))?;
    let now = now();
    let opened = st
        .store
        .open_challenge(
            viewer,
            challenges::token_hash(&token),
            now,
            now + challenges::TTL,
            challenges::LIMITS,
        )
        .await?;
    match opened {
        ChallengeOpened::Opened => {}
        ChallengeOpened::TooManyForViewer => {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_challenges",
                format!(
                    "this viewer key has {} open challenges; answer one, or wait up to {} minutes for them to expire",
                    challenges::LIMITS.per_viewer,
                    challenges::TTL / 60
                ),
            ))
        }
        ChallengeOpened::Full => {
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "too_many_challenges",
                "the key server has too many open challenges; try again in a few minutes",
            ))
        }
    }
    Ok(Json(ChallengeResponse {
        epk: hex::encode(epk),
        sealed: hex::encode(boxed),
    }))
}

pub(crate) async fn renew<S: Store>(
    State(st): State<Shared<S>>,
    ApiJson(req): ApiJson<RenewRequest>,
) -> Result<Json<RenewResponse>, ApiError> {
    let viewer = parse_viewer(&req.viewer)?;
    let old = parse_release(&req.release)?;
    let answer = hex::decode(req.token.trim()).map_err(|_| bad("token must be hex"))?;
    let answered = st
        .store
        .take_challenge(viewer, challenges::token_hash(&answer), now())
        .await?;
    if !answered {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "challenge_failed",
            "challenge failed or expired: ask for a new one (POST /v1/renew/challenge)",
        ));
    }
    let Some(newest) = st.store.newest_successor(old).await? else {
        return Err(ApiError::status(
            StatusCode::NOT_FOUND,
            "this release has not been superseded",
        ));
    };
    // Only grants that still open: a grant (or viewer) revoked after the rotation is not
    // handed out again.
    let list = st.store.revocation_list(now()).await?;
    let list = reelseal_core::revocation::RevocationList::verify(&list, &st.key.public(), None)
        .map_err(internal)?;
    let grants: Vec<GrantResponse> = st
        .store
        .grants_for_viewer(viewer)
        .await?
        .into_iter()
        .filter(|g| g.release == newest && list.find(&g.id, &viewer).is_none())
        .map(|g| grant_response(&g.grant))
        .collect();
    if grants.is_empty() {
        return Err(ApiError::status(
            StatusCode::NOT_FOUND,
            "no grant for your key in the newest release (revoked, or never granted); contact the publisher",
        ));
    }
    tracing::info!(
        target: "reelseal_keyserver::events",
        viewer = %viewer,
        release = %newest,
        grants = grants.len(),
        "grants renewed"
    );
    st.store
        .audit(
            format!("viewer {viewer}"),
            "renew",
            format!("fetched {} grant(s) of release {newest}", grants.len()),
        )
        .await?;
    Ok(Json(RenewResponse {
        release_id: newest.to_hex(),
        grants,
    }))
}
