//! ASCII armor, so grants survive e-mail and chat: a PEM-like block of standard base64
//! (with padding) in lines of exactly 64 characters (the last line 1–64), between
//! `-----BEGIN REELSEAL <LABEL>-----` and `-----END REELSEAL <LABEL>-----`.
//!
//! The parser is strict: only whitespace may surround the block, CRLF line endings are
//! accepted (mail gateways add them), and anything else — wrong label, long or short
//! lines, non-canonical base64 — is rejected.

use base64::{engine::general_purpose::STANDARD, Engine};

use crate::{Error, Result};

const COLUMNS: usize = 64;

/// Armor `data` under `label` (e.g. `GRANT`).
pub fn encode(label: &str, data: &[u8]) -> String {
    let b64 = STANDARD.encode(data);
    let mut out = format!("-----BEGIN REELSEAL {label}-----\n");
    for line in b64.as_bytes().chunks(COLUMNS) {
        out.push_str(std::str::from_utf8(line).expect("base64 is ASCII"));
        out.push('\n');
    }
    out.push_str(&format!("-----END REELSEAL {label}-----\n"));
    out
}

/// Which label an armored text carries, if it looks armored at all.
pub fn label(text: &str) -> Option<&str> {
    let first = text.trim_start().lines().next()?.trim_end();
    first
        .strip_prefix("-----BEGIN REELSEAL ")?
        .strip_suffix("-----")
}

/// Remove the armor of the given label.
pub fn decode(label: &str, text: &str) -> Result<Vec<u8>> {
    let what = "armored file";
    let text = text.trim();
    let lines: Vec<&str> = text
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let begin = format!("-----BEGIN REELSEAL {label}-----");
    let end = format!("-----END REELSEAL {label}-----");
    if lines.len() < 3 || lines[0] != begin {
        return Err(Error::malformed(
            what,
            format!("expected a first line {begin:?}"),
        ));
    }
    if lines[lines.len() - 1] != end {
        return Err(Error::malformed(
            what,
            format!("expected a last line {end:?} (is the file cut short?)"),
        ));
    }
    let body = &lines[1..lines.len() - 1];
    let mut b64 = String::with_capacity(body.len() * COLUMNS);
    for (i, l) in body.iter().enumerate() {
        let last = i + 1 == body.len();
        if l.is_empty() || l.len() > COLUMNS || (!last && l.len() != COLUMNS) {
            return Err(Error::malformed(what, format!("line {} has {} characters; armor lines have exactly {COLUMNS} (the last 1–{COLUMNS})", i + 2, l.len())));
        }
        b64.push_str(l);
    }
    STANDARD
        .decode(b64.as_bytes())
        .map_err(|e| Error::malformed(what, format!("bad base64: {e}")))
}
