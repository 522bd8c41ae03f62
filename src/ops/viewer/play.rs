//! `reelview play`: download through the swarm and serve each film file's *decrypted*
//! plaintext over HTTP on loopback for a player, decrypting only the 64 KiB chunks a
//! request needs (the plan comes from `reelseal_core::range`), from librqbit's file
//! streams (which fetch the pieces at the read position first and yield only
//! hash-verified bytes). Plaintext never touches the disk.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};
use axum::body::Body;
use axum::extract::{ConnectInfo, Path as UrlPath, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use reelseal_core::card::Card;
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::ManifestFile;
use reelseal_core::range::{self, ChunkRead};
use reelseal_core::stream::{Geometry, CHUNK_CT};
use reelseal_swarm::{Swarm, Torrent};
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio::sync::Semaphore;

use super::join::join_release;
use super::local_peer;
use super::watch::watch;
use super::{Access, Viewer};
use crate::feedback::{Feedback, Unit};
use crate::ops::net::Net;
use crate::ops::{Event, Interrupt};

/// librqbit allows 8 file streams at once; keep a margin for the downloader itself.
const MAX_STREAMS: usize = 6;

/// Which player to start.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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

/// What `reelview play` was asked.
#[derive(Clone, Debug)]
pub struct PlayPlan {
    /// The `.rskey`.
    pub key: PathBuf,
    /// File to open in the player (path or its end); default the first video.
    pub file: Option<String>,
    /// Where the HTTP server listens (loopback unless `allow_remote`).
    pub listen: SocketAddr,
    /// Serve on a non-loopback address (the token is then the only protection).
    pub allow_remote: bool,
    /// Which player.
    pub player: Player,
    /// Give up after this long without progress (`--timeout`).
    pub timeout: Option<std::time::Duration>,
    /// Extra arguments for the player, verbatim (`--player-arg`).
    pub player_args: Vec<String>,
    /// The swarm.
    pub net: Net,
    /// Trust and revocations.
    pub access: Access,
}

/// `play` is listening: printed at once, before the swarm has been asked for anything.
/// The URL plays the chosen film; a player that opens it early waits until the
/// release's file list (its manifest, in the first piece) has arrived.
#[derive(Clone, Debug, Serialize)]
pub struct PlayUrl {
    /// The URL of the film (the one `--file` names, else the first video).
    pub url: String,
    /// What happens next, for people and scripts.
    pub state: &'static str,
}

/// The release's files are known: the stream is up.
#[derive(Clone, Debug, Serialize)]
pub struct Streaming {
    /// The URL opened in the player.
    pub url: String,
    /// Every file and its URL.
    pub files: Vec<StreamedFile>,
}

/// One file served.
#[derive(Clone, Debug, Serialize)]
pub struct StreamedFile {
    /// Path in the release.
    pub path: String,
    /// Its URL.
    pub url: String,
    /// Size.
    pub size: u64,
    /// Media type.
    pub media_type: String,
}

/// Playback ended.
#[derive(Clone, Debug, Serialize)]
pub struct PlayReport {
    /// Why: "the player exited" or "interrupted".
    pub stopped: String,
}

/// One served output: a file, or a track of the viewer's segments.
struct Served {
    path: String,
    media_type: String,
    size: u64,
    parts: Vec<Part>,
}

/// A ciphertext file inside a served output.
struct Part {
    file: ManifestFile,
    index: usize,
    geo: Geometry,
}

struct PlayState {
    /// Where the server listens (for looking up who a local peer is).
    local: SocketAddr,
    card: Card,
    keys: KeySet,
    token: String,
    /// Set once the release is joined; requests that come earlier wait for it.
    release: tokio::sync::OnceCell<Release>,
    /// Wakes the requests waiting for `release`.
    joined: tokio::sync::Notify,
    streams: Arc<Semaphore>,
}

/// The joined release, as served.
struct Release {
    torrent: Torrent,
    files: Vec<Served>,
    /// The file `/TOKEN/` plays.
    chosen: usize,
}

impl PlayState {
    /// The joined release; waits for it (a player may open the URL before it is joined;
    /// the server is stopped when `play` ends, which ends the wait).
    async fn release(&self) -> &Release {
        loop {
            // Registered before the check, so a `notify_waiters` in between is not lost.
            let joined = self.joined.notified();
            if let Some(r) = self.release.get() {
                return r;
            }
            joined.await;
        }
    }
}

impl Viewer {
    /// Stream a release to a player until it exits or `interrupt` fires.
    pub async fn play(
        &self,
        plan: &PlayPlan,
        fb: &dyn Feedback,
        interrupt: &Interrupt,
    ) -> Result<PlayReport> {
        if !plan.listen.ip().is_loopback() {
            if !plan.allow_remote {
                return Err(crate::exit::refuse(
                    crate::exit::Exit::Usage,
                    format!("--listen {} is not a loopback address: anyone who can reach it and learns the URL could watch the decrypted film. Keep the default 127.0.0.1, or pass --allow-remote if you mean it", plan.listen),
                ));
            }
            fb.warn(&format!(
                "serving the decrypted film on {} (--allow-remote): only the URL's token protects it from other machines",
                plan.listen
            ));
        }
        let auth = tokio::task::block_in_place(|| self.authorize(&plan.key, &plan.access, fb))?;
        let card = auth.grant.card().card().clone();
        // Listen and say where at once: the URL does not depend on anything from the swarm.
        let listener = tokio::net::TcpListener::bind(plan.listen)
            .await
            .with_context(|| format!("cannot listen on {}", plan.listen))?;
        let addr = listener.local_addr()?;
        let state = Arc::new(PlayState {
            local: addr,
            card: card.clone(),
            keys: auth.keys,
            token: hex::encode(reelseal_core::random_array::<16>()),
            release: tokio::sync::OnceCell::new(),
            joined: tokio::sync::Notify::new(),
            streams: Arc::new(Semaphore::new(MAX_STREAMS)),
        });
        fb.announce(&Event::PlayUrl(PlayUrl {
            url: format!("http://{addr}/{}/", state.token),
            state:
                "waiting for the release from the swarm; the URL plays once its file list arrives",
        }));
        let app = Router::new()
            .route("/{token}/", get(handle_chosen).head(handle_chosen))
            .route("/{token}/{*path}", get(handle).head(handle))
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });
        // Ciphertext only, kept in the viewer's cache so a replay starts from what is there.
        let cache = self.home.play_cache(&card.infohash());
        let result = async {
            let swarm = plan
                .net
                .start(&self.home.swarm_state(), reelseal_swarm::Role::Peer)
                .await?;
            // The status line from the first second; while playing, the session also uploads
            // verified pieces to other viewers (play seeds while it plays).
            let line = fb.progress("swarm", Unit::Status, 0);
            let infohash = card.infohash();
            let kept = cache.display().to_string();
            let result = tokio::select! {
                r = serve(&swarm, &state, &cache, plan, fb, interrupt) => r,
                e = watch(&swarm, infohash, &*line, fb, plan.timeout, &kept) => Err(e),
                _ = interrupt.wait() => Ok(PlayReport { stopped: "interrupted".into() }),
            };
            line.finish();
            swarm.stop().await;
            result
        }
        .await;
        server.abort();
        result
    }
}

