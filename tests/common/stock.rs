//! Stock BitTorrent clients we did not write (aria2, Transmission, rtorrent, python
//! libtorrent), driven headless on loopback for interoperability tests: DHT, LSD, PEX,
//! UPnP/NAT-PMP and uTP off, bound to the address given (127.0.0.2 by convention, see
//! /work/shared/INTEROP.md), peers from the local tracker in the torrent. Every process
//! is a [`Proc`] (killed when dropped); every wait is bounded.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::{first_json_line, repo, Proc};

/// A free TCP port on `ip` (also free for UDP at the time of asking, best effort).
pub fn free_port(ip: &str) -> u16 {
    for _ in 0..50 {
        let p = std::net::TcpListener::bind((ip, 0))
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        if std::net::UdpSocket::bind((ip, p)).is_ok() {
            return p;
        }
    }
    panic!("no free port on {ip}");
}

/// Poll `f` until it is true or `limit` passes; whether it became true.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    loop {
        if f() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// aria2c seeding the torrent's payload, which sits in `dir` (`dir/<name>/…`); checks
/// the data first (`--check-integrity`), then seeds until killed.
pub fn aria2_seed(torrent: &Path, dir: &Path, ip: &str, port: u16) -> Proc {
    aria2(
        torrent,
        dir,
        ip,
        port,
        &["--check-integrity=true", "--seed-ratio=0.0"],
    )
}

/// aria2c downloading into `dir`; exits 0 when complete (`--seed-time=0`).
pub fn aria2_download(torrent: &Path, dir: &Path, ip: &str, port: u16) -> Proc {
    aria2(torrent, dir, ip, port, &["--seed-time=0"])
}

fn aria2(torrent: &Path, dir: &Path, ip: &str, port: u16, extra: &[&str]) -> Proc {
    let child = Command::new("aria2c")
        .arg(format!("--dir={}", dir.display()))
        .args([
            "--enable-dht=false",
            "--enable-dht6=false",
            "--bt-enable-lpd=false",
            "--enable-peer-exchange=false",
            "--disable-ipv6=true",
            "--file-allocation=none",
            "--quiet=true",
            "--bt-stop-timeout=0",
            "--bt-tracker-interval=2",
            "--bt-tracker-connect-timeout=5",
        ])
        .arg(format!("--interface={ip}"))
        .arg(format!("--listen-port={port}"))
        .args(extra)
        .arg(torrent)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("aria2c (see .ci/setup)");
    Proc(child)
}

/// A transmission-daemon with its own config dir, peers on `ip:port`, RPC on 127.0.0.1.
pub struct Transmission {
    /// The daemon.
    pub proc: Proc,
    rpc: String,
}

impl Transmission {
    /// Start the daemon (DHT, LPD, PEX, uTP, port forwarding off) and wait for its RPC.
    pub fn start(root: &Path, ip: &str, port: u16) -> Transmission {
        let config = root.join("transmission-config");
        std::fs::create_dir_all(&config).unwrap();
        let rpc_port = free_port("127.0.0.1");
        let settings = serde_json::json!({
            "dht-enabled": false,
            "lpd-enabled": false,
            "pex-enabled": false,
            "utp-enabled": false,
            "port-forwarding-enabled": false,
            "bind-address-ipv4": ip,
            "bind-address-ipv6": "::1",
            "peer-port": port,
            "peer-port-random-on-start": false,
            "rpc-enabled": true,
            "rpc-bind-address": "127.0.0.1",
            "rpc-port": rpc_port,
            "rpc-authentication-required": false,
            "rpc-whitelist-enabled": false,
            "rpc-host-whitelist-enabled": false,
            "download-dir": root.join("transmission-downloads"),
            "incomplete-dir-enabled": false,
            "watch-dir-enabled": false,
            "ratio-limit-enabled": false,
            "idle-seeding-limit-enabled": false,
            "speed-limit-down-enabled": false,
            "speed-limit-up-enabled": false,
            "start-added-torrents": true,
            "message-level": 1,
        });
        std::fs::write(
            config.join("settings.json"),
            serde_json::to_vec_pretty(&settings).unwrap(),
        )
        .unwrap();
        let child = Command::new("transmission-daemon")
            .arg("-f")
            .arg("-g")
            .arg(&config)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("transmission-daemon (see .ci/setup)");
        let t = Transmission {
            proc: Proc(child),
            rpc: format!("127.0.0.1:{rpc_port}"),
        };
        assert!(
            wait_until(Duration::from_secs(20), || t.remote(&["-l"]).is_some()),
            "transmission-daemon's RPC did not come up"
        );
        t
    }

