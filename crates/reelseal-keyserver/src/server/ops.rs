//! Operating the server: `/healthz` (the process answers), `/readyz` (and its store does),
//! `/metrics` (Prometheus text format) and the access log. Each server has its own metrics
//! registry, so several servers in one process (tests) count apart.
//!
//! Metrics: `reelseal_redemptions_total{outcome}` (`granted`: a new grant; `again`: the
//! same viewer's grant handed back), `reelseal_refusals_total{reason}` (every error answer,
//! by reason: `unknown_code`, `code_taken`, `code_expired`, `rate_limited`, `bad_request`,
//! `unauthorized`, `forbidden`, `challenge_failed`, `too_many_challenges`, `rollback`, …) and
//! `reelseal_http_request_duration_seconds{method,route,status}` (a histogram; `route` is
//! the route's template, so ids do not make new series).

use std::net::SocketAddr;
use std::time::Instant;

use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Json;
use prometheus::{Encoder, HistogramOpts, HistogramVec, IntCounterVec, Opts, Registry};

use super::{ApiError, Refusal, Shared};
use crate::api::HealthResponse;
use crate::store::Store;

pub(crate) struct Metrics {
    registry: Registry,
    redemptions: IntCounterVec,
    refusals: IntCounterVec,
    latency: HistogramVec,
}

impl Metrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let redemptions = IntCounterVec::new(
            Opts::new(
                "reelseal_redemptions_total",
                "Codes redeemed: granted (a new grant) or again (the same viewer's grant handed back)",
            ),
            &["outcome"],
        )
        .expect("valid metric");
        let refusals = IntCounterVec::new(
            Opts::new(
                "reelseal_refusals_total",
                "Requests answered with an error, by reason",
            ),
            &["reason"],
        )
        .expect("valid metric");
        let latency = HistogramVec::new(
            HistogramOpts::new(
                "reelseal_http_request_duration_seconds",
                "Time from request to response headers",
            )
            .buckets(vec![
                0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
            ]),
            &["method", "route", "status"],
        )
        .expect("valid metric");
        for m in [
            Box::new(redemptions.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(refusals.clone()),
            Box::new(latency.clone()),
        ] {
            registry.register(m).expect("metric registered once");
        }
        // Series that exist before the first event, so dashboards see zeros.
        redemptions.with_label_values(&["granted"]);
        redemptions.with_label_values(&["again"]);
        Metrics {
            registry,
            redemptions,
            refusals,
            latency,
        }
    }

    /// A code was redeemed: `granted` or `again`.
    pub(crate) fn redeemed(&self, outcome: &str) {
        self.redemptions.with_label_values(&[outcome]).inc();
    }
}

/// Times every request, counts refusals by the reason the error carries, and writes the
/// access log (target `reelseal_keyserver::access`, level info).
pub(crate) async fn observe<S: Store>(
    State(st): State<Shared<S>>,
    req: Request,
    next: Next,
) -> Response {
    let start = Instant::now();
    let method = req.method().clone();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_string())
        .unwrap_or_else(|| "unmatched".into());
    // The client as the rate limiter sees it (behind a trusted proxy: X-Forwarded-For).
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| st.limiter.client(c.0.ip(), req.headers()).to_string())
        .unwrap_or_default();
    let resp = next.run(req).await;
    let status = resp.status();
    let seconds = start.elapsed().as_secs_f64();
    st.metrics
        .latency
        .with_label_values(&[method.as_str(), &route, status.as_str()])
        .observe(seconds);
    let refusal = resp.extensions().get::<Refusal>().map(|r| r.0);
    if let Some(reason) = refusal {
        st.metrics.refusals.with_label_values(&[reason]).inc();
    }
    tracing::info!(
        target: "reelseal_keyserver::access",
        method = %method,
        route = %route,
        status = status.as_u16(),
        ms = seconds * 1000.0,
        peer = %peer,
        refusal = refusal.unwrap_or(""),
        "request"
    );
    resp
}

/// The process answers.
pub(crate) async fn healthz() -> Json<HealthResponse> {
    Json(HealthResponse {
        status: "ok".into(),
    })
}

/// The process answers and its store does too.
pub(crate) async fn readyz<S: Store>(
    State(st): State<Shared<S>>,
) -> Result<Json<HealthResponse>, ApiError> {
    match st.store.ping().await {
        Ok(()) => Ok(Json(HealthResponse {
            status: "ready".into(),
        })),
        Err(e) => {
            tracing::warn!("not ready: {e}");
            Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "store_unreachable",
                "the database does not answer; see the server log",
            ))
        }
    }
}

/// Prometheus text exposition.
pub(crate) async fn metrics<S: Store>(State(st): State<Shared<S>>) -> Response {
    let mut out = Vec::new();
    let enc = prometheus::TextEncoder::new();
    if let Err(e) = enc.encode(&st.metrics.registry.gather(), &mut out) {
        return super::internal(e).into_response();
    }
    ([(header::CONTENT_TYPE, prometheus::TEXT_FORMAT)], out).into_response()
}
