//! `reelview trust`.

use anyhow::Result;
use reelseal_core::keys::PublisherPublic;
use serde::Serialize;

use crate::ops::viewer::trust::{TrustList, TrustRemoved, TrustReport};
use crate::ops::viewer::Viewer;
use crate::render::{Human, Report};

/// Pin a publisher's public key, so their grants are accepted; or list, rename, unpin.
///
/// Check the key with the filmmaker over a channel you trust (in person, a call) first.
///
/// Examples:
///   reelview trust rspub1… --name "Nocturne Films"    # pin (or rename if pinned)
///   reelview trust --list
///   reelview trust --remove rspub1…
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["key", "list", "remove"])))]
pub struct TrustCmdArgs {
    /// The publisher's key (rspub1…), as they gave it to you.
    pub key: Option<PublisherPublic>,
    /// A name to remember them by (renames a key already pinned).
    #[arg(long, requires = "key")]
    pub name: Option<String>,
    /// List the pinned publishers.
    #[arg(long)]
    pub list: bool,
    /// Unpin this publisher: their grants are refused again.
    #[arg(long, value_name = "rspub1…")]
    pub remove: Option<PublisherPublic>,
}

/// What `reelview trust` did.
#[derive(Serialize)]
#[serde(untagged)]
pub enum TrustOutcome {
    /// Pinned or renamed.
    Pinned(TrustReport),
    /// Listed.
    Listed(TrustList),
    /// Unpinned.
    Removed(TrustRemoved),
}

impl Report for TrustOutcome {
    fn human(&self, out: &mut Human) {
        match self {
            TrustOutcome::Pinned(r) => r.human(out),
            TrustOutcome::Listed(r) => r.human(out),
            TrustOutcome::Removed(r) => r.human(out),
        }
    }
}

impl TrustCmdArgs {
    /// Run.
    pub fn run(self, v: &Viewer) -> Result<TrustOutcome> {
        if let Some(name) = &self.name {
            reelseal_core::text::check_label("--name", name)
                .map_err(|e| crate::cli::usage(e.to_string()))?;
        }
        Ok(match (self.key, self.remove) {
            (Some(k), _) => TrustOutcome::Pinned(v.trust(&k, self.name.as_deref())?),
            (None, Some(k)) => TrustOutcome::Removed(v.untrust(&k)?),
            (None, None) => TrustOutcome::Listed(v.trusted()?),
        })
    }
}
