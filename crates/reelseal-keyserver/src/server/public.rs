//! Public endpoints: redeem a code, the revocation list, whether a release was
//! superseded, a channel's newest version (read and announced), and renewal after a
//! rotation (with proof of the viewer key).

use std::net::SocketAddr;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::{engine::general_purpose::STANDARD, Engine};
use reelseal_core::channel::{ChannelId, MemberList, Pointer};
use reelseal_core::grant::{challenge, Grant, GRANT_LABEL};
use reelseal_core::issue::{self, GrantRequest};
use reelseal_core::keys::ViewerPublic;
use reelseal_core::validity::{fmt_time, now};
use reelseal_core::{armor, code, ReleaseId};
use reelseal_ledger::{GrantRow, Redemption};

use super::extract::{ApiJson, ApiPath};
use super::{bad, challenge as challenges, internal, ApiError, Shared};
use crate::api::{
    self, ChallengeRequest, ChallengeResponse, ChannelHead, GrantResponse, NewestResponse,
    RedeemRequest, RenewRequest, RenewResponse,
};
use crate::store::{ChallengeOpened, PutHead, Store, StoredHead};

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

pub(crate) fn parse_channel(id: &str) -> Result<ChannelId, ApiError> {
    ChannelId::from_hex(id).map_err(|_| bad("channel id must be 32 hex digits"))
}

/// A stored head as the API hands it out.
fn head_response(h: &StoredHead) -> ChannelHead {
    ChannelHead {
        version: h.version,
        pointer: STANDARD.encode(&h.pointer),
        members: STANDARD.encode(&h.members),
    }
}

fn no_head(channel: &ChannelId) -> ApiError {
    ApiError::new(
        StatusCode::NOT_FOUND,
        "not_found",
        format!("no version of channel {channel} was announced here"),
    )
}

/// `GET /v1/channels/{id}/newest`: the newest version announced here, as the signed
/// pointer and member list (the reader verifies both with the owner key it trusts).
pub(crate) async fn channel_head<S: Store>(
    State(st): State<Shared<S>>,
    ApiPath(id): ApiPath<String>,
) -> Result<Response, ApiError> {
    let channel = parse_channel(&id)?;
    let head = st
        .store
        .channel_head(channel.0)
        .await?
        .ok_or_else(|| no_head(&channel))?;
    Ok((
        [(header::CACHE_CONTROL, "no-cache")],
        Json(head_response(&head)),
    )
        .into_response())
}

/// `PUT /v1/channels/{id}/newest`: announce a channel's newest version.
///
/// Anyone may: the signatures are the authorisation. The member list must be signed by
/// this server's publisher key (the key server serves its owner's channels only) and the
/// pointer by an editor that list names; nobody else can make either, so a caller can only
/// hand over what the owner and an editor signed — a publisher's CI, a member relaying
/// what it found in the DHT, the editor itself. The head only moves forward: a lower or
/// equal version (other than the identical pointer, which is idempotent) or an older
/// member list is refused with 409, so nobody can roll a channel back by replaying an old
/// announcement. The body is bounded by [`super::MAX_BODY`] like every request.
pub(crate) async fn put_channel_head<S: Store>(
    State(st): State<Shared<S>>,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<ChannelHead>,
) -> Result<Json<ChannelHead>, ApiError> {
    let channel = parse_channel(&id)?;
    let (pointer_bytes, members_bytes) = api::decode_head(&req).map_err(bad)?;
    let pointer = Pointer::from_bytes(&pointer_bytes).map_err(|e| bad(format!("pointer: {e}")))?;
    if pointer.channel != channel {
        return Err(bad(format!(
            "the pointer is for channel {}, not {channel}",
            pointer.channel
        )));
    }
    let owner = st.key.public();
    let members = MemberList::verify(&members_bytes, &owner).map_err(|e| match e {
        reelseal_core::Error::BadSignature { .. } => ApiError::status(
            StatusCode::FORBIDDEN,
            format!(
                "this key server serves publisher {owner}; the channel's member list is signed by another key"
            ),
        ),
        other => bad(format!("members: {other}")),
    })?;
    if members.draft.channel != channel {
        return Err(bad(format!(
            "the member list is for channel {}, not {channel}",
            members.draft.channel
        )));
    }
    if !members.may_point(&pointer.signer, pointer.version, &pointer.infohash) {
        return Err(ApiError::status(
            StatusCode::FORBIDDEN,
            format!(
                "the pointer is signed by {}, who is not an editor under this member list",
                pointer.signer
            ),
        ));
    }
    if req.version != pointer.version {
        return Err(bad(format!(
            "version {} is not the pointer's version {}",
            req.version, pointer.version
        )));
    }
    if i64::try_from(members.draft.seq).is_err() {
        return Err(bad("the member list's seq is above 2^63 - 1"));
    }
    let head = StoredHead {
        version: pointer.version,
        members_seq: members.draft.seq,
        pointer: pointer_bytes,
        members: members_bytes,
    };
    match st.store.put_channel_head(channel.0, head.clone()).await? {
        PutHead::Stored => {
            tracing::info!(
                target: "reelseal_keyserver::events",
                channel = %channel,
                version = pointer.version,
                members_seq = members.draft.seq,
                signer = %pointer.signer,
                "channel version announced"
            );
            st.store
                .audit(
                    "channel".into(),
                    "announce",
                    format!(
                        "channel {channel} version {} by {}",
                        pointer.version, pointer.signer
                    ),
                )
                .await?;
            Ok(Json(head_response(&head)))
        }
        // The identical pointer was stored (perhaps with another member list of the same
        // version): hand back what is stored.
        PutHead::Same => {
            let stored = st
                .store
                .channel_head(channel.0)
                .await?
                .ok_or_else(|| no_head(&channel))?;
            Ok(Json(head_response(&stored)))
        }
        PutHead::Older { stored } if stored < pointer.version => Err(ApiError::new(
            StatusCode::CONFLICT,
            "rollback",
            format!(
                "version {stored} is already announced with a newer member list than this one (seq {}); version {} would take the member list back",
                members.draft.seq, pointer.version
            ),
        )),
        PutHead::Older { stored } => Err(ApiError::new(
            StatusCode::CONFLICT,
            "rollback",
            format!(
                "version {stored} is already announced; version {} would go back",
                pointer.version
            ),
        )),
    }
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
