//! Admin endpoints (bearer token from the publisher home, compared in constant time):
//! mint codes, list grants, revoke, read the audit log. Every change is audited with the
//! actor "admin api".

use axum::extract::{Path as UrlPath, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::Json;
use reelseal_core::code;
use reelseal_core::validity::{fmt_time, now, Validity};
use subtle::ConstantTimeEq;

use super::public::parse_release;
use super::{bad, ApiError, AppState, Shared};
use crate::api::{
    AuditEntry, AuditQuery, CodesRequest, CodesResponse, GrantSummary, RevokeRequest,
    RevokeResponse,
};
use crate::store::Store;

/// Who the audit log names for changes made through this API.
const ACTOR: &str = "admin api";

fn check_admin<S>(st: &AppState<S>, headers: &HeaderMap) -> Result<(), ApiError> {
    let given = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or("");
    let ok: bool = given.as_bytes().ct_eq(st.admin_token.as_bytes()).into();
    if ok && !given.is_empty() {
        Ok(())
    } else {
        Err(ApiError(
            StatusCode::UNAUTHORIZED,
            "admin endpoints need `Authorization: Bearer <token from admin.token in the publisher home>`".into(),
        ))
    }
}

pub(crate) async fn codes<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
    Json(req): Json<CodesRequest>,
) -> Result<Json<CodesResponse>, ApiError> {
    check_admin(&st, &headers)?;
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
        return Err(ApiError(StatusCode::NOT_FOUND, "no such release".into()));
    }
    Ok(Json(CodesResponse {
        release_id: id.to_hex(),
        codes: minted.into_iter().map(|c| c.code).collect(),
    }))
}

pub(crate) async fn grants<S: Store>(
    State(st): State<Shared<S>>,
    headers: HeaderMap,
    UrlPath(id): UrlPath<String>,
) -> Result<Json<Vec<GrantSummary>>, ApiError> {
    check_admin(&st, &headers)?;
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
    Json(req): Json<RevokeRequest>,
) -> Result<Json<RevokeResponse>, ApiError> {
    check_admin(&st, &headers)?;
    let r = st
        .store
        .revoke(req.subject, req.reason, now(), ACTOR.into())
        .await?;
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
    Query(q): Query<AuditQuery>,
) -> Result<Json<Vec<AuditEntry>>, ApiError> {
    check_admin(&st, &headers)?;
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
