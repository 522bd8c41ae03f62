//! `reelseal ls`, `reelseal show`, `reelseal grants`.

use anyhow::Result;

use crate::cli::Global;
use crate::home::PublisherHome;
use crate::ops::studio::releases::{self, GrantList, ReleaseList, ReleaseShow, RetireReport};
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

/// Stop offering a release: `reelseal seed` skips it unless it is named.
///
/// For a release you no longer want in the swarm (a festival cut replaced by the release
/// cut, say) but whose grants you leave alone. Grants stay valid for copies viewers
/// already have: `reelseal revoke` stops a viewer, `reelseal rotate` re-keys. Releases
/// superseded by `rotate` are skipped by `seed` already.
///
/// Examples:
///   reelseal retire "Festival Cut"
///   reelseal retire 3f2a --undo          # offer it again
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RetireArgs {
    /// Release id, unique prefix, title, or release directory.
    pub release: String,
    /// Offer the release again.
    #[arg(long)]
    pub undo: bool,
}

impl RetireArgs {
    /// Run.
    pub fn run(self, home: &PublisherHome) -> Result<RetireReport> {
        releases::retire(home, &self.release, self.undo)
    }
}
