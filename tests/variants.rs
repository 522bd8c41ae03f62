//! Variant releases without video: two HLS "renditions" whose segments are arbitrary bytes
//! (some shared, most different) exercise the format, the per-grant key subsets, the key
//! server, `open` and `trace` quickly. tests/trace.rs does the same with real video.

use std::path::{Path, PathBuf};

use crate::common::*;

/// Enough traced segments (three in four) for ε = 10⁻⁶ with 5 viewers: each trace below
/// accuses an innocent grant with probability at most 10⁻⁶, so a failure is a bug, not a flake.
const SEGMENTS: usize = 204;
const TRACED: u64 = 153;
const SHARED: u64 = 51;

fn shared(i: usize) -> bool {
    i % 4 == 0
}

fn segment(i: usize, variant: u8) -> Vec<u8> {
    let v = if shared(i) { 0 } else { u64::from(variant) };
    film_bytes(3000 + i * 7, (i as u64) * 2 + v + 1)
}

/// A rendition directory: `film.m3u8` and `segNNNNN.ts` (durations 0.5 s).
fn rendition(dir: &Path, variant: u8, count: usize, dur: impl Fn(usize) -> &'static str) {
    std::fs::create_dir_all(dir).unwrap();
    let mut pl = String::from("#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:1\n");
    for i in 0..count {
        pl.push_str(&format!("#EXTINF:{},\nseg{i:05}.ts\n", dur(i)));
        std::fs::write(dir.join(format!("seg{i:05}.ts")), segment(i, variant)).unwrap();
    }
    pl.push_str("#EXT-X-ENDLIST\n");
    std::fs::write(dir.join("film.m3u8"), pl).unwrap();
}

/// Read a viewer's film.ts back into its variant sequence (None = shared segment).
fn symbols(film: &[u8]) -> Vec<Option<bool>> {
    let mut off = 0;
    let mut out = Vec::new();
    for i in 0..SEGMENTS {
        let (a, b) = (segment(i, 0), segment(i, 1));
        if film[off..].starts_with(&a) {
            out.push((!shared(i)).then_some(false));
            off += a.len();
        } else if film[off..].starts_with(&b) {
            out.push(Some(true));
            off += b.len();
        } else {
            panic!("segment {i} is neither variant");
        }
    }
    assert_eq!(off, film.len());
    out
}

fn seal(publisher: &Path, root: &Path, a: &Path, b: &Path, out: &Path) -> std::process::Output {
    reelseal(publisher)
        .args(["--json", "seal", "--variant-a"])
        .arg(a)
        .arg("--variant-b")
        .arg(b)
        .args(["--title", "Variants", "--viewers", "5", "--colluders", "1"])
        .args(["--epsilon", "1e-6", "--out"])
        .arg(out)
        .current_dir(root)
        .output()
        .unwrap()
}

fn open(home: &Path, key: &Path, release: &Path, out: &Path) -> std::process::Output {
    open_cmd(home, key, release, out).output().unwrap()
}

