//! The file edges of issue #13: outputs are created new and never through a symbolic
//! link, plaintext is private (0600) unless `--mode` says otherwise, pipes and devices are
//! never read, an interrupted command (^C or SIGTERM) removes what it was writing and
//! exits 130, and a closed pipe ends a listing quietly.

use std::collections::BTreeSet;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// `reelseal` or `reelview` with `--home HOME --quiet`, as a std command (to signal it).
fn tool(bin: &str, home: &Path) -> StdCommand {
    let mut c = StdCommand::new(assert_cmd::cargo::cargo_bin(bin));
    c.arg("--home")
        .arg(home)
        .arg("--quiet")
        .env_remove("REELSEAL_HOME")
        .env_remove("REELVIEW_HOME");
    c
}

/// [`open_cmd`], as a std command.
fn open_std(home: &Path, key: &Path, release: &Path, out: &Path) -> StdCommand {
    let mut c = tool("reelview", home);
    c.arg("open")
        .arg(key)
        .arg("--from")
        .arg(release)
        .arg("--out")
        .arg(out)
        .args(["--publisher", &demo_pub("publisher")]);
    c
}

/// Every path under `dir`, relative to it (empty if it does not exist).
fn listing(dir: &Path) -> BTreeSet<String> {
    fn go(base: &Path, dir: &Path, out: &mut BTreeSet<String>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            out.insert(p.strip_prefix(base).unwrap().display().to_string());
            if e.file_type().unwrap().is_dir() {
                go(base, &p, out);
            }
        }
    }
    let mut out = BTreeSet::new();
    go(dir, dir, &mut out);
    out
}

/// The names directly in `dir`.
fn names(dir: &Path) -> BTreeSet<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect()
}

fn mode(p: &Path) -> u32 {
    std::fs::metadata(p).unwrap().permissions().mode() & 0o777
}

fn mkfifo(p: &Path) {
    let st = StdCommand::new("mkfifo").arg(p).status().unwrap();
    assert!(st.success());
}

/// Run `cmd` to its end, but at most `limit`: a command that hangs (reading a pipe that
/// never ends) is killed and the test fails.
fn bounded(cmd: &mut StdCommand, limit: Duration) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + limit;
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the command hung (killed after {limit:?})");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

