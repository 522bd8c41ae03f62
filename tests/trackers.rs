//! `reelseal seed` and `reelview fetch` against a local tracker (HTTP and UDP, on
//! 127.0.0.1, `common::tracker`) with no DHT and no `--peer`: they announce the port they
//! really listen on, with `started` first and `stopped` at the end, and the viewer finds
//! the seeder through the tracker alone. Also: a viewer given `--peer` before the seeder
//! is up keeps dialling it.

use std::time::{Duration, Instant};

use crate::common::stock::{free_port, wait_exit};
use crate::common::tracker::{Proto, Tracker};
use crate::common::*;

fn hex(b: &[u8; 20]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn seed_and_fetch_announce_their_ports_and_meet_through_the_tracker() {
    let tracker = Tracker::start("127.0.0.1");
    let r = sealed_release(
        3 << 20,
        &[
            "--tracker",
            &tracker.http_url,
            "--tracker",
            &tracker.udp_url,
        ],
    );
    let meta = reelseal_core::torrent::Metainfo::from_bytes(
        &std::fs::read(r.dir.join("release.torrent")).unwrap(),
    )
    .unwrap();
    let infohash = hex(&meta.infohash());

    // The seeder on a port we choose: both trackers hear `started` with that port.
    let seed_port = free_port("127.0.0.1");
    let seed_port_s = seed_port.to_string();
    let (seeder, addr) = seed_via_trackers(&r, &["--listen-port", &seed_port_s]);
    assert_eq!(addr.port(), seed_port);
    for proto in [Proto::Http, Proto::Udp] {
        let a = tracker
            .wait_for(Duration::from_secs(15), |a| {
                a.proto == proto && a.info_hash_hex() == infohash
            })
            .unwrap_or_else(|| panic!("the seeder never announced over {proto:?}"));
        assert_eq!(a.port, seed_port, "{proto:?}");
        assert_eq!(a.event.as_deref(), Some("started"), "{proto:?}");
    }

    // The viewer knows no peer: it gets the seeder from the tracker and decrypts.
    let fetch_port = free_port("127.0.0.1");
    let fetch_port_s = fetch_port.to_string();
    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let o = run_with_limit(
        fetch_via_trackers(&home, &key, &out, &["--listen-port", &fetch_port_s]),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
    let all = tracker.announces();
    for proto in [Proto::Http, Proto::Udp] {
        let mine: Vec<_> = all
            .iter()
            .filter(|a| a.proto == proto && a.port == fetch_port)
            .collect();
        assert_eq!(
            mine.first().and_then(|a| a.event.as_deref()),
            Some("started"),
            "the viewer's first {proto:?} announce: {mine:?}"
        );
        assert!(
            mine.iter().all(|a| a.info_hash_hex() == infohash),
            "{mine:?}"
        );
        // The fetch stopped its session: the tracker heard `stopped` before it exited.
        assert_eq!(
            mine.last().and_then(|a| a.event.as_deref()),
            Some("stopped"),
            "the viewer's last {proto:?} announce: {mine:?}"
        );
    }

    // The seeder, interrupted, says `stopped` too.
    let pid = seeder.0.id();
    let mut seeder = seeder;
    let _ = std::process::Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status();
    assert!(
        wait_exit(&mut seeder, Duration::from_secs(20)).is_some(),
        "the seeder did not stop on SIGINT"
    );
    for proto in [Proto::Http, Proto::Udp] {
        assert!(
            tracker
                .wait_for(Duration::from_secs(2), |a| a.proto == proto
                    && a.port == seed_port
                    && a.event.as_deref() == Some("stopped"))
                .is_some(),
            "no {proto:?} stopped from the seeder"
        );
    }
}

#[test]
fn fetch_keeps_dialling_a_seeder_that_starts_five_seconds_later() {
    let r = sealed_release(3 << 20, &[]);
    let seed_port = free_port("127.0.0.1");
    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let peer = format!("127.0.0.1:{seed_port}");
    let mut c = fetch_via_trackers(&home, &key, &out, &["--no-trackers", "--peer", &peer]);
    c.stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut fetch = Proc(c.spawn().unwrap());
    std::thread::sleep(Duration::from_secs(5));
    assert!(
        fetch.0.try_wait().unwrap().is_none(),
        "the fetch gave up before the seeder came"
    );
    let started = Instant::now();
    let (_seeder, addr) = seed_on_port(&r, seed_port);
    assert_eq!(addr.to_string(), peer);
    let status = wait_exit(&mut fetch, Duration::from_secs(90));
    assert!(
        status.is_some_and(|s| s.success()),
        "the fetch did not complete: {status:?}"
    );
    eprintln!(
        "late seeder: fetch done {:.1} s after the seeder started",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
}

/// No seeder anywhere: `fetch --timeout` explains what it is waiting for from the first
/// seconds (peers, DHT, each tracker), gives the "no peer answered" hint, and ends with
/// the timeout exit code (16) and a plain message — never librqbit's words.
#[test]
fn fetch_with_no_reachable_peer_times_out_with_its_own_exit_code() {
    let dead_tracker = format!("http://127.0.0.1:{}/announce", free_port("127.0.0.1"));
    let r = sealed_release(1 << 20, &["--tracker", &dead_tracker]);
    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let peer = format!("127.0.0.1:{}", free_port("127.0.0.1"));
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("reelview"));
    c.arg("--home")
        .arg(&home)
        .arg("fetch")
        .arg(&key)
        .arg("--out")
        .arg(&out)
        .args([
            "--bind",
            "127.0.0.1",
            "--no-dht",
            "--no-seed",
            "--timeout",
            "8s",
        ])
        .args(["--peer", &peer, "--publisher"])
        .arg(demo_pub("publisher"));
    let o = run_with_limit(c, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(16), "{err}");
    // The status line, from the start (stderr is not a terminal: plain lines).
    assert!(err.contains("swarm: looking for peers"), "{err}");
    assert!(err.contains("DHT off"), "{err}");
    assert!(err.contains(&format!("tracker {dead_tracker}")), "{err}");
    // The hint, then the timeout.
    assert!(err.contains("no peer has answered in"), "{err}");
    assert!(
        err.contains("gave up after 8 s without progress (--timeout)"),
        "{err}"
    );
    assert!(err.contains("run the same command again"), "{err}");
    for internal in ["exhausted", "anyhow", "error reading metainfo", "librqbit"] {
        assert!(!err.contains(internal), "{internal}: {err}");
    }
    assert!(!out.join("feature.mp4").exists());
}
