//! Viewers share (#15): `reelview fetch` keeps uploading verified ciphertext after its
//! download, so two viewers trade pieces the filmmaker's seeder sent only once; and
//! `fetch --keep-ciphertext` leaves a folder any stock client seeds as it is.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::common::stock::{free_port, payload_of, wait_exit};
use crate::common::*;

const FILM: usize = 16 << 20;

/// Two viewers that know the seeder and each other; the seeder uploads at 1 MiB/s. Each
/// piece it sends to one viewer reaches the other from that viewer: the seeder uploads
/// well under two copies, the viewers upload to each other, and both decrypt
/// byte-identically.
#[test]
fn two_viewers_trade_pieces_the_seeder_sent_once() {
    let r = sealed_release(FILM, &["--piece-size", "64KiB"]);
    let (mut seeder, seed_addr, seeder_out) =
        spawn_seed_with_report(&r, &["--upload-limit", "1MiB"]);

    let ports = [free_port("127.0.0.1"), free_port("127.0.0.1")];
    let viewers: Vec<_> = ["jury-1", "jury-2"]
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let home = home_from_demo(r.root.path(), name);
            let key = grant_to(&r, name, &[]);
            let out = r.root.path().join(format!("out-{name}"));
            let other = format!("127.0.0.1:{}", ports[1 - i]);
            let port = ports[i].to_string();
            let mut c = sharing(fetch_via_trackers(
                &home,
                &key,
                &out,
                &["--no-trackers", "--listen-port", &port],
            ));
            c.args(["--seed-time", "15s", "--peer", &seed_addr, "--peer", &other]);
            c.stdout(Stdio::piped()).stderr(Stdio::piped());
            (out, Proc(c.spawn().unwrap()))
        })
        .collect();
    let mut reports = Vec::new();
    for (out, mut p) in viewers {
        let status = wait_exit(&mut p, Duration::from_secs(180));
        let mut stdout = String::new();
        std::io::Read::read_to_string(p.0.stdout.as_mut().unwrap(), &mut stdout).unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(p.0.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert!(
            status.is_some_and(|s| s.success()),
            "a viewer failed: {status:?} {stderr}"
        );
        assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
        let v: serde_json::Value = serde_json::from_str(stdout.trim()).unwrap();
        assert!(v["shared"]["stopped"].is_string(), "{v}");
        reports.push(v);
    }
    let total = reports[0]["ciphertext_bytes"].as_u64().unwrap() as f64;
    let viewers_up: u64 = reports
        .iter()
        .map(|v| v["uploaded_bytes"].as_u64().unwrap())
        .sum();

    let report = stop_seed(&mut seeder, seeder_out);
    let seeder_up = report["uploaded"][0]["bytes"].as_u64().unwrap() as f64;
    // The report says it in copies of the release too (its torrent size, padding included).
    let ratio = report["uploaded"][0]["ratio"].as_f64().unwrap();
    assert!(
        ratio > 0.0 && (ratio - seeder_up / total).abs() < 0.1,
        "{ratio} vs {seeder_up}/{total}"
    );
    eprintln!(
        "two viewers: seeder uploaded {:.2} film-sizes, viewers {:.2}",
        seeder_up / total,
        viewers_up as f64 / total
    );
    assert!(
        viewers_up as f64 > 0.3 * total,
        "the viewers hardly traded: {viewers_up} bytes of {total}"
    );
    assert!(
        seeder_up < 1.6 * total,
        "the seeder uploaded {:.2} film-sizes to two viewers",
        seeder_up / total
    );
}

/// The filmmaker's seeder is spared (librqbit patches L–N): a viewer that can get the
/// release from another viewer takes nearly nothing from `reelseal seed`, even though the
/// seeder is unlimited and the other viewer uploads at only 4 MiB/s; with
/// `seed --no-origin` the same seeder is asked like any peer and serves most of it.
/// Viewer 1 fetches from the seeder alone and stays to share; viewer 2 is given both.
#[test]
fn a_viewer_spares_the_filmmakers_seeder_when_another_viewer_has_the_film() {
    let spared = seeder_upload_for_two_viewers_one_after_the_other(&[]);
    assert!(
        spared > 0.9 && spared < 1.25,
        "the seeder uploaded {spared:.2} film-sizes: viewer 1's copy, and for viewer 2 \
         only what viewer 1 could not give"
    );
    let asked = seeder_upload_for_two_viewers_one_after_the_other(&["--no-origin"]);
    assert!(
        asked > 1.3,
        "with --no-origin the seeder uploaded only {asked:.2} film-sizes"
    );
}

