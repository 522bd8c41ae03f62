//! `reelview redeem`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::access::TrustArgs;
use crate::cli::Global;
use crate::ops::viewer::redeem::{RedeemPlan, RedeemReport};
use crate::ops::viewer::Viewer;

/// Redeem a one-time access code at a key server for a grant bound to your viewer key.
///
/// Example:
///   reelview redeem https://keys.example.org RS-7K2Q-… --publisher rspub1…
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RedeemArgs {
    /// The key server's base URL (e.g. https://keys.example.org).
    pub url: String,
    /// The code (RS-XXXX-…); case and dashes do not matter.
    pub code: String,
    /// Where to save the grant. Default: ./<title>.rskey
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Trust flags.
    #[command(flatten)]
    pub trust: TrustArgs,
}

impl RedeemArgs {
    /// Run.
    pub fn run(self, v: &Viewer, g: &Global) -> Result<RedeemReport> {
        let plan = RedeemPlan {
            trust: self.trust.plan(),
            url: self.url,
            code: self.code,
            out: self.out,
        };
        v.redeem(&plan, &g.console())
    }
}
