//! Channels end to end on loopback: a DHT test network (`mainline::Testnet`, 127.0.0.1),
//! real `reelseal seed` swarms, `reelseal publish` and `reelview sync`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use crate::common::*;

/// One DHT test network for a test, and the flags every command takes to use it.
struct Net {
    _dht: mainline::Testnet,
    boot: String,
}

impl Net {
    fn new() -> Self {
        let dht = mainline::Testnet::builder(4).build().unwrap();
        let boot = dht.bootstrap[0].clone();
        Net { _dht: dht, boot }
    }
    fn flags(&self, peers: &[SocketAddr]) -> Vec<String> {
        let mut v: Vec<String> = [
            "--bind",
            "127.0.0.1",
            "--no-dht",
            "--no-trackers",
            "--dht-bootstrap",
            &self.boot,
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        for p in peers {
            v.push("--peer".into());
            v.push(p.to_string());
        }
        v
    }
}

fn json(mut c: assert_cmd::Command) -> serde_json::Value {
    let o = c.arg("--json").output().unwrap();
    assert!(
        o.status.success(),
        "failed: {}\n{}",
        String::from_utf8_lossy(&o.stdout),
        stderr(&o)
    );
    stdout_json(&o)
}

fn write(p: &Path, data: &[u8]) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
}

/// A five-file project.
fn project(dir: &Path) {
    write(&dir.join("reel1.mov"), &film_bytes(3 << 20, 1));
    write(&dir.join("reel2.mov"), &film_bytes(2 << 20, 2));
    write(&dir.join("subs/en.srt"), &film_bytes(20_000, 3));
    write(&dir.join("stems/dialog.wav"), &film_bytes(1 << 20, 4));
    write(&dir.join("notes.txt"), b"day 1\n");
}

fn seed(home: &Path, cwd: &Path) -> (Proc, SocketAddr) {
    seed_with(home, cwd, &[])
}

/// `reelseal seed` on loopback for five minutes, with `extra` arguments.
fn seed_with(home: &Path, cwd: &Path, extra: &[&str]) -> (Proc, SocketAddr) {
    let mut args = vec![
        "seed",
        "--bind",
        "127.0.0.1",
        "--no-dht",
        "--no-trackers",
        "--seconds",
        "300",
    ];
    args.extend_from_slice(extra);
    let (p, v) = spawn_announcing("reelseal", home, &args, cwd);
    (p, v["listening"].as_str().unwrap().parse().unwrap())
}

/// `reelseal channel add CH WHO KEY --name NAME`: the grant, written to `<dir>/<name>.rschan`.
fn add(owner: &Path, ch: &str, who: &str, key: &str, name: &str, dir: &Path) -> PathBuf {
    let out = dir.join(format!("{name}.rschan"));
    let mut c = reelseal(owner);
    c.args(["channel", "add", ch, who, key, "--name", name, "--out"])
        .arg(&out);
    json(c);
    out
}

fn publish(net: &Net, home: &Path, ch: &str, dir: &Path, note: &str) -> serde_json::Value {
    let mut c = reelseal(home);
    c.args(["publish", ch])
        .arg(dir)
        .args(["--note", note])
        .args(net.flags(&[]));
    json(c)
}

fn sync(net: &Net, home: &Path, key: &Path, dir: &Path, seed: SocketAddr) -> std::process::Output {
    let mut c = reelview(home);
    c.arg("sync")
        .arg(key)
        .arg(dir)
        .args(["--timeout", "60s", "--json"])
        .args(net.flags(&[seed]));
    c.output().unwrap()
}

/// The version DIR's marker says it holds.
fn marker_version(dir: &Path) -> u64 {
    let m: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join(".reelview-channel.json")).unwrap())
            .unwrap();
    m["version"].as_u64().unwrap()
}

fn same_tree(a: &Path, b: &Path, rel: &[&str]) {
    for r in rel {
        assert_eq!(
            std::fs::read(a.join(r)).unwrap(),
            std::fs::read(b.join(r)).unwrap(),
            "{r} differs"
        );
    }
}

