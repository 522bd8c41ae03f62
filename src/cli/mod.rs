//! The command line of both programs: clap argument structs (they *are* the argument
//! types), each validated once into an operation's plan before any work, then handed to
//! [`crate::ops`]; the report comes back and [`crate::render`] prints it. Conflicts between
//! flags are declared in clap, so `--help` shows them and misuse exits with code 2.
//!
//! One file per command under [`publisher`] and [`viewer`]; flags both programs share
//! (network, trust) live in [`net`] and [`access`]; [`console`] is the terminal's
//! [`Feedback`](crate::feedback::Feedback).

use std::process::ExitCode;

use anyhow::Result;

use crate::exit::{refuse, Exit};
use crate::render::{self, Mode, Report};

pub mod access;
pub mod console;
pub mod meta;
pub mod net;
pub mod publisher;
pub mod size;
pub mod viewer;

pub use console::Console;

/// Options every command of a program takes.
#[derive(clap::Args, Clone, Debug)]
pub struct Global {
    /// Print machine-readable JSON on stdout (errors too, as {"error": {...}}).
    #[arg(long, global = true)]
    pub json: bool,
    /// No progress bars or status lines.
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

impl Global {
    /// How reports are printed.
    pub fn mode(&self) -> Mode {
        if self.json {
            Mode::Json
        } else {
            Mode::Human
        }
    }
    /// The terminal feedback for these options.
    pub fn console(&self) -> Console {
        Console::new(self.mode(), self.quiet)
    }
}

/// Parse one command's arguments from words, exactly as the program would (for examples
/// and tests): `cli::parse::<SealArgs>(["film.mp4", "--title", "T"])`.
pub fn parse<T: clap::Args + clap::FromArgMatches>(
    words: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
) -> Result<T, clap::Error> {
    let cmd = T::augment_args(clap::Command::new("args").no_binary_name(true));
    T::from_arg_matches(&cmd.try_get_matches_from(words)?)
}

/// Print a command's outcome and turn it into the process exit code.
pub fn finish<R: Report>(result: Result<R>, mode: Mode) -> ExitCode {
    match result {
        Ok(r) => {
            render::emit(&r, mode);
            ExitCode::from(r.exit().code())
        }
        Err(e) => ExitCode::from(render::error(&e, mode).code()),
    }
}

/// A plan that does not make sense: exits with the usage code, like clap's own errors.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    refuse(Exit::Usage, message)
}

/// The window `--not-before`/`--not-after`/`--valid-for` describe (checked once, the same
/// rule for every command that takes them).
pub fn window(
    not_before: Option<&str>,
    not_after: Option<&str>,
    valid_for: Option<humantime::Duration>,
) -> Result<reelseal_core::validity::Validity> {
    use reelseal_core::validity::{now, Validity};
    let w = Validity::parse(not_before, not_after)
        .map_err(|e| usage(format!("--not-before/--not-after: {e}")))?;
    match valid_for {
        None => Ok(w),
        Some(d) => Validity::lasting(
            w.not_before(),
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            now(),
        )
        .map_err(|e| usage(format!("--valid-for: {e}"))),
    }
}

/// Run async work on a fresh multi-threaded runtime.
pub fn block_on<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<T> {
    tokio::runtime::Runtime::new()?.block_on(f)
}

/// Log warnings and errors to stderr, and the key server's events (a code redeemed, a
/// grant renewed, a revocation through the admin API: one line each); `<VAR>=info` (or
/// `debug`, or a tracing filter) for more. `json`: one JSON object per line, and the key
/// server's access log (info) on by default, for log collectors.
pub fn init_logging(var: &str, json: bool) {
    let default = if json {
        "warn,reelseal_keyserver=info"
    } else {
        "warn,reelseal_keyserver::events=info"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env(var)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .try_init()
    } else {
        builder.try_init()
    };
}
