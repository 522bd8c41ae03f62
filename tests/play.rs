//! `reelview play`: a real short video (ffmpeg test source) sealed, seeded slowly by one
//! process, played by another; curl and ffprobe/ffmpeg read the decrypted stream over HTTP
//! while it is still downloading, and no plaintext ever appears on disk.

use std::path::Path;
use std::process::{Command as StdCommand, Stdio};
use std::time::Instant;

use crate::common::*;

fn curl(args: &[&str]) -> (String, Vec<u8>) {
    let o = StdCommand::new("curl")
        .args(["-s", "--max-time", "60", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl (see .ci/setup)");
    let mut body = o.stdout;
    let nl = body.iter().rposition(|b| *b == b'\n').unwrap();
    let code = String::from_utf8_lossy(&body[nl + 1..]).to_string();
    body.truncate(nl);
    (code, body)
}

/// `reelview --json play KEY --player none` dialling `peer` on loopback only; the process
/// and its first line.
fn spawn_play(viewer: &Path, key: &Path, peer: &str, extra: &[&str]) -> (Proc, serde_json::Value) {
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("reelview"))
        .arg("--home")
        .arg(viewer)
        .args(["--json", "play"])
        .arg(key)
        .args(["--player", "none", "--peer", peer, "--bind", "127.0.0.1"])
        .args([
            "--no-dht",
            "--no-trackers",
            "--publisher",
            &demo_pub("publisher"),
        ])
        .args(extra)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let v = first_json_line(&mut child);
    (Proc(child), v)
}

fn is_root() -> bool {
    StdCommand::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn files_under(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                files_under(&p, out);
            } else if p.is_file() {
                out.push(p);
            }
        }
    }
}

