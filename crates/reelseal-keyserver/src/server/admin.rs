//! Admin endpoints (bearer token from the publisher home, compared in constant time):
//! mint codes, list grants, revoke, read the audit log. Every change is audited with the
//! actor "admin api".

use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use reelseal_core::code;
use reelseal_core::validity::{fmt_time, now, Validity};
use subtle::ConstantTimeEq;

use super::extract::{ApiJson, ApiPath, ApiQuery};
use super::public::parse_release;
use super::{bad, token_hash, ApiError, Shared};
use crate::api::{
    AuditEntry, AuditQuery, CodesRequest, CodesResponse, GrantSummary, RevokeRequest,
    RevokeResponse,
};
use crate::store::Store;

/// Who the audit log names for changes made through this API.
const ACTOR: &str = "admin api";

/// The bearer token must hash to the store's admin token hash (compared in constant time).
async fn check_admin<S: Store>(st: &Shared<S>, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let Some(expected) = st.store.admin_token_hash().await? else {
        return Err(ApiError::status(
            StatusCode::UNAUTHORIZED,
            "this key server has no admin token: run `reelseal keyserver sync` on the publisher's machine",
        ));
    };
    let ok: bool = token_hash(given).ct_eq(&expected).into();
    if ok && !given.trim().is_empty() {
        Ok(())
    } else {
        Err(ApiError::status(
            StatusCode::UNAUTHORIZED,
            "admin endpoints need `Authorization: Bearer <token from admin.token in the publisher home>`",
        ))
    }
}

pub(crate) async fn codes<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
    ApiJson(req): ApiJson<CodesRequest>,
) -> Result<Json<CodesResponse>, ApiError> {
    check_admin(&st, &headers).await?;
    let id = parse_release(&id)?;
    // The same window rule as `reelseal codes`: readable times, never closing before it opens.
    let validity = Validity::parse(req.not_before.as_deref(), req.not_after.as_deref())
        .map_err(|e| bad(e.to_string()))?;
    let minted = code::mint(req.count).map_err(|e| bad(e.to_string()))?;
    let hashes = minted.iter().map(|c| c.hash).collect();
    if !st
        .store
        .add_codes(id, hashes, validity, now(), ACTOR.into())
        .await?
    {
        return Err(ApiError::status(StatusCode::NOT_FOUND, "no such release"));
    }
    Ok(Json(CodesResponse {
        release_id: id.to_hex(),
        codes: minted.into_iter().map(|c| c.code).collect(),
    }))
}

pub(crate) async fn grants<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<GrantSummary>>, ApiError> {
    check_admin(&st, &headers).await?;
    let id = parse_release(&id)?;
    let list = st
        .store
        .grants(id)
        .await?
        .iter()
        .map(GrantSummary::from)
        .collect();
    Ok(Json(list))
}

pub(crate) async fn revoke<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    ApiJson(req): ApiJson<RevokeRequest>,
) -> Result<Json<RevokeResponse>, ApiError> {
    check_admin(&st, &headers).await?;
    let r = st
        .store
        .revoke(req.subject, req.reason, now(), ACTOR.into())
        .await?;
    tracing::info!(
        target: "reelseal_keyserver::events",
        subject = %r.subject,
        new = r.new,
        sequence = r.sequence,
        "revoked through the admin API"
    );
    Ok(Json(RevokeResponse {
        kind: r.subject.kind().into(),
        subject: r.subject.to_string(),
        new: r.new,
        sequence: r.sequence,
    }))
}

pub(crate) async fn audit<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    ApiQuery(q): ApiQuery<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    check_admin(&st, &headers).await?;
    let list = st
        .store
        .audit_log(q.limit.unwrap_or(100).min(10_000))
        .await?
        .into_iter()
        .map(|e| AuditEntry {
            seq: e.seq,
            time: fmt_time(e.time),
            actor: e.actor,
            action: e.action,
            detail: e.detail,
        })
        .collect();
    Ok(Json(list))
}
