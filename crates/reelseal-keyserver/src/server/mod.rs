//! The HTTP side: routes, shared state and the one error shape (`{"error": "..."}`).
//!
//! Split by concern: [`public`] (redeem, revocations, newest, renew), [`admin`] (bearer
//! token: codes, grants, revoke, audit), [`rate`] (per-address token buckets for
//! redemptions) and [`challenge`] (renewal challenges sealed to a viewer key).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use reelseal_core::keys::PublisherSecret;
use zeroize::Zeroizing;

use crate::api::{self, ErrorBody};
use crate::store::{Store, StoreError};

mod admin;
mod challenge;
mod public;
mod rate;

/// How `reelseal serve` runs the server.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Redemptions per second allowed per client address (burst = 2×); 0 = unlimited.
    pub redeem_rate: u32,
}

/// Why the server could not run.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The address could not be bound.
    #[error("cannot listen on {addr} (in use? try another --listen): {source}")]
    Bind {
        /// Address asked for.
        addr: SocketAddr,
        /// Cause.
        #[source]
        source: std::io::Error,
    },
    /// The server stopped with an I/O error.
    #[error("the key server stopped: {0}")]
    Io(#[from] std::io::Error),
}

pub(crate) struct AppState<S> {
    pub(crate) store: S,
    pub(crate) key: Arc<PublisherSecret>,
    pub(crate) admin_token: Zeroizing<String>,
    pub(crate) limiter: rate::Limiter,
    pub(crate) challenges: challenge::Challenges,
}

pub(crate) type Shared<S> = Arc<AppState<S>>;

/// An error as the API reports it: a status and `{"error": "..."}`.
pub(crate) struct ApiError(pub(crate) StatusCode, pub(crate) String);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        (self.0, Json(ErrorBody { error: self.1 })).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(m) => ApiError(StatusCode::BAD_REQUEST, m),
            StoreError::Internal(e) => internal(e),
        }
    }
}

/// Log the cause; tell the caller only that it was our fault.
pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!("internal error: {e:#}");
    ApiError(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log".into(),
    )
}

pub(crate) fn bad(msg: impl Into<String>) -> ApiError {
    ApiError(StatusCode::BAD_REQUEST, msg.into())
}

/// The routes, over any store.
fn router<S: Store>(state: Shared<S>) -> Router {
    Router::new()
        .route(api::REDEEM, post(public::redeem::<S>))
        .route(api::REVOCATIONS, get(public::revocations::<S>))
        .route("/v1/releases/{id}/newest", get(public::newest::<S>))
        .route(api::RENEW_CHALLENGE, post(public::renew_challenge::<S>))
        .route(api::RENEW, post(public::renew::<S>))
        .route("/v1/releases/{id}/codes", post(admin::codes::<S>))
        .route("/v1/releases/{id}/grants", get(admin::grants::<S>))
        .route(api::REVOKE, post(admin::revoke::<S>))
        .route(api::AUDIT, get(admin::audit::<S>))
        .with_state(state)
}

/// Serve `store` until `shutdown` resolves, signing grants with `key`. Calls `ready` with
/// the bound address once connections are accepted.
pub async fn serve<S: Store>(
    store: S,
    key: Arc<PublisherSecret>,
    admin_token: Zeroizing<String>,
    opts: ServeOptions,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let state = Arc::new(AppState {
        store,
        key,
        admin_token,
        limiter: rate::Limiter::new(opts.redeem_rate),
        challenges: challenge::Challenges::default(),
    });
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.listen,
            source,
        })?;
    ready(listener.local_addr()?);
    axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await?;
    Ok(())
}
