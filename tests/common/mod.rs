//! Helpers shared by the end-to-end tests: temporary homes made from the demo keys in
//! `keys/`, running the real binaries, and generating test films.
#![allow(dead_code)]

pub mod static_http;
pub mod stock;
pub mod tracker;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Output};

use assert_cmd::Command;

pub mod pg;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Copy a demo identity (`keys/<name>`) into `dir/<name>` with its secret at mode 0600.
pub fn home_from_demo(dir: &Path, name: &str) -> PathBuf {
    reelseal::demo::copy_identity(name, dir).unwrap()
}

pub fn demo_pub(name: &str) -> String {
    reelseal::demo::public_key(name).unwrap()
}

pub fn reelseal(home: &Path) -> Command {
    let mut c = Command::cargo_bin("reelseal").unwrap();
    c.arg("--home")
        .arg(home)
        .arg("--quiet")
        .env_remove("REELSEAL_HOME")
        .timeout(std::time::Duration::from_secs(300));
    c
}

pub fn reelview(home: &Path) -> Command {
    let mut c = Command::cargo_bin("reelview").unwrap();
    c.arg("--home")
        .arg(home)
        .arg("--quiet")
        .env_remove("REELVIEW_HOME")
        .timeout(std::time::Duration::from_secs(300));
    c
}

/// Deterministic pseudo-random bytes (xorshift), so films differ between seeds.
pub fn film_bytes(len: usize, seed: u64) -> Vec<u8> {
    reelseal::demo::film_bytes(len, seed)
}

pub fn stdout_json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&o.stdout)))
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A sealed demo release: a film and a subtitle folder, sealed by the demo publisher.
pub struct Release {
    pub root: tempfile::TempDir,
    pub publisher: PathBuf,
    pub dir: PathBuf,
    pub id: String,
    pub film: Vec<u8>,
    pub subs: Vec<u8>,
}

pub fn sealed_release(film_len: usize, extra: &[&str]) -> Release {
    let root = tempfile::tempdir().unwrap();
    let publisher = home_from_demo(root.path(), "publisher");
    let input = root.path().join("input");
    std::fs::create_dir_all(input.join("subs")).unwrap();
    let film = film_bytes(film_len, 1);
    let subs = b"1\n00:00:01,000 --> 00:00:02,000\nHello, jury.\n".to_vec();
    std::fs::write(input.join("feature.mp4"), &film).unwrap();
    std::fs::write(input.join("subs/en.srt"), &subs).unwrap();
    let dir = root.path().join("release");
    let out = reelseal(&publisher)
        .args(["--json", "seal"])
        .arg(input.join("feature.mp4"))
        .arg(input.join("subs"))
        .args(["--title", "The Demo Film", "--out"])
        .arg(&dir)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "seal failed: {}", stderr(&out));
    let id = stdout_json(&out)["release_id"]
        .as_str()
        .unwrap()
        .to_string();
    Release {
        root,
        publisher,
        dir,
        id,
        film,
        subs,
    }
}

/// A child process killed (and reaped) when dropped.
pub struct Proc(pub Child);
impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The first line a child prints on stdout, as JSON (servers announce their address so).
pub fn first_json_line(child: &mut Child) -> serde_json::Value {
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    serde_json::from_str(&line)
        .unwrap_or_else(|e| panic!("expected a JSON line, got {line:?}: {e}"))
}

/// Start `bin --home HOME --json ARGS…` in `cwd` and wait for the JSON line it announces
/// itself with (a seeder's address, a player's URL). The process dies with the `Proc`.
pub fn spawn_announcing(
    bin: &str,
    home: &Path,
    args: &[&str],
    cwd: &Path,
) -> (Proc, serde_json::Value) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin(bin))
        .arg("--home")
        .arg(home)
        .arg("--json")
        .args(args)
        .current_dir(cwd)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let v = first_json_line(&mut child);
    (Proc(child), v)
}

/// `reelseal serve` on 127.0.0.1 (an ephemeral port) with `--redeem-rate RATE`; its base URL.
pub fn spawn_key_server(home: &Path, rate: u32) -> (Proc, String) {
    let rate = rate.to_string();
    let args = ["serve", "--listen", "127.0.0.1:0", "--redeem-rate", &rate];
    let (p, v) = spawn_announcing("reelseal", home, &args, home);
    (p, v["listening"].as_str().unwrap().to_string())
}

/// `reelseal --json trace RELEASE LEAK`, which must succeed; its report.
pub fn trace(publisher: &Path, release: &Path, leak: &Path) -> serde_json::Value {
    let o = reelseal(publisher)
        .args(["--json", "trace"])
        .arg(release)
        .arg(leak)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout_json(&o)
}

/// `reelseal seal --variant-a DIR/a --variant-b DIR/b` with `--title T --viewers N
/// --colluders C`; the caller adds the rest.
pub fn seal_variants(
    publisher: &Path,
    dir: &Path,
    title: &str,
    viewers: u32,
    colluders: u32,
) -> Command {
    let mut c = reelseal(publisher);
    c.arg("--json")
        .arg("seal")
        .arg("--variant-a")
        .arg(dir.join("a"))
        .arg("--variant-b")
        .arg(dir.join("b"))
        .args(["--title", title])
        .args(["--viewers", &viewers.to_string()])
        .args(["--colluders", &colluders.to_string()]);
    c
}

/// `reelview open KEY --from RELEASE --out OUT --publisher <demo publisher>`.
pub fn open_cmd(home: &Path, key: &Path, release: &Path, out: &Path) -> Command {
    let mut c = reelview(home);
    c.arg("open")
        .arg(key)
        .arg("--from")
        .arg(release)
        .arg("--out")
        .arg(out)
        .args(["--publisher", &demo_pub("publisher")]);
    c
}

