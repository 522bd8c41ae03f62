//! The one place that turns reports into what people and scripts read.
//!
//! Every operation returns a typed report (`Serialize`). With `--json` it is printed as
//! one JSON document with `"version": 1` first; otherwise [`Report::human`] writes the
//! result on stdout and hints for the next step on stderr. Errors get the same treatment:
//! the message on stderr, and with `--json` an `{"error": {kind, message, exit}}` object
//! on stdout too. Announcements of long-running commands ([`crate::ops::Event`]) are
//! single JSON lines so a script can read the first line and go on.
//!
//! Output to a closed pipe (`reelseal ls --json | head -c1`) is dropped quietly.

use std::io::Write;

use serde::Serialize;

use crate::exit::{exit_of, Exit};
use crate::ops::Event;

mod channel;
mod publisher;
pub mod viewer;

/// The version of every JSON document the tools print.
pub const JSON_VERSION: u64 = 1;

/// How to print.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Text for people.
    Human,
    /// JSON for scripts.
    Json,
}

/// A report that can be shown to people (and, being `Serialize`, to scripts).
pub trait Report: Serialize {
    /// Write the human form.
    fn human(&self, out: &mut Human);
    /// The exit code the program ends with after printing this report (a report can be a
    /// verdict: `inspect` of a grant that is not valid for you now).
    fn exit(&self) -> Exit {
        Exit::Success
    }
}

/// Where human text goes: results on stdout, hints and notes on stderr.
pub struct Human {
    _private: (),
}

impl Human {
    /// A result line (stdout), made [`safe`].
    pub fn line(&mut self, s: impl std::fmt::Display) {
        let _ = writeln!(std::io::stdout().lock(), "{}", safe(&s.to_string()));
    }
    /// Text of our own making (a completion script) on stdout, exactly as it is.
    pub fn raw(&mut self, s: &str) {
        let _ = std::io::stdout().lock().write_all(s.as_bytes());
    }
    /// A hint for what to do next (stderr), made [`safe`].
    pub fn hint(&mut self, s: impl std::fmt::Display) {
        let _ = writeln!(std::io::stderr().lock(), "{}", safe(&s.to_string()));
    }
}

/// Text fit for a terminal: control and invisible format characters (newlines, escape
/// sequences, bidi overrides…) from titles, labels, file names or reasons written by
/// someone else are shown as `\u{…}` escapes instead of acting on the terminal. Every
/// line the tools print passes through here.
pub fn safe(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.chars().any(reelseal_core::text::is_dangerous) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if reelseal_core::text::is_dangerous(c) {
            out.push_str(&c.escape_unicode().to_string());
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A JSON document: the report's fields with `"version": 1` first.
pub fn document<R: Serialize + ?Sized>(r: &R) -> serde_json::Value {
    let mut doc = serde_json::Map::new();
    doc.insert("version".into(), JSON_VERSION.into());
    match serde_json::to_value(r).expect("reports serialise") {
        serde_json::Value::Object(m) => doc.extend(m),
        other => {
            doc.insert("value".into(), other);
        }
    }
    serde_json::Value::Object(doc)
}

/// Print a finished command's report.
pub fn emit<R: Report>(r: &R, mode: Mode) {
    match mode {
        Mode::Json => {
            let text = serde_json::to_string_pretty(&document(r)).expect("JSON values serialise");
            let _ = writeln!(std::io::stdout().lock(), "{text}");
        }
        Mode::Human => r.human(&mut Human { _private: () }),
    }
}

/// Print an announcement of a long-running command (one line in JSON), flushed at once.
pub fn announce(e: &Event, mode: Mode) {
    match mode {
        Mode::Json => {
            let mut o = std::io::stdout().lock();
            let _ = writeln!(o, "{}", document(e));
            let _ = o.flush();
        }
        Mode::Human => {
            e.human(&mut Human { _private: () });
            let _ = std::io::stdout().flush();
        }
    }
}

/// The JSON error object printed on stdout with `--json`.
#[derive(Serialize)]
struct ErrorDoc<'a> {
    error: ErrorBody<'a>,
}

#[derive(Serialize)]
struct ErrorBody<'a> {
    kind: &'a str,
    message: String,
    exit: u8,
}

/// Print an error (stderr; and as JSON on stdout with `--json`); returns its exit code.
pub fn error(e: &anyhow::Error, mode: Mode) -> Exit {
    let exit = exit_of(e);
    let message = message_of(e);
    let _ = writeln!(std::io::stderr().lock(), "error: {}", safe(&message));
    if mode == Mode::Json {
        let doc = document(&ErrorDoc {
            error: ErrorBody {
                kind: exit.kind(),
                message,
                exit: exit.code(),
            },
        });
        let _ = writeln!(std::io::stdout().lock(), "{doc}");
    }
    exit
}

/// An error chain as one line: each cause after the one before it, skipping a cause whose
/// text the line already holds (an I/O error wrapped twice says its reason once).
pub fn message_of(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let full = cause.to_string();
        let mut text = full.as_str();
        // Drop leading parts the line already says ("/x/film.mp4: No such file…").
        while let Some((head, rest)) = text.split_once(": ") {
            if line.contains(head) {
                text = rest;
            } else {
                break;
            }
        }
        if text.is_empty() || line.contains(text) {
            continue;
        }
        if !line.is_empty() {
            line.push_str(": ");
        }
        line.push_str(text);
    }
    line
}

/// Human size (`1.50 MiB`).
pub fn human_bytes(n: u64) -> String {
    indicatif::HumanBytes(n).to_string()
}

impl Report for Event {
    fn human(&self, out: &mut Human) {
        match self {
            Event::Seeding(s) => s.human(out),
            Event::Serving(s) => s.human(out),
            Event::PlayUrl(s) => s.human(out),
            Event::Streaming(s) => s.human(out),
            Event::Synced(s) => s.human(out),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_error_says_each_reason_once() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file or directory");
        let e = anyhow::Error::new(reelseal_core::Error::io("/x/film.mp4", io))
            .context("cannot read /x/film.mp4");
        assert_eq!(
            message_of(&e),
            "cannot read /x/film.mp4: No such file or directory"
        );
    }

    #[test]
    fn hostile_text_is_escaped() {
        assert_eq!(safe("a\u{1b}[2J\u{202E}b\n"), "a\\u{1b}[2J\\u{202e}b\\u{a}");
        assert_eq!(safe("Café 🎬"), "Café 🎬");
    }
}
