//! `reelview fetch`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::access::AccessArgs;
use crate::cli::net::NetArgs;
use crate::cli::{block_on, Global};
use crate::ops::viewer::fetch::{FetchPlan, FetchReport};
use crate::ops::viewer::Viewer;
use crate::ops::Interrupt;

/// Download a release through BitTorrent and decrypt it, as its pieces arrive.
///
/// The grant is checked before any network traffic. Only hash-verified pieces are
/// decrypted, every chunk is authenticated, and each file appears under its real name
/// only when complete and matching the signed card. Interrupted (^C or SIGTERM), it
/// removes the partial film file, keeps the verified ciphertext it downloaded (in
/// OUT/.reelview-<infohash>) and resumes when run again.
///
/// Examples:
///   reelview fetch jury.rskey --out film/
///   reelview fetch jury.rskey --out film/ --keep-ciphertext --seed
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct FetchArgs {
    /// The .rskey file.
    pub key: PathBuf,
    /// Where to write the film files.
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out: PathBuf,
    /// Keep the downloaded ciphertext (e.g. to seed it later with any client).
    #[arg(long)]
    pub keep_ciphertext: bool,
    /// Keep seeding after the download until ^C.
    #[arg(long)]
    pub seed: bool,
    /// Overwrite existing output files (never a symbolic link, nor what it points at).
    #[arg(long)]
    pub force: bool,
    /// Permissions of the film files, in octal. Default 600: only you can read them.
    #[arg(long, value_name = "OCTAL", value_parser = crate::cli::octal_mode)]
    pub mode: Option<u32>,
    /// Network flags.
    #[command(flatten)]
    pub net: NetArgs,
    /// Trust and revocation flags.
    #[command(flatten)]
    pub access: AccessArgs,
}

impl FetchArgs {
    /// The plan these arguments describe.
    pub fn plan(&self) -> FetchPlan {
        FetchPlan {
            net: self.net.plan(),
            access: self.access.plan(),
            key: self.key.clone(),
            out: self.out.clone(),
            keep_ciphertext: self.keep_ciphertext,
            seed: self.seed,
            force: self.force,
            mode: self.mode.unwrap_or(reelseal_core::open::PLAINTEXT_MODE),
        }
    }

    /// Run.
    pub fn run(self, v: &Viewer, g: &Global) -> Result<FetchReport> {
        let plan = self.plan();
        let fb = g.console();
        block_on(async {
            let stop = Interrupt::on_ctrl_c_or_term();
            v.fetch(&plan, &fb, &stop).await
        })
    }
}
