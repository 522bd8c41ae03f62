//! `reelseal keygen`.

use anyhow::Result;

use crate::home::PublisherHome;
use crate::ops::identity::{self, KeygenReport, Role};

/// Create your publisher identity (ed25519) and print its public key (rspub1…).
///
/// Example:
///   reelseal keygen            # prints rspub1…: give it to your viewers
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct KeygenArgs {
    /// Replace an existing key (the old one is lost: grants it signed stay valid only for viewers who pinned it).
    #[arg(long)]
    pub force: bool,
}

impl KeygenArgs {
    /// Run.
    pub fn run(self, home: &PublisherHome) -> Result<KeygenReport> {
        identity::keygen(Role::Publisher, &home.key_file(), self.force)
    }
}
