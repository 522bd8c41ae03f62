//! Web seeds (BEP 19): download whole pieces from a static HTTP server or object store
//! with Range requests, when peers are few or slow.
//!
//! A web seed is a base URL ending in `/`; file `<path>` of a torrent named `<name>` is at
//! `<base><name>/<path>` (BEP 19, multi-file), and the release's `release.torrent` at
//! `<base>release.torrent` (a sealed release folder uploaded as it is). The server is not
//! trusted: every piece is hashed against the torrent's SHA-1 before a byte of it is
//! written (librqbit patch K, `ManagedTorrent::write_external_piece`); a piece that does
//! not match is refused and left to peers, and a seed that keeps failing is dropped.
//! BEP 47 padding files are zeros and never requested.

use std::collections::HashSet;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use librqbit::{ExternalPiece, ManagedTorrent};
use reelseal_core::torrent::Metainfo;
use serde::Serialize;

/// When and how hard a torrent uses its web seeds.
#[derive(Clone, Debug)]
pub struct WebSeedPolicy {
    /// Wait this long after the torrent is live before using a web seed at all.
    pub grace: Duration,
    /// After the grace, use web seeds while no peer is connected or the download rate
    /// from peers is below this (bytes per second).
    pub slow_bps: f64,
    /// Stop using a web seed after this many failures in a row (a refused piece, an
    /// HTTP error).
    pub max_failures: u32,
    /// Give up one HTTP request after this long.
    pub request_timeout: Duration,
}

impl Default for WebSeedPolicy {
    fn default() -> Self {
        WebSeedPolicy {
            grace: Duration::from_secs(3),
            slow_bps: 512.0 * 1024.0,
            max_failures: 3,
            request_timeout: Duration::from_secs(60),
        }
    }
}

/// What one web seed did, for the status line and `--json`.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct WebSeedReport {
    /// The base URL.
    pub url: String,
    /// `host:port` of the URL, for a short status line.
    pub host: String,
    /// Pieces taken from it (verified).
    pub pieces: u64,
    /// Bytes of those pieces (padding included).
    pub bytes: u64,
    /// Pieces refused because they did not match the torrent's hash.
    pub refused: u64,
    /// Why it is no longer used, if it is not.
    pub stopped: Option<String>,
}

impl WebSeedReport {
    /// A few words for a status line, e.g. `web seed 127.0.0.1:8080: 12 pieces` or
    /// `web seed cdn.example.org: stopped (3 failures in a row), 2 refused`.
    pub fn line(&self) -> String {
        let mut s = format!("web seed {}: ", self.host);
        if self.stopped.is_some() {
            s.push_str("stopped, ");
        }
        s.push_str(&format!(
            "{} {}",
            self.pieces,
            if self.pieces == 1 { "piece" } else { "pieces" }
        ));
        if self.refused > 0 {
            s.push_str(&format!(", {} refused", self.refused));
        }
        s
    }
}

/// The web seeds of one torrent: reports and the notes not yet shown to the user.
#[derive(Default)]
pub(crate) struct Board {
    seeds: Mutex<Vec<WebSeedReport>>,
    notes: Mutex<Vec<String>>,
}

impl Board {
    pub(crate) fn reports(&self) -> Vec<WebSeedReport> {
        self.seeds.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }
    pub(crate) fn take_notes(&self) -> Vec<String> {
        std::mem::take(&mut *self.notes.lock().unwrap_or_else(|e| e.into_inner()))
    }
    fn note(&self, s: String) {
        tracing::debug!("{s}");
        self.notes.lock().unwrap_or_else(|e| e.into_inner()).push(s);
    }
    fn update(&self, i: usize, f: impl FnOnce(&mut WebSeedReport)) {
        if let Some(r) = self
            .seeds
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(i)
        {
            f(r)
        }
    }
}

