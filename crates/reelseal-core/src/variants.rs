//! Variant renditions: two HLS renditions (A and B) of the same film, cut into the same
//! segments, turned into seal inputs and one track.
//!
//! Segments that are byte-identical in A and B are sealed once under the main key; every
//! other segment is a *traced position*: A sealed under key `1 + 2t`, B under `2 + 2t`
//! ([`crate::tardos::variant_key_id`]), so a grant carrying one of the two keys per position
//! carries a codeword.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::keyset::MAIN_KEY;
use crate::seal::{Input, Source, TrackPlan};
use crate::tardos::variant_key_id;
use crate::{Error, Result};

/// One segment of a media playlist.
#[derive(Clone, Debug, PartialEq)]
pub struct PlaylistSegment {
    /// Duration in milliseconds (`#EXTINF`, rounded).
    pub duration_ms: u64,
    /// Segment file name, relative to the playlist.
    pub uri: String,
}

/// Parse an HLS media playlist (RFC 8216) into its segments. Only what variant sealing can
/// honour is accepted: MPEG-TS segments as plain relative file names, unencrypted, whole
/// files (no byte ranges, no fMP4 init sections, no master playlists).
pub fn parse_playlist(text: &str, what: &str) -> Result<Vec<PlaylistSegment>> {
    let bad =
        |line: usize, why: String| Error::malformed("playlist", format!("{what}:{line}: {why}"));
    let mut lines = text.lines().enumerate().map(|(i, l)| (i + 1, l.trim()));
    match lines.next() {
        Some((_, "#EXTM3U")) => {}
        _ => {
            return Err(bad(
                1,
                "not an HLS playlist (it must start with #EXTM3U)".into(),
            ))
        }
    }
    let mut out = Vec::new();
    let mut pending: Option<u64> = None;
    for (n, line) in lines {
        if line.is_empty() {
            continue;
        }
        if let Some(rest) = line.strip_prefix("#EXTINF:") {
            let secs = rest.split(',').next().unwrap_or("").trim();
            let secs: f64 = secs
                .parse()
                .ok()
                .filter(|s: &f64| s.is_finite() && *s >= 0.0)
                .ok_or_else(|| bad(n, format!("bad segment duration {secs:?}")))?;
            pending = Some((secs * 1000.0).round() as u64);
        } else if line.starts_with("#EXT-X-STREAM-INF") {
            return Err(bad(n, "this is a master playlist; give the directory of one media playlist (one rendition)".into()));
        } else if line.starts_with("#EXT-X-KEY")
            || line.starts_with("#EXT-X-BYTERANGE")
            || line.starts_with("#EXT-X-MAP")
        {
            return Err(bad(
                n,
                format!(
                    "{} is not supported: deliver unencrypted MPEG-TS segments, one file each",
                    line.split(':').next().unwrap_or(line)
                ),
            ));
        } else if line.starts_with('#') {
            continue;
        } else {
            let dur = pending
                .take()
                .ok_or_else(|| bad(n, format!("segment {line:?} has no #EXTINF before it")))?;
            if line.contains(['/', '\\']) || line.contains("://") || line.starts_with('.') {
                return Err(bad(
                    n,
                    format!("segment {line:?} must be a file name next to the playlist"),
                ));
            }
            crate::manifest::check_component(line)?;
            out.push(PlaylistSegment {
                duration_ms: dur,
                uri: line.to_string(),
            });
        }
    }
    if out.is_empty() {
        return Err(bad(1, "it lists no segments".into()));
    }
    Ok(out)
}

/// The one `.m3u8` in a rendition directory.
pub fn find_playlist(dir: &Path) -> Result<PathBuf> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.extension()
                .is_some_and(|x| x.eq_ignore_ascii_case("m3u8"))
        })
        .collect();
    match found.len() {
        1 => Ok(found.remove(0)),
        0 => Err(Error::malformed(
            "rendition",
            format!("{} has no .m3u8 playlist", dir.display()),
        )),
        _ => Err(Error::malformed(
            "rendition",
            format!(
                "{} has {} playlists; keep exactly one media playlist per rendition",
                dir.display(),
                found.len()
            ),
        )),
    }
}

/// Read a rendition: its playlist path and segments.
pub fn read_rendition(dir: &Path) -> Result<(PathBuf, Vec<PlaylistSegment>)> {
    let pl = find_playlist(dir)?;
    let text = crate::durable::read_regular(&pl)
        .and_then(|b| String::from_utf8(b).map_err(std::io::Error::other))
        .map_err(|e| Error::io(&pl, e))?;
    let segs = parse_playlist(&text, &pl.display().to_string())?;
    Ok((pl, segs))
}

