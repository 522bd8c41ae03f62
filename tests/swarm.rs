//! Seeding and fetching through real BitTorrent sessions on 127.0.0.1 (DHT, LSD, UPnP and
//! trackers off), between our two binaries and against stock clients we did not write
//! (python libtorrent, aria2).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

fn fetch_cmd(home: &Path, key: &Path, out: &Path, peers: &[SocketAddr]) -> StdCommand {
    let mut c = StdCommand::new(assert_cmd::cargo::cargo_bin("reelview"));
    c.arg("--home")
        .arg(home)
        .args(["--quiet", "--json", "fetch"])
        .arg(key)
        .arg("--out")
        .arg(out);
    c.args([
        "--no-seed",
        "--bind",
        "127.0.0.1",
        "--no-dht",
        "--no-trackers",
        "--publisher",
        &demo_pub("publisher"),
    ]);
    for p in peers {
        c.arg("--peer").arg(p.to_string());
    }
    c
}

fn run_bounded(mut c: StdCommand, limit: Duration) -> std::process::Output {
    let child = c
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let killer = std::thread::spawn(move || {
        std::thread::sleep(limit);
        let _ = StdCommand::new("kill").arg(pid.to_string()).status();
    });
    let out = child.wait_with_output().unwrap();
    drop(killer);
    out
}

fn payload(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("manifest.rsm").is_file())
        .unwrap()
}

