//! Trust and revocation flags shared by the viewer's commands.

use std::path::PathBuf;

use reelseal_core::keys::PublisherPublic;

use crate::ops::viewer::{Access, RevocationPolicy, TrustPolicy};

/// Whom to trust.
#[derive(clap::Args, Clone, Debug)]
#[command(next_help_heading = "Trust")]
pub struct TrustArgs {
    /// Accept only grants from this publisher key (rspub1…), pinned or not; a grant from
    /// any other key is refused.
    #[arg(long, value_name = "rspub1…")]
    pub publisher: Option<PublisherPublic>,
    /// Pin the grant's publisher if it is not pinned yet (only if you got the grant from a
    /// channel you trust). With --publisher, pins that key.
    #[arg(long)]
    pub trust_on_first_use: bool,
}

impl TrustArgs {
    /// The trust policy.
    pub fn plan(&self) -> TrustPolicy {
        TrustPolicy {
            publisher: self.publisher,
            trust_on_first_use: self.trust_on_first_use,
        }
    }
}

/// Whom to trust and where revocation lists come from.
#[derive(clap::Args, Clone, Debug)]
pub struct AccessArgs {
    /// Trust flags.
    #[command(flatten)]
    pub trust: TrustArgs,
    /// A signed revocation list (from `reelseal revocations`); a revoked grant is refused.
    #[arg(long, value_name = "FILE", help_heading = "Trust")]
    pub revocations: Option<PathBuf>,
    /// Do not contact the release's key server: rely on the cached (or --revocations) list.
    /// Without it, an unreachable key server is tolerated for 72 hours after the last
    /// successful check, then the grant is refused.
    #[arg(long, help_heading = "Trust")]
    pub offline: bool,
}

impl AccessArgs {
    /// Trust and revocation policies.
    pub fn plan(&self) -> Access {
        Access {
            trust: self.trust.plan(),
            revocations: RevocationPolicy {
                file: self.revocations.clone(),
                offline: self.offline,
            },
        }
    }
}