/// Variant renditions turned into seal inputs and a track.
#[derive(Debug)]
pub struct VariantPlan {
    /// Inputs to seal (segments), to be placed from index `first` of the seal's inputs.
    pub inputs: Vec<Input>,
    /// The track, with input indices already offset.
    pub track: TrackPlan,
    /// Segments that differ between A and B (code positions).
    pub traced: usize,
    /// Segments stored once.
    pub shared: usize,
    /// Bytes of the A rendition.
    pub bytes_a: u64,
    /// Bytes stored in addition because of B.
    pub extra_bytes: u64,
    /// Film duration in ms.
    pub duration_ms: u64,
}

fn file_sha256(path: &Path) -> Result<([u8; 32], u64)> {
    let mut f = crate::durable::open_regular(path, true).map_err(|e| Error::io(path, e))?;
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut len = 0u64;
    loop {
        let n = f.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        len += n as u64;
    }
    Ok((sha.finalize().into(), len))
}

/// Pair the segments of `dir_a` and `dir_b`. The two playlists must list the same number
/// of segments with the same durations (the same cut). `first` is the index the first
/// segment input will have among all the seal's inputs.
pub fn plan(dir_a: &Path, dir_b: &Path, first: usize) -> Result<VariantPlan> {
    let (pl_a, segs_a) = read_rendition(dir_a)?;
    let (pl_b, segs_b) = read_rendition(dir_b)?;
    if segs_a.len() != segs_b.len() {
        return Err(Error::malformed(
            "renditions",
            format!(
                "{} has {} segments but {} has {}: A and B must be cut into the same segments",
                pl_a.display(),
                segs_a.len(),
                pl_b.display(),
                segs_b.len()
            ),
        ));
    }
    let stem = pl_a
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("film")
        .to_string();
    let mut inputs = Vec::new();
    let mut segments = Vec::new();
    let (mut traced, mut shared, mut bytes_a, mut extra, mut duration) = (0, 0, 0u64, 0u64, 0u64);
    for (i, (a, b)) in segs_a.iter().zip(&segs_b).enumerate() {
        if a.duration_ms.abs_diff(b.duration_ms) > 1 {
            return Err(Error::malformed(
                "renditions",
                format!(
                    "segment {i} lasts {} ms in A ({}) but {} ms in B ({}): A and B must share segment boundaries",
                    a.duration_ms, a.uri, b.duration_ms, b.uri
                ),
            ));
        }
        duration += a.duration_ms;
        let (pa, pb) = (dir_a.join(&a.uri), dir_b.join(&b.uri));
        let (ha, la) = file_sha256(&pa)?;
        let (hb, lb) = file_sha256(&pb)?;
        bytes_a += la;
        let at = first + inputs.len();
        if ha == hb {
            shared += 1;
            inputs.push(Input {
                source: Source::File(pa),
                rel: vec!["segments".into(), format!("{i:06}.ts")],
                size: la,
                key_id: MAIN_KEY,
            });
            segments.push((a.duration_ms, vec![at]));
        } else {
            inputs.push(Input {
                source: Source::File(pa),
                rel: vec!["segments".into(), format!("{i:06}.a.ts")],
                size: la,
                key_id: variant_key_id(traced, false),
            });
            inputs.push(Input {
                source: Source::File(pb),
                rel: vec!["segments".into(), format!("{i:06}.b.ts")],
                size: lb,
                key_id: variant_key_id(traced, true),
            });
            segments.push((a.duration_ms, vec![at, at + 1]));
            traced += 1;
            extra += lb;
        }
    }
    Ok(VariantPlan {
        inputs,
        track: TrackPlan {
            path: vec![format!("{stem}.ts")],
            media_type: "video/mp2t".into(),
            segments,
        },
        traced,
        shared,
        bytes_a,
        extra_bytes: extra,
        duration_ms: duration,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_a_vod_playlist() {
        let t = "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXTINF:2.000000,\nseg0.ts\n#EXTINF:1.5,\nseg1.ts\n#EXT-X-ENDLIST\n";
        let s = parse_playlist(t, "p").unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[1],
            PlaylistSegment {
                duration_ms: 1500,
                uri: "seg1.ts".into()
            }
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        for t in [
            "seg.ts\n",
            "#EXTM3U\nseg.ts\n",
            "#EXTM3U\n#EXTINF:1,\n../x.ts\n",
            "#EXTM3U\n#EXTINF:1,\nhttp://h/x.ts\n",
            "#EXTM3U\n#EXT-X-KEY:METHOD=AES-128\n#EXTINF:1,\nx.ts\n",
            "#EXTM3U\n#EXT-X-STREAM-INF:BANDWIDTH=1\nlow.m3u8\n",
            "#EXTM3U\n#EXTINF:abc,\nx.ts\n",
            "#EXTM3U\n",
        ] {
            assert!(parse_playlist(t, "p").is_err(), "{t:?}");
        }
    }
}