async fn serve(
    swarm: &Swarm,
    state: &PlayState,
    cache: &std::path::Path,
    plan: &PlayPlan,
    fb: &dyn Feedback,
    interrupt: &Interrupt,
) -> Result<PlayReport> {
    let (card, keys) = (&state.card, &state.keys);
    let joined = join_release(swarm, card, keys, cache, &plan.net.peers, fb).await?;
    let mut files = Vec::new();
    for o in joined.manifest.outputs(keys)? {
        let mut parts = Vec::with_capacity(o.parts.len());
        for f in &o.parts {
            let len = card.file(&f.ct_name).context("file not in card")?.len;
            parts.push(Part {
                file: f.clone(),
                index: joined.index_of(&f.ct_name)?,
                geo: Geometry::from_ciphertext_len(len)?,
            });
        }
        files.push(Served {
            path: o.display_path(),
            media_type: o.media_type.clone(),
            size: o.size(),
            parts,
        });
    }
    let chosen = choose(&files, plan.file.as_deref())?;
    let url_of = |s: &Served| {
        format!(
            "http://{}/{}/{}",
            state.local,
            state.token,
            url_path(&s.path)
        )
    };
    let main_url = url_of(&files[chosen]);
    fb.announce(&Event::Streaming(Streaming {
        url: main_url.clone(),
        files: files
            .iter()
            .map(|s| StreamedFile {
                path: s.path.clone(),
                url: url_of(s),
                size: s.size,
                media_type: s.media_type.clone(),
            })
            .collect(),
    }));
    // The sealed subtitles go to the player with the film (through the same private files).
    let subtitles: Vec<String> = files
        .iter()
        .enumerate()
        .filter(|(i, s)| *i != chosen && is_subtitle(&s.path))
        .map(|(_, s)| url_of(s))
        .collect();
    if state
        .release
        .set(Release {
            torrent: joined.torrent.clone(),
            files,
            chosen,
        })
        .is_err()
    {
        anyhow::bail!("internal: the release was joined twice");
    }
    state.joined.notify_waiters();
    let playlist = Playlist::write(&main_url, &subtitles)?;
    let mut player = start_player(plan.player, &plan.player_args, &playlist, fb)?;
    let stopped = loop {
        if let Some(p) = player.as_mut() {
            if p.try_wait()?.is_some() {
                break "the player exited";
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_millis(500)) => {}
            _ = interrupt.wait() => break "interrupted",
        }
    };
    Ok(PlayReport {
        stopped: stopped.into(),
    })
}

