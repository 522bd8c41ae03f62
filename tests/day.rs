//! A filmmaker's and a juror's day: what a newcomer meets — help that installs itself,
//! verdicts instead of guesses, safe defaults for releases in use, festival-shaped grants.

use crate::common::*;

#[test]
fn completions_and_man_pages_for_both_programs() {
    let dir = tempfile::tempdir().unwrap();
    for bin in ["reelseal", "reelview"] {
        let o = assert_cmd::Command::cargo_bin(bin)
            .unwrap()
            .args(["completions", "bash"])
            .output()
            .unwrap();
        assert!(o.status.success());
        assert!(String::from_utf8_lossy(&o.stdout).contains(&format!("_{bin}()")));
        let out = dir.path().join(bin);
        let o = assert_cmd::Command::cargo_bin(bin)
            .unwrap()
            .args(["--json", "man", "--out"])
            .arg(&out)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        let files = stdout_json(&o)["files"].as_array().unwrap().len();
        assert!(files >= 10, "{files} pages");
        let page = std::fs::read_to_string(out.join(format!("{bin}-keygen.1"))).unwrap();
        assert!(
            page.contains(".TH") && page.contains("\\-\\-show"),
            "{page}"
        );
    }
}

#[test]
fn keygen_show_reprints_the_public_key() {
    let dir = tempfile::tempdir().unwrap();
    for (bin, home) in [
        ("reelseal", dir.path().join("p")),
        ("reelview", dir.path().join("v")),
    ] {
        let made = assert_cmd::Command::cargo_bin(bin)
            .unwrap()
            .arg("--home")
            .arg(&home)
            .arg("keygen")
            .output()
            .unwrap();
        let shown = assert_cmd::Command::cargo_bin(bin)
            .unwrap()
            .arg("--home")
            .arg(&home)
            .args(["keygen", "--show"])
            .output()
            .unwrap();
        assert!(shown.status.success(), "{}", stderr(&shown));
        assert_eq!(made.stdout, shown.stdout);
        let o = assert_cmd::Command::cargo_bin(bin)
            .unwrap()
            .arg("--home")
            .arg(dir.path().join("none"))
            .args(["keygen", "--show"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1));
        assert!(stderr(&o).contains("keygen"), "{}", stderr(&o));
    }
}

#[test]
fn pinned_publishers_are_listed_renamed_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let v = home_from_demo(dir.path(), "jury-1");
    let key = demo_pub("publisher");
    reelview(&v)
        .args(["trust", &key, "--name", "Studio"])
        .assert()
        .success();
    let o = reelview(&v)
        .args(["trust", &key, "--name", "Nocturne Films"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("renamed"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    let o = reelview(&v)
        .args(["--json", "trust", "--list"])
        .output()
        .unwrap();
    let l = stdout_json(&o);
    assert_eq!(l["publishers"][0]["name"], "Nocturne Films");
    assert_eq!(l["publishers"].as_array().unwrap().len(), 1);
    reelview(&v)
        .args(["trust", "--remove", &key])
        .assert()
        .success();
    let o = reelview(&v)
        .args(["--json", "trust", "--list"])
        .output()
        .unwrap();
    assert_eq!(stdout_json(&o)["publishers"].as_array().unwrap().len(), 0);
    // Exactly one of KEY, --list, --remove.
    let o = reelview(&v)
        .args(["trust", "--list", &key])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn inspect_ends_with_a_verdict_and_its_exit_code() {
    let r = sealed_release(20_000, &[]);
    let mine = grant_to(&r, "jury-1", &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let j2 = home_from_demo(r.root.path(), "jury-2");
    let o = reelview(&j1).args(["inspect"]).arg(&mine).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let out = String::from_utf8_lossy(&o.stdout).to_string();
    assert!(
        out.lines().last().unwrap().contains("for you · valid now"),
        "{out}"
    );
    let o = reelview(&j2)
        .args(["--json", "inspect"])
        .arg(&mine)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(10));
    assert_eq!(stdout_json(&o)["verdict"]["status"], "not_your_key");
    let later = r.root.path().join("later.rskey");
    reelseal(&r.publisher)
        .args([
            "grant",
            &r.id,
            "--to",
            &demo_pub("jury-1"),
            "--name",
            "later",
            "--not-before",
            "2099-01-01",
            "--out",
        ])
        .arg(&later)
        .assert()
        .success();
    let o = reelview(&j1)
        .args(["inspect"])
        .arg(&later)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(12));
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("not valid yet: it opens 2099-01-01T00:00:00Z")
    );
    let closing = r.root.path().join("closing.rskey");
    reelseal(&r.publisher)
        .args([
            "grant",
            &r.id,
            "--to",
            &demo_pub("jury-1"),
            "--name",
            "closing",
            "--not-after",
            "2099-01-01",
            "--out",
        ])
        .arg(&closing)
        .assert()
        .success();
    let o = reelview(&j1)
        .args(["inspect"])
        .arg(&closing)
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&o.stdout).contains("days left"),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
}