#[test]
fn members_stay_on_the_newest_version_and_only_changes_move() {
    let net = Net::new();
    let t = tempfile::tempdir().unwrap();
    let owner = home_from_demo(t.path(), "publisher");
    let alice = home_from_demo(t.path(), "jury-1");
    let bob = home_from_demo(t.path(), "jury-2");
    let editor = t.path().join("editor");
    reelseal(&editor).arg("keygen").assert().success();
    let editor_pub = json({
        let mut c = reelseal(&editor);
        c.args(["keygen", "--show"]);
        c
    })["public_key"]
        .as_str()
        .unwrap()
        .to_string();

    // Owner: a channel (with a key server), two members and an editor.
    let (key_server, url) = spawn_key_server(&owner, 100);
    let created = json({
        let mut c = reelseal(&owner);
        c.args([
            "channel",
            "create",
            "--title",
            "Feature post",
            "--key-server",
            &url,
        ]);
        c
    });
    let ch = created["channel"].as_str().unwrap().to_string();
    let alice_key = add(&owner, &ch, "--to", &demo_pub("jury-1"), "alice", t.path());
    let bob_key = add(&owner, &ch, "--to", &demo_pub("jury-2"), "bob", t.path());
    let editor_key = add(&owner, &ch, "--editor", &editor_pub, "editor", t.path());

    // Version 1.
    let proj = t.path().join("project");
    project(&proj);
    let v1 = publish(&net, &owner, &ch, &proj, "first assembly");
    assert_eq!(v1["version"], 1);
    assert_eq!(
        v1["pointer_published"],
        serde_json::json!(["dht", "key server"])
    );
    let (seeder, addr) = seed(&owner, t.path());

    let a_dir = t.path().join("alice-project");
    let o = sync(&net, &alice, &alice_key, &a_dir, addr);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = stdout_json(&o);
    assert_eq!(r["version"], 1);
    let files = [
        "reel1.mov",
        "reel2.mov",
        "subs/en.srt",
        "stems/dialog.wav",
        "notes.txt",
    ];
    same_tree(&proj, &a_dir.join("project"), &files);
    let b_dir = t.path().join("bob-project");
    assert!(sync(&net, &bob, &bob_key, &b_dir, addr).status.success());
    drop(seeder);

    // Version 2: one file changes, one is renamed.
    let mut reel2 = std::fs::read(proj.join("reel2.mov")).unwrap();
    reel2[1000] ^= 0xff;
    std::fs::write(proj.join("reel2.mov"), &reel2).unwrap();
    std::fs::rename(proj.join("notes.txt"), proj.join("notes-day1.txt")).unwrap();
    let v2 = publish(&net, &owner, &ch, &proj, "reel 2 fixed");
    assert_eq!(v2["version"], 2);
    let new_ct = v2["new_ciphertext_bytes"].as_u64().unwrap();
    assert!(
        new_ct < (2 << 20) + 100_000,
        "only reel2 is sealed anew: {new_ct}"
    );
    let (seeder, addr) = seed(&owner, t.path());
    let o = sync(&net, &alice, &alice_key, &a_dir, addr);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = stdout_json(&o);
    assert_eq!(r["version"], 2);
    assert_eq!(r["previous_version"], 1);
    // At most the changed file's pieces plus two: the version card's and the manifest's.
    let fetched = r["fetched_bytes"].as_u64().unwrap();
    let piece = v2["piece_length"].as_u64().unwrap();
    assert_eq!(piece, 64 << 10, "a 6 MiB project has 64 KiB pieces");
    let changed_ct = reelseal_core::stream::ciphertext_len(2 << 20);
    assert!(
        fetched <= changed_ct.div_ceil(piece) * piece + 2 * piece,
        "downloaded {fetched} bytes for a {changed_ct}-byte change"
    );
    let kinds: Vec<(String, String)> = r["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["path"].as_str().unwrap().into(),
                c["kind"].as_str().unwrap().into(),
            )
        })
        .collect();
    assert!(
        kinds.contains(&("project/reel2.mov".into(), "changed".into())),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&("project/notes-day1.txt".into(), "renamed".into())),
        "{kinds:?}"
    );
    assert!(!a_dir.join("project/notes.txt").exists());
    same_tree(
        &proj,
        &a_dir.join("project"),
        &["reel1.mov", "reel2.mov", "notes-day1.txt"],
    );

    assert!(sync(&net, &bob, &bob_key, &b_dir, addr).status.success());
    eprintln!("version 2: {fetched} bytes downloaded for a {changed_ct}-byte change");

    // Bob is removed (the new member list goes to the key server at once); the editor
    // publishes version 3 after pulling version 2, under the new key epoch.
    let removed = json({
        let mut c = reelseal(&owner);
        c.args(["channel", "remove", &ch, "bob"]);
        c
    });
    assert_eq!(removed["epoch"], 1);
    assert!(
        removed["key_server"]
            .as_str()
            .unwrap()
            .contains("announced"),
        "{removed}"
    );
    json({
        let mut c = reelseal(&editor);
        c.args(["channel", "join"]).arg(&editor_key);
        c
    });
    let pulled = json({
        let mut c = reelseal(&editor);
        c.args(["channel", "pull", &ch]).args(net.flags(&[addr]));
        c
    });
    assert_eq!(pulled["version"], 2, "{pulled}");
    drop(seeder);
    write(&proj.join("subs/en.srt"), &film_bytes(21_000, 9));
    // Alice edits a file in her copy and adds a link: both kept aside, not lost.
    std::fs::write(a_dir.join("project/notes-day1.txt"), b"my own notes\n").unwrap();
    std::os::unix::fs::symlink("reel1.mov", a_dir.join("project/reel1-link.mov")).unwrap();
    let v3 = publish(&net, &editor, &ch, &proj, "subtitles by the editor");
    assert_eq!(v3["version"], 3);
    let (_editor_seed, eaddr) = seed(&editor, t.path());
    // Alice finds version 3 through the key server alone (no DHT at all).
    let mut c = reelview(&alice);
    c.arg("sync")
        .arg(&alice_key)
        .arg(&a_dir)
        .args([
            "--timeout",
            "60s",
            "--json",
            "--bind",
            "127.0.0.1",
            "--no-dht",
            "--no-trackers",
            "--peer",
        ])
        .arg(eaddr.to_string());
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r = stdout_json(&o);
    assert_eq!(r["version"], 3);
    assert_eq!(
        r["local_edits"],
        serde_json::json!(["project/notes-day1.txt", "project/reel1-link.mov"])
    );
    let aside = PathBuf::from(r["kept_aside"].as_str().unwrap());
    assert_eq!(
        std::fs::read_link(aside.join("project/reel1-link.mov")).unwrap(),
        Path::new("reel1.mov")
    );
    assert!(std::fs::symlink_metadata(a_dir.join("project/reel1-link.mov")).is_err());
    assert_eq!(
        std::fs::read(aside.join("project/notes-day1.txt")).unwrap(),
        b"my own notes\n"
    );
    same_tree(
        &proj,
        &a_dir.join("project"),
        &["subs/en.srt", "notes-day1.txt"],
    );

    // Bob cannot open version 3, and his folder stays at version 2.
    let o = sync(&net, &bob, &bob_key, &b_dir, eaddr);
    assert_eq!(o.status.code(), Some(13), "{}", stderr(&o));
    assert!(stderr(&o).contains("not on member list"), "{}", stderr(&o));
    // Refused after the version card alone: version 3 was not downloaded.
    assert!(bob.join("channels").join(&ch).join("v2").exists());
    assert!(!bob.join("channels").join(&ch).join("v3").exists());
    assert_eq!(marker_version(&b_dir), 2);

    // The editor is removed. A copy of their home from before (which never heard of it,
    // the key server being down) publishes version 4 to the DHT under the stale list:
    // Alice ignores it and says why; the editor's up-to-date home may not publish at all.
    let editor_then = t.path().join("editor-then");
    std::fs::create_dir_all(&editor_then).unwrap();
    copy_tree(&editor, &editor_then);
    json({
        let mut c = reelseal(&owner);
        c.args(["channel", "remove", &ch, "editor"]);
        c
    });
    drop(key_server);
    write(&proj.join("reel1.mov"), &film_bytes(3 << 20, 21));
    // An editor does not publish while the key server (the news of removals) is away...
    let mut c = reelseal(&editor_then);
    c.args(["publish", &ch]).arg(&proj).args(net.flags(&[]));
    let o = c.output().unwrap();
    assert!(!o.status.success());
    assert!(
        stderr(&o).contains("--without-key-server"),
        "{}",
        stderr(&o)
    );
    // ...unless told to.
    let v4 = json({
        let mut c = reelseal(&editor_then);
        c.args(["publish", &ch])
            .arg(&proj)
            .args(["--note", "behind the owner's back", "--without-key-server"])
            .args(net.flags(&[]));
        c
    });
    assert_eq!(v4["version"], 4);
    assert_eq!(v4["pointer_published"], serde_json::json!(["dht"]), "{v4}");
    let port = url
        .rsplit(':')
        .next()
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    let (_key_server, _) = spawn_announcing(
        "reelseal",
        &owner,
        &["serve", "--listen", &format!("127.0.0.1:{port}")],
        &owner,
    );
    let o = sync(&net, &alice, &alice_key, &a_dir, eaddr);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = stdout_json(&o);
    assert_eq!(r["version"], 3, "{r}");
    assert_eq!(r["up_to_date"], true);
    assert!(
        r["ignored"][0]
            .as_str()
            .unwrap()
            .contains("no longer an editor"),
        "{r}"
    );
    let mut c = reelseal(&editor);
    c.args(["publish", &ch]).arg(&proj).args(net.flags(&[]));
    let o = c.output().unwrap();
    assert!(!o.status.success());
    assert!(stderr(&o).contains("may not publish"), "{}", stderr(&o));

    // versions lists all three with notes.
    let v = json({
        let mut c = reelview(&alice);
        c.arg("versions").arg(&alice_key).args(net.flags(&[]));
        c
    });
    let notes: Vec<&str> = v["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["note"].as_str().unwrap())
        .collect();
    assert_eq!(
        notes,
        ["first assembly", "reel 2 fixed", "subtitles by the editor"]
    );
}

