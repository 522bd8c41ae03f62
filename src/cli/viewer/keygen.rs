//! `reelview keygen`.

use anyhow::Result;

use crate::ops::identity::{self, KeygenReport, Role};
use crate::ops::viewer::Viewer;

/// Create your viewer identity (x25519) and print its public key (rsview1…).
///
/// Example:
///   reelview keygen            # prints rsview1…: send it to the filmmaker
///   reelview keygen --show     # print it again
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct KeygenArgs {
    /// Replace an existing key (grants made for the old key stop opening).
    #[arg(long, conflicts_with = "show")]
    pub force: bool,
    /// Print the public key of the identity you already have (makes nothing).
    #[arg(long)]
    pub show: bool,
}

impl KeygenArgs {
    /// Run.
    pub fn run(self, v: &Viewer) -> Result<KeygenReport> {
        if self.show {
            return identity::show(Role::Viewer, &v.home.key_file(), &crate::feedback::Silent);
        }
        identity::keygen(Role::Viewer, &v.home.key_file(), self.force)
    }
}
