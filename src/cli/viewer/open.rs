//! `reelview open`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::access::AccessArgs;
use crate::cli::Global;
use crate::ops::viewer::open::{OpenPlan, OpenReport};
use crate::ops::viewer::Viewer;

/// Decrypt a release whose ciphertext you already have (any BitTorrent client, a USB drive).
///
/// Every chunk is authenticated and every file's hash checked against the signed card
/// before it appears under its real name; nothing partial or unauthenticated is left.
/// Film files are created new (0600 unless --mode) and never through a symbolic link;
/// ^C or SIGTERM removes the partial file and exits with 130.
///
/// Example:
///   reelview open jury.rskey --from ~/Downloads --out film/
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct OpenArgs {
    /// The .rskey file.
    pub key: PathBuf,
    /// Folder with the ciphertext: the release's payload folder, or the download folder holding it.
    #[arg(long, value_name = "DIR")]
    pub from: PathBuf,
    /// Where to write the film files.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Overwrite existing output files (never a symbolic link, nor what it points at).
    #[arg(long)]
    pub force: bool,
    /// Permissions of the film files, in octal. Default 600: only you can read them.
    #[arg(long, value_name = "OCTAL", value_parser = crate::cli::octal_mode)]
    pub mode: Option<u32>,
    /// Trust and revocation flags.
    #[command(flatten)]
    pub access: AccessArgs,
}

impl OpenArgs {
    /// Run.
    pub fn run(self, v: &Viewer, g: &Global) -> Result<OpenReport> {
        let plan = OpenPlan {
            access: self.access.plan(),
            key: self.key,
            from: self.from,
            out: self.out,
            force: self.force,
            mode: self.mode.unwrap_or(reelseal_core::open::PLAINTEXT_MODE),
        };
        crate::cli::exit_on_interrupt(g.mode());
        v.open(&plan, &g.console())
    }
}