#[test]
fn play_serves_decrypted_ranges_to_curl_and_ffmpeg_while_downloading() {
    let root = tempfile::tempdir().unwrap();
    let input = root.path().join("input");
    std::fs::create_dir_all(&input).unwrap();
    let film = input.join("short.mp4");
    // A real video: 20 s of ffmpeg's test pattern, MPEG-4 part 2, moov atom up front.
    let ff = StdCommand::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            "testsrc=duration=30:size=960x540:rate=25",
            "-c:v",
            "mpeg4",
            "-q:v",
            "2",
            "-movflags",
            "+faststart",
        ])
        .arg(&film)
        .status()
        .expect("ffmpeg (see .ci/setup)");
    assert!(ff.success());
    let plain = std::fs::read(&film).unwrap();
    assert!(
        plain.len() > 1_000_000,
        "test video is {} bytes",
        plain.len()
    );

    let publisher = home_from_demo(root.path(), "publisher");
    let dir = root.path().join("release");
    reelseal(&publisher)
        .args(["seal"])
        .arg(&film)
        .args(["--title", "Short", "--piece-size", "262144", "--out"])
        .arg(&dir)
        .assert()
        .success();
    let key = root.path().join("j1.rskey");
    reelseal(&publisher)
        .args([
            "grant",
            "release",
            "--to",
            &demo_pub("jury-1"),
            "--name",
            "j1",
            "--out",
        ])
        .arg(&key)
        .current_dir(root.path())
        .assert()
        .success();

    // Seed slowly (300 KB/s) so the video is still downloading while it is read.
    let mut seeder = StdCommand::new(assert_cmd::cargo::cargo_bin("reelseal"))
        .arg("--home")
        .arg(&publisher)
        .args([
            "--json",
            "seed",
            "release",
            "--bind",
            "127.0.0.1",
            "--no-dht",
            "--no-trackers",
            "--seconds",
            "300",
            "--upload-limit",
            "300000",
        ])
        .current_dir(root.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let peer = first_json_line(&mut seeder)["listening"]
        .as_str()
        .unwrap()
        .to_string();
    let _seeder = Proc(seeder);

    let viewer = home_from_demo(root.path(), "jury-1");
    let started = Instant::now();
    let (_player, v) = spawn_play(&viewer, &key, &peer, &[]);
    let url = v["url"].as_str().unwrap().to_string();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");

    // ffprobe reads the container through the URL, and ffmpeg decodes a frame from the
    // middle (a seek), long before 300 KB/s could have delivered the whole file.
    let probe = StdCommand::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "stream=codec_name,width,height",
            "-of",
            "json",
            &url,
        ])
        .output()
        .unwrap();
    assert!(
        probe.status.success(),
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    let p: serde_json::Value = serde_json::from_slice(&probe.stdout).unwrap();
    assert_eq!(p["streams"][0]["codec_name"], "mpeg4");
    assert_eq!(p["streams"][0]["width"], 960);
    let mid = StdCommand::new("ffmpeg")
        .args([
            "-v",
            "error",
            "-ss",
            "10",
            "-i",
            &url,
            "-frames:v",
            "1",
            "-f",
            "null",
            "-",
        ])
        .status()
        .unwrap();
    assert!(mid.success());
    let full_download_secs = plain.len() as f64 / 300_000.0;
    assert!(
        started.elapsed().as_secs_f64() < full_download_secs * 0.8,
        "read while still downloading ({:?} elapsed)",
        started.elapsed()
    );

    // Exact slices through curl.
    let n = plain.len();
    let (code, b) = curl(&["-r", "0-1", &url]);
    assert_eq!((code.as_str(), &b[..]), ("206", &plain[..2]));
    let (code, b) = curl(&["-r", "300000-400000", &url]);
    assert_eq!((code.as_str(), &b[..]), ("206", &plain[300_000..400_001]));
    let (code, b) = curl(&["-r", "-100", &url]);
    assert_eq!((code.as_str(), &b[..]), ("206", &plain[n - 100..]));
    let (code, _) = curl(&["-r", &format!("{}-", n + 10), &url]);
    assert_eq!(code, "416");
    let (code, b) = curl(&["-I", &url]);
    assert_eq!(code, "200");
    let head = String::from_utf8_lossy(&b).to_lowercase();
    assert!(
        head.contains(&format!("content-length: {n}"))
            && head.contains("accept-ranges: bytes")
            && head.contains("content-type: video/mp4"),
        "{head}"
    );
    // The whole file, then a wrong token.
    let (code, b) = curl(&[&url]);
    assert_eq!(code, "200");
    assert!(b == plain, "full body differs");
    let bad = url.rsplitn(3, '/').collect::<Vec<_>>();
    let wrong = format!("{}/{}/{}", bad[2], "0".repeat(32), bad[0]);
    assert_eq!(curl(&[&wrong]).0, "404");

    // Another local user who learns the URL gets nothing: 403 for sockets of another uid.
    if is_root() {
        let o = StdCommand::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "curl",
                "-s",
                "--max-time",
                "20",
                "-o",
                "/dev/null",
                "-w",
                "%{http_code}",
                &url,
            ])
            .output()
            .expect("setpriv (util-linux)");
        assert_eq!(String::from_utf8_lossy(&o.stdout), "403");
    } else {
        eprintln!("skipped: a second uid needs root to switch to (setpriv --reuid=nobody)");
    }

    // No plaintext anywhere on disk besides the original input.
    let needle = &plain[plain.len() / 2..plain.len() / 2 + 64];
    let mut files = Vec::new();
    files_under(root.path(), &mut files);
    for f in files.iter().filter(|f| **f != film) {
        let data = std::fs::read(f).unwrap_or_default();
        assert!(
            !data.windows(needle.len()).any(|w| w == needle),
            "plaintext found in {}",
            f.display()
        );
    }
}

