//! Interoperability with stock BitTorrent clients we did not write — aria2, Transmission,
//! rtorrent and python libtorrent (installed by `.ci/setup`) — in both directions:
//! (a) the stock client seeds a plain copy of a sealed release's payload and `reelview
//! fetch` decrypts it byte-identically; (b) `reelseal seed` serves and the stock client
//! downloads the ciphertext byte-identically.
//!
//! Everything on loopback: a local tracker (`common::tracker`) on 127.0.0.1 named in the
//! release, stock clients on 127.0.0.2 (several refuse peers on their own IP), our
//! binaries on 127.0.0.1; DHT, LSD, PEX, UPnP and uTP off. The stock side starts first
//! (Transmission 3.00 never dials tracker peers in 127.0.0.0/8; it waits to be dialled).
//! aria2, Transmission and rtorrent do not implement BEP 47: they seed a plain copy of the
//! sealed folder because `seal` wrote the `.pad/N` files into it. Each test is bounded
//! and kills what it starts; each prints `INTEROP <client> <direction>: <seconds>`.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::stock::*;
use crate::common::tracker::Tracker;
use crate::common::*;

const STOCK_IP: &str = "127.0.0.2";
const FILM: usize = 4 << 20;

struct Setup {
    tracker: Tracker,
    r: Release,
}

fn setup() -> Setup {
    let tracker = Tracker::start("127.0.0.1");
    let r = sealed_release(FILM, &["--tracker", &tracker.http_url]);
    Setup { tracker, r }
}

/// The stock client's copy: a plain copy of the sealed payload folder as `seal` left it
/// (ciphertext and the `.pad/N` files it wrote).
fn stock_copy(r: &Release) -> std::path::PathBuf {
    let dir = r.root.path().join("stock");
    let copy = copy_payload(&r.dir, &dir);
    assert!(copy.join(".pad").is_dir(), "seal wrote the padding files");
    dir
}