/// `reelview sync --watch` in the background; its JSON lines (one per new version).
fn spawn_watch(
    net: &Net,
    home: &Path,
    key: &Path,
    dir: &Path,
    seed: SocketAddr,
) -> (Proc, std::sync::mpsc::Receiver<serde_json::Value>) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("reelview"))
        .arg("--home")
        .arg(home)
        .args(["--quiet", "--json", "sync"])
        .arg(key)
        .arg(dir)
        .args(["--watch", "--every", "1s", "--timeout", "60s"])
        .args(net.flags(&[seed]))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let out = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str(&line) {
                let _ = tx.send(v);
            }
        }
    });
    (Proc(child), rx)
}

#[test]
fn an_interrupted_sync_resumes_a_rollback_is_refused_and_watch_follows_new_versions() {
    let net = Net::new();
    let t = tempfile::tempdir().unwrap();
    let owner = home_from_demo(t.path(), "publisher");
    let alice = home_from_demo(t.path(), "jury-1");
    let ch = json({
        let mut c = reelseal(&owner);
        c.args(["channel", "create", "--title", "Shorts"]);
        c
    })["channel"]
        .as_str()
        .unwrap()
        .to_string();
    let key = add(&owner, &ch, "--to", &demo_pub("jury-1"), "alice", t.path());
    let proj = t.path().join("short");
    write(&proj.join("cut.mov"), &film_bytes(1 << 20, 11));
    publish(&net, &owner, &ch, &proj, "v1");
    let then = t.path().join("owner-at-v1");
    std::fs::create_dir_all(&then).unwrap();
    copy_tree(&owner, &then);
    let (seeder, addr) = seed(&owner, t.path());
    let dir = t.path().join("alice-short");
    assert!(sync(&net, &alice, &key, &dir, addr).status.success());
    drop(seeder);

    // Version 2 adds 12 MiB; the seeder sends 1 MiB/s and the sync is killed midway.
    let big = film_bytes(12 << 20, 12);
    write(&proj.join("extra.mov"), &big);
    publish(&net, &owner, &ch, &proj, "v2");
    let (p, slow) = seed_with(&owner, t.path(), &["--upload-limit", "1MiB"]);
    let mut c = std::process::Command::new(assert_cmd::cargo::cargo_bin("reelview"));
    c.arg("--home")
        .arg(&alice)
        .args(["--quiet", "sync"])
        .arg(&key)
        .arg(&dir)
        .args(net.flags(&[slow]))
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    let mut child = Proc(c.spawn().unwrap());
    std::thread::sleep(std::time::Duration::from_secs(6));
    child.0.kill().unwrap();
    let _ = child.0.wait();
    drop(p);
    // DIR is still the complete version 1.
    assert_eq!(marker_version(&dir), 1);
    assert!(!dir.join("short/extra.mov").exists());
    assert_eq!(
        std::fs::read(dir.join("short/cut.mov")).unwrap(),
        std::fs::read(proj.join("cut.mov")).unwrap()
    );
    // Run again: it resumes (fetches less than the new file) and switches.
    let (seeder, addr) = seed(&owner, t.path());
    let o = sync(&net, &alice, &key, &dir, addr);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = stdout_json(&o);
    assert_eq!(r["version"], 2);
    let new_ct = (12u64 << 20).div_ceil(65_520) * 65_536;
    assert!(
        r["fetched_bytes"].as_u64().unwrap() < new_ct,
        "resumed, not restarted: {r}"
    );
    assert_eq!(std::fs::read(dir.join("short/extra.mov")).unwrap(), big);

    // --watch picks up version 3.
    let (_w, lines) = spawn_watch(&net, &alice, &key, &dir, addr);
    std::thread::sleep(std::time::Duration::from_secs(3));
    drop(seeder);
    write(&proj.join("cut.mov"), &film_bytes(1 << 20, 13));
    publish(&net, &owner, &ch, &proj, "v3");
    let (_seeder, _) = seed_with(
        &owner,
        t.path(),
        &["--listen-port", &addr.port().to_string()],
    );
    let got = lines
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("watch announced no new version within 120 s");
    assert_eq!(got["version"], 3, "{got}");
    assert_eq!(
        std::fs::read(dir.join("short/cut.mov")).unwrap(),
        film_bytes(1 << 20, 13)
    );

    // Carol, added after version 3, opens version 3 at once: her grant's member list (a
    // newer one of the same epoch) wraps the key version 3 was sealed under.
    let carol = home_from_demo(t.path(), "jury-2");
    let carol_key = add(&owner, &ch, "--to", &demo_pub("jury-2"), "carol", t.path());
    // (From inside her empty folder: `reelview sync KEY .`.)
    let carol_dir = t.path().join("carol-shorts");
    std::fs::create_dir_all(&carol_dir).unwrap();
    let mut c = reelview(&carol);
    c.current_dir(&carol_dir)
        .arg("sync")
        .arg(&carol_key)
        .arg(".")
        .args(["--timeout", "60s", "--json"])
        .args(net.flags(&[addr]));
    let o = c.output().unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(stdout_json(&o)["version"], 3);
    assert_eq!(
        std::fs::read(carol_dir.join("short/cut.mov")).unwrap(),
        film_bytes(1 << 20, 13)
    );

    // A rollback: the owner's home as it was at version 1 announces its (genuine, signed)
    // version 1 pointer in a DHT of its own; the member who holds version 3 refuses it.
    let stale = Net::new();
    json({
        let mut c = reelseal(&then);
        c.args(["channel", "announce", &ch]).args(stale.flags(&[]));
        c
    });
    let o = sync(&stale, &alice, &key, &dir, addr);
    assert_eq!(o.status.code(), Some(11), "{}", stderr(&o));
    assert!(stderr(&o).contains("rollback"), "{}", stderr(&o));

    // A version nobody seeds yet (the running seeder started before it was published):
    // the sync gives up after --timeout (not killed by the harness's 300 s), says what to
    // do, and DIR stays at version 3.
    write(&proj.join("cut.mov"), &film_bytes(1 << 20, 14));
    publish(&net, &owner, &ch, &proj, "v4");
    let mut c = reelview(&alice);
    c.arg("sync")
        .arg(&key)
        .arg(&dir)
        .args(["--timeout", "5s"])
        .args(net.flags(&[addr]));
    let o = c.output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("no peer gave its torrent"),
        "{}",
        stderr(&o)
    );
    assert_eq!(marker_version(&dir), 3);
}
