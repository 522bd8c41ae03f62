//! The viewer's operations. [`Viewer`] is the viewer home; [`Access`] is how a command was
//! told to decide trust and check revocations. Every grant passes [`Viewer::authorize`]
//! (one trust rule, one window check, the revocation list) before anything is decrypted
//! or any network traffic for the release starts.

use std::path::PathBuf;

use reelseal_core::keys::PublisherPublic;

use crate::home::ViewerHome;

pub mod authorize;
pub mod fetch;
pub mod inspect;
pub mod join;
pub mod local_peer;
pub mod open;
pub mod play;
pub mod redeem;
pub mod renew;
pub mod revocations;
pub mod trust;
pub mod watch;
pub mod webseed;

/// A viewer home opened for work.
pub struct Viewer {
    /// The home.
    pub home: ViewerHome,
}

impl Viewer {
    /// Work in `home`.
    pub fn new(home: ViewerHome) -> Self {
        Viewer { home }
    }
}

/// How to decide whom to trust for one command.
#[derive(Clone, Debug, Default)]
pub struct TrustPolicy {
    /// `--publisher`: the grant must be from exactly this key.
    pub publisher: Option<PublisherPublic>,
    /// `--trust-on-first-use`: pin the grant's publisher if nothing else decides.
    pub trust_on_first_use: bool,
}

/// Where revocation lists come from for one command.
#[derive(Clone, Debug, Default)]
pub struct RevocationPolicy {
    /// A signed list given by hand.
    pub file: Option<PathBuf>,
    /// Do not contact the key server; rely on the cached or given list.
    pub offline: bool,
}

/// Trust and revocation choices together (the CLI's shared flags).
#[derive(Clone, Debug, Default)]
pub struct Access {
    /// Trust.
    pub trust: TrustPolicy,
    /// Revocations.
    pub revocations: RevocationPolicy,
}
