//! `reelview play`: download through the swarm and serve each film file's *decrypted*
//! plaintext over HTTP on loopback for a player, decrypting only the 64 KiB chunks a
//! request needs, from librqbit's file streams (which fetch the pieces at the read
//! position first and yield only hash-verified bytes). Plaintext never touches the disk.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::{Path as UrlPath, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use reelseal_core::card::Card;
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::ManifestFile;
use reelseal_core::stream::{Geometry, CHUNK_CT, CHUNK_PLAIN};
use reelseal_swarm::{Swarm, Torrent};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::Semaphore;

use crate::swarm_cmds::{self, NetArgs};
use crate::util;
use crate::viewer::{self, TrustArgs};

/// librqbit allows 8 file streams at once; keep a margin for the downloader itself.
const MAX_STREAMS: usize = 6;

/// Which player to start.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Player {
    /// mpv if installed, else VLC, else print the URL.
    Auto,
    /// mpv.
    Mpv,
    /// VLC.
    Vlc,
    /// Start nothing; print the URLs.
    None,
}

/// Options of `reelview play`.
pub struct PlayArgs {
    /// Grant file.
    pub key: PathBuf,
    /// Which file to open in the player (default: the first video).
    pub file: Option<String>,
    /// Where the HTTP server listens.
    pub listen: SocketAddr,
    /// Player.
    pub player: Player,
    /// Network.
    pub net: NetArgs,
    /// Trust decisions.
    pub trust: TrustArgs,
    /// JSON output.
    pub json: bool,
    /// No status line.
    pub quiet: bool,
}

/// One served output: a file, or a track of the viewer's segments.
struct Served {
    path: String,
    media_type: String,
    size: u64,
    parts: Vec<Part>,
}

/// A ciphertext file inside a served output, starting at plaintext offset `start`.
struct Part {
    file: ManifestFile,
    index: usize,
    geo: Geometry,
    start: u64,
}

struct PlayState {
    torrent: Torrent,
    card: Card,
    keys: KeySet,
    token: String,
    files: Vec<Served>,
    streams: Arc<Semaphore>,
}

/// `reelview play`.
pub async fn play(home: viewer::Home, a: PlayArgs) -> Result<()> {
    let (key, trust) = (a.key.clone(), a.trust.clone());
    let auth = tokio::task::spawn_blocking(move || {
        viewer::authorize(&home, &key, &trust).map(|x| (x, home))
    })
    .await??;
    let (auth, home) = auth;
    let card = auth.grant.card().card().clone();
    // Ciphertext only, kept in the viewer's cache so a replay starts from what is there.
    let cache = home.dir.join("cache").join(card.infohash_hex());
    let swarm = Swarm::start(a.net.options()).await?;
    let result = serve(&swarm, card, auth.keys, &cache, &a).await;
    swarm.stop().await;
    result
}

