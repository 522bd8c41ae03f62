//! End-to-end tests of sealing, granting and opening, through the real binaries.

use std::path::Path;
use std::process::Command as StdCommand;

use crate::common::*;
use base64::Engine;
use reelseal_core::card::SignedCard;
use reelseal_core::keys::PublisherPublic;
use reelseal_core::torrent::Metainfo;

fn payload_of(dir: &Path) -> std::path::PathBuf {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("manifest.rsm").is_file())
        .expect("release directory has a payload folder")
}

#[test]
fn seal_builds_a_standard_torrent_that_stock_libtorrent_verifies() {
    let r = sealed_release(
        5_000_000,
        &[
            "--piece-size",
            "262144",
            "--tracker",
            "http://127.0.0.1:6969/announce",
        ],
    );
    let torrent_bytes = std::fs::read(r.dir.join("release.torrent")).unwrap();
    let meta = Metainfo::from_bytes(&torrent_bytes).unwrap();
    // Names in the torrent reveal nothing of the inputs.
    let text = String::from_utf8_lossy(&torrent_bytes).to_lowercase();
    for secret in ["feature", "mp4", "subs", "en.srt", "demo film"] {
        assert!(!text.contains(secret), "torrent leaks {secret:?}");
    }
    assert_eq!(meta.info.piece_length, 262_144);
    assert_eq!(
        meta.announce.as_deref(),
        Some("http://127.0.0.1:6969/announce")
    );
    assert!(meta.info.private.is_none(), "private only when asked");

    // An implementation we did not write parses it and re-hashes the ciphertext against it.
    let out = StdCommand::new("python3")
        .arg(repo().join("tests/interop/verify_torrent.py"))
        .arg(r.dir.join("release.torrent"))
        .arg(&r.dir)
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "libtorrent check failed (is `pip install libtorrent` done? see .ci/run): {}",
        stderr(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        v["have_all"], true,
        "libtorrent found pieces that do not verify: {v}"
    );
    assert_eq!(v["infohash"].as_str().unwrap(), hex(&meta.infohash()));
    assert!(
        v["files"].as_array().unwrap().iter().any(|f| f[2] == true),
        "BEP 47 padding files expected: {v}"
    );
    for f in v["files"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f[2] == false)
    {
        let p = f[0].as_str().unwrap();
        let name = p.rsplit('/').next().unwrap();
        assert!(
            name == "manifest.rsm" || (name.starts_with('f') && name.ends_with(".rsc")),
            "{p}"
        );
    }

    // The card is signed over the infohash; any edit breaks it.
    let card_bytes = std::fs::read(r.dir.join("card.rscard")).unwrap();
    let pk = PublisherPublic::from_bech32(&demo_pub("publisher")).unwrap();
    let card = SignedCard::verify(&card_bytes, &pk).unwrap();
    assert_eq!(card.card().infohash, meta.infohash().to_vec());
    let mut bad = card_bytes.clone();
    let at = bad.windows(13).position(|w| w == b"The Demo Film").unwrap();
    bad[at] = b't';
    assert_eq!(
        SignedCard::verify(&bad, &pk).unwrap_err().kind(),
        "bad_signature"
    );
}

#[test]
fn transmission_agrees_on_the_infohash() {
    let r = sealed_release(300_000, &[]);
    let meta =
        Metainfo::from_bytes(&std::fs::read(r.dir.join("release.torrent")).unwrap()).unwrap();
    let out = StdCommand::new("transmission-show")
        .arg(r.dir.join("release.torrent"))
        .output()
        .expect("transmission-show is installed (apt-get install transmission-cli; see .ci/run)");
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.contains(&hex(&meta.infohash())), "{text}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn interrupted_seal_leaves_nothing_complete_and_a_rerun_works() {
    let root = tempfile::tempdir().unwrap();
    let home = home_from_demo(root.path(), "publisher");
    let film = root.path().join("big.mp4");
    std::fs::write(&film, film_bytes(192 << 20, 7)).unwrap();
    let out = root.path().join("rel");
    let bin = assert_cmd::cargo::cargo_bin("reelseal");
    let mut child = StdCommand::new(&bin)
        .arg("--home")
        .arg(&home)
        .args(["--quiet", "seal"])
        .arg(&film)
        .args(["--title", "Big", "--out"])
        .arg(&out)
        .spawn()
        .unwrap();
    // Kill it as soon as ciphertext is being written.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let mut killed_midway = false;
    while std::time::Instant::now() < deadline {
        let partial = std::fs::read_dir(root.path())
            .unwrap()
            .flatten()
            .find(|e| e.file_name().to_string_lossy().starts_with(".rel.partial-"));
        let writing = partial.is_some_and(|p| {
            walk_sizes(&p.path())
                .into_iter()
                .any(|(n, s)| n.ends_with("f000.rsc") && s > 0)
        });
        if writing {
            child.kill().unwrap();
            killed_midway = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let _ = child.wait();
    assert!(
        killed_midway,
        "the seal finished before it could be interrupted"
    );
    assert!(
        !out.exists(),
        "an interrupted seal must not leave the release directory"
    );
    let ls = reelseal(&home).args(["--json", "ls"]).output().unwrap();
    assert_eq!(
        stdout_json(&ls)["releases"]
            .as_array()
            .map(|a| a.len())
            .unwrap_or(0),
        0,
        "no release recorded"
    );

    // Running the same command again works and cleans the leftovers.
    let again = reelseal(&home)
        .args(["seal"])
        .arg(&film)
        .args(["--title", "Big", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(again.status.success(), "{}", stderr(&again));
    assert!(out.join("release.torrent").is_file());
    let leftovers: Vec<_> = std::fs::read_dir(root.path())
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().contains(".partial-"))
        .collect();
    assert!(leftovers.is_empty());
    // And refuses to overwrite without --force.
    let third = reelseal(&home)
        .args(["seal"])
        .arg(&film)
        .args(["--title", "Big", "--out"])
        .arg(&out)
        .output()
        .unwrap();
    assert!(!third.status.success());
    assert!(stderr(&third).contains("--force"), "{}", stderr(&third));
}

fn walk_sizes(dir: &Path) -> Vec<(String, u64)> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() {
                v.extend(walk_sizes(&p));
            } else if let Ok(m) = p.metadata() {
                v.push((p.to_string_lossy().into_owned(), m.len()));
            }
        }
    }
    v
}

