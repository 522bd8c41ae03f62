//! `reelseal keygen`.

use anyhow::Result;

use crate::home::PublisherHome;
use crate::ops::identity::{self, KeygenReport, Role};

/// Create your publisher identity (ed25519) and print its public key (rspub1…).
///
/// Example:
///   reelseal keygen            # prints rspub1…: give it to your viewers
///   reelseal keygen --show     # print it again
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct KeygenArgs {
    /// Replace an existing key (the old one is lost: grants it signed stay valid only for viewers who pinned it).
    #[arg(long, conflicts_with = "show")]
    pub force: bool,
    /// Print the public key of the identity you already have (makes nothing).
    #[arg(long)]
    pub show: bool,
}

impl KeygenArgs {
    /// Run.
    pub fn run(self, home: &PublisherHome) -> Result<KeygenReport> {
        if self.show {
            return identity::show(Role::Publisher, &home.key_file(), &crate::feedback::Silent);
        }
        identity::keygen(Role::Publisher, &home.key_file(), self.force)
    }
}