/// `reelview fetch` through the tracker only: decrypts byte-identically. Seconds taken.
fn fetch_and_check(r: &Release, what: &str) -> f64 {
    let home = home_from_demo(r.root.path(), "jury-1");
    let key = grant_to(r, "jury-1", &[]);
    let out = r.root.path().join("out");
    let started = Instant::now();
    let o = run_with_limit(
        fetch_via_trackers(&home, &key, &out, &[]),
        Duration::from_secs(150),
    );
    let secs = started.elapsed().as_secs_f64();
    assert!(
        o.status.success(),
        "reelview fetch from {what} failed after {secs:.1} s: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
    assert_eq!(std::fs::read(out.join("subs/en.srt")).unwrap(), r.subs);
    secs
}

/// Whether the stock client's download equals our payload (every real file).
fn same_payload(r: &Release, stock_dir: &Path) -> bool {
    let ours = payload_of(&r.dir);
    let theirs = stock_dir.join(ours.file_name().unwrap());
    std::fs::read_dir(&ours)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .all(|e| {
            std::fs::read(theirs.join(e.file_name())).ok() == Some(std::fs::read(e.path()).unwrap())
        })
}

fn report(client: &str, direction: &str, secs: f64) {
    eprintln!("INTEROP {client} {direction}: {secs:.1} s");
}

// ---- aria2 1.36 ----

#[test]
fn aria2_seeds_and_reelview_fetch_decrypts() {
    let s = setup();
    let dir = stock_copy(&s.r);
    let _aria = aria2_seed(
        &s.r.dir.join("release.torrent"),
        &dir,
        STOCK_IP,
        free_port(STOCK_IP),
    );
    let secs = fetch_and_check(&s.r, "aria2");
    report("aria2", "stock seeds, reelview fetch", secs);
    drop(s.tracker);
}

#[test]
fn reelseal_seeds_and_aria2_downloads() {
    let s = setup();
    let dir = s.r.root.path().join("stock");
    let started = Instant::now();
    let mut aria = aria2_download(
        &s.r.dir.join("release.torrent"),
        &dir,
        STOCK_IP,
        free_port(STOCK_IP),
    );
    let (_seeder, _) = seed_via_trackers(&s.r, &[]);
    let status = wait_exit(&mut aria, Duration::from_secs(120));
    let secs = started.elapsed().as_secs_f64();
    assert!(
        status.is_some_and(|s| s.success()),
        "aria2 did not complete: {status:?}"
    );
    assert!(same_payload(&s.r, &dir), "aria2's copy differs");
    report("aria2", "reelseal seed, stock downloads", secs);
}

// ---- Transmission 3.00 ----

#[test]
fn transmission_seeds_and_reelview_fetch_decrypts() {
    let s = setup();
    let dir = stock_copy(&s.r);
    let t = Transmission::start(s.r.root.path(), STOCK_IP, free_port(STOCK_IP));
    t.add(&s.r.dir.join("release.torrent"), &dir);
    assert!(
        t.wait_complete(Duration::from_secs(60)),
        "Transmission did not verify the copy (with its padding files)"
    );
    let secs = fetch_and_check(&s.r, "Transmission");
    report("Transmission", "stock seeds, reelview fetch", secs);
}

#[test]
fn reelseal_seeds_and_transmission_downloads() {
    let s = setup();
    let dir = s.r.root.path().join("stock");
    std::fs::create_dir_all(&dir).unwrap();
    let t = Transmission::start(s.r.root.path(), STOCK_IP, free_port(STOCK_IP));
    let started = Instant::now();
    t.add(&s.r.dir.join("release.torrent"), &dir);
    let (_seeder, _) = seed_via_trackers(&s.r, &[]);
    assert!(
        t.wait_complete(Duration::from_secs(150)),
        "Transmission did not complete ({}%)",
        t.percent_done()
    );
    let secs = started.elapsed().as_secs_f64();
    assert!(
        wait_until(Duration::from_secs(10), || same_payload(&s.r, &dir)),
        "Transmission's copy differs"
    );
    report("Transmission", "reelseal seed, stock downloads", secs);
}

// ---- rtorrent 0.9.8 ----

#[test]
fn rtorrent_seeds_and_reelview_fetch_decrypts() {
    let s = setup();
    let dir = stock_copy(&s.r);
    let _rt = rtorrent(
        s.r.root.path(),
        &s.r.dir.join("release.torrent"),
        &dir,
        STOCK_IP,
        free_port(STOCK_IP),
    );
    let secs = fetch_and_check(&s.r, "rtorrent");
    report("rtorrent", "stock seeds, reelview fetch", secs);
}

#[test]
fn reelseal_seeds_and_rtorrent_downloads() {
    let s = setup();
    let dir = s.r.root.path().join("stock");
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let _rt = rtorrent(
        s.r.root.path(),
        &s.r.dir.join("release.torrent"),
        &dir,
        STOCK_IP,
        free_port(STOCK_IP),
    );
    let (_seeder, _) = seed_via_trackers(&s.r, &[]);
    assert!(
        wait_until(Duration::from_secs(120), || same_payload(&s.r, &dir)),
        "rtorrent did not download the release byte-identically"
    );
    report(
        "rtorrent",
        "reelseal seed, stock downloads",
        started.elapsed().as_secs_f64(),
    );
}

// ---- python libtorrent 2.1.1 (peers from the tracker, not given) ----

#[test]
fn libtorrent_seeds_and_reelview_fetch_decrypts() {
    let s = setup();
    // A plain copy of the sealed folder, as for the others (libtorrent ignores the pads).
    let dir = s.r.root.path().join("stock");
    copy_payload(&s.r.dir, &dir);
    let (_lt, _port) = libtorrent_seed(&s.r.dir.join("release.torrent"), &dir, STOCK_IP);
    let secs = fetch_and_check(&s.r, "libtorrent");
    report("libtorrent", "stock seeds, reelview fetch", secs);
}

#[test]
fn reelseal_seeds_and_libtorrent_downloads() {
    let s = setup();
    let dir = s.r.root.path().join("stock");
    std::fs::create_dir_all(&dir).unwrap();
    let started = Instant::now();
    let mut lt = libtorrent_download(&s.r.dir.join("release.torrent"), &dir, STOCK_IP, 110);
    let (_seeder, _) = seed_via_trackers(&s.r, &[]);
    let status = wait_exit(&mut lt, Duration::from_secs(120));
    let secs = started.elapsed().as_secs_f64();
    assert!(
        status.is_some_and(|s| s.success()),
        "libtorrent did not complete: {status:?}"
    );
    assert!(same_payload(&s.r, &dir), "libtorrent's copy differs");
    report("libtorrent", "reelseal seed, stock downloads", secs);
}

// ---- padding files ----

#[test]
fn aria2_verifies_a_plain_copy_of_the_sealed_folder() {
    let r = sealed_release(1 << 20, &[]);
    let torrent = r.dir.join("release.torrent");
    let dir = r.root.path().join("copy");
    copy_payload(&r.dir, &dir);
    // aria2 checks the copy against the torrent (its own piece hashes, padding included
    // as real files) and seeds it only if every piece is right.
    let o = std::process::Command::new("aria2c")
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
        .arg(format!("--dir={}", dir.display()))
        .arg(&torrent)
        .output();
    match o {
        Ok(o) => assert!(o.status.success(), "aria2 rejected the copy: {o:?}"),
        Err(_) => eprintln!("SKIP: aria2c not installed (see .ci/setup)"),
    }
}

#[test]
fn seal_writes_the_padding_files_stock_clients_need() {
    let r = sealed_release(1 << 20, &[]);
    let payload = payload_of(&r.dir);
    for (rel, len) in padding_files(&r.dir.join("release.torrent")) {
        let b = std::fs::read(payload.join(&rel))
            .unwrap_or_else(|e| panic!("{} missing: {e}", rel.display()));
        assert_eq!(b.len() as u64, len);
        assert!(b.iter().all(|x| *x == 0));
    }
}
