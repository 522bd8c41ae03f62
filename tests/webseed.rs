//! Web seeds (BEP 19): a sealed release folder uploaded as it is to a static HTTP server
//! on 127.0.0.1 (`tests/common/static_http.rs`, with Range support), named on the signed
//! card with `seal --web-seed`. `reelview fetch` gets the torrent and every piece from
//! it when there is no peer at all, and refuses the pieces of a web seed that serves
//! corrupted bytes, taking them from a peer instead.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::common::static_http::{Mode, StaticHttp};
use crate::common::stock::{free_port, wait_exit};
use crate::common::*;

/// `reelview --json fetch KEY --out OUT --no-seed`, everything on 127.0.0.1, no DHT, no
/// trackers, plus `extra` (peers, web seeds).
fn fetch_cmd(home: &Path, key: &Path, out: &Path, extra: &[&str]) -> StdCommand {
    let mut c = fetch_via_trackers(home, key, out, &["--no-trackers"]);
    c.args(extra);
    c
}

/// "Upload" a release folder: copy it to `www/<name>` (served by the test's server).
fn upload(release_dir: &Path, www: &Path, name: &str) {
    let to = www.join(name);
    std::fs::create_dir_all(&to).unwrap();
    copy_tree(release_dir, &to);
}

#[test]
fn fetch_with_no_peer_at_all_comes_from_the_web_seed() {
    let www = tempfile::tempdir().unwrap();
    let server = StaticHttp::start(www.path(), Mode::Honest);
    // Given without the trailing slash: seal adds it.
    let url = server.url("films/demo");
    let r = sealed_release(3 << 20, &["--web-seed", &url]);
    let torrent = reelseal_core::torrent::Metainfo::from_bytes(
        &std::fs::read(r.dir.join("release.torrent")).unwrap(),
    )
    .unwrap();
    assert_eq!(torrent.url_list, Some(vec![format!("{url}/")]));
    upload(&r.dir, &www.path().join("films"), "demo");

    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let started = Instant::now();
    let o = run_with_limit(fetch_cmd(&home, &key, &out, &[]), Duration::from_secs(120));
    let err = stderr(&o);
    assert!(o.status.success(), "{err}");
    eprintln!(
        "web seed only: fetched in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
    assert_eq!(std::fs::read(out.join("subs/en.srt")).unwrap(), r.subs);
    let v = stdout_json(&o);
    let seeds = v["web_seeds"].as_array().expect("web_seeds in the report");
    assert_eq!(seeds.len(), 1, "{v}");
    assert_eq!(seeds[0]["url"], format!("{url}/"));
    assert!(seeds[0]["pieces"].as_u64().unwrap() > 0, "{v}");
    assert_eq!(seeds[0]["refused"], 0, "{v}");
    assert_eq!(v["fetched_bytes"], 0, "nothing came from peers: {v}");
    assert!(server.ranges.load(std::sync::atomic::Ordering::SeqCst) > 0);
}

#[test]
fn a_corrupt_web_seed_is_refused_and_a_peer_fills_in() {
    let www = tempfile::tempdir().unwrap();
    let server = StaticHttp::start(www.path(), Mode::Corrupt);
    let url = server.url("demo/");
    let r = sealed_release(2 << 20, &["--web-seed", &url]);
    upload(&r.dir, www.path(), "demo");

    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    // The seeder comes up only once the web seed has been given up, so that the web
    // seed is tried first (no peer at all) and every piece ends up coming from the peer.
    let seed_port = free_port("127.0.0.1");
    let peer = format!("127.0.0.1:{seed_port}");
    let mut c = fetch_cmd(&home, &key, &out, &["--peer", &peer]);
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut fetch = Proc(c.spawn().unwrap());
    let (tx, rx) = mpsc::channel::<String>();
    let err = fetch.0.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(err).lines().map_while(Result::ok) {
            let _ = tx.send(line);
        }
    });
    let mut lines = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(90);
    while !lines
        .iter()
        .any(|l: &String| l.contains("stopped using web seed"))
    {
        assert!(
            Instant::now() < deadline,
            "the web seed was not given up: {lines:#?}"
        );
        if let Ok(l) = rx.recv_timeout(Duration::from_millis(200)) {
            lines.push(l);
        }
    }
    let (_seeder, addr) = seed_on_port(&r, seed_port);
    assert_eq!(addr.to_string(), peer);
    let status = wait_exit(&mut fetch, Duration::from_secs(120));
    lines.extend(rx.try_iter());
    assert!(
        status.is_some_and(|s| s.success()),
        "the fetch did not complete: {status:?} {lines:#?}"
    );
    let mut stdout = String::new();
    fetch
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
    assert_eq!(std::fs::read(out.join("subs/en.srt")).unwrap(), r.subs);
    let refused: Vec<&String> = lines
        .iter()
        .filter(|l| l.contains("does not match the torrent's hash: refused"))
        .collect();
    assert!(!refused.is_empty(), "{lines:#?}");
    assert!(refused.iter().all(|l| l.contains(&url)), "{refused:#?}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let seeds = v["web_seeds"].as_array().expect("web_seeds in the report");
    assert_eq!(seeds[0]["pieces"], 0, "{v}");
    assert!(seeds[0]["refused"].as_u64().unwrap() >= 1, "{v}");
    assert!(seeds[0]["stopped"].is_string(), "{v}");
    assert!(v["fetched_bytes"].as_u64().unwrap() > 0, "{v}");
}

