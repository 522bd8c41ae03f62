//! The README's first command, `cargo run --example festival`, must keep working: run the
//! example binary that `cargo test` builds, on a small film.

use std::process::Command;

#[test]
fn festival_example_runs_end_to_end() {
    // target/<profile>/deps/<this test> → target/<profile>/examples/festival
    let exe = std::env::current_exe().unwrap();
    let examples = exe.parent().unwrap().parent().unwrap().join("examples");
    let bin = examples.join("festival");
    assert!(
        bin.is_file(),
        "{} missing: cargo test builds examples",
        bin.display()
    );
    let out = Command::new(&bin)
        .args(["--size-mib", "8"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("byte-identical to the original"),
        "{stdout}"
    );
    assert!(stdout.contains("refuses jury-1's grant"), "{stdout}");
}
