//! The walk-throughs in `examples/` must keep working (the README's first command is one of
//! them): run the example binaries that `cargo test` builds.

use std::process::Command;

fn run_example(name: &str, args: &[&str]) -> String {
    // target/<profile>/deps/<this test> → target/<profile>/examples/<name>
    let exe = std::env::current_exe().unwrap();
    let bin = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        bin.is_file(),
        "{} missing: cargo test builds examples",
        bin.display()
    );
    let out = Command::new(&bin).args(args).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "{name}: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

#[test]
fn festival_screener_round_trip() {
    let out = run_example("festival", &["--size-mib", "8"]);
    assert!(out.contains("byte-identical to the original"), "{out}");
    assert!(out.contains("refuses jury-1's grant"), "{out}");
}

#[test]
fn revoking_a_leak() {
    let out = run_example("revoke_leak", &[]);
    assert!(
        out.contains("jury-2: grant") && out.contains("was revoked"),
        "{out}"
    );
    assert!(out.contains("1 re-issued"), "{out}");
}

#[test]
fn selling_access_codes() {
    let out = run_example("selling", &[]);
    assert!(out.contains("redeemed Feature"), "{out}");
    assert!(
        out.contains("already redeemed with another viewer key"),
        "{out}"
    );
}

#[test]
fn a_team_on_a_channel() {
    let out = run_example("team_sync", &[]);
    assert!(out.contains("version 2: downloaded"), "{out}");
    assert!(out.contains("editor published version 3"), "{out}");
    assert!(out.contains("sound: version 3 (subtitles timed)"), "{out}");
    assert!(out.contains("colour cannot open version 3"), "{out}");
}