#[test]
fn each_grant_opens_its_own_sequence_and_trace_names_it() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let publisher = home_from_demo(r, "publisher");
    rendition(&r.join("a"), 0, SEGMENTS, |_| "0.500");
    rendition(&r.join("b"), 1, SEGMENTS, |_| "0.500");
    let release = r.join("variants.reelseal");
    let o = seal(&publisher, r, &r.join("a"), &r.join("b"), &release);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = stdout_json(&o)["variants"].clone();
    assert_eq!(
        (v["traced"].as_u64(), v["shared"].as_u64()),
        (Some(TRACED), Some(SHARED))
    );
    // Shared segments once, traced ones twice, plus the manifest.
    let o = reelseal(&publisher)
        .args(["--json", "show"])
        .arg(&release)
        .output()
        .unwrap();
    let show = stdout_json(&o);
    assert_eq!(
        show["files"].as_array().unwrap().len() as u64,
        1 + SHARED + 2 * TRACED
    );
    assert_eq!(show["tracing"]["positions"], TRACED);

    // Two jurors by key, one access key, one buyer through the key server.
    let mut keys = Vec::new();
    for who in ["jury-1", "jury-2"] {
        let k = r.join(format!("{who}.rskey"));
        reelseal(&publisher)
            .args(["grant"])
            .arg(&release)
            .args(["--to", &demo_pub(who), "--name", who, "--out"])
            .arg(&k)
            .assert()
            .success();
        keys.push((who, home_from_demo(r, who), k));
    }
    let access = r.join("guest.rskey");
    reelseal(&publisher)
        .args(["grant"])
        .arg(&release)
        .args(["--new-viewer", "--name", "guest", "--out"])
        .arg(&access)
        .assert()
        .success();
    keys.push(("guest", r.join("guest-home"), access.clone()));
    let (_server, url) = spawn_key_server(&publisher, 0);
    let o = reelseal(&publisher)
        .args(["--json", "codes"])
        .arg(&release)
        .args(["--count", "1"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let code = stdout_json(&o)["codes"][0].as_str().unwrap().to_string();
    let bought = r.join("buyer.rskey");
    let buyer = home_from_demo(r, "buyer-1");
    reelview(&buyer)
        .args(["redeem", &url, &code, "--out"])
        .arg(&bought)
        .args(["--publisher", &demo_pub("publisher")])
        .assert()
        .success();
    keys.push(("buyer", buyer, bought));

    let mut seqs = Vec::new();
    for (who, home, key) in &keys {
        let out = r.join(format!("out-{who}"));
        let o = open(home, key, &release, &out);
        assert!(o.status.success(), "{who}: {}", stderr(&o));
        let film = std::fs::read(out.join("film.ts")).unwrap();
        let seq = symbols(&film);
        assert!(
            seq.iter()
                .enumerate()
                .all(|(i, s)| s.is_none() == shared(i)),
            "{who}: shared segments are the shared bytes"
        );
        seqs.push(seq);
        // The viewer's own copy names them, and only them.
        let t = trace(&publisher, &release, &out.join("film.ts"));
        assert_eq!(t["kind"], "exact copy");
        let accused = t["accused"].as_array().unwrap();
        assert_eq!(accused.len(), 1, "{who}: {t:#}");
        let expect_viewer = match *who {
            "buyer" => demo_pub("buyer-1"),
            "guest" => accused[0]["viewer"].as_str().unwrap().to_string(),
            w => demo_pub(w),
        };
        assert_eq!(accused[0]["viewer"], expect_viewer.as_str(), "{who}");
    }
    for i in 0..seqs.len() {
        for j in i + 1..seqs.len() {
            assert_ne!(seqs[i], seqs[j], "two grants share a codeword");
        }
    }
    // A leaked access key is read key by key and names its grant.
    let t = trace(&publisher, &release, &access);
    assert_eq!(t["kind"], "leaked access key");
    assert_eq!(t["read"], TRACED);
    assert_eq!(t["accused"][0]["label"], "guest");
    assert_eq!(t["accused"][0]["grant_id"], t["grant_in_key"]);
    // Stronger evidence on request raises the bar; a weaker ε than sealed is refused.
    let o = reelseal(&publisher)
        .args(["--json", "trace", "--epsilon", "1e-9"])
        .arg(&release)
        .arg(&access)
        .output()
        .unwrap();
    let strict = stdout_json(&o);
    assert!(
        strict["threshold"].as_f64() > t["threshold"].as_f64(),
        "{strict:#}"
    );
    assert_eq!(strict["epsilon"], 1e-9);
    let o = reelseal(&publisher)
        .args(["trace", "--epsilon", "0.5"])
        .arg(&release)
        .arg(&access)
        .output()
        .unwrap();
    assert!(!o.status.success() && stderr(&o).contains("can only be smaller"));

    // Tampering with a traced segment (both variants) is caught naming the file.
    let payload = std::fs::read_dir(&release)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.is_dir())
        .unwrap();
    // Segment 0 is shared (f000); segment 1 is the first traced one: f001 (A), f002 (B).
    for ct in ["f001.rsc", "f002.rsc"] {
        let p = payload.join(ct);
        let mut b = std::fs::read(&p).unwrap();
        b[100] ^= 1;
        std::fs::write(&p, b).unwrap();
    }
    let (who, home, key) = &keys[0];
    let o = open(home, key, &release, &r.join(format!("again-{who}")));
    assert_eq!(o.status.code(), Some(14), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(e.contains("f001.rsc") || e.contains("f002.rsc"), "{e}");
    assert!(!r.join(format!("again-{who}/film.ts")).exists());
}

#[test]
fn renditions_that_do_not_match_are_refused() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let publisher = home_from_demo(r, "publisher");
    rendition(&r.join("a"), 0, SEGMENTS, |_| "0.500");
    let cases: [(&str, PathBuf, &str); 3] = [
        (
            "short",
            r.join("short"),
            "must be cut into the same segments",
        ),
        ("retimed", r.join("retimed"), "share segment boundaries"),
        ("same", r.join("same"), "byte-identical"),
    ];
    rendition(&cases[0].1, 1, SEGMENTS - 1, |_| "0.500");
    rendition(&cases[1].1, 1, SEGMENTS, |i| {
        if i == 7 {
            "0.600"
        } else {
            "0.500"
        }
    });
    rendition(&cases[2].1, 0, SEGMENTS, |_| "0.500");
    for (name, b, says) in &cases {
        let out = r.join(format!("{name}.reelseal"));
        let o = seal(&publisher, r, &r.join("a"), b, &out);
        assert!(!o.status.success(), "{name}");
        assert!(stderr(&o).contains(says), "{name}: {}", stderr(&o));
        assert!(
            !out.exists(),
            "{name}: a refused seal left {}",
            out.display()
        );
    }
    // Too few traced segments for the code: refused, then sealed on request.
    let out = r.join("weak.reelseal");
    rendition(&r.join("b"), 1, SEGMENTS, |_| "0.500");
    let o = seal_variants(&publisher, r, "Weak", 1000, 3)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("needs 1394"), "{}", stderr(&o));
    seal_variants(&publisher, r, "Weak", 1000, 3)
        .arg("--allow-short-code")
        .arg("--out")
        .arg(&out)
        .assert()
        .success();
}