fn open(r: &Release, viewer_home: &Path, key: &Path, out: &Path) -> std::process::Output {
    open_cmd(viewer_home, key, &r.dir, out).output().unwrap()
}

#[test]
fn grants_open_for_their_viewer_only() {
    let r = sealed_release(1_000_000, &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let j2 = home_from_demo(r.root.path(), "jury-2");
    let g1 = grant_to(&r, "jury-1", &[]);
    let g2 = grant_to(
        &r,
        "jury-2",
        &["--not-before", "2020-01-01", "--not-after", "2099-12-31"],
    );

    for (home, key, name) in [(&j1, &g1, "o1"), (&j2, &g2, "o2")] {
        let out = r.root.path().join(name);
        let o = open(&r, home, key, &out);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
        assert_eq!(std::fs::read(out.join("subs/en.srt")).unwrap(), r.subs);
    }
    // jury-2's key does not open jury-1's grant.
    let o = open(&r, &j2, &g1, &r.root.path().join("o3"));
    assert_eq!(o.status.code(), Some(10), "{}", stderr(&o));
    assert!(stderr(&o).contains("not for your key"), "{}", stderr(&o));
    assert!(!r.root.path().join("o3/feature.mp4").exists());

    // Unpinned publisher without --publisher: refused, and told what to do.
    let o = reelview(&j1)
        .args(["open"])
        .arg(&g1)
        .arg("--from")
        .arg(&r.dir)
        .arg("--out")
        .arg(r.root.path().join("o4"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(11));
    assert!(
        stderr(&o).contains("reelview trust rspub1"),
        "{}",
        stderr(&o)
    );

    // The ledger lists both grants.
    let l = reelseal(&r.publisher)
        .args(["--json", "grants", &r.id])
        .output()
        .unwrap();
    let v = stdout_json(&l);
    let labels: Vec<_> = v["grants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["label"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(labels, ["jury-1", "jury-2"]);
    assert_eq!(v["grants"][1]["not_after"], "2099-12-31T23:59:59Z");
}

#[test]
fn windows_are_enforced_with_dates_in_the_message() {
    let r = sealed_release(100_000, &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let f = r.root.path().join("future.rskey");
    let o = reelseal(&r.publisher)
        .args([
            "grant",
            &r.id,
            "--to",
            &demo_pub("jury-1"),
            "--name",
            "later",
            "--not-before",
            "2098-03-01",
            "--out",
        ])
        .arg(&f)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let o = open(&r, &j1, &f, &r.root.path().join("o"));
    assert_eq!(o.status.code(), Some(12));
    assert!(
        stderr(&o).contains("opens 2098-03-01T00:00:00Z"),
        "{}",
        stderr(&o)
    );

    let p = r.root.path().join("past.rskey");
    let o = reelseal(&r.publisher)
        .args([
            "grant",
            &r.id,
            "--to",
            &demo_pub("jury-1"),
            "--name",
            "earlier",
            "--not-after",
            "2021-03-31",
            "--out",
        ])
        .arg(&p)
        .output()
        .unwrap();
    assert!(o.status.success());
    let o = open(&r, &j1, &p, &r.root.path().join("o"));
    assert_eq!(o.status.code(), Some(12));
    assert!(
        stderr(&o).contains("closed 2021-03-31T23:59:59Z"),
        "{}",
        stderr(&o)
    );
    assert!(!r.root.path().join("o/feature.mp4").exists());
}

#[test]
fn an_edited_window_breaks_the_signature() {
    let r = sealed_release(100_000, &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let g = grant_to(&r, "jury-1", &["--not-after", "2021-03-31"]);
    let text = std::fs::read_to_string(&g).unwrap();
    let b64: String = text.lines().filter(|l| !l.starts_with("-----")).collect();
    let mut bin = base64::engine::general_purpose::STANDARD
        .decode(b64)
        .unwrap();
    // Push not-after far into the future: "3:nafi1617235199e" → "3:nafi9617235199e".
    let at = bin
        .windows(6)
        .position(|w| w == b"3:nafi")
        .expect("window field present")
        + 6;
    bin[at] = b'9';
    let forged = reelseal_core::armor::encode("GRANT", &bin);
    let f = r.root.path().join("forged.rskey");
    std::fs::write(&f, forged).unwrap();
    let o = open(&r, &j1, &f, &r.root.path().join("o"));
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("signature is invalid"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn tampered_or_truncated_ciphertext_is_refused_and_leaves_no_output() {
    let r = sealed_release(1_000_000, &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let g = grant_to(&r, "jury-1", &[]);
    let ct = payload_of(&r.dir).join("f000.rsc");
    let original = std::fs::read(&ct).unwrap();

    // Flip one byte in chunk 7.
    let mut bad = original.clone();
    bad[7 * 65_536 + 1234] ^= 0x01;
    std::fs::write(&ct, &bad).unwrap();
    let out = r.root.path().join("o");
    let o = open(&r, &j1, &g, &out);
    assert_eq!(o.status.code(), Some(14), "{}", stderr(&o));
    assert!(stderr(&o).contains("chunk 7"), "{}", stderr(&o));
    assert!(
        !out.join("feature.mp4").exists(),
        "no output for a tampered file"
    );
    let stray: Vec<_> = walk_sizes(&out)
        .into_iter()
        .filter(|(n, _)| n.contains("feature"))
        .collect();
    assert!(stray.is_empty(), "no partial file left: {stray:?}");

    // Truncate it.
    std::fs::write(&ct, &original[..original.len() - 100]).unwrap();
    let o = open(&r, &j1, &g, &out);
    assert_eq!(o.status.code(), Some(15), "{}", stderr(&o));
    assert!(stderr(&o).contains("truncated"), "{}", stderr(&o));

    // Remove it.
    std::fs::remove_file(&ct).unwrap();
    let o = open(&r, &j1, &g, &out);
    assert_eq!(o.status.code(), Some(15), "{}", stderr(&o));
    assert!(stderr(&o).contains("missing"), "{}", stderr(&o));

    // Restored, it opens.
    std::fs::write(&ct, &original).unwrap();
    let o = open(&r, &j1, &g, &out);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(std::fs::read(out.join("feature.mp4")).unwrap(), r.film);
}

#[test]
fn csv_batch_issues_good_rows_and_reports_bad_lines() {
    let r = sealed_release(100_000, &[]);
    let csv = r.root.path().join("jury.csv");
    std::fs::write(
        &csv,
        format!(
            "name,viewer,not_before,not_after,email\nBerlinale jury 1,{},2020-03-01,2099-03-31,a@example.org\nBroken row,rsview1notakey\nBuyer,{}\n",
            demo_pub("jury-1"),
            demo_pub("buyer-1")
        ),
    )
    .unwrap();
    let dir = r.root.path().join("grants");
    let o = reelseal(&r.publisher)
        .args(["grant", &r.id, "--recipients"])
        .arg(&csv)
        .arg("--out-dir")
        .arg(&dir)
        .output()
        .unwrap();
    // Some rows issued, one rejected: exit 3 (the rejected row is in rejects.csv).
    assert_eq!(o.status.code(), Some(3), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("jury.csv:3:"),
        "bad row reported with its line: {}",
        stderr(&o)
    );
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("2 issued, 0 already issued before, 1 rejected"),
        "{out}"
    );
    assert!(dir.join("Berlinale-jury-1.rskey").is_file());
    assert!(dir.join("Buyer.rskey").is_file());

    // --strict issues nothing.
    let dir2 = r.root.path().join("strict");
    let o = reelseal(&r.publisher)
        .args(["grant", &r.id, "--strict", "--recipients"])
        .arg(&csv)
        .arg("--out-dir")
        .arg(&dir2)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains(":3:"), "{}", stderr(&o));
    assert!(!dir2.exists() || std::fs::read_dir(&dir2).unwrap().next().is_none());

    // The issued grant opens for buyer-1.
    let b = home_from_demo(r.root.path(), "buyer-1");
    let o = open(&r, &b, &dir.join("Buyer.rskey"), &r.root.path().join("ob"));
    assert!(o.status.success(), "{}", stderr(&o));
}

#[test]
fn access_key_for_a_viewer_without_a_key() {
    let r = sealed_release(100_000, &[]);
    let f = r.root.path().join("guest.rskey");
    let o = reelseal(&r.publisher)
        .args(["grant", &r.id, "--new-viewer", "--name", "Guest", "--out"])
        .arg(&f)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("whoever holds one can watch"),
        "{}",
        stderr(&o)
    );
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600,
        "access keys hold a secret"
    );
    // An empty viewer home (no key of its own) opens it.
    let empty = r.root.path().join("empty-home");
    let o = open(&r, &empty, &f, &r.root.path().join("o"));
    assert!(o.status.success(), "{}", stderr(&o));
    let i = reelview(&empty)
        .args(["--json", "inspect"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(stdout_json(&i)["kind"], "access_key");
}
