//! Where the sealed core meets the world: tampered or hostile inputs, strings written by
//! someone else, files that must not be overwritten or chmodded, closed pipes.

use std::io::Read;
use std::process::{Command as StdCommand, Stdio};

use crate::common::*;

#[test]
fn a_tampered_manifest_is_reported_as_tampered() {
    let r = sealed_release(100_000, &[]);
    let key = grant_to(&r, "jury-1", &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let payload = std::fs::read_dir(&r.dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("manifest.rsm").is_file())
        .unwrap();
    let m = payload.join("manifest.rsm");
    let mut b = std::fs::read(&m).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 1;
    std::fs::write(&m, &b).unwrap();
    let o = open_cmd(&j1, &key, &r.dir, &r.root.path().join("out"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(14), "{}", stderr(&o));
    assert!(stderr(&o).contains("manifest"), "{}", stderr(&o));
    assert!(!r.root.path().join("out").join("feature.mp4").exists());
}

#[test]
fn hostile_bencode_is_refused_before_parsing() {
    let dir = tempfile::tempdir().unwrap();
    let v = home_from_demo(dir.path(), "jury-1");
    // An armored "grant" nested 200,000 levels deep: refused, no stack overflow.
    let deep = format!("{}{}", "l".repeat(200_000), "e".repeat(200_000));
    use base64::Engine;
    let b64 = base64::engine::general_purpose::STANDARD.encode(deep.as_bytes());
    let lines: Vec<&str> = b64
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    let armored = format!(
        "-----BEGIN REELSEAL GRANT-----\n{}\n-----END REELSEAL GRANT-----\n",
        lines.join("\n")
    );
    let f = dir.path().join("deep.rskey");
    std::fs::write(&f, armored).unwrap();
    let o = reelview(&v).args(["inspect"]).arg(&f).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("nested deeper"), "{}", stderr(&o));
}

#[test]
fn strings_from_others_cannot_drive_the_terminal() {
    let r = sealed_release(20_000, &[]);
    // The CLI refuses such labels and titles outright (usage, 2)…
    for args in [
        vec![
            "grant",
            r.id.as_str(),
            "--to",
            &demo_pub("jury-1"),
            "--name",
            "a\u{1b}[2Jb",
        ],
        vec!["revoke", "rsview1x", "--reason", "x\u{202E}y"],
    ] {
        let o = reelseal(&r.publisher).args(&args).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
    }
    let o = reelseal(&r.publisher)
        .args(["seal", "--title", "T\nACCUSED grant 0000", "x"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    // …and a grant made elsewhere with one is shown escaped, never raw.
    let label = "jury\u{1b}[31m\u{202E}3 \nACCUSED";
    let key = r.root.path().join("hostile.rskey");
    std::fs::write(&key, hostile_grant(&r, label).as_bytes()).unwrap();
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let o = reelview(&j1).args(["inspect"]).arg(&key).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        !out.contains('\u{1b}') && !out.contains('\u{202E}'),
        "{out:?}"
    );
    assert!(out.contains("\\u{1b}[31m\\u{202e}3 \\u{a}ACCUSED"), "{out}");
    // JSON keeps the real text (scripts decide what to do with it).
    let o = reelview(&j1)
        .args(["--json", "inspect"])
        .arg(&key)
        .output()
        .unwrap();
    assert_eq!(stdout_json(&o)["label"], label);
}

/// A grant for jury-1 with `label`, issued with the library (the CLI would refuse it).
fn hostile_grant(r: &Release, label: &str) -> String {
    use reelseal_core::issue::{issue, GrantRequest};
    let ledger = reelseal_ledger::Ledger::open(&r.publisher.join("ledger.sqlite")).unwrap();
    let row = ledger.find_release(&r.id).unwrap();
    let text = std::fs::read_to_string(r.publisher.join("publisher.key")).unwrap();
    let sk = reelseal_core::keys::PublisherSecret::from_bech32(
        &reelseal_core::keys::secret_line(&text).unwrap(),
    )
    .unwrap();
    let card = reelseal_core::card::SignedCard::verify(&row.card, &sk.public()).unwrap();
    let req = GrantRequest {
        label: label.into(),
        viewer: Some(demo_pub("jury-1").parse().unwrap()),
        validity: reelseal_core::validity::Validity::ALWAYS,
        codeword: None,
    };
    issue(&card, &row.keys().unwrap(), None, &sk, &req, 1_800_000_000)
        .unwrap()
        .to_armor()
        .to_string()
}

#[test]
fn redeem_never_overwrites_a_file() {
    let r = sealed_release(20_000, &[]);
    let (_server, url) = spawn_key_server(&r.publisher, 0);
    let o = reelseal(&r.publisher)
        .args(["--json", "codes", &r.id, "--count", "1"])
        .output()
        .unwrap();
    let code = stdout_json(&o)["codes"][0].as_str().unwrap().to_string();
    let b = home_from_demo(r.root.path(), "buyer-1");
    let precious = r.root.path().join("precious.txt");
    std::fs::write(&precious, "mine").unwrap();
    let o = reelview(&b)
        .args(["redeem", &url, &code, "--out"])
        .arg(&precious)
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(stderr(&o).contains("already exists"), "{}", stderr(&o));
    assert_eq!(std::fs::read_to_string(&precious).unwrap(), "mine");
}

#[test]
fn a_home_the_user_made_is_never_chmodded_but_a_shared_one_is_named() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("shared-home");
    std::fs::create_dir(&home).unwrap();
    std::fs::set_permissions(&home, std::fs::Permissions::from_mode(0o755)).unwrap();
    let o = reelview(&home).args(["keygen"]).output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::metadata(&home).unwrap().permissions().mode() & 0o777,
        0o755
    );
    let key = home.join("viewer.key");
    assert_eq!(
        std::fs::metadata(&key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    // A command that reads the key names the shared home.
    let r = sealed_release(20_000, &[]);
    let g = grant_to(&r, "jury-1", &[]);
    let o = reelview(&home)
        .args(["open"])
        .arg(&g)
        .arg("--from")
        .arg(&r.dir)
        .args(["--publisher", &demo_pub("publisher")])
        .output()
        .unwrap();
    assert!(
        stderr(&o).contains("accessible to other users"),
        "{}",
        stderr(&o)
    );
    // A home that does not exist yet is made private.
    let fresh = dir.path().join("new/home");
    reelview(&fresh).args(["keygen"]).assert().success();
    assert_eq!(
        std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
        0o700
    );
}

#[test]
fn a_closed_pipe_ends_the_program_quietly() {
    // Enough grants that the listing is larger than a pipe's buffer (64 KiB), so the
    // writer really meets the closed pipe.
    let r = sealed_release(20_000, &[]);
    let csv = r.root.path().join("many.csv");
    let rows: String = (0..400)
        .map(|i| format!("viewer {i},{}\n", demo_pub("jury-1")))
        .collect();
    std::fs::write(&csv, rows).unwrap();
    reelseal(&r.publisher)
        .args(["grant", &r.id, "--recipients"])
        .arg(&csv)
        .arg("--out-dir")
        .arg(r.root.path().join("many"))
        .assert()
        .success();
    let mut child = StdCommand::new(assert_cmd::cargo::cargo_bin("reelseal"))
        .arg("--home")
        .arg(&r.publisher)
        .args(["--json", "grants", &r.id])
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

#[test]
fn seed_refuses_an_edited_torrent() {
    let r = sealed_release(20_000, &[]);
    let t = r.dir.join("release.torrent");
    let mut b = std::fs::read(&t).unwrap();
    let at = b.windows(6).position(|w| w == b"pieces").unwrap() + 12;
    b[at] ^= 0xff; // a piece hash
    std::fs::write(&t, &b).unwrap();
    let o = reelseal(&r.publisher)
        .args([
            "seed",
            &r.id,
            "--bind",
            "127.0.0.1",
            "--no-dht",
            "--no-trackers",
            "--seconds",
            "1",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("the torrent was edited"),
        "{}",
        stderr(&o)
    );
}