/// What the seeder (started with `extra`) uploads, in film-sizes.
fn seeder_upload_for_two_viewers_one_after_the_other(extra: &[&str]) -> f64 {
    let r = sealed_release(FILM, &["--piece-size", "64KiB"]);
    let (mut seeder, seed_peer, seeder_out) = spawn_seed_with_report(&r, extra);
    let port1 = free_port("127.0.0.1").to_string();
    let (home1, key1, out1) = viewer(&r, "jury-1");
    let mut c = sharing(fetch_via_trackers(
        &home1,
        &key1,
        &out1,
        &[
            "--no-trackers",
            "--listen-port",
            &port1,
            "--peer",
            &seed_peer,
        ],
    ));
    c.args(["--seed-time", "120s", "--seed-ratio", "100"]);
    c.args(["--upload-limit", "4MiB"]);
    c.stdout(Stdio::null()).stderr(Stdio::null());
    let _viewer1 = Proc(c.spawn().unwrap());
    let film1 = out1.join("feature.mp4");
    let t0 = std::time::Instant::now();
    while !film1.exists() {
        assert!(
            t0.elapsed() < Duration::from_secs(120),
            "viewer 1 did not get the film"
        );
        std::thread::sleep(Duration::from_millis(100));
    }

    let (home2, key2, out2) = viewer(&r, "jury-2");
    let viewer1 = format!("127.0.0.1:{port1}");
    let o = run_with_limit(
        fetch_via_trackers(
            &home2,
            &key2,
            &out2,
            &["--no-trackers", "--peer", &seed_peer, "--peer", &viewer1],
        ),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(out2.join("feature.mp4")).unwrap(), r.film);
    let total = stdout_json(&o)["ciphertext_bytes"].as_f64().unwrap();

    let report = stop_seed(&mut seeder, seeder_out);
    let seeder_up = report["uploaded"][0]["bytes"].as_f64().unwrap() / total;
    eprintln!("seed {extra:?}: the seeder uploaded {seeder_up:.2} film-sizes to two viewers");
    seeder_up
}

/// A [`fetch_via_trackers`] command that shares after the download (the default): the
/// same arguments without `--no-seed`. Bound it with `--seed-time`.
fn sharing(c: Command) -> Command {
    let mut s = Command::new(c.get_program());
    s.args(c.get_args().filter(|a| a.to_str() != Some("--no-seed")));
    s
}

fn viewer(r: &Release, name: &str) -> (std::path::PathBuf, std::path::PathBuf, std::path::PathBuf) {
    let home = home_from_demo(r.root.path(), name);
    let key = grant_to(r, name, &[]);
    (home, key, r.root.path().join(format!("out-{name}")))
}

/// `reelseal --json seed` on 127.0.0.1 plus `extra`: the process, its address and its
/// stdout, kept for the final report.
fn spawn_seed_with_report(
    r: &Release,
    extra: &[&str],
) -> (Proc, String, BufReader<std::process::ChildStdout>) {
    let mut c = Command::new(assert_cmd::cargo::cargo_bin("reelseal"));
    c.arg("--home")
        .arg(&r.publisher)
        .args(["--json", "seed", &r.id, "--bind", "127.0.0.1", "--no-dht"])
        .args(["--no-trackers", "--seconds", "300"])
        .args(extra)
        .current_dir(r.root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut p = Proc(c.spawn().unwrap());
    let mut out = BufReader::new(p.0.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    let v: serde_json::Value = serde_json::from_str(&line).unwrap();
    (p, v["listening"].as_str().unwrap().to_string(), out)
}

/// Stop a seeder with ^C and read its JSON report.
fn stop_seed(
    seeder: &mut Proc,
    mut out: BufReader<std::process::ChildStdout>,
) -> serde_json::Value {
    let _ = Command::new("kill")
        .args(["-INT", &seeder.0.id().to_string()])
        .status();
    assert!(wait_exit(seeder, Duration::from_secs(20)).is_some());
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    serde_json::from_str(rest.trim()).unwrap_or_else(|e| panic!("seed report {rest:?}: {e}"))
}

/// `fetch --keep-ciphertext` leaves OUT/<torrent name> with the ciphertext, the padding
/// files and release.torrent: aria2 (no BEP 47) verifies it as complete, and `open` reads
/// it.
#[test]
fn kept_ciphertext_is_a_folder_any_client_seeds() {
    let r = sealed_release(1 << 20, &[]);
    let (_seeder, addr) = seed_loopback(&r);
    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let peer = addr.to_string();
    let o = run_with_limit(
        fetch_via_trackers(
            &home,
            &key,
            &out,
            &["--no-trackers", "--keep-ciphertext", "--peer", &peer],
        ),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let v = stdout_json(&o);
    let payload = payload_of(&r.dir);
    let name = payload.file_name().unwrap();
    let kept = out.join(name);
    assert_eq!(
        v["ciphertext_kept"].as_str().unwrap(),
        kept.to_str().unwrap()
    );
    let torrent = kept.join("release.torrent");
    let declared = padding_files(&torrent);
    assert!(!declared.is_empty());
    for (rel, len) in &declared {
        let b = std::fs::read(kept.join(rel)).unwrap();
        assert_eq!(b.len() as u64, *len);
        assert!(b.iter().all(|x| *x == 0));
    }
    // The same infohash as the publisher's torrent.
    let ours = reelseal_core::torrent::Metainfo::from_bytes(&std::fs::read(&torrent).unwrap())
        .unwrap()
        .infohash();
    let theirs = reelseal_core::torrent::Metainfo::from_bytes(
        &std::fs::read(r.dir.join("release.torrent")).unwrap(),
    )
    .unwrap()
    .infohash();
    assert_eq!(ours, theirs);
    if which("aria2c") {
        let o = Command::new("aria2c")
            .args(["--check-integrity=true", "--seed-time=0", "--quiet=true"])
            .args([
                "--enable-dht=false",
                "--enable-dht6=false",
                "--bt-enable-lpd=false",
            ])
            .args([
                "--bt-stop-timeout=5",
                "--interface=127.0.0.2",
                "--disable-ipv6=true",
            ])
            .arg(format!("--dir={}", out.display()))
            .arg(&torrent)
            .output()
            .unwrap();
        assert!(o.status.success(), "aria2 rejected the kept folder: {o:?}");
    } else {
        eprintln!("SKIP aria2 check: aria2c not installed (see .ci/setup)");
    }
}

fn which(bin: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {bin}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}