#[test]
fn seal_refuses_a_web_seed_that_is_not_http() {
    let root = tempfile::tempdir().unwrap();
    let publisher = home_from_demo(root.path(), "publisher");
    let film = root.path().join("film.mp4");
    std::fs::write(&film, film_bytes(1000, 3)).unwrap();
    for bad in [
        "ftp://x",
        "https://cdn.example.org/a?sig=1",
        "cdn.example.org/films/",
    ] {
        let o = reelseal(&publisher)
            .arg("seal")
            .arg(&film)
            .args(["--title", "T", "--web-seed", bad, "--out"])
            .arg(root.path().join("rel"))
            .output()
            .unwrap();
        assert!(!o.status.success(), "{bad} accepted");
        let err = stderr(&o);
        assert!(err.contains("--web-seed"), "{err}");
        assert!(err.contains(bad), "{err}");
        assert!(err.contains("http:// or https://"), "{err}");
        assert!(!root.path().join("rel").exists());
    }
}

/// A stock client reads the torrent's url-list: aria2 downloads a sealed release from
/// the uploaded folder alone (no peer, no tracker, no DHT), the `.pad/N` files included.
#[test]
fn aria2_downloads_from_the_web_seed_alone() {
    let www = tempfile::tempdir().unwrap();
    let server = StaticHttp::start(www.path(), Mode::Honest);
    let url = server.url("demo/");
    let r = sealed_release(2 << 20, &["--web-seed", &url]);
    upload(&r.dir, www.path(), "demo");
    let dl = r.root.path().join("aria2");
    std::fs::create_dir_all(&dl).unwrap();
    let mut aria = crate::common::stock::aria2_download(
        &r.dir.join("release.torrent"),
        &dl,
        "127.0.0.1",
        free_port("127.0.0.1"),
    );
    let status = wait_exit(&mut aria, Duration::from_secs(90));
    assert!(
        status.is_some_and(|s| s.success()),
        "aria2c did not complete: {status:?}"
    );
    let ours = crate::common::stock::payload_of(&r.dir);
    let theirs = dl.join(ours.file_name().unwrap());
    for e in std::fs::read_dir(&ours).unwrap().flatten() {
        if e.path().is_file() {
            assert_eq!(
                std::fs::read(theirs.join(e.file_name())).unwrap(),
                std::fs::read(e.path()).unwrap(),
                "{:?}",
                e.file_name()
            );
        }
    }
    assert!(server.ranges.load(std::sync::atomic::Ordering::SeqCst) > 0);
}