/// The player is handed a 0600 playlist file, never the tokened URL on its command line
/// (any local user can read /proc/PID/cmdline); a non-loopback --listen needs --allow-remote.
#[test]
fn the_player_gets_the_url_in_a_private_file_not_on_its_command_line() {
    let r = sealed_release(200_000, &[]);
    let root = r.root.path();
    let key = grant_to(&r, "jury-1", &[]);
    let viewer = home_from_demo(root, "jury-1");
    let (_seeder, peer) = seed_loopback(&r);
    // A stand-in `mpv` that records its arguments and the playlist it was given, then exits.
    let bin = root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let record = root.join("mpv-saw");
    std::fs::write(
        bin.join("mpv"),
        format!(
            "#!/bin/sh\necho \"$@\" > {r}.args\nf=${{1#--playlist=}}\ncat \"$f\" > {r}.playlist\nstat -c %a \"$f\" > {r}.mode\nfor a in \"$@\"; do case \"$a\" in --include=*) cat \"${{a#--include=}}\" > {r}.include;; esac; done\n",
            r = record.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(bin.join("mpv"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let o = reelview(&viewer)
        .env("PATH", path)
        .args(["--json", "play"])
        .arg(&key)
        .args([
            "--player",
            "mpv",
            "--player-arg=--fs",
            "--player-arg",
            "--volume=50",
            "--peer",
            &peer.to_string(),
            "--bind",
            "127.0.0.1",
            "--no-dht",
            "--no-trackers",
            "--publisher",
            &demo_pub("publisher"),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let url = serde_json::from_slice::<serde_json::Value>(
        o.stdout.split(|b| *b == b'\n').next().unwrap(),
    )
    .unwrap()["url"]
        .as_str()
        .unwrap()
        .to_string();
    let token = url.split('/').nth(3).unwrap().to_string();
    let args = std::fs::read_to_string(record.with_extension("args")).unwrap();
    assert!(
        args.starts_with("--playlist=") && !args.contains(&token),
        "{args}"
    );
    // The player's own arguments pass through; the sealed subtitles go in a private
    // include file, by URL (never on the command line either).
    assert!(
        args.contains(" --fs") && args.contains(" --volume=50"),
        "{args}"
    );
    assert!(args.contains("--include="), "{args}");
    let include = std::fs::read_to_string(record.with_extension("include")).unwrap();
    assert!(
        include.contains("sub-files-append=http://") && include.contains("subs/en.srt"),
        "{include}"
    );
    assert!(std::fs::read_to_string(record.with_extension("playlist"))
        .unwrap()
        .contains(&url));
    assert_eq!(
        std::fs::read_to_string(record.with_extension("mode"))
            .unwrap()
            .trim(),
        "600"
    );

    let o = reelview(&viewer)
        .args(["play"])
        .arg(&key)
        .args([
            "--player",
            "none",
            "--listen",
            "0.0.0.0:0",
            "--publisher",
            &demo_pub("publisher"),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("--allow-remote"), "{}", stderr(&o));
}

/// `play` says where to point a player before anything has come from the swarm (here no
/// seeder exists yet when the URL is printed); a player that opens the URL then waits,
/// and gets the film once a seeder comes up.
#[test]
fn play_prints_its_url_at_once_and_serves_it_when_a_late_seeder_comes() {
    use crate::common::stock::free_port;
    let r = sealed_release(300_000, &[]);
    let root = r.root.path();
    let key = grant_to(&r, "jury-1", &[]);
    let viewer = home_from_demo(root, "jury-1");
    let seed_port = free_port("127.0.0.1");
    let peer = format!("127.0.0.1:{seed_port}");
    // `--timeout` bounds the test if the URL only came after the swarm answered (it would
    // then never come: the seeder starts after it).
    let (_player, v) = spawn_play(&viewer, &key, &peer, &["--timeout", "60s"]);
    let url = v["url"].as_str().unwrap().to_string();
    assert!(
        url.starts_with("http://127.0.0.1:") && url.ends_with('/'),
        "{v}"
    );
    assert!(v["state"].as_str().unwrap().contains("waiting"), "{v}");

    // A player opens it now: the request waits for the release.
    let early = url.clone();
    let reader = std::thread::spawn(move || curl(&["-r", "0-99", &early]));
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert!(!reader.is_finished(), "answered before any seeder existed");
    // A wrong token is refused without waiting.
    let wrong = format!(
        "{}/{}/",
        url.rsplitn(3, '/').nth(2).unwrap(),
        "0".repeat(32)
    );
    assert_eq!(curl(&[&wrong]).0, "404");

    let (_seeder, addr) = seed_on_port(&r, seed_port);
    assert_eq!(addr.to_string(), peer);
    let (code, body) = reader.join().unwrap();
    assert_eq!(code, "206");
    assert!(body == r.film[..100], "first bytes differ");
}
