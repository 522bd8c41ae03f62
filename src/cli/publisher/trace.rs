//! `reelseal trace`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::{usage, Global};
use crate::home::PublisherHome;
use crate::ops::studio::trace::{TracePlan, TraceReport};
use crate::ops::studio::Studio;

/// Find who leaked: score every grant of RELEASE against a leaked copy or key.
///
/// The leak is a copy of the film (exact or re-encoded) or a leaked key (.rskey access key
/// or key set).
///
/// Accuses only grants whose score clears the threshold, which bounds the chance of
/// accusing anyone innocent by the ε the release was sealed with. Unreadable segments
/// count as erasures and only raise the bar.
///
/// Examples:
///   reelseal trace My-Film.reelseal leaked.mp4
///   reelseal trace My-Film.reelseal found.rskey --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TraceArgs {
    /// Release id, unique prefix, or release directory.
    pub release: String,
    /// The leaked file: a copy of the film, or a key file.
    pub leak: PathBuf,
    /// Demand stronger evidence: a smaller false-accusation bound than the release was sealed with.
    #[arg(long, value_name = "ε")]
    pub epsilon: Option<f64>,
}

impl TraceArgs {
    /// Check the arguments once.
    pub fn plan(self) -> Result<TracePlan> {
        if let Some(e) = self.epsilon {
            if !(e > 0.0 && e < 1.0) {
                return Err(usage("--epsilon must be between 0 and 1, for example 1e-6"));
            }
        }
        Ok(TracePlan {
            release: self.release,
            leak: self.leak,
            epsilon: self.epsilon,
        })
    }

    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<TraceReport> {
        let plan = self.plan()?;
        crate::cli::exit_on_interrupt(g.mode());
        Studio::open(home, &g.console())?.trace(&plan)
    }
}
