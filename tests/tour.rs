//! The README's tour, run as printed: its first `sh` block after "## A tour", top to
//! bottom in bash with `set -e`, in a fresh folder with a fresh home for each program, the
//! two binaries first on PATH. If the README changes, this runs the new text.

use std::process::Command;
use std::time::Duration;

use crate::common::*;

fn tour_script() -> String {
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    let after = &readme[readme.find("## A tour").expect("a tour section")..];
    let start = after.find("```sh\n").expect("a sh block") + "```sh\n".len();
    let end = start + after[start..].find("```").unwrap();
    after[start..end].to_string()
}

#[test]
fn the_readme_tour_runs_as_printed() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("film.mp4"), film_bytes(3 << 20, 42)).unwrap();
    std::fs::create_dir_all(d.join("subtitles")).unwrap();
    std::fs::write(
        d.join("subtitles/en.srt"),
        "1\n00:00:01,000 --> 00:00:02,000\nHello.\n",
    )
    .unwrap();
    let script = format!("set -euo pipefail\n{}", tour_script());
    std::fs::write(d.join("tour.sh"), &script).unwrap();
    let bins = assert_cmd::cargo::cargo_bin("reelseal");
    let path = format!(
        "{}:{}",
        bins.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = assert_cmd::Command::from_std({
        let mut c = Command::new("bash");
        c.arg("tour.sh")
            .current_dir(d)
            .env("PATH", path)
            .env("XDG_DATA_HOME", d.join("data"))
            .env("HOME", d)
            .env_remove("REELSEAL_HOME")
            .env_remove("REELVIEW_HOME");
        c
    })
    .timeout(Duration::from_secs(240))
    .output()
    .unwrap();
    assert!(
        out.status.success(),
        "the tour stopped:\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // What the tour promises: the film came through the swarm and from the folder, the
    // code bought a grant, the rotation gave the viewer a new one.
    let film = std::fs::read(d.join("film.mp4")).unwrap();
    assert!(std::fs::read(d.join("film/film.mp4")).unwrap() == film);
    assert!(std::fs::read(d.join("film-again/film.mp4")).unwrap() == film);
    assert!(std::fs::read(d.join("film/subtitles/en.srt")).is_ok());
    assert!(d.join("bought.rskey").is_file());
    assert!(d.join("jury/Jury-4.rskey").is_file());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("revoked"), "{stdout}");
}
