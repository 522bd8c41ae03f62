//! `reelview inspect`.

use std::path::PathBuf;

use anyhow::Result;

use crate::ops::viewer::inspect::InspectReport;
use crate::ops::viewer::Viewer;

/// Show what a grant or access key is for, without decrypting anything.
///
/// Example:
///   reelview inspect jury.rskey
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct InspectArgs {
    /// The .rskey file.
    pub key: PathBuf,
}

impl InspectArgs {
    /// Run.
    pub fn run(self, v: &Viewer) -> Result<InspectReport> {
        v.inspect(&self.key)
    }
}
