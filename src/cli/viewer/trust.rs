//! `reelview trust`.

use anyhow::Result;
use reelseal_core::keys::PublisherPublic;

use crate::ops::viewer::trust::TrustReport;
use crate::ops::viewer::Viewer;

/// Pin a publisher's public key, so their grants are accepted.
///
/// Check the key with the filmmaker over a channel you trust (in person, a call) first.
///
/// Example:
///   reelview trust rspub1… --name "Nocturne Films"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct TrustCmdArgs {
    /// The publisher's key (rspub1…), as they gave it to you.
    pub key: PublisherPublic,
    /// A name to remember them by.
    #[arg(long)]
    pub name: Option<String>,
}

impl TrustCmdArgs {
    /// Run.
    pub fn run(self, v: &Viewer) -> Result<TrustReport> {
        v.trust(&self.key, self.name.as_deref())
    }
}
