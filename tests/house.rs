//! The rules that used to exist twice and disagree, now one each: the trust decision, the
//! validity window, the audit actor; and the shapes every command shares (`--json`
//! documents and errors, usage errors from clap).

use std::path::Path;

use crate::common::*;
use reelseal_keyserver::api::{CodesRequest, RevokeRequest};
use reelseal_keyserver::Client;

/// A second publisher, made with `reelseal keygen` (not a demo key); its public key.
fn other_publisher(dir: &Path) -> String {
    let o = reelseal(dir).args(["--json", "keygen"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout_json(&o)["public_key"].as_str().unwrap().to_string()
}

fn pinned(home: &Path) -> String {
    std::fs::read_to_string(home.join("trusted.json")).unwrap_or_default()
}

#[test]
fn a_named_publisher_must_match_for_open_and_redeem_alike() {
    let r = sealed_release(100_000, &[]);
    let root = r.root.path();
    let other = other_publisher(&root.join("other-publisher"));
    let key = grant_to(&r, "jury-1", &[]);
    let j1 = home_from_demo(root, "jury-1");

    // open: --publisher names someone else, TOFU must not override that.
    let o = reelview(&j1)
        .args(["open"])
        .arg(&key)
        .arg("--from")
        .arg(&r.dir)
        .arg("--out")
        .arg(root.join("out"))
        .args(["--publisher", &other, "--trust-on-first-use"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("was not issued by --publisher"),
        "{}",
        stderr(&o)
    );
    assert!(!pinned(&j1).contains(&demo_pub("publisher")));

    // redeem: the same flags, the same refusal, nothing pinned (it used to accept and pin).
    let (_server, url) = spawn_key_server(&r.publisher, 0);
    let o = reelseal(&r.publisher)
        .args(["--json", "codes", &r.id, "--count", "1"])
        .output()
        .unwrap();
    let code = stdout_json(&o)["codes"][0].as_str().unwrap().to_string();
    let b = home_from_demo(root, "buyer-1");
    let o = reelview(&b)
        .args(["redeem", &url, &code, "--out"])
        .arg(root.join("b.rskey"))
        .args(["--publisher", &other, "--trust-on-first-use"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
    assert!(!root.join("b.rskey").exists());
    assert!(!pinned(&b).contains(&demo_pub("publisher")));

    // With the right key named and TOFU, redeem succeeds and pins it.
    let o = reelview(&b)
        .args(["redeem", &url, &code, "--out"])
        .arg(root.join("b.rskey"))
        .args([
            "--publisher",
            &demo_pub("publisher"),
            "--trust-on-first-use",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(pinned(&b).contains(&demo_pub("publisher")));
}

#[test]
fn the_admin_api_checks_windows_like_the_cli_and_names_itself_in_the_audit_log() {
    let r = sealed_release(50_000, &[]);
    let (_server, url) = spawn_key_server(&r.publisher, 0);
    let token = std::fs::read_to_string(r.publisher.join("admin.token")).unwrap();
    let admin = Client::new(&url).unwrap().with_admin_token(&token);
    let release = reelseal_core::ReleaseId::from_hex(&r.id).unwrap();

    // A window that closes before it opens: refused by the CLI (usage, 2) and the API (400).
    let o = reelseal(&r.publisher)
        .args([
            "codes",
            &r.id,
            "--not-before",
            "2027-03-02",
            "--not-after",
            "2027-03-01",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("before it opens"), "{}", stderr(&o));
    let e = admin
        .mint_codes(
            &release,
            &CodesRequest {
                count: 1,
                not_before: Some("2027-03-02".into()),
                not_after: Some("2027-03-01".into()),
            },
        )
        .unwrap_err();
    assert_eq!(e.status(), Some(400), "{e}");
    assert!(e.to_string().contains("before it opens"), "{e}");
    let ok = admin
        .mint_codes(
            &release,
            &CodesRequest {
                count: 2,
                not_before: Some("2027-03-01".into()),
                not_after: Some("2027-03-01".into()),
            },
        )
        .unwrap();
    assert_eq!(ok.codes.len(), 2);

    // A revocation through the API is audited as the API's, one from the CLI as the publisher's.
    grant_to(&r, "jury-1", &[]);
    let gid = grant_id(&r.publisher, &r.id, "jury-1");
    let rv = admin
        .revoke(&RevokeRequest {
            subject: gid[..10].to_string(),
            reason: "api".into(),
        })
        .unwrap();
    assert_eq!(
        (rv.kind.as_str(), rv.subject.as_str(), rv.new),
        ("grant", gid.as_str(), true)
    );
    reelseal(&r.publisher)
        .args(["revoke", &demo_pub("jury-2"), "--reason", "cli"])
        .assert()
        .success();
    let audit = admin.audit(1000).unwrap();
    let actor_of = |reason: &str| {
        audit
            .iter()
            .find(|e| e.action == "revoke" && e.detail.ends_with(reason))
            .map(|e| e.actor.clone())
    };
    assert_eq!(actor_of(": api").as_deref(), Some("admin api"), "{audit:?}");
    assert_eq!(actor_of(": cli").as_deref(), Some("publisher"), "{audit:?}");
    assert!(audit
        .iter()
        .any(|e| e.action == "codes" && e.actor == "admin api"));
}

#[test]
fn every_json_document_has_a_version_and_errors_are_json_too() {
    let r = sealed_release(20_000, &[]);
    for args in [
        vec!["--json", "ls"],
        vec!["--json", "show", r.id.as_str()],
        vec!["--json", "grants", r.id.as_str()],
        vec!["--json", "revocations"],
    ] {
        let o = reelseal(&r.publisher).args(&args).output().unwrap();
        assert!(o.status.success(), "{args:?}: {}", stderr(&o));
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(
            text.trim_start().starts_with("{\n  \"version\": 1,"),
            "{args:?}: {text}"
        );
    }
    let o = reelseal(&r.publisher)
        .args(["--json", "show", "ffffffff"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let v = stdout_json(&o);
    assert_eq!(v["version"], 1);
    assert_eq!(v["error"]["kind"], "error");
    assert_eq!(v["error"]["exit"], 1);
    assert!(v["error"]["message"]
        .as_str()
        .unwrap()
        .contains("reelseal ls"));
    assert!(
        stderr(&o).lines().any(|l| l.starts_with("error: ")),
        "{}",
        stderr(&o)
    );

    // A refusal carries its own kind and code.
    let key = grant_to(&r, "jury-1", &[]);
    let j2 = home_from_demo(r.root.path(), "jury-2");
    let o = reelview(&j2)
        .args(["--json", "open"])
        .arg(&key)
        .arg("--from")
        .arg(&r.dir)
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(10), "{}", stderr(&o));
    let v = stdout_json(&o);
    assert_eq!(
        (v["error"]["kind"].as_str(), v["error"]["exit"].as_u64()),
        (Some("not_my_key"), Some(10))
    );
}

#[test]
fn conflicting_flags_are_usage_errors_before_any_work() {
    let r = sealed_release(20_000, &[]);
    for args in [
        vec![
            "grant",
            r.id.as_str(),
            "--to",
            "rsview1x",
            "--name",
            "a",
            "--new-viewer",
        ],
        vec!["grant", r.id.as_str(), "--recipients", "x.csv"],
        vec!["grant", r.id.as_str(), "--name", "nobody"],
        vec![
            "grant",
            r.id.as_str(),
            "--to",
            "rsview1notakey",
            "--name",
            "a",
        ],
        vec!["seal", "--title", "   ", "film.mp4"],
        vec!["codes", r.id.as_str(), "--count", "0"],
    ] {
        let o = reelseal(&r.publisher).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    // Nothing was issued by any of them.
    let o = reelseal(&r.publisher)
        .args(["--json", "grants", &r.id])
        .output()
        .unwrap();
    assert_eq!(stdout_json(&o)["grants"].as_array().map(Vec::len), Some(0));
}
