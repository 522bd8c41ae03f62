//! The operations of both programs, below the command line: no clap, no printing.
//!
//! The binaries, the key server, the examples and the tests all call these. Each
//! operation takes a plan (arguments already validated by the CLI), does the work, and
//! returns a typed report; what it has to say while working goes through
//! [`Feedback`](crate::feedback::Feedback). Reports serialise to the `--json` documents
//! scripts read and are rendered for people by [`crate::render`].
//!
//! - [`studio`]: the filmmaker's side — [`studio::Studio`] holds the home, the ledger and
//!   the signing key: seal, grant, revoke, rotate, codes, trace, mark, seed, serve.
//! - [`viewer`]: the viewer's side — [`viewer::Viewer`]: trust (one rule), authorize,
//!   inspect, open, fetch, play, redeem, renew.

use serde::Serialize;

pub mod channel;
pub mod identity;
pub mod net;
pub mod partials;
pub mod studio;
pub mod viewer;

/// Announcements of long-running commands: the first line a script reads from them.
#[derive(Clone, Debug, Serialize)]
#[serde(untagged)]
pub enum Event {
    /// `reelseal seed` is listening.
    Seeding(studio::seed::Seeding),
    /// `reelseal serve` is listening.
    Serving(studio::serve::Serving),
    /// `reelview play` is listening (at once, before the swarm answers).
    PlayUrl(viewer::play::PlayUrl),
    /// `reelview play` has the release's files: streaming.
    Streaming(viewer::play::Streaming),
    /// `reelview sync --watch` brought a new version into its folder.
    Synced(channel::sync::SyncReport),
}

/// A stop request for long-running operations (^C from the CLI, or a test's own signal).
/// Cheap to clone; every clone sees the same stop.
#[derive(Clone)]
pub struct Interrupt(std::sync::Arc<tokio::sync::watch::Sender<Option<Stop>>>);

/// Why a long-running operation was asked to stop.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stop {
    /// ^C (SIGINT), or [`Interrupt::trigger`]: the user broke off (exit 130).
    Interrupted,
    /// SIGTERM from a service manager: an orderly shutdown (exit 0).
    Terminated,
}

impl Stop {
    /// How reports name it.
    pub fn as_str(self) -> &'static str {
        match self {
            Stop::Interrupted => "interrupted",
            Stop::Terminated => "terminated",
        }
    }
}

impl Interrupt {
    /// Never stops by itself; [`Interrupt::trigger`] stops it.
    pub fn manual() -> Self {
        Interrupt(std::sync::Arc::new(tokio::sync::watch::channel(None).0))
    }

    /// Stops on ^C (SIGINT). Needs a tokio runtime.
    pub fn on_ctrl_c() -> Self {
        let i = Self::manual();
        let j = i.clone();
        tokio::spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                j.trigger();
            }
        });
        i
    }

    /// Stops on ^C (SIGINT) or, on Unix, SIGTERM (what service managers and container
    /// runtimes send). Needs a tokio runtime.
    pub fn on_ctrl_c_or_term() -> Self {
        let i = Self::manual();
        let j = i.clone();
        tokio::spawn(async move {
            #[cfg(unix)]
            let why = {
                use tokio::signal::unix::{signal, SignalKind};
                match signal(SignalKind::terminate()) {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = tokio::signal::ctrl_c() => Stop::Interrupted,
                            _ = term.recv() => Stop::Terminated,
                        }
                    }
                    Err(_) => {
                        let _ = tokio::signal::ctrl_c().await;
                        Stop::Interrupted
                    }
                }
            };
            #[cfg(not(unix))]
            let why = {
                let _ = tokio::signal::ctrl_c().await;
                Stop::Interrupted
            };
            j.stop(why);
        });
        i
    }

    /// Stop, as ^C does.
    pub fn trigger(&self) {
        self.stop(Stop::Interrupted);
    }

    /// Stop for `why` (the first reason stands).
    pub fn stop(&self, why: Stop) {
        self.0.send_if_modified(|s| {
            let first = s.is_none();
            if first {
                *s = Some(why);
            }
            first
        });
    }

    /// Why it stopped, once it has.
    pub fn reason(&self) -> Option<Stop> {
        *self.0.borrow()
    }

    /// Resolves once stopped.
    pub async fn wait(&self) {
        let mut rx = self.0.subscribe();
        let _ = rx.wait_for(|stopped| stopped.is_some()).await;
    }
}
