//! The terminal as [`Feedback`]: indicatif bars and spinners on stderr (hidden with
//! `--quiet`, `--json`, or when stderr is not a terminal), warnings and notes on stderr,
//! announcements through the renderer.

use std::io::Write;
use std::sync::Arc;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::feedback::{no_progress, Feedback, Progress, Unit};
use crate::ops::Event;
use crate::render::{self, Mode};

/// How a bar of `unit` is drawn; every line fits 80 columns (long labels are cut, a
/// status message takes what is left of the terminal's width).
fn template(unit: Unit) -> &'static str {
    match unit {
        Unit::Bytes => "{msg:12!} [{bar:20}] {bytes}/{total_bytes} {bytes_per_sec} ETA {eta}",
        Unit::Items => "{msg:12!} [{bar:20}] {pos}/{len} {per_sec} ETA {eta}",
        Unit::Seconds => "{msg:16!} [{bar:20}] {pos}/{len} s of film  ETA {eta}",
        Unit::Status => "{spinner} {prefix:12!} {wide_msg}",
    }
}

/// Feedback on the terminal.
pub struct Console {
    mode: Mode,
    quiet: bool,
    bars: MultiProgress,
}

impl Console {
    /// For this output mode; `quiet` hides progress.
    pub fn new(mode: Mode, quiet: bool) -> Self {
        Console {
            mode,
            quiet,
            bars: MultiProgress::new(),
        }
    }
}

impl Console {
    /// A line on stderr, above any progress bars, made safe for the terminal.
    fn say(&self, kind: &str, message: &str) {
        let line = format!("{kind}: {}", render::safe(message));
        if self.bars.is_hidden() {
            let _ = writeln!(std::io::stderr().lock(), "{line}");
        } else {
            let _ = self.bars.println(line);
        }
    }
}

struct Bar(ProgressBar);

impl Progress for Bar {
    fn inc(&self, n: u64) {
        self.0.inc(n)
    }
    fn set_total(&self, total: u64) {
        self.0.set_length(total)
    }
    fn set_message(&self, msg: &str) {
        self.0.set_message(render::safe(msg).into_owned());
        self.0.tick();
    }
    fn finish(&self) {
        self.0.finish_and_clear()
    }
}

/// A status shown as lines on stderr when no progress bar can be drawn.
struct Lines {
    label: String,
    last: std::sync::Mutex<Option<std::time::Instant>>,
}

/// At most one status line per this long when stderr is not a terminal.
const LINE_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

impl Progress for Lines {
    fn inc(&self, _: u64) {}
    fn set_total(&self, _: u64) {}
    fn set_message(&self, msg: &str) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        if last.is_some_and(|t| t.elapsed() < LINE_EVERY) {
            return;
        }
        *last = Some(std::time::Instant::now());
        let _ = writeln!(
            std::io::stderr().lock(),
            "{}: {}",
            self.label,
            render::safe(msg)
        );
    }
    fn finish(&self) {}
}

impl Feedback for Console {
    fn progress(&self, label: &str, unit: Unit, total: u64) -> Arc<dyn Progress> {
        if self.quiet || self.mode == Mode::Json {
            return no_progress();
        }
        if unit == Unit::Status && self.bars.is_hidden() {
            // stderr is not a terminal (a log, a test): the status as plain lines, the
            // first at once, then at most every 5 s.
            return Arc::new(Lines {
                label: render::safe(label).into_owned(),
                last: std::sync::Mutex::new(None),
            });
        }
        let pb = match unit {
            Unit::Status => ProgressBar::new_spinner(),
            _ => ProgressBar::new(total),
        };
        let template = template(unit);
        let pb = self.bars.add(pb);
        pb.set_style(
            ProgressStyle::with_template(template)
                .expect("valid template")
                .progress_chars("=> "),
        );
        let label = render::safe(label).into_owned();
        if unit == Unit::Status {
            pb.set_prefix(label);
        } else {
            pb.set_message(label);
        }
        Arc::new(Bar(pb))
    }

    fn warn(&self, message: &str) {
        self.say("warning", message);
    }

    fn note(&self, message: &str) {
        self.say("note", message);
    }

    fn announce(&self, event: &Event) {
        render::announce(event, self.mode);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use indicatif::{InMemoryTerm, ProgressDrawTarget};

    /// Each kind of bar, at its widest (long labels, big totals, slow rates, long ETAs),
    /// drawn on a wide terminal, stays within 80 columns; a status line on an 80-column
    /// terminal is cut to fit.
    #[test]
    fn every_progress_line_fits_80_columns() {
        for (unit, total, pos, cols) in [
            (Unit::Bytes, 987_654_321_000u64, 123_456_789_000u64, 200u16),
            (Unit::Items, 1_000_000, 999_999, 200),
            (Unit::Seconds, 2 * 3 * 3600, 3 * 3600, 200),
            (Unit::Status, 0, 0, 80),
        ] {
            let term = InMemoryTerm::new(4, cols);
            let pb = ProgressBar::with_draw_target(
                Some(total),
                ProgressDrawTarget::term_like(Box::new(term.clone())),
            );
            pb.set_style(ProgressStyle::with_template(template(unit)).unwrap());
            pb.set_message("a label far longer than anything we show, with peers and rates, 35 s in, resuming: 1.2 GiB already here");
            pb.set_prefix("downloading something");
            pb.set_position(pos);
            pb.tick();
            let shown = term.contents();
            assert!(!shown.trim().is_empty(), "{unit:?} drew nothing");
            for line in shown.lines() {
                assert!(
                    line.chars().count() <= 80,
                    "{unit:?}: {line:?} is {} columns",
                    line.chars().count()
                );
            }
        }
    }
}
