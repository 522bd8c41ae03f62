//! The filmmaker's operations. [`Studio`] is the publisher home opened for work: its
//! ledger and its signing key. Listing operations that need no key take the home alone.

use std::path::Path;

use anyhow::{Context, Result};
use reelseal_core::card::SignedCard;
use reelseal_core::keys::PublisherSecret;
use reelseal_core::seal::CARD_FILE;
use reelseal_ledger::{Ledger, ReleaseRow};

use crate::feedback::Feedback;
use crate::home::PublisherHome;

pub mod codes;
pub mod grant;
pub mod keyserver;
pub mod mark;
pub mod releases;
pub mod revoke;
pub mod rotate;
pub mod seal;
pub mod seed;
pub mod serve;
pub mod trace;
pub mod viewers;

/// Who the audit log names for changes made from the command line.
pub const ACTOR: &str = "publisher";

/// A publisher home opened for work: ledger and signing key.
pub struct Studio {
    /// The home.
    pub home: PublisherHome,
    /// The ledger.
    pub ledger: Ledger,
    key: PublisherSecret,
}

impl Studio {
    /// Open the home's ledger and load its key.
    pub fn open(home: PublisherHome, fb: &dyn Feedback) -> Result<Studio> {
        crate::fsutil::warn_if_shared(&home.dir, fb);
        let key = home.secret(fb)?;
        let ledger = home.ledger()?;
        Ok(Studio { home, ledger, key })
    }

    /// The signing key.
    pub fn key(&self) -> &PublisherSecret {
        &self.key
    }

    /// Resolve RELEASE (id, unique prefix, or release directory) in the ledger.
    pub fn release(&self, arg: &str) -> Result<ReleaseRow> {
        resolve_release(&self.ledger, arg)
    }

    /// A release's card from the ledger, verified with this home's key.
    pub fn card(&self, r: &ReleaseRow) -> Result<SignedCard> {
        SignedCard::verify(&r.card, &self.key.public()).with_context(|| {
            format!(
                "the ledger's card for release {} does not verify with this publisher key ({}): is this the right --home?",
                r.id,
                self.home.key_file().display()
            )
        })
    }
}

/// Resolve RELEASE: a release id, a unique prefix of one, or a release directory.
pub fn resolve_release(ledger: &Ledger, arg: &str) -> Result<ReleaseRow> {
    let p = Path::new(arg);
    let card_file = p.join(CARD_FILE);
    if card_file.is_file() {
        let bytes = std::fs::read(&card_file)
            .with_context(|| format!("cannot read {}", card_file.display()))?;
        let card = SignedCard::inspect(&bytes)
            .with_context(|| format!("{} is not a valid release card", card_file.display()))?;
        let id = card.release_id();
        return ledger.release(&id)?.with_context(|| {
            format!(
                "{} holds release {id}, which is not in this publisher's ledger ({})",
                p.display(),
                ledger.path().display()
            )
        });
    }
    Ok(ledger.find_release(arg)?)
}
