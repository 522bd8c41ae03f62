//! `reelseal codes`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::Global;
use crate::home::PublisherHome;
use crate::ops::studio::codes::{CodesPlan, CodesReport};
use crate::ops::studio::Studio;

/// Mint one-time access codes for a release (printed one per line, or to --out).
///
/// A buyer redeems a code with `reelview redeem URL CODE` against `reelseal serve` and
/// gets a grant bound to their own viewer key; each code works once.
///
/// Example:
///   reelseal codes My-Film.reelseal --count 100 --out codes.txt --not-after 2027-12-31
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct CodesArgs {
    /// Release id, unique prefix, or release directory.
    pub release: String,
    /// How many (1 to 1,000,000).
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub count: u32,
    /// Grants made from these codes open no earlier than this.
    #[arg(long, value_name = "TIME")]
    pub not_before: Option<String>,
    /// Codes expire, and their grants close, after this.
    #[arg(long, value_name = "TIME")]
    pub not_after: Option<String>,
    /// The window's length from --not-before (or from now), e.g. 7d, 36h, 2weeks; instead
    /// of --not-after.
    #[arg(long, value_name = "DURATION", conflicts_with = "not_after")]
    pub valid_for: Option<humantime::Duration>,
    /// Write the codes to this file (0600) instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl CodesArgs {
    /// Check the arguments once.
    pub fn plan(self) -> Result<CodesPlan> {
        let validity = crate::cli::window(
            self.not_before.as_deref(),
            self.not_after.as_deref(),
            self.valid_for,
        )?;
        Ok(CodesPlan {
            release: self.release,
            count: self.count,
            validity,
            out: self.out,
        })
    }

    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<CodesReport> {
        let plan = self.plan()?;
        Studio::open(home, &g.console())?.codes(&plan)
    }
}
