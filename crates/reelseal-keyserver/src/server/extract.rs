//! Extractors whose rejections are the API's JSON errors, not axum's plain text: a body
//! that is not JSON, has a field of the wrong type or misses one (400), is not sent as
//! `application/json` (415) or is larger than [`super::MAX_BODY`] (413); a bad query or
//! path (400); no such route (404) or method (405).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use serde::de::DeserializeOwned;

use super::ApiError;

/// Where the request shapes are documented.
const SPEC: &str = "see docs/keyserver.openapi.yaml";

fn json_rejection(r: JsonRejection) -> ApiError {
    match r.status() {
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::status(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send the body as JSON with `Content-Type: application/json`",
        ),
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::status(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the body is larger than {} bytes; requests are small JSON objects ({SPEC})",
                super::MAX_BODY
            ),
        ),
        s if s.is_server_error() => super::internal(r.body_text()),
        _ => ApiError::status(
            StatusCode::BAD_REQUEST,
            format!("malformed request body: {} ({SPEC})", r.body_text()),
        ),
    }
}

/// A JSON body.
pub(crate) struct ApiJson<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ApiJson<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        axum::Json::<T>::from_request(req, state)
            .await
            .map(|axum::Json(v)| ApiJson(v))
            .map_err(json_rejection)
    }
}

/// A query string.
pub(crate) struct ApiQuery<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for ApiQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(v)| ApiQuery(v))
            .map_err(|r: QueryRejection| {
                ApiError::status(
                    StatusCode::BAD_REQUEST,
                    format!("malformed query: {} ({SPEC})", r.body_text()),
                )
            })
    }
}

/// Path parameters.
pub(crate) struct ApiPath<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned + Send> FromRequestParts<S> for ApiPath<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| ApiPath(v))
            .map_err(|r: PathRejection| match r.status() {
                s if s.is_server_error() => super::internal(r.body_text()),
                _ => ApiError::status(
                    StatusCode::BAD_REQUEST,
                    format!("malformed path: {} ({SPEC})", r.body_text()),
                ),
            })
    }
}

/// No route matches.
pub(crate) async fn no_such_route() -> ApiError {
    ApiError::status(StatusCode::NOT_FOUND, format!("no such endpoint; {SPEC}"))
}

/// The route exists, not with this method.
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::status(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("this endpoint does not take that method; {SPEC}"),
    )
}