/// `python3 -m http.server` answers a Range request with the whole file (200): such a
/// web seed is dropped with a message saying why and what to use instead; with no peer
/// either, `--timeout` ends the wait (exit 16).
#[test]
fn a_web_server_without_range_support_is_dropped_with_a_clear_message() {
    let www = tempfile::tempdir().unwrap();
    let port = free_port("127.0.0.1");
    let _server = Proc(
        StdCommand::new("python3")
            .args(["-m", "http.server", "--bind", "127.0.0.1"])
            .arg(port.to_string())
            .arg("--directory")
            .arg(www.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3"),
    );
    assert!(
        crate::common::stock::wait_until(Duration::from_secs(20), || {
            std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
        }),
        "python3 -m http.server did not come up"
    );
    let url = format!("http://127.0.0.1:{port}/demo/");
    let r = sealed_release(2 << 20, &["--web-seed", &url]);
    upload(&r.dir, www.path(), "demo");
    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let o = run_with_limit(
        fetch_cmd(&home, &key, &out, &["--timeout", "8s"]),
        Duration::from_secs(90),
    );
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(16), "{err}");
    assert!(
        err.contains(&format!("stopped using web seed {url}"))
            && err.contains("does not answer HTTP Range requests"),
        "{err}"
    );
    assert!(!out.join("feature.mp4").exists());
}

/// Peers that are slow: a seeder limited to 256 KiB/s and a web seed. After the 3 s grace
/// the web seed takes what is left, including the piece the decryptor waits for while the
/// slow peer holds it; the film is byte-identical and mostly from the web seed.
#[test]
fn a_slow_peer_is_helped_by_the_web_seed() {
    let www = tempfile::tempdir().unwrap();
    let server = StaticHttp::start(www.path(), Mode::Honest);
    let url = server.url("demo/");
    let r = sealed_release(8 << 20, &["--web-seed", &url]);
    upload(&r.dir, www.path(), "demo");
    let (_seeder, addr) = seed_loopback_with(&r, &["--upload-limit", "256K"]);
    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let peer = addr.to_string();
    let o = run_with_limit(
        fetch_cmd(&home, &key, &out, &["--peer", &peer]),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
    let v = stdout_json(&o);
    let from_web = v["web_seeds"][0]["bytes"].as_u64().unwrap();
    let total = v["ciphertext_bytes"].as_u64().unwrap();
    eprintln!(
        "slow peer + web seed: {:.1} s, {} of {} bytes from the web seed, {} from the peer",
        v["seconds"].as_f64().unwrap(),
        from_web,
        total,
        v["fetched_bytes"]
    );
    assert!(from_web > total / 2, "{v}");
}

/// A web seed the viewer names (`reelview fetch --web-seed`), for a release whose card
/// has none: used the same way (the torrent from it is checked against the card).
#[test]
fn fetch_uses_a_web_seed_given_on_its_command_line() {
    let www = tempfile::tempdir().unwrap();
    let server = StaticHttp::start(www.path(), Mode::Honest);
    let r = sealed_release(1 << 20, &[]);
    upload(&r.dir, www.path(), "mirror");
    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let url = server.url("mirror");
    let o = run_with_limit(
        fetch_cmd(&home, &key, &out, &["--web-seed", &url]),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
    let v = stdout_json(&o);
    assert_eq!(v["web_seeds"][0]["url"], format!("{url}/"), "{v}");
    assert!(v["web_seeds"][0]["pieces"].as_u64().unwrap() > 0, "{v}");
}

/// A web seed that serves another release's folder: its `release.torrent` does not match
/// the signed card, so it is refused by name, nothing is downloaded from it, and with no
/// other way to find the release `fetch` says so and writes no film.
#[test]
fn a_web_seed_with_another_releases_torrent_is_refused() {
    let www = tempfile::tempdir().unwrap();
    let server = StaticHttp::start(www.path(), Mode::Honest);
    let url = server.url("films/demo");
    let wanted = sealed_release(1 << 20, &["--web-seed", &url]);
    let other = sealed_release(1 << 20, &["--web-seed", &url]);
    upload(&other.dir, &www.path().join("films"), "demo");

    let home = home_from_demo(wanted.root.path(), "jury-1");
    let key = grant_to(&wanted, "jury-1", &[]);
    let out = wanted.root.path().join("out");
    let o = run_with_limit(fetch_cmd(&home, &key, &out, &[]), Duration::from_secs(120));
    let err = stderr(&o);
    assert!(!o.status.success(), "{err}");
    assert!(
        err.contains("release.torrent is refused") && err.contains("not this release's"),
        "{err}"
    );
    assert!(err.contains("--peer") || err.contains("DHT"), "{err}");
    assert!(!out.join("feature.mp4").exists());
    assert_eq!(
        server.ranges.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "no piece may be asked of a web seed whose torrent was refused"
    );
}
