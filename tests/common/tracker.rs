//! A tiny BitTorrent tracker for tests, on loopback: HTTP (BEP 3, compact peer lists,
//! BEP 23) and UDP (BEP 15) on the same port number, std only (threads, bounded by a
//! stop flag and short socket timeouts). It answers like a real tracker — every other
//! peer of the torrent, `stopped` removes a peer — and records every announce (info_hash,
//! peer id, port, event, left, and the address it came from).
//!
//! Also used by `crates/reelseal-swarm/tests` (through `#[path]`), so it depends on
//! nothing but std.

#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Which protocol an announce came over.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Proto {
    /// HTTP GET /announce.
    Http,
    /// BEP 15.
    Udp,
}

/// One announce as the tracker saw it.
#[derive(Clone, Debug)]
pub struct Announce {
    /// HTTP or UDP.
    pub proto: Proto,
    /// The torrent.
    pub info_hash: [u8; 20],
    /// The announcing client's peer id.
    pub peer_id: [u8; 20],
    /// The port it says it listens on.
    pub port: u16,
    /// "started", "completed", "stopped", or None (a regular announce).
    pub event: Option<String>,
    /// Bytes it still needs.
    pub left: u64,
    /// Where the request came from (its IP is the peer's IP in answers).
    pub from: SocketAddr,
    /// When it arrived.
    pub at: Instant,
}

