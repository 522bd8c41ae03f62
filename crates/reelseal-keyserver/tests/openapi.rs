//! The API types (shared by server and client) agree with docs/keyserver.openapi.yaml:
//! every schema there names exactly the fields the Rust type serialises, with the same
//! required set, and every path the server routes is documented.

use reelseal_keyserver::api::*;
use schemars::JsonSchema;
use serde_yaml::Value;
use std::collections::BTreeSet;

fn spec() -> Value {
    let p = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/keyserver.openapi.yaml"
    );
    serde_yaml::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_mapping()
        .map(|m| {
            m.keys()
                .filter_map(|k| k.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn strings(v: &Value) -> BTreeSet<String> {
    v.as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn check<T: JsonSchema>(spec: &Value, errors: &mut Vec<String>) {
    let name = T::schema_name().to_string();
    let ours = serde_json::to_value(schemars::schema_for!(T)).unwrap();
    let ours_props: BTreeSet<String> = ours["properties"]
        .as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let ours_req: BTreeSet<String> = ours["required"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let doc = &spec["components"]["schemas"][name.as_str()];
    if doc.is_null() {
        errors.push(format!("{name}: missing from components/schemas"));
        return;
    }
    let doc_props = keys(&doc["properties"]);
    let doc_req = strings(&doc["required"]);
    if doc_props != ours_props {
        errors.push(format!(
            "{name}: properties differ: spec {doc_props:?}, Rust {ours_props:?}"
        ));
    }
    if doc_req != ours_req {
        errors.push(format!(
            "{name}: required differs: spec {doc_req:?}, Rust {ours_req:?}"
        ));
    }
}

#[test]
fn api_types_match_the_openapi_document() {
    let spec = spec();
    let mut errors = Vec::new();
    check::<ErrorBody>(&spec, &mut errors);
    check::<RedeemRequest>(&spec, &mut errors);
    check::<GrantResponse>(&spec, &mut errors);
    check::<NewestResponse>(&spec, &mut errors);
    check::<ChallengeRequest>(&spec, &mut errors);
    check::<ChallengeResponse>(&spec, &mut errors);
    check::<RenewRequest>(&spec, &mut errors);
    check::<RenewResponse>(&spec, &mut errors);
    check::<CodesRequest>(&spec, &mut errors);
    check::<CodesResponse>(&spec, &mut errors);
    check::<GrantSummary>(&spec, &mut errors);
    check::<RevokeRequest>(&spec, &mut errors);
    check::<RevokeResponse>(&spec, &mut errors);
    check::<AuditEntry>(&spec, &mut errors);
    check::<HealthResponse>(&spec, &mut errors);
    check::<ChannelHead>(&spec, &mut errors);
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn every_route_is_documented() {
    let spec = spec();
    let documented = keys(&spec["paths"]);
    for path in [
        REDEEM.to_string(),
        REVOCATIONS.to_string(),
        RENEW_CHALLENGE.to_string(),
        RENEW.to_string(),
        REVOKE.to_string(),
        AUDIT.to_string(),
        HEALTHZ.to_string(),
        READYZ.to_string(),
        METRICS.to_string(),
        newest_path("{id}"),
        codes_path("{id}"),
        grants_path("{id}"),
        channel_newest_path("{id}"),
    ] {
        assert!(documented.contains(&path), "{path} is not in the spec");
    }
    assert_eq!(
        documented.len(),
        13,
        "the spec documents routes the server lacks"
    );
}