/// The web seed tasks of one torrent; dropping this stops them.
pub struct WebSeeds {
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for WebSeeds {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// `host:port` of a URL (for messages), or the URL itself.
pub fn url_host(url: &str) -> String {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    rest.split('/').next().unwrap_or(rest).to_string()
}

/// Percent-encode one path component for a URL (RFC 3986 unreserved characters stay).
fn escape(component: &str) -> String {
    let mut o = String::new();
    for b in component.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            o.push(b as char);
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

/// The URL of a torrent file on a web seed: `<base><name>/<path>` (BEP 19, multi-file),
/// each component percent-encoded.
pub fn file_url(base: &str, name: &str, path: &[String]) -> String {
    let mut u = base.to_string();
    if !u.ends_with('/') {
        u.push('/');
    }
    u.push_str(&escape(name));
    for c in path {
        u.push('/');
        u.push_str(&escape(c));
    }
    u
}

/// The URL of the release's torrent on a web seed: `<base>release.torrent`.
pub fn torrent_url(base: &str) -> String {
    let mut u = base.to_string();
    if !u.ends_with('/') {
        u.push('/');
    }
    u.push_str(reelseal_core::seal::TORRENT_FILE);
    u
}

/// One byte range of one file that a piece covers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Span {
    /// Index of the file in the torrent (padding files included).
    pub file: usize,
    /// Offset in that file.
    pub offset: u64,
    /// Length.
    pub len: u64,
    /// Where the range goes in the piece.
    pub at: u64,
}

/// The ranges of real (non-padding) files that piece `index` covers, in order; padding
/// files are left out (their bytes are zeros). `None` if there is no such piece.
pub fn piece_spans(meta: &Metainfo, index: u32) -> Option<Vec<Span>> {
    let piece = meta.info.piece_length;
    let total: u64 = meta.info.files.iter().map(|f| f.length).sum();
    let start = u64::from(index).checked_mul(piece)?;
    if start >= total {
        return None;
    }
    let end = (start + piece).min(total);
    let mut spans = Vec::new();
    let mut off = 0u64;
    for (i, f) in meta.info.files.iter().enumerate() {
        let (fs, fe) = (off, off + f.length);
        off = fe;
        if fe <= start || f.length == 0 {
            continue;
        }
        if fs >= end {
            break;
        }
        if f.is_padding() {
            continue;
        }
        let s = fs.max(start);
        let e = fe.min(end);
        spans.push(Span {
            file: i,
            offset: s - fs,
            len: e - s,
            at: s - start,
        });
    }
    Some(spans)
}

/// Length of piece `index`.
fn piece_len(meta: &Metainfo, index: u32) -> u64 {
    let total: u64 = meta.info.files.iter().map(|f| f.length).sum();
    let start = u64::from(index) * meta.info.piece_length;
    meta.info.piece_length.min(total.saturating_sub(start))
}

/// An HTTP client for web seeds: its connections come from `bind` when that is a
/// specific address (like every other socket of the session, `--bind`).
pub fn client(bind: Option<SocketAddr>, timeout: Duration) -> reqwest::Client {
    let mut b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(timeout)
        .user_agent(concat!("reelseal/", env!("CARGO_PKG_VERSION")));
    if let Some(ip) = bind.map(|a| a.ip()).filter(|ip| !ip.is_unspecified()) {
        b = b.local_address(Some::<IpAddr>(ip));
    }
    b.build().unwrap_or_else(|_| reqwest::Client::new())
}

/// Read a response body, refusing more than `max` bytes.
async fn body(mut resp: reqwest::Response, max: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    while let Some(c) = resp
        .chunk()
        .await
        .map_err(|e| format!("the transfer broke off ({})", plain(&e)))?
    {
        if out.len() as u64 + c.len() as u64 > max {
            return Err(format!("it sent more than the {max} bytes asked for"));
        }
        out.extend_from_slice(&c);
    }
    Ok(out)
}

/// A reqwest error in a few words.
fn plain(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "no answer in time".into()
    } else if e.is_connect() {
        "cannot connect to it (is the server up, and the URL right?)".into()
    } else {
        let mut s = e.to_string();
        let mut src = std::error::Error::source(e);
        while let Some(x) = src {
            s = format!("{s}: {x}");
            src = x.source();
        }
        s
    }
}

/// Fetch `<base>release.torrent` (at most 64 MiB). The caller checks it against the
/// signed card before using it.
pub async fn fetch_torrent(client: &reqwest::Client, base: &str) -> Result<Vec<u8>, String> {
    let url = torrent_url(base);
    let resp = client
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("{url}: {}", plain(&e)))?;
    if !resp.status().is_success() {
        return Err(format!("{url}: the server answered HTTP {}", resp.status()));
    }
    body(resp, 64 << 20)
        .await
        .map_err(|e| format!("{url}: {e}"))
}

