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

/// Find an armored block in a pasted message: the first `-----BEGIN REELSEAL <LABEL>-----`
/// line through its `-----END REELSEAL <LABEL>-----` line, with text around it ignored and
/// e-mail quoting (`> `, `>>`) and indentation removed from each line (armor lines never
/// start with either). Returns the label and the block as [`decode`] expects it; the block
/// itself is then checked as strictly as ever.
pub fn extract(text: &str) -> Option<(String, String)> {
    let unquote = |l: &str| {
        l.trim_end_matches('\r')
            .trim_start_matches(|c: char| c == '>' || c.is_whitespace())
            .trim_end()
            .to_string()
    };
    let mut lines = text.lines().map(unquote);
    let begin = lines.find(|l| l.starts_with("-----BEGIN REELSEAL ") && l.ends_with("-----"))?;
    let label = begin
        .strip_prefix("-----BEGIN REELSEAL ")?
        .strip_suffix("-----")?
        .to_string();
    let end = format!("-----END REELSEAL {label}-----");
    let mut block = vec![begin];
    for l in lines {
        let done = l == end;
        block.push(l);
        if done {
            return Some((label, block.join("\n") + "\n"));
        }
    }
    None
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_pasted_into_mail_is_found() {
        let a = encode("GRANT", &[7u8; 100]);
        let quoted: String = a.lines().map(|l| format!(">  {l}\r\n")).collect();
        let mail = format!("Hi,\n\nhere is your screener key:\n\n{quoted}\n> Best, the festival\n");
        let (label, block) = extract(&mail).unwrap();
        assert_eq!(label, "GRANT");
        assert_eq!(decode("GRANT", &block).unwrap(), vec![7u8; 100]);
        let nested: String = a.lines().map(|l| format!(">> \t{l}\n")).collect();
        assert_eq!(
            decode("GRANT", &extract(&nested).unwrap().1).unwrap(),
            vec![7u8; 100]
        );
        // Cut short: no END line, nothing found.
        let cut: String = a.lines().take(2).map(|l| format!("{l}\n")).collect();
        assert!(extract(&cut).is_none());
    }
}
