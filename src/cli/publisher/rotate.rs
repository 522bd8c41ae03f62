//! `reelseal rotate`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::Global;
use crate::home::PublisherHome;
use crate::ops::studio::rotate::{RotatePlan, RotateReport};
use crate::ops::studio::Studio;

/// Re-key a release: same film, new key set, new torrent; re-issue grants to every viewer who is not revoked.
///
/// Re-seals from the old release's ciphertext (the original film is not needed). The new
/// card supersedes the old one; viewers with a key server get their new grant with
/// `reelview renew`.
///
/// Example:
///   reelseal rotate My-Film.reelseal
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RotateArgs {
    /// Release id, unique prefix, or release directory.
    pub release: String,
    /// New release directory. Default: next to the old one.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Folder for the re-issued grant files. Default: next to the new release.
    #[arg(long, value_name = "DIR")]
    pub out_dir: Option<PathBuf>,
    /// Replace an existing directory.
    #[arg(long)]
    pub force: bool,
    /// Web seed for the new release (repeatable; see `reelseal seal --help`): the URL
    /// where you upload the new release folder. The old release's web seeds are not
    /// carried over, as they hold the old folder.
    #[arg(long = "web-seed", value_name = "URL", value_parser = crate::cli::net::web_seed_arg)]
    pub web_seeds: Vec<String>,
}

impl RotateArgs {
    /// The plan these arguments describe.
    pub fn plan(&self) -> RotatePlan {
        RotatePlan {
            release: self.release.clone(),
            out: self.out.clone(),
            out_dir: self.out_dir.clone(),
            force: self.force,
            web_seeds: self.web_seeds.clone(),
        }
    }

    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<RotateReport> {
        let plan = self.plan();
        let fb = g.console();
        crate::cli::exit_on_interrupt(g.mode());
        Studio::open(home, &fb)?.rotate(&plan, &fb)
    }
}