/// Fetch one range of one file.
async fn fetch_range(
    client: &reqwest::Client,
    url: &str,
    offset: u64,
    len: u64,
    file_len: u64,
) -> Result<Vec<u8>, RangeError> {
    let resp = client
        .get(url)
        .header(
            reqwest::header::RANGE,
            format!("bytes={}-{}", offset, offset + len - 1),
        )
        .send()
        .await
        .map_err(|e| RangeError::Other(plain(&e)))?;
    let status = resp.status().as_u16();
    let whole = offset == 0 && len == file_len;
    match status {
        206 => {
            let want = format!("bytes {}-{}/", offset, offset + len - 1);
            let got = resp
                .headers()
                .get(reqwest::header::CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or("")
                .to_string();
            if !got.starts_with(&want) {
                return Err(RangeError::Other(format!(
                    "it answered another range ({got:?}) than the one asked for"
                )));
            }
        }
        200 if whole => {}
        200 => return Err(RangeError::NoRanges),
        404 => {
            return Err(RangeError::Other(
                "the server answered HTTP 404: the file is not there (was the whole release folder uploaded?)".into(),
            ))
        }
        s => return Err(RangeError::Other(format!("the server answered HTTP {s}"))),
    }
    let b = body(resp, len).await.map_err(RangeError::Other)?;
    if b.len() as u64 != len {
        return Err(RangeError::Other(format!(
            "it sent {} bytes where {len} were asked for",
            b.len()
        )));
    }
    Ok(b)
}

enum RangeError {
    /// The server ignores Range requests (HTTP 200 with the whole file).
    NoRanges,
    Other(String),
}

/// Pieces claimed by one of a torrent's web seeds (so two seeds do not fetch the same).
type Claimed = Arc<Mutex<HashSet<u32>>>;

/// Start a task per web seed for `handle` (a live torrent whose metadata is `meta`).
pub(crate) fn start(
    handle: Arc<ManagedTorrent>,
    meta: Arc<Metainfo>,
    urls: Vec<String>,
    policy: WebSeedPolicy,
    board: Arc<Board>,
    bind: Option<SocketAddr>,
) -> WebSeeds {
    *board.seeds.lock().unwrap_or_else(|e| e.into_inner()) = urls
        .iter()
        .map(|u| WebSeedReport {
            url: u.clone(),
            host: url_host(u),
            pieces: 0,
            bytes: 0,
            refused: 0,
            stopped: None,
        })
        .collect();
    let client = client(bind, policy.request_timeout);
    let claimed: Claimed = Arc::default();
    let started = Instant::now();
    let tasks = urls
        .into_iter()
        .enumerate()
        .map(|(i, url)| {
            let seed = Seed {
                i,
                url,
                handle: handle.clone(),
                meta: meta.clone(),
                policy: policy.clone(),
                board: board.clone(),
                client: client.clone(),
                claimed: claimed.clone(),
            };
            tokio::spawn(seed.run(started))
        })
        .collect();
    WebSeeds { tasks }
}

struct Seed {
    i: usize,
    url: String,
    handle: Arc<ManagedTorrent>,
    meta: Arc<Metainfo>,
    policy: WebSeedPolicy,
    board: Arc<Board>,
    client: reqwest::Client,
    claimed: Claimed,
}

/// Releases a claimed piece however the fetch ends.
struct Claim<'a>(&'a Claimed, u32);
impl Drop for Claim<'_> {
    fn drop(&mut self) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&self.1);
    }
}

/// Pieces one web seed fetches at a time (its requests run concurrently).
const PARALLEL: usize = 4;

/// How often a web seed task looks at the torrent when it has nothing to do.
const IDLE_TICK: Duration = Duration::from_millis(250);

impl Seed {
    /// Is the swarm doing badly enough that the web seed should help?
    fn needed(&self, started: Instant) -> bool {
        if started.elapsed() < self.policy.grace {
            return false;
        }
        let s = self.handle.stats();
        match &s.live {
            Some(l) => {
                l.snapshot.peer_stats.live == 0
                    || l.download_speed.mbps * 1024.0 * 1024.0 < self.policy.slow_bps
            }
            None => false,
        }
    }

