//! The key server scaled out: three `reelseal serve --database …` replicas over one real
//! PostgreSQL cluster (started by the test with initdb/pg_ctl on a free 127.0.0.1 port,
//! stopped when the test ends), filled with `reelseal keyserver sync`. Exactly-once
//! redemption across replicas, challenges answered at another replica, a replica killed
//! mid-burst losing nothing, revocations served by all, health, readiness and metrics.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use crate::common::pg::{wait_until, PgCluster};
use crate::common::*;
use reelseal_core::keys::{PublisherPublic, ViewerSecret};
use reelseal_core::revocation::{RevocationList, Subject};
use reelseal_core::ReleaseId;
use reelseal_keyserver::api::{CodesRequest, RevokeRequest};
use reelseal_keyserver::Client;

/// `reelseal keyserver sync --database URL`, which must succeed; its report.
fn sync(publisher: &Path, url: &str) -> serde_json::Value {
    let o = reelseal(publisher)
        .args(["--json", "keyserver", "sync", "--database", url])
        .output()
        .unwrap();
    assert!(o.status.success(), "sync: {}", stderr(&o));
    stdout_json(&o)
}

/// One replica (`--redeem-rate 0` unless `extra` says otherwise): its process and URL.
fn replica(home: &Path, db: &str, extra: &[&str]) -> (Proc, String) {
    let mut args = vec![
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--database",
        db,
        "--db-pool",
        "8",
    ];
    if !extra.contains(&"--redeem-rate") {
        args.extend(["--redeem-rate", "0"]);
    }
    args.extend(extra);
    let (p, v) = spawn_announcing("reelseal", home, &args, home);
    assert!(
        v["store"]
            .as_str()
            .unwrap()
            .starts_with("postgres 127.0.0.1:"),
        "{v}"
    );
    (p, v["listening"].as_str().unwrap().to_string())
}

fn replicas(home: &Path, db: &str, extra: &[&str]) -> Vec<(Proc, String)> {
    (0..3).map(|_| replica(home, db, extra)).collect()
}

fn http() -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

fn admin_token(publisher: &Path) -> String {
    std::fs::read_to_string(publisher.join("admin.token"))
        .unwrap()
        .trim()
        .to_string()
}

fn mint(url: &str, publisher: &Path, release: &str, count: u32) -> Vec<String> {
    Client::new(url)
        .unwrap()
        .with_admin_token(&admin_token(publisher))
        .mint_codes(
            &ReleaseId::from_hex(release).unwrap(),
            &CodesRequest {
                count,
                not_before: None,
                not_after: None,
            },
        )
        .unwrap()
        .codes
}