#[test]
fn a_grant_pasted_from_mail_opens_and_other_files_are_named() {
    let r = sealed_release(30_000, &[]);
    let key = grant_to(&r, "jury-1", &[]);
    let j1 = home_from_demo(r.root.path(), "jury-1");
    let armored = std::fs::read_to_string(&key).unwrap();
    let quoted: String = armored.lines().map(|l| format!("> {l}\r\n")).collect();
    let mail = r.root.path().join("mail.txt");
    std::fs::write(
        &mail,
        format!("Dear juror,\n\nyour key:\n\n{quoted}\n> -- \n> The festival\n"),
    )
    .unwrap();
    let o = open_cmd(&j1, &mail, &r.dir, &r.root.path().join("out"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(r.root.path().join("out/feature.mp4")).unwrap(),
        r.film
    );

    for (file, says) in [
        (r.dir.join("release.torrent"), "is a torrent"),
        (r.dir.join("card.rscard"), "is a release card"),
        (j1.join("viewer.key"), "is a viewer secret key file"),
    ] {
        let o = reelview(&j1).args(["inspect"]).arg(&file).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains(says), "{file:?}: {}", stderr(&o));
    }
    let o = reelview(&j1)
        .args(["fetch", "magnet:?xt=urn:btih:0123"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("magnet link alone"), "{}", stderr(&o));
}

#[test]
fn sizes_take_units_and_errors_say_each_reason_once() {
    let r = sealed_release(10_000, &["--piece-size", "1MiB"]);
    let o = reelseal(&r.publisher)
        .args(["--json", "show", &r.id])
        .output()
        .unwrap();
    assert_eq!(stdout_json(&o)["piece_length"], 1 << 20);
    let o = reelseal(&r.publisher)
        .args(["seal", "missing.mp4", "--title", "T", "--out"])
        .arg(r.root.path().join("m"))
        .output()
        .unwrap();
    let e = stderr(&o);
    assert_eq!(e.matches("No such file").count(), 1, "{e}");
    assert_eq!(e.matches("missing.mp4").count(), 1, "{e}");
}

#[test]
fn interrupting_a_long_running_command_exits_130_and_an_empty_ledger_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    let p = home_from_demo(dir.path(), "publisher");
    let o = reelseal(&p)
        .args(["seed", "--bind", "127.0.0.1", "--no-dht", "--no-trackers"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("reelseal seal"), "{}", stderr(&o));

    let r = sealed_release(10_000, &[]);
    let (mut seeder, _) = seed_loopback(&r);
    let pid = seeder.0.id().to_string();
    std::process::Command::new("kill")
        .args(["-INT", &pid])
        .status()
        .unwrap();
    let status = (0..100)
        .find_map(|_| {
            std::thread::sleep(std::time::Duration::from_millis(100));
            seeder.0.try_wait().unwrap()
        })
        .expect("seed stops within 10 s of ^C");
    assert_eq!(status.code(), Some(130));
}

#[test]
fn force_does_not_replace_a_release_viewers_hold_grants_for() {
    let mut r = sealed_release(40_000, &[]);
    let reseal = |r: &Release, extra: &[&str]| {
        reelseal(&r.publisher)
            .args(["--json", "seal"])
            .arg(r.root.path().join("input/feature.mp4"))
            .args(["--title", "The Demo Film", "--out"])
            .arg(&r.dir)
            .args(extra)
            .output()
            .unwrap()
    };
    // No grants yet: --force replaces.
    let o = reseal(&r, &["--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    r.id = stdout_json(&o)["release_id"].as_str().unwrap().to_string();
    // A viewer holds a grant (valid for a week: a window with an end, so no warning).
    let o = reelseal(&r.publisher)
        .args([
            "grant",
            &r.id,
            "--to",
            &demo_pub("jury-1"),
            "--name",
            "jury-1",
        ])
        .args(["--valid-for", "7days", "--out"])
        .arg(r.root.path().join("jury-1.rskey"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("no end"), "{}", stderr(&o));
    let o = reseal(&r, &["--force"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("1 grant") && e.contains("reelseal rotate") && e.contains("--discard-grants"),
        "{e}"
    );
    assert!(r.dir.join("card.rscard").exists());
    // Asked for explicitly, it happens.
    let o = reseal(&r, &["--force", "--discard-grants"]);
    assert!(o.status.success(), "{}", stderr(&o));
    // --discard-grants alone is a usage error.
    let o = reseal(&r, &["--discard-grants"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn grants_say_when_their_window_is_closed_or_endless() {
    let r = sealed_release(20_000, &[]);
    let run = |viewer: &str, extra: &[&str]| {
        reelseal(&r.publisher)
            .args([
                "grant",
                &r.id,
                "--to",
                &demo_pub(viewer),
                "--name",
                viewer,
                "--out",
            ])
            .arg(r.root.path().join(format!("{viewer}.rskey")))
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run("jury-1", &[]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("no end"), "{}", stderr(&o));
    let o = run(
        "jury-2",
        &[
            "--not-after",
            "2001-01-01T00:00:00Z",
            "--not-before",
            "2000-01-01T00:00:00Z",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(stderr(&o).contains("already closed"), "{}", stderr(&o));
    let o = run("buyer-1", &["--valid-for", "soon"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
}

#[test]
fn sealing_the_same_film_twice_names_the_earlier_release() {
    let r = sealed_release(3 << 20, &[]);
    let o = reelseal(&r.publisher)
        .args(["--json", "seal"])
        .arg(r.root.path().join("input/feature.mp4"))
        .arg(r.root.path().join("input/subs"))
        .args(["--title", "the demo film", "--out"])
        .arg(r.root.path().join("again"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("sealed before") && e.contains(&r.id[..12]),
        "{e}"
    );
    assert!(e.contains("another release is titled"), "{e}");
    // Now the title names two releases: refused as ambiguous, ids still work.
    let o = reelseal(&r.publisher)
        .args(["show", "The Demo Film"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert!(
        stderr(&o).contains("matches several releases"),
        "{}",
        stderr(&o)
    );
    // A different film (one byte changed near the end) raises no such warning.
    let mut other = r.film.clone();
    let n = other.len();
    other[n - 10] ^= 1;
    let f = r.root.path().join("other.mp4");
    std::fs::write(&f, &other).unwrap();
    let o = reelseal(&r.publisher)
        .args(["--json", "seal"])
        .arg(&f)
        .args(["--title", "Other", "--out"])
        .arg(r.root.path().join("other"))
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(!stderr(&o).contains("sealed before"), "{}", stderr(&o));
}