    /// The next piece to fetch: wanted by the torrent, not claimed by another seed, not
    /// refused by this one.
    fn pick(&self, refused: &HashSet<u32>) -> Option<u32> {
        let mut claimed = self.claimed.lock().unwrap_or_else(|e| e.into_inner());
        let p = self
            .handle
            .wanted_pieces(64)
            .into_iter()
            .find(|p| !claimed.contains(p) && !refused.contains(p))?;
        claimed.insert(p);
        Some(p)
    }

    fn stop(&self, why: String) {
        self.board.update(self.i, |r| r.stopped = Some(why.clone()));
        self.board.note(format!(
            "stopped using web seed {}: {why}; the rest comes from peers",
            self.url
        ));
    }

    async fn run(self, started: Instant) {
        let mut failures = 0u32;
        let mut refused: HashSet<u32> = HashSet::new();
        loop {
            if self.handle.stats().finished {
                return;
            }
            if !self.needed(started) {
                tokio::time::sleep(IDLE_TICK).await;
                continue;
            }
            let batch: Vec<u32> = std::iter::from_fn(|| self.pick(&refused))
                .take(PARALLEL)
                .collect();
            if batch.is_empty() {
                tokio::time::sleep(IDLE_TICK).await;
                continue;
            }
            let _claims: Vec<Claim> = batch.iter().map(|i| Claim(&self.claimed, *i)).collect();
            let fetched =
                futures::future::join_all(batch.iter().map(|i| self.fetch_piece(*i))).await;
            let mut failed = false;
            for (index, got) in batch.iter().copied().zip(fetched) {
                let note = match got {
                    Ok(data) => self.put(index, data, &mut refused).await,
                    Err(RangeError::NoRanges) => {
                        self.stop(
                            "the server does not answer HTTP Range requests (it sent a whole file where part of one was asked for); serve the release folder with one that does (nginx, Apache, Caddy, any object store)".into(),
                        );
                        return;
                    }
                    Err(RangeError::Other(why)) => {
                        refused.insert(index);
                        Some(format!("web seed {}: piece {index}: {why}", self.url))
                    }
                };
                match note {
                    None => failures = 0,
                    Some(note) => {
                        self.board.note(note);
                        failures += 1;
                        failed = true;
                        if failures >= self.policy.max_failures {
                            self.stop(format!("{failures} failures in a row"));
                            return;
                        }
                    }
                }
            }
            if failed {
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }

    /// Hand a fetched piece to librqbit (which writes it only if it hashes right); a
    /// note for the user if it was refused or could not be stored.
    async fn put(&self, index: u32, data: Vec<u8>, refused: &mut HashSet<u32>) -> Option<String> {
        let len = data.len() as u64;
        let handle = self.handle.clone();
        let put =
            tokio::task::spawn_blocking(move || handle.write_external_piece(index, &data)).await;
        match put {
            Ok(Ok(ExternalPiece::Written)) => {
                self.board.update(self.i, |r| {
                    r.pieces += 1;
                    r.bytes += len;
                });
                None
            }
            Ok(Ok(ExternalPiece::AlreadyHave | ExternalPiece::InFlight)) => None,
            Ok(Ok(ExternalPiece::HashMismatch)) => {
                refused.insert(index);
                self.board.update(self.i, |r| r.refused += 1);
                Some(format!(
                    "web seed {}: piece {index} does not match the torrent's hash: refused (nothing of it was written or decrypted); it will come from peers",
                    self.url
                ))
            }
            Ok(Err(e)) => Some(format!(
                "web seed {}: piece {index} could not be stored: {e:#}",
                self.url
            )),
            Err(e) => Some(format!(
                "web seed {}: piece {index}: the task storing it failed: {e}",
                self.url
            )),
        }
    }

    /// Fetch piece `index` whole, padding as zeros.
    async fn fetch_piece(&self, index: u32) -> Result<Vec<u8>, RangeError> {
        let spans = piece_spans(&self.meta, index)
            .ok_or_else(|| RangeError::Other(format!("there is no piece {index}")))?;
        let mut buf = vec![0u8; piece_len(&self.meta, index) as usize];
        for s in spans {
            let f = &self.meta.info.files[s.file];
            let url = file_url(&self.url, &self.meta.info.name, &f.path);
            let bytes = fetch_range(&self.client, &url, s.offset, s.len, f.length).await?;
            buf[s.at as usize..(s.at + s.len) as usize].copy_from_slice(&bytes);
        }
        Ok(buf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use reelseal_core::torrent::{layout, Info, Metainfo};

    fn meta(files: &[(&str, u64)], piece: u64) -> Metainfo {
        let sizes: Vec<(String, u64)> = files.iter().map(|(n, l)| (n.to_string(), *l)).collect();
        let files = layout(&sizes, piece);
        let total: u64 = files.iter().map(|f| f.length).sum();
        Metainfo {
            announce: None,
            announce_list: None,
            comment: None,
            created_by: None,
            creation_date: None,
            info: Info {
                files,
                name: "reelseal-0123".into(),
                piece_length: piece,
                pieces: vec![0; (total.div_ceil(piece) * 20) as usize],
                private: None,
            },
            reelseal: None,
            url_list: None,
        }
    }

    #[test]
    fn pieces_map_to_file_ranges_and_skip_padding() {
        const P: u64 = 65_536;
        // manifest 100 B + pad, f000 2.5 pieces + pad, f001 10 B (last: no pad).
        let m = meta(
            &[
                ("manifest.rsm", 100),
                ("f000.rsc", 2 * P + P / 2),
                ("f001.rsc", 10),
            ],
            P,
        );
        let names: Vec<String> = m.info.files.iter().map(|f| f.path.join("/")).collect();
        assert_eq!(
            names,
            [
                "manifest.rsm",
                ".pad/65436",
                "f000.rsc",
                ".pad/32768",
                "f001.rsc"
            ]
        );
        let span = |file, offset, len, at| Span {
            file,
            offset,
            len,
            at,
        };
        assert_eq!(piece_spans(&m, 0).unwrap(), [span(0, 0, 100, 0)]);
        assert_eq!(piece_spans(&m, 1).unwrap(), [span(2, 0, P, 0)]);
        assert_eq!(piece_spans(&m, 2).unwrap(), [span(2, P, P, 0)]);
        assert_eq!(piece_spans(&m, 3).unwrap(), [span(2, 2 * P, P / 2, 0)]);
        assert_eq!(piece_spans(&m, 4).unwrap(), [span(4, 0, 10, 0)]);
        assert_eq!(piece_spans(&m, 5), None);
        assert_eq!(piece_len(&m, 0), P);
        assert_eq!(piece_len(&m, 4), 10);
    }

    #[test]
    fn a_piece_can_span_several_files() {
        // Pieces larger than the files: one piece covers manifest, f000 and f001.
        let m = meta(&[("manifest.rsm", 100), ("f000.rsc", 300)], 1 << 20);
        // layout pads only up to the next piece boundary: the manifest gets a pad.
        let spans = piece_spans(&m, 0).unwrap();
        assert_eq!(spans.len(), 1);
        assert_eq!(
            spans[0],
            Span {
                file: 0,
                offset: 0,
                len: 100,
                at: 0
            }
        );
        // Without padding (a torrent another tool made): both files in piece 0.
        let mut m2 = m.clone();
        m2.info.files.retain(|f| !f.is_padding());
        let spans = piece_spans(&m2, 0).unwrap();
        assert_eq!(
            spans,
            [
                Span {
                    file: 0,
                    offset: 0,
                    len: 100,
                    at: 0
                },
                Span {
                    file: 1,
                    offset: 0,
                    len: 300,
                    at: 100
                }
            ]
        );
    }

    #[test]
    fn urls_follow_bep_19() {
        assert_eq!(
            file_url(
                "http://127.0.0.1:8080/films/x/",
                "reelseal-0123",
                &["f000.rsc".into()]
            ),
            "http://127.0.0.1:8080/films/x/reelseal-0123/f000.rsc"
        );
        assert_eq!(
            file_url("https://h/a", "my film", &["é".into()]),
            "https://h/a/my%20film/%C3%A9"
        );
        assert_eq!(torrent_url("https://h/a/"), "https://h/a/release.torrent");
        assert_eq!(
            url_host("https://cdn.example.org:8443/x/"),
            "cdn.example.org:8443"
        );
    }
}
