//! The HTTP side: routes, shared state and the one error shape (`{"error": "..."}`).
//!
//! Split by concern: [`public`] (redeem, revocations, newest, channel heads, renew),
//! [`admin`] (bearer token: codes, grants, revoke, audit), [`ops`] (health, readiness,
//! Prometheus metrics, the access log), [`rate`] (per-address token buckets, client
//! address behind a trusted proxy), [`challenge`] (renewal challenges sealed to a viewer
//! key) and [`extract`] (request extractors whose every rejection is a JSON error).
//!
//! A server process keeps nothing a request depends on: codes, grants, channel heads,
//! challenges and rate-limit buckets are in the [`Store`], so with a shared store any number of replicas
//! answer any request. What a process does keep is derivable (verified releases, which
//! never change) or its own (metrics counters).

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use reelseal_core::keys::PublisherSecret;
use sha2::{Digest, Sha256};

use crate::api::{self, ErrorBody};
use crate::store::{Store, StoreError};

mod admin;
mod challenge;
mod extract;
mod ops;
mod public;
mod rate;

/// Largest request body accepted (every request is a small JSON object).
pub const MAX_BODY: usize = 64 * 1024;

/// How often expired challenges and idle rate-limit buckets are swept from the store.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// How `reelseal serve` runs the server.
#[derive(Clone, Debug)]
pub struct ServeOptions {
    /// Address to listen on.
    pub listen: SocketAddr,
    /// Redemptions (and renewal challenges) per second allowed per client address
    /// (burst = 2×); 0 = unlimited.
    pub redeem_rate: u32,
    /// Proxies whose `X-Forwarded-For` names the client (for rate limiting and the audit
    /// log); from anyone else the header is ignored.
    pub trusted_proxies: Vec<ipnet::IpNet>,
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
    pub(crate) limiter: rate::Limiter,
    pub(crate) metrics: ops::Metrics,
}

pub(crate) type Shared<S> = Arc<AppState<S>>;

/// An error as the API reports it: a status, `{"error": "..."}`, and the reason counted
/// in `reelseal_refusals_total`.
#[derive(Debug)]
pub(crate) struct ApiError {
    pub(crate) status: StatusCode,
    pub(crate) reason: &'static str,
    pub(crate) message: String,
}

/// The refusal reason a response carries to the metrics layer.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Refusal(pub(crate) &'static str);

impl ApiError {
    /// An error with an explicit refusal reason.
    pub(crate) fn new(
        status: StatusCode,
        reason: &'static str,
        message: impl Into<String>,
    ) -> Self {
        ApiError {
            status,
            reason,
            message: message.into(),
        }
    }

    /// An error whose reason is its status's.
    pub(crate) fn status(status: StatusCode, message: impl Into<String>) -> Self {
        let reason = match status.as_u16() {
            400 => "bad_request",
            401 => "unauthorized",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            409 => "conflict",
            410 => "gone",
            413 => "body_too_large",
            415 => "unsupported_media_type",
            429 => "rate_limited",
            503 => "unavailable",
            _ => "internal",
        };
        ApiError::new(status, reason, message)
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut r = (
            self.status,
            Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response();
        r.extensions_mut().insert(Refusal(self.reason));
        r
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Refused(m) => bad(m),
            StoreError::Internal(e) => internal(e),
        }
    }
}

/// Log the cause; tell the caller only that it was our fault.
pub(crate) fn internal(e: impl std::fmt::Display) -> ApiError {
    tracing::error!("internal error: {e:#}");
    ApiError::status(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal error; see the server log",
    )
}

pub(crate) fn bad(msg: impl Into<String>) -> ApiError {
    ApiError::status(StatusCode::BAD_REQUEST, msg)
}

/// SHA-256 of an admin bearer token (surrounding white space ignored): what stores keep
/// and compare.
pub fn token_hash(token: &str) -> [u8; 32] {
    Sha256::digest(token.trim().as_bytes()).into()
}

/// The routes, over any store.
fn router<S: Store>(state: Shared<S>) -> Router {
    Router::new()
        .route(api::REDEEM, post(public::redeem::<S>))
        .route(api::REVOCATIONS, get(public::revocations::<S>))
        .route("/v1/releases/{id}/newest", get(public::newest::<S>))
        .route(
            "/v1/channels/{id}/newest",
            get(public::channel_head::<S>).put(public::put_channel_head::<S>),
        )
        .route(api::RENEW_CHALLENGE, post(public::renew_challenge::<S>))
        .route(api::RENEW, post(public::renew::<S>))
        .route("/v1/releases/{id}/codes", post(admin::codes::<S>))
        .route("/v1/releases/{id}/grants", get(admin::grants::<S>))
        .route(api::REVOKE, post(admin::revoke::<S>))
        .route(api::AUDIT, get(admin::audit::<S>))
        .route(api::HEALTHZ, get(ops::healthz))
        .route(api::READYZ, get(ops::readyz::<S>))
        .route(api::METRICS, get(ops::metrics::<S>))
        .fallback(extract::no_such_route)
        .method_not_allowed_fallback(extract::method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            ops::observe::<S>,
        ))
        .with_state(state)
}

/// Serve `store` until `shutdown` resolves, signing grants with `key`; then stop taking
/// connections and finish the requests in flight. Calls `ready` with the bound address
/// once connections are accepted.
pub async fn serve<S: Store>(
    store: S,
    key: Arc<PublisherSecret>,
    opts: ServeOptions,
    ready: impl FnOnce(SocketAddr),
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let state = Arc::new(AppState {
        store,
        key,
        limiter: rate::Limiter::new(opts.redeem_rate, opts.trusted_proxies),
        metrics: ops::Metrics::new(),
    });
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|source| ServeError::Bind {
            addr: opts.listen,
            source,
        })?;
    let sweeper = {
        let state = state.clone();
        tokio::spawn(async move {
            let mut every = tokio::time::interval(SWEEP_EVERY);
            loop {
                every.tick().await;
                if let Err(e) = state.store.sweep(reelseal_core::validity::now()).await {
                    tracing::warn!("sweeping expired challenges and rate buckets failed: {e}");
                }
            }
        })
    };
    ready(listener.local_addr()?);
    let served = axum::serve(
        listener,
        router(state).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    served?;
    Ok(())
}
