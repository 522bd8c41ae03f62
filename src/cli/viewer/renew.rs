//! `reelview renew`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::access::TrustArgs;
use crate::cli::Global;
use crate::ops::viewer::renew::{RenewPlan, RenewReport};
use crate::ops::viewer::Viewer;

/// After the filmmaker rotated a release, fetch your grant for the new one from the key server.
///
/// Proves you hold the viewer key by opening a challenge sealed to it.
///
/// Example:
///   reelview renew jury.rskey --out-dir .
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RenewArgs {
    /// Your grant for the old release.
    pub key: PathBuf,
    /// Folder for the new grant file(s).
    #[arg(long, value_name = "DIR", default_value = ".")]
    pub out_dir: PathBuf,
    /// Trust flags.
    #[command(flatten)]
    pub trust: TrustArgs,
}

impl RenewArgs {
    /// Run.
    pub fn run(self, v: &Viewer, g: &Global) -> Result<RenewReport> {
        let plan = RenewPlan {
            trust: self.trust.plan(),
            key: self.key,
            out_dir: self.out_dir,
        };
        v.renew(&plan, &g.console())
    }
}
