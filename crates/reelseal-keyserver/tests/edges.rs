//! The server's edges over a real SQLite ledger and real HTTP on 127.0.0.1: every
//! rejection is the documented JSON error with its status; renewal challenges are several
//! per key, single-use and capped; health, readiness and metrics answer.

use reelseal_core::keys::ViewerSecret;
use reelseal_keyserver::api::ErrorBody;

mod common;
use common::*;

/// The answer must be `status` with a JSON `{"error": …}` body; its message.
async fn json_error(resp: reqwest::Response, status: u16) -> String {
    assert_eq!(resp.status().as_u16(), status);
    assert_eq!(
        resp.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("application/json")
    );
    let body: ErrorBody = resp.json().await.unwrap();
    assert!(!body.error.is_empty());
    body.error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rejection_is_a_json_error() {
    let s = start().await;
    let c = reqwest::Client::new();
    let redeem = format!("{}/v1/redeem", s.url);
    let post_json = |url: &str, body: &str| {
        c.post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
    };

    let m = json_error(post_json(&redeem, "{not json").send().await.unwrap(), 400).await;
    assert!(m.contains("malformed request body"), "{m}");
    let m = json_error(
        post_json(&redeem, r#"{"code": 5, "viewer": "rsview1x"}"#)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(m.contains("code"), "wrong type: {m}");
    let m = json_error(
        post_json(&redeem, r#"{"code": "RS-1"}"#)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(m.contains("viewer"), "missing field: {m}");
    let m = json_error(
        c.post(&redeem)
            .body(r#"{"code": "RS-1", "viewer": "x"}"#)
            .send()
            .await
            .unwrap(),
        415,
    )
    .await;
    assert!(m.contains("application/json"), "{m}");
    let big = format!(r#"{{"code": "{}", "viewer": "x"}}"#, "A".repeat(100_000));
    json_error(post_json(&redeem, &big).send().await.unwrap(), 413).await;
    let m = json_error(
        post_json(&redeem, r#"{"code": "RS-1", "viewer": "nope"}"#)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    assert!(m.contains("viewer"), "{m}");

    // Admin: bad count, bad query, no token; unknown routes and methods.
    let codes = format!("{}/v1/releases/{}/codes", s.url, "00".repeat(16));
    for count in ["0", "2000000"] {
        let m = json_error(
            post_json(&codes, &format!(r#"{{"count": {count}}}"#))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap(),
            400,
        )
        .await;
        assert!(
            m.contains("1,000,000") || m.contains("1000000") || m.contains("count"),
            "{m}"
        );
    }
    json_error(
        post_json(&codes, r#"{"count": -1}"#)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    json_error(
        post_json(&codes, r#"{"count": 1}"#).send().await.unwrap(),
        401,
    )
    .await;
    json_error(
        c.get(format!("{}/v1/audit?limit=lots", s.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;
    json_error(
        c.get(format!("{}/v2/nothing", s.url)).send().await.unwrap(),
        404,
    )
    .await;
    json_error(c.delete(&redeem).send().await.unwrap(), 405).await;
    json_error(
        c.get(format!("{}/v1/releases/xyz/newest", s.url))
            .send()
            .await
            .unwrap(),
        400,
    )
    .await;

    // Every refusal was counted by reason.
    let page = c
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for reason in [
        "bad_request",
        "unsupported_media_type",
        "body_too_large",
        "unauthorized",
        "not_found",
        "method_not_allowed",
    ] {
        assert!(
            page.contains(&format!("reelseal_refusals_total{{reason=\"{reason}\"}}")),
            "{reason}: {page}"
        );
    }
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn challenges_are_several_per_key_single_use_and_capped() {
    let s = start().await;
    let c = reqwest::Client::new();
    let me = ViewerSecret::generate();
    let viewer = me.public().to_bech32();
    let challenge = || {
        c.post(format!("{}/v1/renew/challenge", s.url))
            .json(&serde_json::json!({ "viewer": viewer }))
            .send()
    };
    let mut tokens = Vec::new();
    for _ in 0..16 {
        let v: serde_json::Value = challenge().await.unwrap().json().await.unwrap();
        let epk: [u8; 32] = hex::decode(v["epk"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let boxed = hex::decode(v["box"].as_str().unwrap()).unwrap();
        tokens.push(reelseal_core::grant::challenge::open(&me, &epk, &boxed).unwrap());
    }
    let m = json_error(challenge().await.unwrap(), 429).await;
    assert!(m.contains("open challenges"), "{m}");
    // The first token still answers (later ones did not cancel it), once. The release is
    // unknown here, so a good answer gets 404 and a used or wrong one 403.
    let renew = |token: &[u8; 32]| {
        c.post(format!("{}/v1/renew", s.url))
            .json(&serde_json::json!({"viewer": viewer, "token": hex::encode(token), "release": "00".repeat(16)}))
            .send()
    };
    json_error(renew(&tokens[0]).await.unwrap(), 404).await;
    json_error(renew(&tokens[0]).await.unwrap(), 403).await;
    json_error(renew(&tokens[15]).await.unwrap(), 404).await;
    json_error(renew(&[7; 32]).await.unwrap(), 403).await;
    // Answered ones make room.
    assert_eq!(challenge().await.unwrap().status(), 200);

    // Health, readiness, metrics.
    for (path, status) in [("/healthz", "ok"), ("/readyz", "ready")] {
        let v: serde_json::Value = c
            .get(format!("{}{path}", s.url))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(v["status"], status);
    }
    let page = c
        .get(format!("{}/metrics", s.url))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("reelseal_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/renew/challenge\",status=\"200\""), "{page}");
    assert!(
        page.contains("reelseal_redemptions_total{outcome=\"granted\"} 0"),
        "{page}"
    );
    s.stop().await;
}