    /// `transmission-remote RPC ARGS…`: its stdout when it succeeded.
    pub fn remote(&self, args: &[&str]) -> Option<String> {
        let o = Command::new("transmission-remote")
            .arg(&self.rpc)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        o.status
            .success()
            .then(|| String::from_utf8_lossy(&o.stdout).into_owned())
    }

    /// Add a torrent whose data goes to (or already is in) `dir`; for existing data, a
    /// verify is started.
    pub fn add(&self, torrent: &Path, dir: &Path) {
        let added = self.remote(&[
            "-a",
            torrent.to_str().unwrap(),
            "--download-dir",
            dir.to_str().unwrap(),
        ]);
        assert!(added.is_some(), "transmission-remote -a failed");
        self.remote(&["-t", "all", "--verify"]);
        self.remote(&["-t", "all", "-s"]);
    }

    /// "Percent Done" of the (only) torrent, 0–100.
    pub fn percent_done(&self) -> f64 {
        self.remote(&["-t", "all", "-i"])
            .and_then(|info| {
                info.lines()
                    .find_map(|l| l.trim().strip_prefix("Percent Done:"))
                    .and_then(|p| p.trim().trim_end_matches('%').parse().ok())
            })
            .unwrap_or(0.0)
    }

    /// Wait (bounded) until it has 100 % (seeding, after a verify, or downloaded).
    pub fn wait_complete(&self, limit: Duration) -> bool {
        wait_until(limit, || self.percent_done() >= 100.0)
    }
}

/// rtorrent 0.9.x, headless (`system.daemon.set`), with the torrent loaded and started:
/// it checks existing data in `dir`, then seeds, or downloads into `dir`.
pub fn rtorrent(root: &Path, torrent: &Path, dir: &Path, ip: &str, port: u16) -> Proc {
    let session = root.join("rtorrent-session");
    std::fs::create_dir_all(&session).unwrap();
    let rc = root.join("rtorrent.rc");
    std::fs::write(
        &rc,
        format!(
            "directory.default.set = {dir}\n\
             session.path.set = {session}\n\
             network.bind_address.set = {ip}\n\
             network.local_address.set = {ip}\n\
             network.port_range.set = {port}-{port}\n\
             network.port_random.set = no\n\
             dht.mode.set = disable\n\
             protocol.pex.set = no\n\
             trackers.use_udp.set = no\n\
             protocol.encryption.set = allow_incoming,try_outgoing,enable_retry\n\
             system.daemon.set = true\n\
             load.start_verbose = {torrent}\n",
            dir = dir.display(),
            session = session.display(),
            torrent = torrent.display(),
        ),
    )
    .unwrap();
    let child = Command::new("rtorrent")
        .arg("-n")
        .arg("-o")
        .arg(format!("import={}", rc.display()))
        .env("HOME", root)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("rtorrent (see .ci/setup)");
    Proc(child)
}

/// python libtorrent seeding `torrent` from `save_path` on `ip` (peers from its
/// trackers); returns once it has checked the data, with the port it listens on.
pub fn libtorrent_seed(torrent: &Path, save_path: &Path, ip: &str) -> (Proc, u16) {
    let mut child = Command::new("python3")
        .arg(repo().join("tests/interop/lt_client.py"))
        .arg("seed")
        .arg(torrent)
        .arg(save_path)
        .arg(ip)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with libtorrent (see .ci/setup)");
    let v = first_json_line(&mut child);
    let p = Proc(child);
    assert_eq!(
        v["seeding"], true,
        "libtorrent could not verify the data: {v}"
    );
    (p, v["port"].as_u64().unwrap() as u16)
}

/// python libtorrent downloading `torrent` into `save_path` on `ip` (peers from its
/// trackers); exits 0 when complete (bounded by `timeout_secs`).
pub fn libtorrent_download(torrent: &Path, save_path: &Path, ip: &str, timeout_secs: u32) -> Proc {
    let child = Command::new("python3")
        .arg(repo().join("tests/interop/lt_client.py"))
        .arg("download")
        .arg(torrent)
        .arg(save_path)
        .arg(ip)
        .arg("--timeout")
        .arg(timeout_secs.to_string())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("python3 with libtorrent (see .ci/setup)");
    Proc(child)
}

/// Wait (bounded) for a child to exit; its exit status, or None if it is still running.
pub fn wait_exit(p: &mut Proc, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(s)) = p.0.try_wait() {
            return Some(s);
        }
        if Instant::now() >= deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The payload folder of a sealed release (the one holding `manifest.rsm`).
pub fn payload_of(release_dir: &Path) -> PathBuf {
    std::fs::read_dir(release_dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .find(|p| p.join("manifest.rsm").is_file())
        .expect("a payload folder with manifest.rsm")
}