#[test]
fn fetch_from_reelseal_seed_byte_identical_then_interrupt_and_resume() {
    let r = sealed_release(64 << 20, &["--piece-size", "1048576"]);
    let (_seeder, addr) = seed_loopback(&r);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);

    // A slow fetch (8 MB/s), interrupted after a few seconds.
    let out = r.root.path().join("out");
    let mut slow = fetch_cmd(&j1, &key, &out, &[addr]);
    slow.args(["--download-limit", "8000000"]);
    let mut child = Proc(
        slow.stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let partial = out.join(".feature.mp4.reelseal-partial");
    let deadline = Instant::now() + Duration::from_secs(60);
    // The partial output is allocated whole at the start, so progress is measured on the
    // ciphertext cache, whose files fill (sparsely) as pieces arrive.
    let cached = || -> u64 {
        use std::os::unix::fs::MetadataExt;
        let Ok(dirs) = std::fs::read_dir(&out) else {
            return 0;
        };
        dirs.flatten()
            .filter(|d| d.file_name().to_string_lossy().starts_with(".reelview-"))
            .flat_map(|d| walk(&d.path()))
            .map(|p| std::fs::metadata(p).map(|m| m.blocks() * 512).unwrap_or(0))
            .sum()
    };
    while Instant::now() < deadline && cached() < (8 << 20) {
        assert!(
            child.0.try_wait().unwrap().is_none(),
            "the slow fetch ended early"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(cached() >= 8 << 20, "ciphertext arrives");
    assert!(partial.exists(), "plaintext is written as pieces arrive");
    drop(child); // SIGKILL, like a crash
    assert!(
        !out.join("feature.mp4").exists(),
        "nothing under the real name before the end"
    );

    // Run again: it resumes and finishes; less than the whole was fetched this time.
    let o = run_bounded(
        fetch_cmd(&j1, &key, &out, &[addr]),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("resuming: "),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let total = v["ciphertext_bytes"].as_u64().unwrap();
    let fetched = v["fetched_bytes"].as_u64().unwrap();
    assert!(
        fetched + (8 << 20) <= total,
        "resumed: fetched {fetched} of {total}"
    );
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
    assert_eq!(std::fs::read(out.join("subs/en.srt")).unwrap(), r.subs);
    assert!(!partial.exists());
    assert!(
        std::fs::read_dir(&out)
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(".reelview-")),
        "ciphertext cache removed"
    );
}

#[test]
fn stock_libtorrent_downloads_from_reelseal_seed() {
    let r = sealed_release(3 << 20, &[]);
    let (_seeder, addr) = seed_loopback(&r);
    let dl = r.root.path().join("lt-download");
    std::fs::create_dir_all(&dl).unwrap();
    let o = StdCommand::new("python3")
        .arg(repo().join("tests/interop/lt_peer.py"))
        .arg("download")
        .arg(r.dir.join("release.torrent"))
        .arg(&dl)
        .arg(addr.to_string())
        .output()
        .expect("python3 with libtorrent (see .ci/setup)");
    assert!(
        o.status.success(),
        "libtorrent download failed: {} {}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    let ours = payload(&r.dir);
    let theirs = dl.join(ours.file_name().unwrap());
    for f in ["manifest.rsm", "f000.rsc", "f001.rsc"] {
        assert_eq!(
            std::fs::read(theirs.join(f)).unwrap(),
            std::fs::read(ours.join(f)).unwrap(),
            "{f}"
        );
    }
}

#[test]
fn fetch_from_stock_libtorrent_seed_decrypts() {
    let r = sealed_release(3 << 20, &[]);
    let mut lt = StdCommand::new("python3")
        .arg(repo().join("tests/interop/lt_peer.py"))
        .arg("seed")
        .arg(r.dir.join("release.torrent"))
        .arg(&r.dir)
        .arg("127.0.0.2")
        .stdout(Stdio::piped())
        .spawn()
        .expect("python3 with libtorrent (see .ci/setup)");
    let v = first_json_line(&mut lt);
    let _lt = Proc(lt);
    assert_eq!(
        v["seeding"], true,
        "libtorrent verified our release and seeds it: {v}"
    );
    let addr: SocketAddr = format!("127.0.0.2:{}", v["port"]).parse().unwrap();
    let j2 = home_from_demo(r.root.path(), "jury-2");
    let key = grant_to(&r, "jury-2", &[]);
    let out = r.root.path().join("out");
    let o = run_bounded(
        fetch_cmd(&j2, &key, &out, &[addr]),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
}

fn free_port(ip: &str) -> u16 {
    std::net::TcpListener::bind((ip, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn a_lying_seeder_next_to_an_honest_one_cannot_get_bad_bytes_in() {
    let r = sealed_release(8 << 20, &["--piece-size", "262144"]);
    // A copy with a flipped byte in every piece of the film, seeded by aria2 *without*
    // verifying it (--bt-seed-unverified), so it really serves the bad bytes.
    let bad = r.root.path().join("bad");
    let good_payload = payload(&r.dir);
    let bad_payload = bad.join(good_payload.file_name().unwrap());
    // A plain copy first (with `.pad/`: aria2 needs the padding files), then the lies.
    copy_payload(&r.dir, &bad);
    for e in std::fs::read_dir(&good_payload).unwrap().flatten() {
        if e.path().is_dir() {
            continue;
        }
        let mut b = std::fs::read(e.path()).unwrap();
        if e.file_name() == "f000.rsc" {
            for i in (1000..b.len()).step_by(262_144) {
                b[i] ^= 0x40;
            }
        }
        std::fs::write(bad_payload.join(e.file_name()), b).unwrap();
    }
    let port = free_port("127.0.0.2");
    let aria = StdCommand::new("aria2c")
        .arg(format!("--dir={}", bad.display()))
        .args([
            "--bt-seed-unverified=true",
            "--check-integrity=false",
            "--seed-ratio=0.0",
            "--seed-time=5",
        ])
        .args([
            "--enable-dht=false",
            "--enable-dht6=false",
            "--bt-enable-lpd=false",
            "--enable-peer-exchange=false",
        ])
        .args([
            "--disable-ipv6=true",
            "--file-allocation=none",
            "--interface=127.0.0.2",
            "--quiet=true",
        ])
        .arg(format!("--listen-port={port}"))
        .arg(r.dir.join("release.torrent"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aria2c (see .ci/setup)");
    let _aria = Proc(aria);
    std::thread::sleep(Duration::from_millis(500));
    let (_seeder, honest) = seed_loopback(&r);
    let liar: SocketAddr = format!("127.0.0.2:{port}").parse().unwrap();
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(&r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let o = run_bounded(
        fetch_cmd(&j1, &key, &out, &[liar, honest]),
        Duration::from_secs(120),
    );
    // It completes with the right plaintext, or fails clearly; never wrong bytes.
    if o.status.success() {
        assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
    } else {
        assert!(!out.join("feature.mp4").exists());
        panic!(
            "fetch failed next to an honest seeder: {}",
            String::from_utf8_lossy(&o.stderr)
        );
    }
}

/// Every file under `dir` (recursively).
fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let p = e.path();
        if p.is_dir() {
            files.extend(walk(&p));
        } else {
            files.push(p);
        }
    }
    files
}
