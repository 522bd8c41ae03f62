//! Revocation, rotation and the key server, end to end: real binaries, real SQLite, real
//! HTTP on 127.0.0.1.

use std::path::{Path, PathBuf};

use crate::common::*;
use reelseal_core::keys::ViewerSecret;

struct Server {
    _proc: Proc,
    url: String,
}

/// The key server on an ephemeral 127.0.0.1 port; dropping it stops the server.
fn start_server(home: &Path) -> Server {
    let (proc, url) = spawn_key_server(home, 0);
    Server { _proc: proc, url }
}

fn open_with(
    home: &Path,
    key: &Path,
    from: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Output {
    open_cmd(home, key, from, out).args(extra).output().unwrap()
}

#[test]
fn revoke_then_rotate() {
    let r = sealed_release(300_000, &[]);
    let root = r.root.path();
    let j1 = home_from_demo(root, "jury-1");
    let j2 = home_from_demo(root, "jury-2");
    let (g1, g2) = (grant_to(&r, "jury-1", &[]), grant_to(&r, "jury-2", &[]));

    // The list before the revocation (sequence 1, empty).
    let old_list = root.join("old.rsrl");
    let o = reelseal(&r.publisher)
        .args(["revocations", "--out"])
        .arg(&old_list)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));

    let j2_id = grant_id(&r.publisher, &r.id, "jury-2");
    let o = reelseal(&r.publisher)
        .args([
            "--json",
            "revoke",
            &j2_id[..10],
            "--reason",
            "screener leaked online",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["sequence"], 2);
    let list = root.join("list.rsrl");
    reelseal(&r.publisher)
        .args(["revocations", "--out"])
        .arg(&list)
        .assert()
        .success();

    // jury-2 refused with the reason; jury-1 still fine.
    let o = open_with(
        &j2,
        &g2,
        &r.dir,
        &root.join("o2"),
        &["--revocations", list.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(13), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("screener leaked online"),
        "{}",
        stderr(&o)
    );
    assert!(!root.join("o2/feature.mp4").exists());
    let o = open_with(
        &j1,
        &g1,
        &r.dir,
        &root.join("o1"),
        &["--revocations", list.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));

    // Having seen sequence 2, the older list is refused (no rollback).
    let o = open_with(
        &j2,
        &g2,
        &r.dir,
        &root.join("o3"),
        &["--revocations", old_list.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
    assert!(stderr(&o).contains("older than 2"), "{}", stderr(&o));

    // Rotate: jury-1 gets a new grant, jury-2 none.
    let new_dir = root.join("rotated");
    let grants_dir = root.join("rotated-grants");
    let o = reelseal(&r.publisher)
        .args(["--json", "rotate", &r.id, "--out"])
        .arg(&new_dir)
        .arg("--out-dir")
        .arg(&grants_dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let v = stdout_json(&o);
    assert_eq!(v["reissued"].as_array().unwrap().len(), 1);
    assert_eq!(v["reissued"][0]["label"], "jury-1");
    assert_eq!(v["not_reissued"][0]["label"], "jury-2");
    let new_g1 = PathBuf::from(v["reissued"][0]["file"].as_str().unwrap());
    let o = open_with(&j1, &new_g1, &new_dir, &root.join("n1"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(root.join("n1/feature.mp4")).unwrap(), r.film);
    // The new ciphertext differs entirely, and jury-2's old grant opens nothing of it.
    let o = open_with(&j2, &g2, &new_dir, &root.join("n2"), &[]);
    assert!(!o.status.success());
    assert!(!root.join("n2/feature.mp4").exists());
    // The new card says what it replaces.
    let i = reelview(&j1)
        .args(["--json", "inspect"])
        .arg(&new_g1)
        .output()
        .unwrap();
    assert_eq!(stdout_json(&i)["supersedes"], r.id.as_str());
}

#[test]
fn key_server_redeems_codes_once_and_survives_a_restart() {
    let r = sealed_release(200_000, &[]);
    let root = r.root.path();
    let server = start_server(&r.publisher);
    let o = reelseal(&r.publisher)
        .args(["--json", "codes", &r.id, "--count", "3"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let codes: Vec<String> = stdout_json(&o)["codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c.as_str().unwrap().to_string())
        .collect();

    // buyer-1 redeems with their own key and can open the release.
    let b = home_from_demo(root, "buyer-1");
    let key = root.join("buyer.rskey");
    let o = reelview(&b)
        .args(["redeem", &server.url, &codes[0].to_lowercase(), "--out"])
        .arg(&key)
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = open_with(&b, &key, &r.dir, &root.join("ob"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(root.join("ob/feature.mp4")).unwrap(), r.film);

    // The same viewer again gets the same grant; another viewer a clear refusal.
    let again = root.join("again.rskey");
    reelview(&b)
        .args(["redeem", &server.url, &codes[0], "--out"])
        .arg(&again)
        .args(["--publisher", &demo_pub("publisher")])
        .assert()
        .success();
    assert_eq!(std::fs::read(&key).unwrap(), std::fs::read(&again).unwrap());
    let j1 = home_from_demo(root, "jury-1");
    let o = reelview(&j1)
        .args(["redeem", &server.url, &codes[0], "--out"])
        .arg(root.join("x.rskey"))
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("already redeemed with another viewer key"),
        "{}",
        stderr(&o)
    );
    // An unknown code says nothing about other releases.
    let o = reelview(&j1)
        .args([
            "redeem",
            &server.url,
            "RS-0000-0000-0000-0000-0000-0000-0000-0000",
            "--publisher",
            &demo_pub("publisher"),
        ])
        .output()
        .unwrap();
    assert!(stderr(&o).contains("unknown code"), "{}", stderr(&o));

    // 50 viewers race for one code: exactly one grant.
    let client = reqwest::blocking::Client::new();
    let url = format!("{}/v1/redeem", server.url);
    let statuses: Vec<u16> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..50)
            .map(|_| {
                let (client, url, code) = (&client, &url, &codes[1]);
                s.spawn(move || {
                    let v = ViewerSecret::generate().public().to_bech32();
                    client
                        .post(url)
                        .json(&serde_json::json!({"code": code, "viewer": v}))
                        .send()
                        .unwrap()
                        .status()
                        .as_u16()
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        49,
        "{statuses:?}"
    );

    // Restart the server: every grant is still there.
    let token = std::fs::read_to_string(r.publisher.join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    let before: serde_json::Value = client
        .get(format!("{}/v1/releases/{}/grants", server.url, r.id))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(before.as_array().unwrap().len(), 2);
    drop(server);
    let server = start_server(&r.publisher);
    let after: serde_json::Value = client
        .get(format!("{}/v1/releases/{}/grants", server.url, r.id))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(before, after);
    let again2 = root.join("again2.rskey");
    reelview(&b)
        .args(["redeem", &server.url, &codes[0], "--out"])
        .arg(&again2)
        .args(["--publisher", &demo_pub("publisher")])
        .assert()
        .success();
    assert_eq!(
        std::fs::read(&key).unwrap(),
        std::fs::read(&again2).unwrap()
    );

    // Admin endpoints need the token; the audit log records redemptions.
    let s = client
        .get(format!("{}/v1/audit", server.url))
        .send()
        .unwrap()
        .status();
    assert_eq!(s, 401);
    let audit: serde_json::Value = client
        .get(format!("{}/v1/audit?limit=1000", server.url))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["action"] == "redeem")
            .count(),
        2
    );
}

#[test]
fn key_server_revocations_reach_viewers_and_offline_rules_are_explicit() {
    // Start the server first so the card can name it.
    let root = tempfile::tempdir().unwrap();
    let publisher = home_from_demo(root.path(), "publisher");
    let server = start_server(&publisher);
    let film = root.path().join("film.mp4");
    std::fs::write(&film, film_bytes(100_000, 3)).unwrap();
    let dir = root.path().join("rel");
    let o = reelseal(&publisher)
        .args(["--json", "seal"])
        .arg(&film)
        .args(["--title", "Served", "--key-server", &server.url, "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let id = stdout_json(&o)["release_id"].as_str().unwrap().to_string();
    let j1 = home_from_demo(root.path(), "jury-1");
    let j2 = home_from_demo(root.path(), "jury-2");
    let (g1, g2) = (root.path().join("g1.rskey"), root.path().join("g2.rskey"));
    for (v, g) in [("jury-1", &g1), ("jury-2", &g2)] {
        reelseal(&publisher)
            .args(["grant", &id, "--to", &demo_pub(v), "--name", v, "--out"])
            .arg(g)
            .assert()
            .success();
    }
    // Both open while the key server says nothing is revoked.
    assert!(open_with(&j2, &g2, &dir, &root.path().join("a"), &[])
        .status
        .success());

    // Revoke jury-2 through the admin API; the viewer learns it from the key server.
    let token = std::fs::read_to_string(publisher.join("admin.token"))
        .unwrap()
        .trim()
        .to_string();
    let j2_id = grant_id(&publisher, &id, "jury-2");
    let resp: serde_json::Value = reqwest::blocking::Client::new()
        .post(format!("{}/v1/revoke", server.url))
        .bearer_auth(&token)
        .json(&serde_json::json!({"subject": j2_id, "reason": "left the jury"}))
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(resp["new"], true);
    let o = open_with(&j2, &g2, &dir, &root.path().join("b"), &["--force"]);
    assert_eq!(o.status.code(), Some(13), "{}", stderr(&o));
    assert!(stderr(&o).contains("left the jury"));
    assert!(open_with(&j1, &g1, &dir, &root.path().join("c"), &[])
        .status
        .success());

    // Key server down: jury-1 holds a current list (from the server, valid 72 h), so it
    // opens with a warning; a viewer who never got a list is refused, with or without
    // --offline (offline never skips the check), and told what to do.
    drop(server);
    let o = open_with(&j1, &g1, &dir, &root.path().join("d"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("cannot reach the key server"),
        "{}",
        stderr(&o)
    );
    let b = home_from_demo(root.path(), "buyer-1");
    let gb = root.path().join("gb.rskey");
    reelseal(&publisher)
        .args([
            "grant",
            &id,
            "--to",
            &demo_pub("buyer-1"),
            "--name",
            "buyer",
            "--out",
        ])
        .arg(&gb)
        .assert()
        .success();
    for extra in [&[][..], &["--offline"][..]] {
        let o = open_with(&b, &gb, &dir, &root.path().join("e"), extra);
        assert_eq!(o.status.code(), Some(11), "{extra:?}: {}", stderr(&o));
        assert!(stderr(&o).contains("--revocations FILE"), "{}", stderr(&o));
    }
    // A current list handed over by file is enough, offline too.
    let list = root.path().join("current.rsrl");
    let o = reelseal(&publisher)
        .args(["--json", "revocations", "--out"])
        .arg(&list)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = open_with(
        &b,
        &gb,
        &dir,
        &root.path().join("e"),
        &["--offline", "--revocations", list.to_str().unwrap()],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    // An expired list (next update due 5 days ago) no longer speaks for the publisher, even
    // when it is the newest one seen.
    let seq = stdout_json(&o_json(&publisher))["sequence"]
        .as_u64()
        .unwrap()
        + 1;
    let stale = root.path().join("stale.rsrl");
    std::fs::write(&stale, old_list(seq, 10 * 86_400, 5 * 86_400)).unwrap();
    let o = open_with(
        &b,
        &gb,
        &dir,
        &root.path().join("f"),
        &["--offline", "--revocations", stale.to_str().unwrap()],
    );
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
    assert!(stderr(&o).contains("expired"), "{}", stderr(&o));
}

/// `reelseal --json revocations` (the current list) as run output.
fn o_json(publisher: &Path) -> std::process::Output {
    let o = reelseal(publisher)
        .args(["--json", "revocations"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    o
}

/// An empty revocation list of the demo publisher issued `age` seconds ago whose next
/// update was due `overdue` seconds ago.
fn old_list(seq: u64, age: i64, overdue: i64) -> Vec<u8> {
    use reelseal_core::keys::PublisherSecret;
    use reelseal_core::revocation::RevocationList;
    let text = std::fs::read_to_string(reelseal::demo::keys_dir().join("publisher/publisher.key"))
        .unwrap();
    let sk =
        PublisherSecret::from_bech32(&reelseal_core::keys::secret_line(&text).unwrap()).unwrap();
    let now = reelseal_core::validity::now();
    RevocationList {
        publisher: sk.public(),
        seq,
        issued: now - age,
        next_update: now - overdue,
        entries: vec![],
    }
    .sign(&sk)
    .unwrap()
}

#[test]
fn fetch_and_play_refuse_a_revoked_grant_before_any_network() {
    let r = sealed_release(100_000, &[]);
    let root = r.root.path();
    let j2 = home_from_demo(root, "jury-2");
    let g2 = grant_to(&r, "jury-2", &[]);
    reelseal(&r.publisher)
        .args(["revoke", "rsview1", "--reason", "x"])
        .assert()
        .failure();
    reelseal(&r.publisher)
        .args(["revoke", &demo_pub("jury-2"), "--reason", "key leaked"])
        .assert()
        .success();
    let list = r.publisher.join("revocations.rsrl");
    // A peer address nobody listens on: a refusal must come before any connection attempt.
    for cmd in ["fetch", "play"] {
        let mut c = reelview(&j2);
        c.arg(cmd)
            .arg(&g2)
            .args(["--revocations"])
            .arg(&list)
            .args([
                "--peer",
                "127.0.0.1:9",
                "--bind",
                "127.0.0.1",
                "--no-dht",
                "--no-trackers",
                "--publisher",
                &demo_pub("publisher"),
            ]);
        if cmd == "fetch" {
            c.arg("--out").arg(root.join("out"));
        } else {
            c.args(["--player", "none"]);
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(13), "{cmd}: {}", stderr(&o));
        assert!(stderr(&o).contains("key leaked"), "{cmd}: {}", stderr(&o));
    }
}

#[test]
fn rotated_grants_are_renewed_from_the_key_server_with_proof_of_key() {
    let root = tempfile::tempdir().unwrap();
    let publisher = home_from_demo(root.path(), "publisher");
    let server = start_server(&publisher);
    let film = root.path().join("film.mp4");
    std::fs::write(&film, film_bytes(200_000, 9)).unwrap();
    let dir = root.path().join("rel");
    reelseal(&publisher)
        .arg("seal")
        .arg(&film)
        .args(["--title", "Renewed", "--key-server", &server.url, "--out"])
        .arg(&dir)
        .assert()
        .success();
    let j1 = home_from_demo(root.path(), "jury-1");
    let g1 = root.path().join("g1.rskey");
    reelseal(&publisher)
        .args(["grant"])
        .arg(&dir)
        .args(["--to", &demo_pub("jury-1"), "--name", "jury-1", "--out"])
        .arg(&g1)
        .assert()
        .success();
    let new_dir = root.path().join("rel2");
    reelseal(&publisher)
        .args(["rotate"])
        .arg(&dir)
        .arg("--out")
        .arg(&new_dir)
        .arg("--out-dir")
        .arg(root.path().join("reissued"))
        .assert()
        .success();

    // Opening the old grant says a newer release exists and how to get it.
    let o = reelview(&j1)
        .arg("open")
        .arg(&g1)
        .arg("--from")
        .arg(&dir)
        .arg("--out")
        .arg(root.path().join("old"))
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("reelview renew"), "{}", stderr(&o));

    // renew answers the key server's challenge with jury-1's key and gets the new grant.
    let renewed = root.path().join("renewed");
    std::fs::create_dir_all(&renewed).unwrap();
    let o = reelview(&j1)
        .args(["--json", "renew"])
        .arg(&g1)
        .arg("--out-dir")
        .arg(&renewed)
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let file = PathBuf::from(stdout_json(&o)["renewed"][0]["file"].as_str().unwrap());
    let o = reelview(&j1)
        .arg("open")
        .arg(&file)
        .arg("--from")
        .arg(&new_dir)
        .arg("--out")
        .arg(root.path().join("new"))
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(root.path().join("new/film.mp4")).unwrap(),
        std::fs::read(&film).unwrap()
    );

    // Someone without jury-1's secret cannot answer the challenge for jury-1's key.
    let c = reqwest::blocking::Client::new();
    let _ = c
        .post(format!("{}/v1/renew/challenge", server.url))
        .json(&serde_json::json!({"viewer": demo_pub("jury-1")}))
        .send()
        .unwrap();
    let s = c
        .post(format!("{}/v1/renew", server.url))
        .json(&serde_json::json!({"viewer": demo_pub("jury-1"), "token": "00".repeat(32), "release": stdout_json(&reelview(&j1).args(["--json", "inspect"]).arg(&g1).output().unwrap())["release_id"]}))
        .send()
        .unwrap()
        .status();
    assert_eq!(s, 403);
}

#[test]
fn redemption_is_rate_limited_per_address() {
    let r = sealed_release(50_000, &[]);
    let (_server, url) = spawn_key_server(&r.publisher, 2);
    let c = reqwest::blocking::Client::new();
    let statuses: Vec<u16> = (0..12)
        .map(|_| {
            c.post(format!("{url}/v1/redeem"))
                .json(&serde_json::json!({"code": "RS-GUESS-GUESS", "viewer": demo_pub("jury-1")}))
                .send()
                .unwrap()
                .status()
                .as_u16()
        })
        .collect();
    assert!(statuses.contains(&404), "{statuses:?}");
    assert!(
        statuses.iter().filter(|s| **s == 429).count() >= 6,
        "a burst of guesses is throttled: {statuses:?}"
    );
}

#[test]
fn old_codes_redeem_for_the_newest_release_renew_skips_revoked_grants_and_serve_logs_both() {
    let root = tempfile::tempdir().unwrap();
    let publisher = home_from_demo(root.path(), "publisher");
    // The key server, its log in a file.
    let log = root.path().join("serve.log");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("reelseal"))
        .arg("--home")
        .arg(&publisher)
        .args(["--json", "serve", "--listen", "127.0.0.1:0"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let url = first_json_line(&mut child)["listening"]
        .as_str()
        .unwrap()
        .to_string();
    let _server = Proc(child);

    let film = root.path().join("film.mp4");
    std::fs::write(&film, film_bytes(100_000, 4)).unwrap();
    let dir = root.path().join("rel");
    reelseal(&publisher)
        .arg("seal")
        .arg(&film)
        .args(["--title", "Sold", "--key-server", &url, "--out"])
        .arg(&dir)
        .assert()
        .success();
    let o = reelseal(&publisher)
        .args(["--json", "codes", "Sold", "--count", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let code = stdout_json(&o)["codes"][0].as_str().unwrap().to_string();
    let j1 = home_from_demo(root.path(), "jury-1");
    let g1 = root.path().join("g1.rskey");
    reelseal(&publisher)
        .arg("grant")
        .arg(&dir)
        .args(["--to", &demo_pub("jury-1"), "--name", "jury-1", "--out"])
        .arg(&g1)
        .assert()
        .success();
    let new_dir = root.path().join("rel2");
    let o = reelseal(&publisher)
        .args(["--json", "rotate"])
        .arg(&dir)
        .arg("--out")
        .arg(&new_dir)
        .arg("--out-dir")
        .arg(root.path().join("reissued"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let new_id = stdout_json(&o)["release_id"].as_str().unwrap().to_string();

    // The code sold before the rotation redeems for the newest release, which it opens.
    let b = home_from_demo(root.path(), "buyer-1");
    let key = root.path().join("buyer.rskey");
    let o = reelview(&b)
        .args(["redeem", &url, &code, "--out"])
        .arg(&key)
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = reelview(&b)
        .args(["--json", "inspect"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(stdout_json(&o)["release_id"], new_id.as_str());
    let o = open_with(&b, &key, &new_dir, &root.path().join("ob"), &[]);
    assert!(o.status.success(), "{}", stderr(&o));

    // jury-1's re-issued grant is revoked after the rotation: renew hands out nothing.
    let gid = grant_id(&publisher, &new_id, "jury-1");
    reelseal(&publisher)
        .args(["revoke", &gid, "--reason", "leaked"])
        .assert()
        .success();
    let renewed = root.path().join("renewed");
    std::fs::create_dir_all(&renewed).unwrap();
    let o = reelview(&j1)
        .args(["renew"])
        .arg(&g1)
        .arg("--out-dir")
        .arg(&renewed)
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("revoked, or never granted"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read_dir(&renewed).unwrap().count(), 0);

    // The key server said what it did.
    let logged = std::fs::read_to_string(&log).unwrap();
    assert!(
        logged.contains("code redeemed") && logged.contains(&new_id),
        "{logged}"
    );
}