/// `reelseal grant RELEASE --to <demo viewer> --name <viewer> --out ROOT/<viewer>.rskey
/// EXTRA…`, which must succeed; the grant file.
pub fn grant_to(r: &Release, viewer: &str, extra: &[&str]) -> PathBuf {
    let file = r.root.path().join(format!("{viewer}.rskey"));
    let out = reelseal(&r.publisher)
        .args([
            "grant",
            &r.id,
            "--to",
            &demo_pub(viewer),
            "--name",
            viewer,
            "--out",
        ])
        .arg(&file)
        .args(extra)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    file
}

/// The id of the grant labelled `label` in `reelseal --json grants RELEASE`.
pub fn grant_id(publisher: &Path, release: &str, label: &str) -> String {
    let o = reelseal(publisher)
        .args(["--json", "grants", release])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    stdout_json(&o)["grants"]
        .as_array()
        .unwrap()
        .iter()
        .find(|g| g["label"] == label)
        .unwrap_or_else(|| panic!("no grant labelled {label}"))["grant_id"]
        .as_str()
        .unwrap()
        .to_string()
}

/// `reelseal seed RELEASE` on 127.0.0.1 only (no DHT, no trackers) for up to 300 s; the
/// process (killed when dropped) and the address it listens on.
pub fn seed_loopback(r: &Release) -> (Proc, std::net::SocketAddr) {
    seed_loopback_with(r, &[])
}

/// [`seed_loopback`] with more `seed` arguments (`--listen-port`, `--upload-limit` …).
pub fn seed_loopback_with(r: &Release, extra: &[&str]) -> (Proc, std::net::SocketAddr) {
    let mut args = vec![
        "seed",
        &r.id,
        "--bind",
        "127.0.0.1",
        "--no-dht",
        "--no-trackers",
        "--seconds",
        "300",
    ];
    args.extend_from_slice(extra);
    let (p, v) = spawn_announcing("reelseal", &r.publisher, &args, r.root.path());
    (p, v["listening"].as_str().unwrap().parse().unwrap())
}

/// [`seed_loopback`] on a given port (one a test told a viewer to dial before the seeder
/// was up).
pub fn seed_on_port(r: &Release, port: u16) -> (Proc, std::net::SocketAddr) {
    seed_loopback_with(r, &["--listen-port", &port.to_string()])
}

/// The BEP 47 padding files `release.torrent` declares (`[".pad", N]`, attr `p`), as
/// (path relative to the payload folder, length). Clients that do not implement BEP 47
/// (aria2, Transmission, rtorrent) need them on disk, zero-filled, to seed.
pub fn padding_files(torrent: &Path) -> Vec<(PathBuf, u64)> {
    let meta = reelseal_core::torrent::Metainfo::from_bytes(&std::fs::read(torrent).unwrap())
        .expect("a valid torrent");
    let mut out: Vec<(PathBuf, u64)> = meta
        .info
        .files
        .iter()
        .filter(|f| f.is_padding())
        .map(|f| (f.path.iter().collect::<PathBuf>(), f.length))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A plain copy of a release's payload folder as sealed (the ciphertext and the `.pad/N`
/// padding files) under `dest/<payload name>`; the copy's path.
pub fn copy_payload(release_dir: &Path, dest: &Path) -> PathBuf {
    let ours = stock::payload_of(release_dir);
    let copy = dest.join(ours.file_name().unwrap());
    std::fs::create_dir_all(&copy).unwrap();
    copy_tree(&ours, &copy);
    copy
}

/// Copy a folder's contents into `to` (which exists), recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Run a command with piped output, killed after `limit`; its output.
pub fn run_with_limit(mut c: std::process::Command, limit: std::time::Duration) -> Output {
    let child = c
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let killer = {
        let done = done.clone();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + limit;
            while std::time::Instant::now() < deadline {
                if done.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
            let _ = std::process::Command::new("kill")
                .arg(pid.to_string())
                .status();
        })
    };
    let out = child.wait_with_output().unwrap();
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let _ = killer.join();
    out
}

/// `reelview --json fetch KEY --out OUT --bind 127.0.0.1 --no-dht --publisher <demo>`
/// (trackers on: peers come from the trackers in the release's card) plus `extra`.
pub fn fetch_via_trackers(
    home: &Path,
    key: &Path,
    out: &Path,
    extra: &[&str],
) -> std::process::Command {
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("reelview"));
    c.arg("--home")
        .arg(home)
        .args(["--quiet", "--json", "fetch"])
        .arg(key)
        .arg("--out")
        .arg(out)
        .args([
            "--no-seed",
            "--bind",
            "127.0.0.1",
            "--no-dht",
            "--publisher",
        ])
        .arg(demo_pub("publisher"))
        .args(extra);
    c
}

/// `reelseal seed RELEASE --bind 127.0.0.1 --no-dht --seconds 300` plus `extra` (trackers
/// on); the process and the address it listens on.
pub fn seed_via_trackers(r: &Release, extra: &[&str]) -> (Proc, std::net::SocketAddr) {
    let mut args = vec![
        "seed",
        r.id.as_str(),
        "--bind",
        "127.0.0.1",
        "--no-dht",
        "--seconds",
        "300",
    ];
    args.extend_from_slice(extra);
    let (p, v) = spawn_announcing("reelseal", &r.publisher, &args, r.root.path());
    (p, v["listening"].as_str().unwrap().parse().unwrap())
}
