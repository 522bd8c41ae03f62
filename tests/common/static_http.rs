//! A tiny static HTTP/1.1 file server on 127.0.0.1 for web seed tests: GET and HEAD,
//! single `Range: bytes=A-B` requests (206 with `Content-Range`), one thread per
//! connection, `Connection: close`. Python's `http.server` answers Range requests with the
//! whole file (200), which a web seed client must treat as "no Range support", so the
//! tests bring their own. In `Corrupt` mode it flips one byte in every 4 KiB of the
//! payload files it serves (`*.rsc`, `manifest.rsm`), like a broken or hostile mirror;
//! release.torrent and the card are served as they are.

use std::io::{BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Component, Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Honest,
    Corrupt,
    /// Ignores Range headers: 200 and the whole file, like `python3 -m http.server`.
    NoRanges,
}

/// A running server; stops accepting when dropped.
pub struct StaticHttp {
    pub addr: SocketAddr,
    /// Range (206) responses sent.
    pub ranges: Arc<AtomicU64>,
    stop: Arc<AtomicBool>,
}

impl StaticHttp {
    /// Serve `root` on 127.0.0.1 (any port).
    pub fn start(root: &Path, mode: Mode) -> StaticHttp {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let ranges = Arc::new(AtomicU64::new(0));
        let (root, s, r) = (root.to_path_buf(), stop.clone(), ranges.clone());
        std::thread::spawn(move || {
            while !s.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((conn, _)) => {
                        let (root, r) = (root.clone(), r.clone());
                        std::thread::spawn(move || {
                            let _ = serve(conn, &root, mode, &r);
                        });
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        StaticHttp { addr, ranges, stop }
    }

    /// `http://127.0.0.1:PORT/<path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{path}", self.addr)
    }
}

impl Drop for StaticHttp {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn unescape(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let h = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(h, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn resolve(root: &Path, target: &str) -> Option<PathBuf> {
    let path = unescape(target.split('?').next()?)?;
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let p = root.join(rel);
    p.is_file().then_some(p)
}

fn serve(conn: TcpStream, root: &Path, mode: Mode, ranges: &AtomicU64) -> std::io::Result<()> {
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let mut parts = line.split_whitespace();
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or("/"));
    let mut range = None;
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h)? == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            if k.trim().eq_ignore_ascii_case("range") {
                range = v.trim().strip_prefix("bytes=").map(str::to_string);
            }
        }
    }
    let mut conn = conn;
    let Some(path) = resolve(root, target) else {
        return conn.write_all(
            b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
        );
    };
    let len = std::fs::metadata(&path)?.len();
    let (start, end, status) = match range.filter(|_| mode != Mode::NoRanges) {
        Some(r) => {
            let (a, b) = r.split_once('-').unwrap_or((&r, ""));
            let a: u64 = a.parse().unwrap_or(0);
            let b: u64 = b
                .parse()
                .unwrap_or(len.saturating_sub(1))
                .min(len.saturating_sub(1));
            if a > b || a >= len {
                return conn.write_all(
                    format!("HTTP/1.1 416 Range Not Satisfiable\r\nContent-Range: bytes */{len}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n").as_bytes(),
                );
            }
            ranges.fetch_add(1, Ordering::SeqCst);
            (a, b + 1, 206)
        }
        None => (0, len, 200),
    };
    let mut head = format!(
        "HTTP/1.1 {status} {}\r\nContent-Length: {}\r\nAccept-Ranges: bytes\r\nConnection: close\r\n",
        if status == 206 { "Partial Content" } else { "OK" },
        end - start
    );
    if status == 206 {
        head.push_str(&format!(
            "Content-Range: bytes {start}-{}/{len}\r\n",
            end - 1
        ));
    }
    head.push_str("\r\n");
    conn.write_all(head.as_bytes())?;
    if method == "HEAD" {
        return Ok(());
    }
    let mut f = std::fs::File::open(&path)?;
    f.seek(SeekFrom::Start(start))?;
    let corrupt =
        mode == Mode::Corrupt && path.extension().is_some_and(|e| e == "rsc" || e == "rsm");
    let mut pos = start;
    let mut buf = vec![0u8; 64 << 10];
    while pos < end {
        let n = f.read(&mut buf[..((end - pos) as usize).min(64 << 10)])?;
        if n == 0 {
            break;
        }
        if corrupt {
            for (i, b) in buf[..n].iter_mut().enumerate() {
                if (pos + i as u64) % 4096 == 0 {
                    *b ^= 0x5a;
                }
            }
        }
        conn.write_all(&buf[..n])?;
        pos += n as u64;
    }
    Ok(())
}
