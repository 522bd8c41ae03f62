//! `reelseal ls`, `reelseal show`, `reelseal grants`.

use anyhow::Result;

use crate::cli::Global;
use crate::home::PublisherHome;
use crate::ops::studio::releases::{self, GrantList, ReleaseList, ReleaseShow};
use crate::ops::studio::Studio;

/// List the releases in your ledger.
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct LsArgs {}

impl LsArgs {
    /// Run.
    pub fn run(self, home: &PublisherHome) -> Result<ReleaseList> {
        releases::list(home)
    }
}

/// Show a release's card, torrent summary and magnet link.
///
/// Example:
///   reelseal show My-Film.reelseal
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct ShowArgs {
    /// Release id, unique prefix, or release directory.
    pub release: String,
}

impl ShowArgs {
    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<ReleaseShow> {
        Studio::open(home, &g.console())?.show(&self.release)
    }
}

/// List the grants of a release.
///
/// Example:
///   reelseal grants My-Film.reelseal --json
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct GrantsArgs {
    /// Release id, unique prefix, or release directory.
    pub release: String,
}

impl GrantsArgs {
    /// Run.
    pub fn run(self, home: &PublisherHome) -> Result<GrantList> {
        releases::grants(home, &self.release)
    }
}