/// Start `cmd`, wait (at most 2 minutes) until `ready()` holds — the partial output
/// exists — then send `signal` ("INT" or "TERM") and wait (at most 1 minute) for it to
/// exit.
fn interrupt_when(cmd: &mut StdCommand, signal: &str, ready: impl Fn() -> bool) -> Output {
    let mut child = Proc(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let deadline = Instant::now() + Duration::from_secs(120);
    while !ready() {
        if let Some(st) = child.0.try_wait().unwrap() {
            let mut e = String::new();
            let _ = child.0.stderr.take().unwrap().read_to_string(&mut e);
            panic!("ended ({st}) before it could be interrupted: {e}");
        }
        assert!(
            Instant::now() < deadline,
            "the partial output never appeared"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    let pid = child.0.id().to_string();
    let st = StdCommand::new("kill")
        .args([&format!("-{signal}"), &pid])
        .status()
        .unwrap();
    assert!(st.success());
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.0.try_wait().unwrap().is_none() {
        assert!(
            Instant::now() < deadline,
            "no exit within 60 s of SIG{signal}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut stdout = Vec::new();
    let mut stderr = Vec::new();
    child
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_end(&mut stdout)
        .unwrap();
    child
        .0
        .stderr
        .take()
        .unwrap()
        .read_to_end(&mut stderr)
        .unwrap();
    Output {
        status: child.0.try_wait().unwrap().unwrap(),
        stdout,
        stderr,
    }
}

/// A sparse file of `len` bytes (zeros that take no disk and no time to make).
fn sparse(p: &Path, len: u64) {
    std::fs::File::create(p).unwrap().set_len(len).unwrap();
}

/// 1 GiB, as the issue asks: the film is sparse, so making it costs nothing, while the
/// seal still encrypts and writes every byte.
const GIB: u64 = 1 << 30;

/// A release of one sparse 1 GiB film (`big.bin`) sealed into ROOT/rel, and a grant of it
/// to jury-1.
struct Big {
    root: tempfile::TempDir,
    publisher: PathBuf,
    rel: PathBuf,
    id: String,
}

fn big_release() -> Big {
    let root = tempfile::tempdir().unwrap();
    let publisher = home_from_demo(root.path(), "publisher");
    let film = root.path().join("big.bin");
    sparse(&film, GIB);
    let rel = root.path().join("rel");
    let o = reelseal(&publisher)
        .args(["--json", "seal"])
        .arg(&film)
        .args(["--title", "Big", "--out"])
        .arg(&rel)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    std::fs::remove_file(&film).unwrap();
    let id = stdout_json(&o)["release_id"].as_str().unwrap().to_string();
    Big {
        root,
        publisher,
        rel,
        id,
    }
}

fn partial_dir(parent: &Path, name: &str) -> Option<PathBuf> {
    std::fs::read_dir(parent)
        .ok()?
        .flatten()
        .find(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(&format!(".{name}.partial-"))
        })
        .map(|e| e.path())
}

/// Some ciphertext file of the release being written in `dir` exists.
fn writing_ciphertext(dir: Option<PathBuf>) -> bool {
    dir.is_some_and(|d| listing(&d).iter().any(|p| p.ends_with("f000.rsc")))
}

fn assert_interrupted(o: &Output, removed: &str) {
    let e = stderr(o);
    assert_eq!(o.status.code(), Some(130), "{e}");
    assert!(e.contains("interrupted; removed"), "{e}");
    assert!(e.contains(removed), "{e}");
}

#[test]
fn open_never_writes_through_a_link_at_the_partial_or_the_final_path() {
    let r = sealed_release(100_000, &[]);
    let key = grant_to(&r, "jury-1", &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let out = r.root.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let victim = r.root.path().join("victim.txt");
    std::fs::write(&victim, "mine").unwrap();
    let untouched = |o: &Output| {
        assert_eq!(o.status.code(), Some(1), "{}", stderr(o));
        assert!(stderr(o).contains("symbolic link"), "{}", stderr(o));
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        let fin = out.join("feature.mp4").symlink_metadata();
        assert!(!fin.is_ok_and(|m| m.is_file()), "no film file was written");
    };

    // At the partial path: refused, the link and what it points at left alone.
    let partial = out.join(".feature.mp4.reelseal-partial");
    std::os::unix::fs::symlink(&victim, &partial).unwrap();
    let o = open_cmd(&j1, &key, &r.dir, &out).output().unwrap();
    untouched(&o);
    assert!(
        stderr(&o).contains(".feature.mp4.reelseal-partial"),
        "{}",
        stderr(&o)
    );
    assert!(partial.symlink_metadata().unwrap().file_type().is_symlink());
    std::fs::remove_file(&partial).unwrap();

    // At the final path, to a file or to nowhere, with or without --force: refused.
    let fin = out.join("feature.mp4");
    for (target, force) in [
        (victim.clone(), false),
        (victim.clone(), true),
        (r.root.path().join("nowhere"), false),
    ] {
        std::os::unix::fs::symlink(&target, &fin).unwrap();
        let mut c = open_cmd(&j1, &key, &r.dir, &out);
        if force {
            c.arg("--force");
        }
        let o = c.output().unwrap();
        untouched(&o);
        assert!(
            stderr(&o).contains(&fin.display().to_string()),
            "{}",
            stderr(&o)
        );
        assert!(!r.root.path().join("nowhere").exists());
        assert!(fin.symlink_metadata().unwrap().file_type().is_symlink());
        std::fs::remove_file(&fin).unwrap();
    }
    assert!(
        listing(&out).is_empty(),
        "nothing partial left: {:?}",
        listing(&out)
    );
}

#[test]
fn opened_files_are_private_unless_mode_says_otherwise() {
    let r = sealed_release(100_000, &[]);
    let key = grant_to(&r, "jury-1", &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let out = r.root.path().join("out");
    open_cmd(&j1, &key, &r.dir, &out).assert().success();
    assert_eq!(mode(&out.join("feature.mp4")), 0o600);
    assert_eq!(mode(&out.join("subs/en.srt")), 0o600);
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);

    let shared = r.root.path().join("shared");
    open_cmd(&j1, &key, &r.dir, &shared)
        .args(["--mode", "640"])
        .assert()
        .success();
    assert_eq!(mode(&shared.join("feature.mp4")), 0o640);
    assert_eq!(mode(&shared.join("subs/en.srt")), 0o640);

    // --force replaces a regular file, with the mode asked for.
    open_cmd(&j1, &key, &r.dir, &shared)
        .args(["--force", "--mode", "0644"])
        .assert()
        .success();
    assert_eq!(mode(&shared.join("feature.mp4")), 0o644);

    for bad in ["999", "abc", "1777", ""] {
        let o = open_cmd(&j1, &key, &r.dir, &r.root.path().join("bad"))
            .args(["--mode", bad])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{bad}: {}", stderr(&o));
        assert!(stderr(&o).contains("--mode"), "{}", stderr(&o));
    }
    assert!(!r.root.path().join("bad").exists());
}

#[test]
fn seal_never_reads_pipes_and_follows_links_only_when_told() {
    let root = tempfile::tempdir().unwrap();
    let p = home_from_demo(root.path(), "publisher");
    let film = root.path().join("film");
    std::fs::create_dir_all(film.join("extras")).unwrap();
    std::fs::write(film.join("feature.mp4"), film_bytes(50_000, 3)).unwrap();
    let pipe = root.path().join("pipe.mp4");
    mkfifo(&pipe);
    let seal = |inputs: &[&Path], out: &str, extra: &[&str]| {
        let mut c = tool("reelseal", &p);
        c.args(["--json", "seal"]);
        for i in inputs {
            c.arg(i);
        }
        c.args(["--title", "T", "--out"])
            .arg(root.path().join(out))
            .args(extra);
        bounded(&mut c, Duration::from_secs(60))
    };

    // A named pipe given as an input: refused, not read (no writer: reading would hang).
    let o = seal(&[&pipe], "r1", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("named pipe"), "{}", stderr(&o));
    assert!(stderr(&o).contains("pipe.mp4"), "{}", stderr(&o));
    assert!(!root.path().join("r1").exists());

    // One in the film folder: skipped, never read, and listed.
    mkfifo(&film.join("extras/live.fifo"));
    let o = seal(&[&film], "r2", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = stdout_json(&o);
    let skipped = v["skipped"].as_array().unwrap();
    assert_eq!(skipped.len(), 1, "{v:#}");
    assert!(skipped[0]["path"]
        .as_str()
        .unwrap()
        .ends_with("extras/live.fifo"));
    assert_eq!(skipped[0]["kind"], "a named pipe (FIFO)");
    assert_eq!(v["files"].as_array().unwrap().len(), 1, "{v:#}");
    // …and the human report says so too.
    let o = bounded(
        tool("reelseal", &p)
            .args(["seal"])
            .arg(&film)
            .args(["--title", "T", "--out"])
            .arg(root.path().join("r3")),
        Duration::from_secs(60),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let human = String::from_utf8_lossy(&o.stdout);
    assert!(
        human.contains("skipped") && human.contains("live.fifo"),
        "{human}"
    );

    // A symbolic link in the folder: refused unless --follow-symlinks.
    let elsewhere = root.path().join("trailer.mp4");
    std::fs::write(&elsewhere, film_bytes(10_000, 4)).unwrap();
    std::os::unix::fs::symlink(&elsewhere, film.join("trailer.mp4")).unwrap();
    let o = seal(&[&film], "r4", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("symbolic link") && e.contains("--follow-symlinks") && e.contains("trailer.mp4"),
        "{e}"
    );
    assert!(!root.path().join("r4").exists());
    let o = seal(&[&film], "r5", &["--follow-symlinks"]);
    assert!(o.status.success(), "{}", stderr(&o));
    let files: Vec<String> = stdout_json(&o)["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap().to_string())
        .collect();
    assert!(files.contains(&"film/trailer.mp4".to_string()), "{files:?}");
    // A link given as an input, likewise.
    let o = seal(&[&film.join("trailer.mp4")], "r6", &[]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("--follow-symlinks"), "{}", stderr(&o));
}

#[test]
fn open_refuses_a_pipe_in_place_of_ciphertext_without_hanging() {
    let r = sealed_release(100_000, &[]);
    let key = grant_to(&r, "jury-1", &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let payload = std::fs::read_dir(&r.dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("manifest.rsm").is_file())
        .unwrap();
    let ct = payload.join("f000.rsc");
    std::fs::remove_file(&ct).unwrap();
    mkfifo(&ct);
    let out = r.root.path().join("out");
    let o = bounded(
        &mut open_std(&j1, &key, &r.dir, &out),
        Duration::from_secs(60),
    );
    assert_ne!(o.status.code(), Some(0), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("named pipe") && e.contains("f000.rsc"), "{e}");
    assert!(!out.join("feature.mp4").exists());
    assert!(
        listing(&out).iter().all(|p| !p.contains("partial")),
        "{:?}",
        listing(&out)
    );
}

#[test]
fn interrupted_seal_removes_its_partial_release_and_exits_130() {
    let root = tempfile::tempdir().unwrap();
    let p = home_from_demo(root.path(), "publisher");
    let film = root.path().join("big.bin");
    sparse(&film, GIB);
    let before = names(root.path());
    let o = interrupt_when(
        tool("reelseal", &p)
            .args(["seal"])
            .arg(&film)
            .args(["--title", "Big", "--out"])
            .arg(root.path().join("rel")),
        "TERM",
        || writing_ciphertext(partial_dir(root.path(), "rel")),
    );
    assert_interrupted(&o, ".rel.partial-");
    assert_eq!(names(root.path()), before, "nothing partial remains");
    let ls = reelseal(&p).args(["--json", "ls"]).output().unwrap();
    assert_eq!(stdout_json(&ls)["releases"], serde_json::json!([]));
}

#[test]
fn interrupted_open_removes_its_partial_plaintext_and_exits_130() {
    let b = big_release();
    let r = Release {
        root: tempfile::tempdir().unwrap(),
        publisher: b.publisher.clone(),
        dir: b.rel.clone(),
        id: b.id.clone(),
        film: Vec::new(),
        subs: Vec::new(),
    };
    let key = grant_to(&r, "jury-1", &[]);
    let j1 = home_from_demo(b.root.path(), "jury-1");
    let out = b.root.path().join("out");
    std::fs::create_dir_all(&out).unwrap();
    let partial = out.join(".big.bin.reelseal-partial");
    let o = interrupt_when(&mut open_std(&j1, &key, &b.rel, &out), "INT", || {
        partial.exists()
    });
    assert_interrupted(&o, ".big.bin.reelseal-partial");
    assert!(listing(&out).is_empty(), "{:?}", listing(&out));
}

#[test]
fn interrupted_rotate_removes_its_partial_release_and_exits_130() {
    let b = big_release();
    let before = names(b.root.path());
    let o = interrupt_when(
        tool("reelseal", &b.publisher)
            .args(["rotate", &b.id, "--out"])
            .arg(b.root.path().join("rot")),
        "INT",
        || writing_ciphertext(partial_dir(b.root.path(), "rot")),
    );
    assert_interrupted(&o, ".rot.partial-");
    assert_eq!(names(b.root.path()), before, "nothing partial remains");
    let ls = reelseal(&b.publisher)
        .args(["--json", "ls"])
        .output()
        .unwrap();
    assert_eq!(
        stdout_json(&ls)["releases"].as_array().unwrap().len(),
        1,
        "only the original release is recorded"
    );
}

fn fetch_cmd(home: &Path, key: &Path, out: &Path, peer: std::net::SocketAddr) -> StdCommand {
    let mut c = tool("reelview", home);
    c.args(["fetch"])
        .arg(key)
        .arg("--out")
        .arg(out)
        .args([
            "--bind",
            "127.0.0.1",
            "--no-dht",
            "--no-trackers",
            "--no-seed",
        ])
        .args(["--publisher", &demo_pub("publisher")])
        .arg("--peer")
        .arg(peer.to_string());
    c
}

#[test]
fn interrupted_fetch_removes_its_partial_plaintext_and_exits_130() {
    // 64 MiB fetched at 8 MB/s: over the loopback, a fetch of 1 GiB would take as long
    // as a 64 MiB one at this rate takes to be interrupted, and cost the disk twice.
    let r = sealed_release(64 << 20, &["--piece-size", "1048576"]);
    let (_seeder, addr) = seed_loopback(&r);
    let key = grant_to(&r, "jury-1", &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let out = r.root.path().join("out");
    let partial = out.join(".feature.mp4.reelseal-partial");
    let o = interrupt_when(
        fetch_cmd(&j1, &key, &out, addr).args(["--download-limit", "8000000"]),
        "INT",
        || partial.exists(),
    );
    assert_interrupted(&o, ".feature.mp4.reelseal-partial");
    assert!(stderr(&o).contains("is removed too"), "{}", stderr(&o));
    // Nothing is left, the downloaded ciphertext included.
    let left = names(&out);
    assert!(left.is_empty(), "{left:?}");

    // With --keep-ciphertext, only the verified ciphertext is left, for a resume.
    let o = interrupt_when(
        fetch_cmd(&j1, &key, &out, addr).args(["--download-limit", "8000000", "--keep-ciphertext"]),
        "INT",
        || partial.exists(),
    );
    assert_interrupted(&o, ".feature.mp4.reelseal-partial");
    assert!(
        stderr(&o).contains("run the same command again to resume"),
        "{}",
        stderr(&o)
    );
    let left = names(&out);
    assert!(
        !left.is_empty() && left.iter().all(|n| n.starts_with(".reelview-")),
        "{left:?}"
    );

    // Fetched to the end, the files have the --mode asked for.
    let o = bounded(
        fetch_cmd(&j1, &key, &out, addr).args(["--mode", "644"]),
        Duration::from_secs(120),
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(mode(&out.join("feature.mp4")), 0o644);
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
}

fn ffmpeg(args: &[&str]) {
    let st = StdCommand::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .status()
        .expect("ffmpeg (see .ci/setup)");
    assert!(st.success(), "ffmpeg {args:?}");
}

#[test]
fn interrupted_mark_and_trace_remove_their_temporary_folders_and_exit_130() {
    // A 60 s synthetic film: encoding its two renditions takes a few seconds, long
    // enough to interrupt, short enough for CI (1 GiB of video would take minutes).
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let film = r.join("film.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=12",
        "-t",
        "60",
        "-c:v",
        "libx264",
        "-pix_fmt",
        "yuv420p",
        film.to_str().unwrap(),
    ]);
    let publisher = home_from_demo(r, "publisher");
    let before = names(r);
    let mark = |out: &Path| {
        let mut c = tool("reelseal", &publisher);
        c.args(["mark"])
            .arg(&film)
            .arg("--out")
            .arg(out)
            .args(["--segment-seconds", "0.5"]);
        c
    };
    let marking = || {
        std::fs::read_dir(r).unwrap().flatten().any(|e| {
            e.file_name()
                .to_string_lossy()
                .starts_with(".reelseal-mark-")
                && listing(&e.path()).iter().any(|p| p.ends_with(".ts"))
        })
    };
    let o = interrupt_when(&mut mark(&r.join("marked")), "INT", marking);
    assert_interrupted(&o, ".reelseal-mark-");
    assert_eq!(names(r), before, "nothing partial remains");
    // …and the ffmpeg it ran is stopped too (killed: gone within a few seconds).
    let ffmpeg_running = || {
        StdCommand::new("pgrep")
            .args(["-f", &film.display().to_string()])
            .output()
            .is_ok_and(|o| o.status.success())
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while ffmpeg_running() {
        assert!(
            Instant::now() < deadline,
            "ffmpeg still runs after the interrupt"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    // Marked and sealed, then a trace of the unmarked film (read frame by frame by
    // ffmpeg, against references written to a temporary folder) is interrupted.
    let o = mark(&r.join("marked")).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = seal_variants(&publisher, &r.join("marked"), "Marked", 20, 2)
        .args(["--epsilon", "0.01", "--allow-short-code", "--out"])
        .arg(r.join("release"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let tmp = r.join("tmp");
    std::fs::create_dir_all(&tmp).unwrap();
    let o = interrupt_when(
        tool("reelseal", &publisher)
            .args(["trace"])
            .arg(r.join("release"))
            .arg(&film)
            .env("TMPDIR", &tmp),
        "TERM",
        || names(&tmp).iter().any(|n| n.starts_with("reelseal-trace-")),
    );
    assert_interrupted(&o, "reelseal-trace-");
    assert!(listing(&tmp).is_empty(), "{:?}", listing(&tmp));
}

#[test]
fn a_closed_pipe_ends_a_listing_quietly() {
    // `reelseal ls --json | head -c1`.
    let r = sealed_release(20_000, &[]);
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("reelseal"))
        .arg("--home")
        .arg(&r.publisher)
        .args(["--json", "ls"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut one = [0u8; 1];
    child.stdout.take().unwrap().read_exact(&mut one).unwrap(); // then the pipe closes
    let o = child.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(!String::from_utf8_lossy(&o.stderr).contains("panicked"));
}
