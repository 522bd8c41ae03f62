//! Public endpoints: redeem a code, the revocation list, whether a release was
//! superseded, and renewal after a rotation (with proof of the viewer key).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use reelseal_core::grant::{challenge, Grant, GRANT_LABEL};
use reelseal_core::issue::{self, GrantRequest};
use reelseal_core::keys::ViewerPublic;
use reelseal_core::validity::{fmt_time, now};
use reelseal_core::{armor, code, ReleaseId};
use reelseal_ledger::{GrantRow, Redemption};

use super::{bad, internal, ApiError, Shared};
use crate::api::{
    ChallengeRequest, ChallengeResponse, GrantResponse, NewestResponse, RedeemRequest,
    RenewRequest, RenewResponse,
};
use crate::store::Store;

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
        Redemption::Unknown => Err(ApiError(
            StatusCode::NOT_FOUND,
            "unknown code: check it for typos (case and dashes do not matter)".into(),
        )),
        Redemption::Taken => Err(ApiError(
            StatusCode::CONFLICT,
            "this code was already redeemed with another viewer key; each code works for one viewer only".into(),
        )),
        Redemption::Expired(t) => Err(ApiError(
            StatusCode::GONE,
            format!("this code expired on {}", fmt_time(t)),
        )),
    }
}

pub(crate) async fn redeem<S: Store>(
    State(st): State<Shared<S>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<RedeemRequest>,
) -> Result<Json<GrantResponse>, ApiError> {
    st.limiter.check(peer.ip())?;
    let viewer = parse_viewer(&req.viewer)?;
    let hash = code::code_hash(&req.code);
    let now = now();
    let fresh = match st.store.code_status(hash, viewer, now).await? {
        Ok(f) => f,
        Err(r) => return refusal(r).map(Json),
    };
    let release =
        st.store.release_keys(fresh.release).await?.ok_or_else(|| {
            internal(format!("release {} of a code is not stored", fresh.release))
        })?;
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
    let actor = format!("redeem from {}", peer.ip());
    match st.store.complete_redemption(hash, row, now, actor).await? {
        Ok(g) => Ok(Json(grant_response(&g))),
        Err(r) => refusal(r).map(Json),
    }
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
    UrlPath(id): UrlPath<String>,
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
    Json(req): Json<ChallengeRequest>,
) -> Result<Json<ChallengeResponse>, ApiError> {
    let viewer = parse_viewer(&req.viewer)?;
    let token: [u8; 32] = reelseal_core::random_array();
    let (epk, boxed) = challenge::seal(&viewer, &token).map_err(|e| bad(e.to_string()))?;
    st.challenges.issue(&viewer, token);
    Ok(Json(ChallengeResponse {
        epk: hex::encode(epk),
        sealed: hex::encode(boxed),
    }))
}

pub(crate) async fn renew<S: Store>(
    State(st): State<Shared<S>>,
    Json(req): Json<RenewRequest>,
) -> Result<Json<RenewResponse>, ApiError> {
    let viewer = parse_viewer(&req.viewer)?;
    let old = parse_release(&req.release)?;
    let answer = hex::decode(req.token.trim()).map_err(|_| bad("token must be hex"))?;
    if !st.challenges.answer(&viewer, &answer) {
        return Err(ApiError(
            StatusCode::FORBIDDEN,
            "challenge failed or expired: ask for a new one (POST /v1/renew/challenge)".into(),
        ));
    }
    let Some(newest) = st.store.newest_successor(old).await? else {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "this release has not been superseded".into(),
        ));
    };
    let grants: Vec<GrantResponse> = st
        .store
        .grants_for_viewer(viewer)
        .await?
        .into_iter()
        .filter(|g| g.release == newest)
        .map(|g| grant_response(&g.grant))
        .collect();
    if grants.is_empty() {
        return Err(ApiError(
            StatusCode::NOT_FOUND,
            "no grant for your key in the newest release (revoked, or never granted); contact the publisher".into(),
        ));
    }
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
