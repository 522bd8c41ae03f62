//! Text that came from someone else (titles, labels, reasons, file names): what may be in
//! it, and which characters must never reach a terminal as they are.
//!
//! Control characters (Unicode category Cc: newlines, escapes, NUL…) and the invisible
//! format characters that reorder or hide text (bidi embeddings, overrides and isolates,
//! U+202A–U+202E and U+2066–U+2069, and the other Cf characters) can make a terminal show
//! something other than what the bytes say. Labels and titles a publisher writes may not
//! contain them ([`check_label`]); anything shown to a person is passed through
//! [`is_dangerous`] by the renderer, whoever wrote it.

use crate::{Error, Result};

/// Longest label or title, in characters.
pub const MAX_LABEL: usize = 200;

/// A character that must not be shown as it is: a control character (Cc) or an invisible
/// format character (Cf: bidi controls, zero-width characters, …). The zero-width joiner
/// and non-joiner (U+200D, U+200C) are allowed: emoji and several scripts need them.
pub fn is_dangerous(c: char) -> bool {
    c.is_control() || (is_format(c) && !matches!(c, '\u{200C}' | '\u{200D}'))
}

/// Unicode general category Cf (format), from the Unicode 15 tables.
fn is_format(c: char) -> bool {
    matches!(c,
        '\u{00AD}' | '\u{0600}'..='\u{0605}' | '\u{061C}' | '\u{06DD}' | '\u{070F}'
        | '\u{0890}'..='\u{0891}' | '\u{08E2}' | '\u{180E}' | '\u{200B}'..='\u{200F}'
        | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{2066}'..='\u{206F}'
        | '\u{FEFF}' | '\u{FFF9}'..='\u{FFFB}' | '\u{110BD}' | '\u{110CD}'
        | '\u{13430}'..='\u{1343F}' | '\u{1BCA0}'..='\u{1BCA3}' | '\u{1D173}'..='\u{1D17A}'
        | '\u{E0001}' | '\u{E0020}'..='\u{E007F}')
}

/// Check a label or title written by the publisher: not blank, at most [`MAX_LABEL`]
/// characters, no control or invisible format characters.
pub fn check_label(what: &'static str, s: &str) -> Result<()> {
    if s.trim().is_empty() {
        return Err(Error::malformed(what, "it is empty"));
    }
    let n = s.chars().count();
    if n > MAX_LABEL {
        return Err(Error::malformed(
            what,
            format!("it has {n} characters; at most {MAX_LABEL} are allowed"),
        ));
    }
    if let Some(c) = s.chars().find(|c| is_dangerous(*c)) {
        return Err(Error::malformed(
            what,
            format!(
                "it contains the invisible or control character U+{:04X}; type it without",
                c as u32
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_refuse_what_terminals_misshow() {
        assert!(check_label("label", "Berlinale jury 3 🎬").is_ok());
        assert!(check_label("label", "a\u{200D}b").is_ok());
        for bad in [
            "",
            "   ",
            "a\nb",
            "a\u{1b}[2Jb",
            "evil\u{202E}gpj.exe",
            "x\u{2066}y",
            "\u{200B}",
        ] {
            assert!(check_label("label", bad).is_err(), "{bad:?}");
        }
        assert!(check_label("label", &"é".repeat(200)).is_ok());
        assert!(check_label("label", &"é".repeat(201)).is_err());
    }
}
