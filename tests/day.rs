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