/// The file to open: the one named (by path or its end), else the first video.
fn choose(files: &[Served], name: Option<&str>) -> Result<usize> {
    match name {
        Some(name) => files
            .iter()
            .position(|s| s.path == name || s.path.ends_with(name))
            .with_context(|| {
                format!(
                    "no file {name:?} in this release; it has: {}",
                    files
                        .iter()
                        .map(|s| s.path.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            }),
        None => files
            .iter()
            .position(|s| s.media_type.starts_with("video/"))
            .or((!files.is_empty()).then_some(0))
            .context("the release has no files"),
    }
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

/// Subtitle files players load next to a film.
fn is_subtitle(path: &str) -> bool {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    matches!(ext.as_str(), "srt" | "vtt" | "ass" | "ssa" | "sub")
}

/// The stream URLs in 0600 files inside a 0700 temporary folder: the player gets the
/// files' paths, never a URL, on its command line (which any local user can read in
/// `/proc/PID/cmdline`). Removed when playback ends.
///
/// - `film.m3u`: the film, and for VLC (3.0+) its subtitles as `input-slave` options;
/// - `mpv.conf`: the subtitles for mpv (`--include`), one `sub-files-append` each.
struct Playlist {
    _dir: tempfile::TempDir,
    path: std::path::PathBuf,
    mpv_include: Option<std::path::PathBuf>,
}

impl Playlist {
    fn write(url: &str, subtitles: &[String]) -> Result<Self> {
        let dir = tempfile::Builder::new()
            .prefix("reelview-play-")
            .tempdir()?;
        let path = dir.path().join("film.m3u");
        let mut m3u = String::from("#EXTM3U\n");
        for s in subtitles {
            m3u.push_str(&format!("#EXTVLCOPT:input-slave={s}\n"));
        }
        m3u.push_str(&format!("{url}\n"));
        crate::fsutil::write_atomic(&path, m3u.as_bytes(), true)?;
        let mpv_include = if subtitles.is_empty() {
            None
        } else {
            let p = dir.path().join("mpv.conf");
            let conf: String = subtitles
                .iter()
                .map(|s| format!("sub-files-append={s}\n"))
                .collect();
            crate::fsutil::write_atomic(&p, conf.as_bytes(), true)?;
            Some(p)
        };
        Ok(Playlist {
            _dir: dir,
            path,
            mpv_include,
        })
    }
}

fn start_player(
    p: Player,
    extra: &[String],
    playlist: &Playlist,
    fb: &dyn Feedback,
) -> Result<Option<std::process::Child>> {
    let candidates: &[&str] = match p {
        Player::None => return Ok(None),
        Player::Auto => &["mpv", "vlc"],
        Player::Mpv => &["mpv"],
        Player::Vlc => &["vlc"],
    };
    for c in candidates {
        let mut cmd = std::process::Command::new(c);
        if *c == "mpv" {
            cmd.arg(format!("--playlist={}", playlist.path.display()));
            if let Some(inc) = &playlist.mpv_include {
                cmd.arg(format!("--include={}", inc.display()));
            }
        } else {
            cmd.arg(&playlist.path);
        }
        cmd.args(extra);
        if let Ok(child) = cmd.stdin(std::process::Stdio::null()).spawn() {
            fb.note(&format!("started {c}"));
            return Ok(Some(child));
        }
    }
    if p == Player::Auto {
        fb.note("no mpv or vlc found: open the URL above in any player or browser; ^C to stop");
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
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    UrlPath((token, path)): UrlPath<(String, String)>,
    headers: HeaderMap,
) -> Response {
    respond(st, peer, method, &token, Some(&path), headers).await
}

/// `/TOKEN/`: the chosen film (the URL printed before the file list is known).
async fn handle_chosen(
    State(st): State<Arc<PlayState>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    method: Method,
    UrlPath(token): UrlPath<String>,
    headers: HeaderMap,
) -> Response {
    respond(st, peer, method, &token, None, headers).await
}

async fn respond(
    st: Arc<PlayState>,
    peer: SocketAddr,
    method: Method,
    token: &str,
    path: Option<&str>,
    headers: HeaderMap,
) -> Response {
    // A local peer must be this viewer's own uid (another user's player or curl gets 403);
    // remote peers (only with --allow-remote) cannot be looked up.
    if peer.ip().is_loopback() && local_peer::peer_uid(peer, st.local) != Some(local_peer::my_uid())
    {
        tracing::warn!("refused a connection from {peer}: its socket does not belong to this user");
        return (
            StatusCode::FORBIDDEN,
            "this stream is only for the user who started reelview play\n",
        )
            .into_response();
    }
    let token_ok: bool =
        subtle::ConstantTimeEq::ct_eq(token.as_bytes(), st.token.as_bytes()).into();
    if !token_ok {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    }
    // Only the owner with the token gets here: wait for the release if it is not joined yet.
    let release = st.release().await;
    let served = match path {
        None => Some(release.chosen),
        Some(path) => release.files.iter().position(|s| s.path == path),
    };
    let Some(served) = served else {
        return (StatusCode::NOT_FOUND, "not found").into_response();
    };
    let s = &release.files[served];
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
    let sizes: Vec<u64> = s.parts.iter().map(|p| p.file.size).collect();
    let steps = range::plan(&sizes, start, end);
    resp.body(Body::from_stream(plaintext_stream(
        st.clone(),
        served,
        steps,
    )))
    .expect("valid response")
}

type OpenStream = (
    Box<dyn reelseal_swarm::FileReader>,
    tokio::sync::OwnedSemaphorePermit,
);

/// The decrypted bytes of the planned chunks, in order. A chunk that fails
/// authentication ends the response with an error (the client sees a cut connection)
/// and is logged; its plaintext is never sent.
fn plaintext_stream(
    st: Arc<PlayState>,
    served: usize,
    steps: Vec<ChunkRead>,
) -> impl futures::Stream<Item = std::io::Result<bytes::Bytes>> {
    futures::stream::unfold(
        (st, None::<(usize, OpenStream)>, 0usize),
        move |(st, mut reader, k)| {
            let step = steps.get(k).copied();
            async move {
                let step = step?; // past the end: dropping the reader releases its permit
                let r = next_chunk(&st, served, &mut reader, step).await;
                let next = if r.is_err() { usize::MAX } else { k + 1 };
                Some((r, (st, reader, next)))
            }
        },
    )
}

async fn next_chunk(
    st: &PlayState,
    served: usize,
    reader: &mut Option<(usize, OpenStream)>,
    step: ChunkRead,
) -> std::io::Result<bytes::Bytes> {
    let release = st.release().await;
    let s = &release.files[served];
    let p = &s.parts[step.part];
    let i = step.chunk;
    if reader.as_ref().is_none_or(|(open, _)| *open != step.part) {
        *reader = None; // release the previous part's stream and permit first
        let permit = st
            .streams
            .clone()
            .acquire_owned()
            .await
            .map_err(std::io::Error::other)?;
        let mut f = release
            .torrent
            .stream(p.index)
            .await
            .map_err(std::io::Error::other)?;
        f.seek(std::io::SeekFrom::Start(i * CHUNK_CT as u64))
            .await?;
        *reader = Some((step.part, (f, permit)));
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
                "{}: chunk {i} of {} failed authentication; the response was cut ({e})",
                s.path,
                p.file.ct_name
            );
            std::io::Error::other(e)
        })?;
    buf.truncate(n);
    Ok(bytes::Bytes::from(buf).slice(step.skip..step.skip + step.take))
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