async fn serve(
    swarm: &Swarm,
    card: Card,
    keys: KeySet,
    cache: &std::path::Path,
    a: &PlayArgs,
) -> Result<()> {
    let joined = swarm_cmds::join_release(swarm, &card, &keys, cache, &a.net.peers).await?;
    let mut files = Vec::new();
    for o in joined.manifest.outputs(&keys)? {
        let mut parts = Vec::with_capacity(o.parts.len());
        let mut start = 0;
        for f in &o.parts {
            let index = joined
                .index_of(&f.ct_name)
                .context("file missing from torrent")?;
            let len = card
                .files
                .iter()
                .find(|c| c.name == f.ct_name)
                .map(|c| c.len)
                .context("file not in card")?;
            parts.push(Part {
                file: f.clone(),
                index,
                geo: Geometry::from_ciphertext_len(len)?,
                start,
            });
            start += f.size;
        }
        files.push(Served {
            path: o.display_path(),
            media_type: o.media_type.clone(),
            size: o.size(),
            parts,
        });
    }
    let token = hex::encode(reelseal_core::random_array::<16>());
    let state = Arc::new(PlayState {
        torrent: joined.torrent.clone(),
        card,
        keys,
        token,
        files,
        streams: Arc::new(Semaphore::new(MAX_STREAMS)),
    });
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .with_context(|| format!("cannot listen on {}", a.listen))?;
    let addr = listener.local_addr()?;
    let url_of = |s: &Served| format!("http://{addr}/{}/{}", state.token, url_path(&s.path));
    let chosen = match &a.file {
        Some(name) => state
            .files
            .iter()
            .find(|s| &s.path == name || s.path.ends_with(name.as_str()))
            .with_context(|| {
                format!(
                    "no file {name:?} in this release; it has: {}",
                    state
                        .files
                        .iter()
                        .map(|s| s.path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            })?,
        None => state
            .files
            .iter()
            .find(|s| s.media_type.starts_with("video/"))
            .unwrap_or(&state.files[0]),
    };
    let main_url = url_of(chosen);
    if a.json {
        println!(
            "{}",
            json!({"url": main_url, "files": state.files.iter().map(|s| json!({"path": s.path, "url": url_of(s), "size": s.size, "media_type": s.media_type})).collect::<Vec<_>>()})
        );
    } else {
        println!("streaming {} at {main_url}", chosen.path);
        for s in state.files.iter().filter(|s| s.path != chosen.path) {
            println!("  also    {} at {}", s.path, url_of(s));
        }
    }
    use std::io::Write;
    let _ = std::io::stdout().flush();

    let app = Router::new()
        .route("/{token}/{*path}", get(handle).head(handle))
        .with_state(state.clone());
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let mut player = start_player(a.player, &main_url)?;

    let pb = if a.quiet || a.json {
        indicatif::ProgressBar::hidden()
    } else {
        indicatif::ProgressBar::new_spinner()
    };
    let stopped = loop {
        let s = state.torrent.stats();
        pb.set_message(format!(
            "buffered {}/{} ({:.0}%), {} peers, {}/s down",
            util::human_bytes(s.have_bytes),
            util::human_bytes(s.total_bytes),
            if s.total_bytes > 0 {
                100.0 * s.have_bytes as f64 / s.total_bytes as f64
            } else {
                0.0
            },
            s.peers,
            util::human_bytes(s.down_bps as u64)
        ));
        pb.tick();
        if let Some(p) = player.as_mut() {
            if p.try_wait()?.is_some() {
                break "the player exited";
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = tokio::signal::ctrl_c() => break "interrupted",
        }
    };
    pb.finish_and_clear();
    server.abort();
    if !a.json {
        eprintln!("stopped ({stopped})");
    }
    Ok(())
}

fn url_path(p: &str) -> String {
    p.split('/')
        .map(|seg| {
            seg.bytes()
                .map(|b| {
                    if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                        (b as char).to_string()
                    } else {
                        format!("%{b:02X}")
                    }
                })
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn start_player(p: Player, url: &str) -> Result<Option<std::process::Child>> {
    let candidates: &[&str] = match p {
        Player::None => return Ok(None),
        Player::Auto => &["mpv", "vlc"],
        Player::Mpv => &["mpv"],
        Player::Vlc => &["vlc"],
    };
    for c in candidates {
        if let Ok(child) = std::process::Command::new(c)
            .arg(url)
            .stdin(std::process::Stdio::null())
            .spawn()
        {
            eprintln!("started {c}");
            return Ok(Some(child));
        }
    }
    if matches!(p, Player::Auto) {
        eprintln!("no mpv or vlc found: open the URL above in any player or browser; ^C to stop");
        Ok(None)
    } else {
        anyhow::bail!(
            "{} is not installed (or not on PATH); use --player none and open the URL yourself",
            candidates[0]
        )
    }
}

/// A parsed single byte range, inclusive.
#[derive(Debug, PartialEq, Eq)]
enum Range {
    Full,
    Part(u64, u64),
    Unsatisfiable,
}

/// RFC 9110 single byte ranges: `bytes=a-b`, `bytes=a-`, `bytes=-n`. Several ranges or a
/// malformed header are served as the full body (allowed by the RFC).
fn parse_range(h: Option<&str>, len: u64) -> Range {
    let Some(spec) = h.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return Range::Full;
    };
    if spec.contains(',') {
        return Range::Full;
    }
    let Some((a, b)) = spec.trim().split_once('-') else {
        return Range::Full;
    };
    let (a, b) = (a.trim(), b.trim());
    match (a.parse::<u64>().ok(), b.parse::<u64>().ok()) {
        (None, Some(n)) if a.is_empty() => {
            if n == 0 || len == 0 {
                Range::Unsatisfiable
            } else {
                Range::Part(len.saturating_sub(n), len - 1)
            }
        }
        (Some(s), None) if b.is_empty() => {
            if s >= len {
                Range::Unsatisfiable
            } else {
                Range::Part(s, len - 1)
            }
        }
        (Some(s), Some(e)) if s <= e => {
            if s >= len {
                Range::Unsatisfiable
            } else {
                Range::Part(s, e.min(len - 1))
            }
        }
        _ => Range::Full,
    }
}

async fn handle(
    State(st): State<Arc<PlayState>>,
    method: Method,
    UrlPath((token, path)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    let token_ok: bool =
        subtle::ConstantTimeEq::ct_eq(token.as_bytes(), st.token.as_bytes()).into();
    let Some(served) = st
        .files
        .iter()
        .position(|s| s.path == path)
        .filter(|_| token_ok)
    else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let s = &st.files[served];
    let len = s.size;
    let (status, start, end) = match parse_range(
        headers.get(header::RANGE).and_then(|v| v.to_str().ok()),
        len,
    ) {
        Range::Full => (StatusCode::OK, 0, len.saturating_sub(1)),
        Range::Part(a, b) => (StatusCode::PARTIAL_CONTENT, a, b),
        Range::Unsatisfiable => {
            return Response::builder()
                .status(StatusCode::RANGE_NOT_SATISFIABLE)
                .header(header::CONTENT_RANGE, format!("bytes */{len}"))
                .header(header::ACCEPT_RANGES, "bytes")
                .body(Body::empty())
                .expect("valid response");
        }
    };
    let body_len = if len == 0 { 0 } else { end - start + 1 };
    let mut resp = Response::builder()
        .status(status)
        .header(header::CONTENT_TYPE, s.media_type.as_str())
        .header(header::ACCEPT_RANGES, "bytes")
        .header(header::CONTENT_LENGTH, body_len)
        .header(header::CACHE_CONTROL, "no-store");
    if status == StatusCode::PARTIAL_CONTENT {
        resp = resp.header(header::CONTENT_RANGE, format!("bytes {start}-{end}/{len}"));
    }
    if method == Method::HEAD || body_len == 0 {
        return resp.body(Body::empty()).expect("valid response");
    }
    resp.body(Body::from_stream(plaintext_stream(
        st.clone(),
        served,
        start,
        end,
    )))
    .expect("valid response")
}

type OpenStream = (
    Box<dyn reelseal_swarm::FileReader>,
    tokio::sync::OwnedSemaphorePermit,
);

/// The decrypted bytes `start..=end` of an output, chunk by chunk across its parts. A
/// chunk that fails authentication ends the response with an error (the client sees a cut
/// connection) and is logged; its plaintext is never sent.
fn plaintext_stream(
    st: Arc<PlayState>,
    served: usize,
    start: u64,
    end: u64,
) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> {
    // Every (part, chunk) the range touches, in order.
    let steps: Vec<(usize, u64)> = st.files[served]
        .parts
        .iter()
        .enumerate()
        .filter(|(_, p)| p.file.size > 0 && p.start <= end && p.start + p.file.size > start)
        .flat_map(|(pi, p)| {
            let first = start.saturating_sub(p.start) / CHUNK_PLAIN as u64;
            let last = (end.min(p.start + p.file.size - 1) - p.start) / CHUNK_PLAIN as u64;
            (first..=last).map(move |c| (pi, c))
        })
        .collect();
    futures::stream::unfold(
        (st, None::<(usize, OpenStream)>, 0usize),
        move |(st, mut reader, k)| {
            let step = steps.get(k).copied();
            async move {
                let (pi, i) = step?; // past the end: dropping the reader releases its permit
                let r = next_chunk(&st, served, pi, &mut reader, i, start, end).await;
                let next = if r.is_err() { usize::MAX } else { k + 1 };
                Some((r, (st, reader, next)))
            }
        },
    )
}

async fn next_chunk(
    st: &PlayState,
    served: usize,
    pi: usize,
    reader: &mut Option<(usize, OpenStream)>,
    i: u64,
    start: u64,
    end: u64,
) -> std::io::Result<bytes::Bytes> {
    let s = &st.files[served];
    let p = &s.parts[pi];
    if reader.as_ref().is_none_or(|(open, _)| *open != pi) {
        *reader = None; // release the previous part's stream and permit first
        let permit = st
            .streams
            .clone()
            .acquire_owned()
            .await
            .map_err(std::io::Error::other)?;
        let mut f = st
            .torrent
            .stream(p.index)
            .await
            .map_err(std::io::Error::other)?;
        f.seek(std::io::SeekFrom::Start(i * CHUNK_CT as u64))
            .await?;
        *reader = Some((pi, (f, permit)));
    }
    let (_, (f, _)) = reader.as_mut().expect("opened above");
    let (_, clen) = p.geo.chunk_range(i);
    let mut buf = vec![0u8; clen];
    f.read_exact(&mut buf).await?;
    let cipher = p
        .file
        .cipher(&st.keys, &st.card.release_id())
        .map_err(std::io::Error::other)?;
    let n = cipher
        .open_in_place(i, p.geo.is_last(i), &mut buf)
        .map_err(|e| {
            tracing::error!(
                "{}: chunk {i} of {} failed authentication; refusing to send it ({e})",
                s.path,
                p.file.ct_name
            );
            eprintln!(
                "error: {}: chunk {i} of {} failed authentication; the response was cut",
                s.path, p.file.ct_name
            );
            std::io::Error::other(e)
        })?;
    buf.truncate(n);
    let chunk_start = p.start + i * CHUNK_PLAIN as u64;
    let from = start.saturating_sub(chunk_start) as usize;
    let to = ((end + 1).min(chunk_start + n as u64) - chunk_start) as usize;
    Ok(bytes::Bytes::from(buf).slice(from..to))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges() {
        assert_eq!(parse_range(Some("bytes=0-1"), 100), Range::Part(0, 1));
        assert_eq!(parse_range(Some("bytes=10-"), 100), Range::Part(10, 99));
        assert_eq!(parse_range(Some("bytes=-100"), 100), Range::Part(0, 99));
        assert_eq!(parse_range(Some("bytes=-5"), 100), Range::Part(95, 99));
        assert_eq!(parse_range(Some("bytes=90-500"), 100), Range::Part(90, 99));
        assert_eq!(parse_range(Some("bytes=100-"), 100), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=-0"), 100), Range::Unsatisfiable);
        assert_eq!(parse_range(Some("bytes=0-1,5-6"), 100), Range::Full);
        assert_eq!(parse_range(Some("items=0-1"), 100), Range::Full);
        assert_eq!(parse_range(None, 100), Range::Full);
    }
}
