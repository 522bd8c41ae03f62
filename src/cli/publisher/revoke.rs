//! `reelseal revoke` and `reelseal revocations`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::Global;
use crate::home::PublisherHome;
use crate::ops::studio::revoke::{RevocationsReport, RevokeReport};
use crate::ops::studio::Studio;

/// Revoke a grant (by id) or every grant of a viewer key, and sign the next revocation list.
///
/// The official client refuses revoked grants everywhere it sees the list (served by
/// `reelseal serve`, or given with `reelview --revocations FILE`). A viewer who already
/// decrypted keeps what they have: follow with `reelseal rotate` so the leaked key opens
/// nothing published afterwards.
///
/// Examples:
///   reelseal revoke 3f2a9c01 --reason "copy found online"
///   reelseal revoke rsview1… --reason "left the jury"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RevokeArgs {
    /// Grant id (or a unique prefix of 8+ hex digits), or a viewer key rsview1….
    pub subject: String,
    /// Why (shown to the viewer whose grant is refused).
    #[arg(long)]
    pub reason: String,
}

impl RevokeArgs {
    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<RevokeReport> {
        Studio::open(home, &g.console())?.revoke(&self.subject, &self.reason)
    }
}

/// Export the current signed revocation list.
///
/// Example:
///   reelseal revocations --out revocations.rsrl    # send it to viewers without a key server
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct RevocationsArgs {
    /// Where to write it. Default: revocations.rsrl in the publisher home.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
}

impl RevocationsArgs {
    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<RevocationsReport> {
        Studio::open(home, &g.console())?.export_revocations(self.out.as_deref())
    }
}