impl Announce {
    /// The info hash in hex.
    pub fn info_hash_hex(&self) -> String {
        self.info_hash.iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// One torrent's peers: peer_id -> (address announced, left).
type Peers = HashMap<[u8; 20], (SocketAddr, u64)>;

#[derive(Default)]
struct State {
    announces: Vec<Announce>,
    /// info_hash -> its peers
    swarms: HashMap<[u8; 20], Peers>,
}

/// A running tracker; stops (and joins its threads) when dropped.
pub struct Tracker {
    /// `http://IP:PORT/announce`.
    pub http_url: String,
    /// `udp://IP:PORT/announce` (the same port number, over UDP).
    pub udp_url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    threads: Vec<JoinHandle<()>>,
}

/// Re-announce interval the tracker asks for, in seconds.
pub const INTERVAL_SECS: u32 = 2;

impl Tracker {
    /// Start on `ip` (e.g. "127.0.0.1"), any free port (the same for TCP and UDP).
    pub fn start(ip: &str) -> Tracker {
        let ip: IpAddr = ip.parse().expect("an IP address");
        // Find a port free for both TCP and UDP (bounded number of tries).
        let (tcp, udp) = (0..50)
            .find_map(|_| {
                let tcp = TcpListener::bind((ip, 0)).ok()?;
                let port = tcp.local_addr().ok()?.port();
                let udp = UdpSocket::bind((ip, port)).ok()?;
                Some((tcp, udp))
            })
            .expect("a port free for TCP and UDP");
        let port = tcp.local_addr().unwrap().port();
        tcp.set_nonblocking(true).unwrap();
        udp.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let threads = vec![
            {
                let (state, stop) = (state.clone(), stop.clone());
                std::thread::spawn(move || serve_http(tcp, state, stop))
            },
            {
                let (state, stop) = (state.clone(), stop.clone());
                std::thread::spawn(move || serve_udp(udp, state, stop))
            },
        ];
        Tracker {
            http_url: format!("http://{ip}:{port}/announce"),
            udp_url: format!("udp://{ip}:{port}/announce"),
            state,
            stop,
            threads,
        }
    }

    /// Every announce so far, oldest first.
    pub fn announces(&self) -> Vec<Announce> {
        self.state.lock().unwrap().announces.clone()
    }

    /// Wait (at most `limit`) until an announce matches; the first that does.
    pub fn wait_for(&self, limit: Duration, pred: impl Fn(&Announce) -> bool) -> Option<Announce> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(a) = self.announces().into_iter().find(|a| pred(a)) {
                return Some(a);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

/// Record an announce and compute the answer: every other peer of the torrent
/// (compact), and counts of seeders/leechers.
fn on_announce(state: &Mutex<State>, a: Announce) -> (Vec<SocketAddr>, u32, u32) {
    let mut g = state.lock().unwrap();
    let swarm = g.swarms.entry(a.info_hash).or_default();
    if a.event.as_deref() == Some("stopped") {
        swarm.remove(&a.peer_id);
    } else {
        swarm.insert(a.peer_id, (SocketAddr::new(a.from.ip(), a.port), a.left));
    }
    let peers = swarm
        .iter()
        .filter(|(id, _)| **id != a.peer_id)
        .map(|(_, (addr, _))| *addr)
        .collect();
    let seeders = swarm.values().filter(|(_, left)| *left == 0).count() as u32;
    let leechers = swarm.len() as u32 - seeders;
    g.announces.push(a);
    (peers, seeders, leechers)
}

fn compact(peers: &[SocketAddr]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in peers {
        if let SocketAddr::V4(v4) = p {
            out.extend_from_slice(&v4.ip().octets());
            out.extend_from_slice(&v4.port().to_be_bytes());
        }
    }
    out
}

fn serve_http(listener: TcpListener, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    while !stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((conn, from)) => {
                let _ = handle_http(conn, from, &state);
            }
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

fn handle_http(mut conn: TcpStream, from: SocketAddr, state: &Mutex<State>) -> std::io::Result<()> {
    conn.set_nonblocking(false)?;
    conn.set_read_timeout(Some(Duration::from_secs(2)))?;
    conn.set_write_timeout(Some(Duration::from_secs(2)))?;
    let mut req = Vec::new();
    let mut buf = [0u8; 4096];
    while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 64 * 1024 {
        let n = conn.read(&mut buf)?;
        if n == 0 {
            break;
        }
        req.extend_from_slice(&buf[..n]);
    }
    let line = req.split(|b| *b == b'\r').next().unwrap_or_default();
    let line = String::from_utf8_lossy(line).into_owned();
    let target = line.split(' ').nth(1).unwrap_or("");
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let body = if path != "/announce" {
        bencode_failure("not an announce URL")
    } else {
        match parse_http_announce(query, from) {
            Some(a) => {
                let (peers, seeders, leechers) = on_announce(state, a);
                let peers = compact(&peers);
                let mut b = Vec::new();
                b.extend_from_slice(
                    format!(
                        "d8:completei{seeders}e10:incompletei{leechers}e8:intervali{INTERVAL_SECS}e12:min intervali{INTERVAL_SECS}e5:peers{}:",
                        peers.len()
                    )
                    .as_bytes(),
                );
                b.extend_from_slice(&peers);
                b.push(b'e');
                b
            }
            None => bencode_failure("bad announce"),
        }
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.write_all(head.as_bytes())?;
    conn.write_all(&body)?;
    conn.flush()
}

fn bencode_failure(reason: &str) -> Vec<u8> {
    format!("d14:failure reason{}:{}e", reason.len(), reason).into_bytes()
}

fn percent_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => out.push(v),
                    Err(_) => out.extend_from_slice(&b[i..i + 3]),
                }
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            c => {
                out.push(c);
                i += 1;
            }
        }
    }
    out
}

fn parse_http_announce(query: &str, from: SocketAddr) -> Option<Announce> {
    let mut info_hash = None;
    let mut peer_id = None;
    let mut port = None;
    let mut event = None;
    let mut left = 0;
    for kv in query.split('&') {
        let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
        match k {
            "info_hash" => info_hash = <[u8; 20]>::try_from(percent_decode(v)).ok(),
            "peer_id" => peer_id = <[u8; 20]>::try_from(percent_decode(v)).ok(),
            "port" => port = v.parse().ok(),
            "left" => left = v.parse().unwrap_or(0),
            "event" if !v.is_empty() && v != "empty" => {
                event = Some(String::from_utf8_lossy(&percent_decode(v)).into_owned())
            }
            _ => {}
        }
    }
    Some(Announce {
        proto: Proto::Http,
        info_hash: info_hash?,
        peer_id: peer_id?,
        port: port?,
        event,
        left,
        from,
        at: Instant::now(),
    })
}

const UDP_PROTOCOL_ID: u64 = 0x41727101980;

fn serve_udp(sock: UdpSocket, state: Arc<Mutex<State>>, stop: Arc<AtomicBool>) {
    let mut buf = [0u8; 2048];
    let mut next_connection_id: u64 = 0x5eed_0000_0000_0001;
    while !stop.load(Ordering::SeqCst) {
        let (n, from) = match sock.recv_from(&mut buf) {
            Ok(r) => r,
            Err(_) => continue,
        };
        let b = &buf[..n];
        if n < 16 {
            continue;
        }
        let action = u32::from_be_bytes(b[8..12].try_into().unwrap());
        let tid = &b[12..16];
        match action {
            0 if u64::from_be_bytes(b[0..8].try_into().unwrap()) == UDP_PROTOCOL_ID => {
                let mut out = Vec::with_capacity(16);
                out.extend_from_slice(&0u32.to_be_bytes());
                out.extend_from_slice(tid);
                out.extend_from_slice(&next_connection_id.to_be_bytes());
                next_connection_id += 1;
                let _ = sock.send_to(&out, from);
            }
            1 if n >= 98 => {
                let event = match u32::from_be_bytes(b[80..84].try_into().unwrap()) {
                    1 => Some("completed".to_string()),
                    2 => Some("started".to_string()),
                    3 => Some("stopped".to_string()),
                    _ => None,
                };
                let a = Announce {
                    proto: Proto::Udp,
                    info_hash: b[16..36].try_into().unwrap(),
                    peer_id: b[36..56].try_into().unwrap(),
                    left: u64::from_be_bytes(b[64..72].try_into().unwrap()),
                    event,
                    port: u16::from_be_bytes(b[96..98].try_into().unwrap()),
                    from,
                    at: Instant::now(),
                };
                let (peers, seeders, leechers) = on_announce(&state, a);
                let mut out = Vec::new();
                out.extend_from_slice(&1u32.to_be_bytes());
                out.extend_from_slice(tid);
                out.extend_from_slice(&INTERVAL_SECS.to_be_bytes());
                out.extend_from_slice(&leechers.to_be_bytes());
                out.extend_from_slice(&seeders.to_be_bytes());
                out.extend_from_slice(&compact(&peers));
                let _ = sock.send_to(&out, from);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod self_test {
    use super::*;

    #[test]
    fn percent_decoding_handles_binary_hashes() {
        assert_eq!(percent_decode("%00%ffA%2F"), vec![0, 255, b'A', b'/']);
    }
}
