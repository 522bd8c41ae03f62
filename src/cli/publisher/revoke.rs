//! `reelseal revoke` and `reelseal revocations`.

use std::path::PathBuf;

use anyhow::Result;

use crate::cli::Global;
use crate::home::PublisherHome;
use crate::ops::studio::revoke::{RevocationsReport, RevokeReport, UnrevokeReport};
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
    /// How long viewers may rely on the new list before they need a newer one (e.g. 72h, 7d).
    #[arg(long, value_name = "DURATION", default_value = "72h")]
    pub valid_for: humantime::Duration,
}

impl RevokeArgs {
    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<RevokeReport> {
        reelseal_core::text::check_label("--reason", &self.reason)
            .map_err(|e| crate::cli::usage(e.to_string()))?;
        let fb = g.console();
        Studio::open(home, &fb)?.revoke(&self.subject, &self.reason, seconds(self.valid_for), &fb)
    }
}

/// A duration as whole seconds (saturating).
pub(crate) fn seconds(d: humantime::Duration) -> i64 {
    i64::try_from(d.as_secs()).unwrap_or(i64::MAX)
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
    /// Sign a new list that viewers may rely on this long (e.g. 30d for a festival offline
    /// in a cinema). Default: the current list, renewed for 72h once half of it has passed.
    #[arg(long, value_name = "DURATION")]
    pub valid_for: Option<humantime::Duration>,
}

impl RevocationsArgs {
    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<RevocationsReport> {
        Studio::open(home, &g.console())?
            .export_revocations(self.out.as_deref(), self.valid_for.map(seconds))
    }
}

/// Take a revocation back (revoked by mistake, or the key turned up again).
///
/// The next signed revocation list leaves it out; viewers who fetch that list (from the
/// key server, or a file you hand them) can open again. The audit log keeps the original
/// revocation, its reason, and yours.
///
/// Example:
///   reelseal unrevoke 3f2a9c01 --reason "wrong grant revoked"
#[derive(clap::Args, Debug)]
#[command(verbatim_doc_comment)]
pub struct UnrevokeArgs {
    /// Grant id (or a unique prefix of 8+ hex digits), or a viewer key rsview1….
    pub subject: String,
    /// Why it is taken back (recorded in the audit log).
    #[arg(long)]
    pub reason: String,
    /// How long viewers may rely on the new list (e.g. 72h, 7d).
    #[arg(long, value_name = "DURATION", default_value = "72h")]
    pub valid_for: humantime::Duration,
}

impl UnrevokeArgs {
    /// Run.
    pub fn run(self, home: PublisherHome, g: &Global) -> Result<UnrevokeReport> {
        reelseal_core::text::check_label("--reason", &self.reason)
            .map_err(|e| crate::cli::usage(e.to_string()))?;
        let fb = g.console();
        Studio::open(home, &fb)?.unrevoke(&self.subject, &self.reason, seconds(self.valid_for), &fb)
    }
}