/// The value of one sample line (`name{labels} value`) in a Prometheus text page.
fn metric(page: &str, series: &str) -> f64 {
    page.lines()
        .find_map(|l| {
            l.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

fn metrics(url: &str) -> String {
    let r = http().get(format!("{url}/metrics")).send().unwrap();
    assert_eq!(r.status(), 200);
    r.text().unwrap()
}

#[test]
fn three_replicas_redeem_a_code_exactly_once_and_sync_both_ways() {
    let pg = PgCluster::start();
    let db = pg.url();
    let r = sealed_release(50_000, &[]);

    // A database never synced is refused, with what to do.
    let o = reelseal(&r.publisher)
        .args(["serve", "--listen", "127.0.0.1:0", "--database", &db])
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("reelseal keyserver sync"),
        "{}",
        stderr(&o)
    );

    let first = sync(&r.publisher, &db);
    assert_eq!(first["up"]["releases"], 1, "{first}");
    let reps = replicas(&r.publisher, &db, &[]);
    let codes = mint(&reps[0].1, &r.publisher, &r.id, 2);

    // 60 viewers race for one code, 20 at each replica, released together.
    let client = http();
    let go = Barrier::new(60);
    let answers: Vec<(u16, String)> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..60)
            .map(|i| {
                let (client, go, url, code) = (&client, &go, &reps[i % 3].1, &codes[0]);
                s.spawn(move || {
                    let v = ViewerSecret::generate().public().to_bech32();
                    go.wait();
                    let resp = client
                        .post(format!("{url}/v1/redeem"))
                        .json(&serde_json::json!({"code": code, "viewer": v}))
                        .send()
                        .unwrap();
                    (resp.status().as_u16(), v)
                })
            })
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let statuses: Vec<u16> = answers.iter().map(|a| a.0).collect();
    assert_eq!(
        statuses.iter().filter(|s| **s == 200).count(),
        1,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 409).count(),
        59,
        "{statuses:?}"
    );
    assert_eq!(pg.count("SELECT count(*) FROM grants"), 1);
    assert_eq!(
        pg.count("SELECT count(*) FROM codes WHERE grant_id IS NOT NULL"),
        1
    );

    // The winner gets the same grant back from another replica.
    let winner = &answers.iter().find(|a| a.0 == 200).unwrap().1;
    let again = client
        .post(format!("{}/v1/redeem", reps[2].1))
        .json(&serde_json::json!({"code": codes[0], "viewer": winner}))
        .send()
        .unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(pg.count("SELECT count(*) FROM grants"), 1);

    // Every replica counted its own share; together they saw one grant and 59 refusals.
    let pages: Vec<String> = reps.iter().map(|(_, u)| metrics(u)).collect();
    let sum = |series: &str| pages.iter().map(|p| metric(p, series)).sum::<f64>();
    assert_eq!(sum("reelseal_redemptions_total{outcome=\"granted\"}"), 1.0);
    assert_eq!(sum("reelseal_redemptions_total{outcome=\"again\"}"), 1.0);
    assert_eq!(sum("reelseal_refusals_total{reason=\"code_taken\"}"), 59.0);

    // The ledger learns the grant and the codes minted through the API; a second sync
    // changes nothing.
    let back = sync(&r.publisher, &db);
    assert_eq!(
        (
            back["down"]["grants"].as_u64(),
            back["down"]["codes"].as_u64(),
            back["up"]["grants"].as_u64()
        ),
        (Some(1), Some(2), Some(0)),
        "{back}"
    );
    let o = reelseal(&r.publisher)
        .args(["--json", "grants", &r.id])
        .output()
        .unwrap();
    let listed = stdout_json(&o)["grants"].as_array().unwrap().clone();
    assert_eq!(listed.len(), 1, "{listed:?}");
    assert_eq!(listed[0]["viewer"].as_str(), Some(winner.as_str()));
    let idle = sync(&r.publisher, &db);
    for side in ["up", "down"] {
        for (k, v) in idle[side].as_object().unwrap() {
            assert_eq!(v, 0, "{side}.{k} after a second sync: {idle}");
        }
    }
    assert!(idle["new_revocation_list"].is_null(), "{idle}");

    // A revocation taken back on the ledger is taken back on the replicas too, and the
    // next sync does not bring it back down.
    let gid = listed[0]["grant_id"].as_str().unwrap().to_string();
    reelseal(&r.publisher)
        .args(["revoke", &gid, "--reason", "by mistake"])
        .assert()
        .success();
    assert_eq!(sync(&r.publisher, &db)["up"]["revocations"], 1);
    reelseal(&r.publisher)
        .args(["unrevoke", &gid, "--reason", "it was not them"])
        .assert()
        .success();
    let s = sync(&r.publisher, &db);
    assert_eq!(s["up"]["unrevoked"], 1, "{s}");
    assert!(s["new_revocation_list"].is_u64(), "{s}");
    let again = sync(&r.publisher, &db);
    assert_eq!(again["down"]["revocations"], 0, "{again}");
    let o = reelseal(&r.publisher)
        .args(["--json", "revocations"])
        .output()
        .unwrap();
    assert_eq!(stdout_json(&o)["entries"].as_array().unwrap().len(), 0);

    // A channel's newest version follows the key server from the ledger to the replicas
    // and back: announced to `reelseal serve` on the ledger, sent up by sync; announced to
    // a replica that took over the same address, learnt by the ledger.
    let (ledger_server, url) = spawn_key_server(&r.publisher, 0);
    let port = url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let ch = {
        let o = reelseal(&r.publisher)
            .args([
                "--json",
                "channel",
                "create",
                "--title",
                "Dailies",
                "--key-server",
                &url,
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout_json(&o)["channel"].as_str().unwrap().to_string()
    };
    let dir = r.dir.join("dailies");
    std::fs::create_dir_all(&dir).unwrap();
    let publish = |note: &str| {
        std::fs::write(dir.join("day.txt"), note).unwrap();
        let o = reelseal(&r.publisher)
            .args(["--json", "publish", &ch])
            .arg(&dir)
            .args([
                "--note",
                note,
                "--bind",
                "127.0.0.1",
                "--no-dht",
                "--no-trackers",
            ])
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        stdout_json(&o)
    };
    let v1 = publish("day 1");
    assert_eq!(
        v1["pointer_published"],
        serde_json::json!(["key server"]),
        "{v1}"
    );
    drop(ledger_server);
    let s = sync(&r.publisher, &db);
    assert_eq!(s["up"]["channel_heads"], 1, "{s}");
    assert_eq!(
        pg.count("SELECT count(*) FROM channel_heads WHERE version = 1"),
        1
    );
    let listen = format!("127.0.0.1:{port}");
    let (_replica, _) = spawn_announcing(
        "reelseal",
        &r.publisher,
        &["serve", "--listen", &listen, "--database", &db],
        &r.publisher,
    );
    publish("day 2");
    assert_eq!(
        pg.count("SELECT count(*) FROM channel_heads WHERE version = 2"),
        1
    );
    let s = sync(&r.publisher, &db);
    assert_eq!(
        (
            s["down"]["channel_heads"].as_u64(),
            s["up"]["channel_heads"].as_u64()
        ),
        (Some(1), Some(0)),
        "{s}"
    );
    let idle = sync(&r.publisher, &db);
    assert_eq!(idle["down"]["channel_heads"], 0, "{idle}");
    assert_eq!(idle["up"]["channel_heads"], 0, "{idle}");
    // The ledger's key server now serves version 2.
    drop(_replica);
    let (_ledger_server, url) = spawn_key_server(&r.publisher, 0);
    let head = http()
        .get(format!("{url}/v1/channels/{ch}/newest"))
        .send()
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.json::<serde_json::Value>().unwrap()["version"], 2);
}

#[test]
fn a_challenge_issued_by_one_replica_is_answered_at_another() {
    let pg = PgCluster::start();
    let db = pg.url();
    let root = tempfile::tempdir().unwrap();
    let publisher = home_from_demo(root.path(), "publisher");
    let film = root.path().join("film.mp4");
    std::fs::write(&film, film_bytes(60_000, 5)).unwrap();
    let dir = root.path().join("rel");
    let o = reelseal(&publisher)
        .args(["--json", "seal"])
        .arg(&film)
        .args(["--title", "Renewed", "--out"])
        .arg(&dir)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let old = stdout_json(&o)["release_id"].as_str().unwrap().to_string();
    reelseal(&publisher)
        .args([
            "grant",
            &old,
            "--to",
            &demo_pub("jury-1"),
            "--name",
            "jury-1",
            "--out",
        ])
        .arg(root.path().join("g1.rskey"))
        .assert()
        .success();
    let o = reelseal(&publisher)
        .args(["--json", "rotate", &old, "--out"])
        .arg(root.path().join("rel2"))
        .arg("--out-dir")
        .arg(root.path().join("reissued"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let new = stdout_json(&o)["release_id"].as_str().unwrap().to_string();
    sync(&publisher, &db);
    // Rate limit 1/s (bursts of 2) per client, clients named by a trusted proxy (us).
    let reps = replicas(
        &publisher,
        &db,
        &["--redeem-rate", "1", "--trusted-proxy", "127.0.0.1"],
    );

    let j1 = home_from_demo(root.path(), "jury-1");
    let secret = ViewerSecret::from_bech32(
        &reelseal_core::keys::secret_line(&std::fs::read_to_string(j1.join("viewer.key")).unwrap())
            .unwrap(),
    )
    .unwrap();
    let c = http();
    let challenge = |url: &str, client: &str| {
        c.post(format!("{url}/v1/renew/challenge"))
            .header("x-forwarded-for", client)
            .json(&serde_json::json!({"viewer": demo_pub("jury-1")}))
            .send()
            .unwrap()
    };
    let open = |resp: reqwest::blocking::Response| {
        assert_eq!(resp.status(), 200);
        let v: serde_json::Value = resp.json().unwrap();
        let epk: [u8; 32] = hex::decode(v["epk"].as_str().unwrap())
            .unwrap()
            .try_into()
            .unwrap();
        let boxed = hex::decode(v["box"].as_str().unwrap()).unwrap();
        reelseal_core::grant::challenge::open(&secret, &epk, &boxed).unwrap()
    };
    let renew = |url: &str, token: &[u8; 32]| {
        c.post(format!("{url}/v1/renew"))
            .json(&serde_json::json!({"viewer": demo_pub("jury-1"), "token": hex::encode(token), "release": old}))
            .send()
            .unwrap()
    };
    // Two challenges from replica A: the second does not cancel the first.
    let t1 = open(challenge(&reps[0].1, "203.0.113.5"));
    let t2 = open(challenge(&reps[0].1, "203.0.113.5"));
    let resp = renew(&reps[1].1, &t1);
    assert_eq!(resp.status(), 200);
    let v: serde_json::Value = resp.json().unwrap();
    assert_eq!(v["release_id"], new.as_str());
    assert_eq!(v["grants"].as_array().unwrap().len(), 1);
    // Each answers once, wherever it is used.
    let again = renew(&reps[2].1, &t1);
    assert_eq!(again.status(), 403);
    assert!(again.text().unwrap().contains("\"error\""));
    assert_eq!(renew(&reps[2].1, &t2).status(), 200);

    // The client's bucket is shared by every replica: its burst is spent at A, so B
    // refuses it; another client (named by the trusted proxy) is served.
    let statuses: Vec<u16> = (0..12)
        .map(|i| {
            challenge(&reps[1 + i % 2].1, "203.0.113.5")
                .status()
                .as_u16()
        })
        .collect();
    assert!(statuses.contains(&429), "{statuses:?}");
    assert_eq!(challenge(&reps[1].1, "203.0.113.77").status(), 200);
    let page = metrics(&reps[1].1) + &metrics(&reps[2].1);
    assert!(
        page.contains("reelseal_refusals_total{reason=\"rate_limited\"}"),
        "{page}"
    );
    assert!(
        page.contains("reelseal_refusals_total{reason=\"challenge_failed\"} 1"),
        "{page}"
    );
}

/// A signed list from a replica, verified with the demo publisher key.
fn served_list(url: &str) -> RevocationList {
    let bytes = http()
        .get(format!("{url}/v1/revocations"))
        .send()
        .unwrap()
        .bytes()
        .unwrap();
    let publisher: PublisherPublic = demo_pub("publisher").parse().unwrap();
    RevocationList::verify(&bytes, &publisher, None).unwrap()
}

/// A status and JSON body, or why there was no answer.
type Answer = Result<(u16, serde_json::Value), String>;

#[test]
fn a_replica_killed_mid_burst_loses_no_grant_and_all_serve_one_revocation_list() {
    let mut pg = PgCluster::start();
    let db = pg.url();
    let r = sealed_release(50_000, &[]);
    sync(&r.publisher, &db);

    // The third replica has no publisher home, only a key file; a key file others can
    // read is refused.
    let bare = r.root.path().join("bare-replica");
    std::fs::create_dir_all(&bare).unwrap();
    let key = bare.join("publisher.key");
    std::fs::copy(r.publisher.join("publisher.key"), &key).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let o = reelseal(&bare)
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--database",
                &db,
                "--key-file",
            ])
            .arg(&key)
            .output()
            .unwrap();
        assert!(!o.status.success());
        assert!(stderr(&o).contains("chmod 600"), "{}", stderr(&o));
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let mut reps: Vec<(Proc, String)> = (0..2).map(|_| replica(&r.publisher, &db, &[])).collect();
    reps.push(replica(&bare, &db, &["--key-file", key.to_str().unwrap()]));
    let urls: Vec<String> = reps.iter().map(|(_, u)| u.clone()).collect();
    let victim = reps[1].0 .0.id();
    let codes = mint(&urls[0], &r.publisher, &r.id, 240);

    // 6 clients redeem 240 codes round-robin over the replicas; replica 1 is killed
    // (SIGKILL) once 40 answers came back.
    let next = AtomicUsize::new(0);
    let done = AtomicUsize::new(0);
    let results: Mutex<Vec<(usize, Answer)>> = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..6 {
            s.spawn(|| {
                let c = http();
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    if i >= codes.len() {
                        break;
                    }
                    let v = ViewerSecret::generate().public().to_bech32();
                    let got = c
                        .post(format!("{}/v1/redeem", urls[i % 3]))
                        .json(&serde_json::json!({"code": codes[i], "viewer": v}))
                        .send()
                        .map_err(|e| e.to_string())
                        .and_then(|resp| {
                            let status = resp.status().as_u16();
                            resp.json::<serde_json::Value>()
                                .map(|b| (status, b))
                                .map_err(|e| e.to_string())
                        });
                    results.lock().unwrap().push((i, got));
                    done.fetch_add(1, Ordering::SeqCst);
                }
            });
        }
        s.spawn(|| {
            assert!(wait_until(Duration::from_secs(120), || done
                .load(Ordering::SeqCst)
                >= 40));
            let k = std::process::Command::new("kill")
                .args(["-KILL", &victim.to_string()])
                .status()
                .unwrap();
            assert!(k.success());
        });
    });
    let results = results.into_inner().unwrap();
    assert_eq!(results.len(), codes.len());
    let granted: Vec<String> = results
        .iter()
        .filter_map(|(_, r)| match r {
            Ok((200, b)) => Some(b["grant_id"].as_str().unwrap().to_string()),
            _ => None,
        })
        .collect();
    // Only the killed replica failed to answer; nobody else refused or erred.
    for (i, r) in &results {
        match r {
            Ok((200, _)) => {}
            Ok((s, b)) => panic!("code {i} at replica {}: {s} {b}", i % 3),
            Err(e) => assert_eq!(i % 3, 1, "code {i} at a live replica: {e}"),
        }
    }
    assert!(granted.len() >= 160, "{} granted", granted.len());
    let in_db: std::collections::HashSet<String> = pg
        .psql("reelseal", "SELECT id FROM grants")
        .lines()
        .map(String::from)
        .collect();
    for g in &granted {
        assert!(
            in_db.contains(g),
            "grant {g} was answered 200 but is not in the database"
        );
    }
    // Every grant in the database belongs to exactly one code.
    assert_eq!(
        pg.count("SELECT count(*) FROM grants"),
        pg.count("SELECT count(DISTINCT grant_id) FROM codes WHERE grant_id IS NOT NULL")
    );

    // A revocation through replica 0 is in the list replica 2 serves.
    let live = [&urls[0], &urls[2]];
    let rv = Client::new(live[0])
        .unwrap()
        .with_admin_token(&admin_token(&r.publisher))
        .revoke(&RevokeRequest {
            subject: granted[0].clone(),
            reason: "leaked".into(),
        })
        .unwrap();
    for url in live {
        let list = served_list(url);
        assert_eq!(list.seq, rv.sequence);
        assert!(list
            .entries
            .iter()
            .any(|e| matches!(e.subject, Subject::Grant(g) if g.to_hex() == granted[0])));
    }

    // Health and readiness; metrics name the histogram.
    let c = http();
    for url in live {
        let h: serde_json::Value = c
            .get(format!("{url}/healthz"))
            .send()
            .unwrap()
            .json()
            .unwrap();
        assert_eq!(h["status"], "ok");
        let resp = c.get(format!("{url}/readyz")).send().unwrap();
        assert_eq!(resp.status(), 200);
        let page = metrics(url);
        assert!(page.contains("reelseal_http_request_duration_seconds_bucket{method=\"POST\",route=\"/v1/redeem\",status=\"200\""), "{page}");
    }

    // SIGTERM: replica 2 finishes and exits cleanly.
    let mut third = reps.pop().unwrap().0;
    let k = std::process::Command::new("kill")
        .args(["-TERM", &third.0.id().to_string()])
        .status()
        .unwrap();
    assert!(k.success());
    let mut exit = None;
    assert!(wait_until(Duration::from_secs(20), || {
        exit = third.0.try_wait().unwrap();
        exit.is_some()
    }));
    assert!(exit.unwrap().success(), "{exit:?}");

    // Without its database a replica is alive but not ready, and says so in JSON.
    pg.stop();
    let resp = c.get(format!("{}/readyz", urls[0])).send().unwrap();
    assert_eq!(resp.status(), 503);
    let body: serde_json::Value = resp.json().unwrap();
    assert!(
        body["error"].as_str().unwrap().contains("database"),
        "{body}"
    );
    assert_eq!(
        c.get(format!("{}/healthz", urls[0]))
            .send()
            .unwrap()
            .status(),
        200
    );
}
