//! Each role's home: where its files live, declared in one place.
//!
//! A publisher home holds the secret key, the ledger, the key server's admin token and the
//! newest revocation list; a viewer home holds the viewer key, the pinned publishers, what
//! revocation lists were seen (and their bytes), and the ciphertext cache of `play`.
//! Homes are `--home DIR`, else `REELSEAL_HOME`/`REELVIEW_HOME` (read by clap), else
//! `$XDG_DATA_HOME/<tool>` or `~/.local/share/<tool>`.

use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use reelseal_core::keys::{PublisherPublic, PublisherSecret, ViewerSecret};
use reelseal_core::InfoHash;
use reelseal_ledger::Ledger;

use crate::feedback::Feedback;
use crate::fsutil;

/// The publisher's home directory.
#[derive(Clone, Debug)]
pub struct PublisherHome {
    /// The directory.
    pub dir: PathBuf,
}

impl PublisherHome {
    /// `--home`, else the XDG default for `reelseal`.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self> {
        Ok(PublisherHome {
            dir: default_dir(explicit, "reelseal")?,
        })
    }
    /// The secret signing key (0600).
    pub fn key_file(&self) -> PathBuf {
        self.dir.join("publisher.key")
    }
    /// The SQLite ledger.
    pub fn ledger_file(&self) -> PathBuf {
        self.dir.join("ledger.sqlite")
    }
    /// The key server's admin bearer token (0600).
    pub fn admin_token_file(&self) -> PathBuf {
        self.dir.join("admin.token")
    }
    /// The newest signed revocation list, as a file to hand out.
    pub fn revocations_file(&self) -> PathBuf {
        self.dir.join("revocations.rsrl")
    }
    /// Where `seed` keeps swarm state between runs (the DHT routing table).
    pub fn swarm_state(&self) -> PathBuf {
        self.dir.join("swarm")
    }
    /// Load the secret key.
    pub fn secret(&self, fb: &dyn Feedback) -> Result<PublisherSecret> {
        let p = self.key_file();
        if !p.exists() {
            bail!(
                "no publisher key in {}: run `reelseal keygen` first (or pass --home DIR)",
                self.dir.display()
            );
        }
        let line = fsutil::read_secret_file(&p, fb)?;
        PublisherSecret::from_bech32(&line)
            .with_context(|| format!("{} does not hold a publisher secret key", p.display()))
    }
    /// Open the ledger (created on first use).
    pub fn ledger(&self) -> Result<Ledger> {
        fsutil::ensure_private_dir(&self.dir)?;
        Ok(Ledger::open(&self.ledger_file())?)
    }
}

/// The viewer's home directory.
#[derive(Clone, Debug)]
pub struct ViewerHome {
    /// The directory.
    pub dir: PathBuf,
}

impl ViewerHome {
    /// `--home`, else the XDG default for `reelview`.
    pub fn resolve(explicit: Option<&Path>) -> Result<Self> {
        Ok(ViewerHome {
            dir: default_dir(explicit, "reelview")?,
        })
    }
    /// The secret viewer key (0600).
    pub fn key_file(&self) -> PathBuf {
        self.dir.join("viewer.key")
    }
    /// Pinned publishers.
    pub fn trust_file(&self) -> PathBuf {
        self.dir.join("trusted.json")
    }
    /// Highest revocation-list sequence accepted per publisher, and when it was fetched.
    pub fn revocations_seen_file(&self) -> PathBuf {
        self.dir.join("revocations-seen.json")
    }
    /// The cached revocation list of a publisher.
    pub fn revocation_cache(&self, publisher: &PublisherPublic) -> PathBuf {
        self.dir
            .join("revocations")
            .join(format!("{}.rsrl", publisher.to_bech32()))
    }
    /// Where `fetch` and `play` keep swarm state between runs (the DHT routing table).
    pub fn swarm_state(&self) -> PathBuf {
        self.dir.join("swarm")
    }
    /// Where `play` keeps a release's ciphertext between runs.
    pub fn play_cache(&self, infohash: &InfoHash) -> PathBuf {
        self.dir.join("cache").join(infohash.to_hex())
    }
    /// Load the secret key (warning if the home is shared with other users).
    pub fn secret(&self, fb: &dyn Feedback) -> Result<ViewerSecret> {
        fsutil::warn_if_shared(&self.dir, fb);
        let p = self.key_file();
        if !p.exists() {
            bail!("no viewer key in {}: run `reelview keygen` and send the printed rsview1… key to the publisher (or pass --home DIR)", self.dir.display());
        }
        let line = fsutil::read_secret_file(&p, fb)?;
        ViewerSecret::from_bech32(&line)
            .with_context(|| format!("{} does not hold a viewer secret key", p.display()))
    }
}

/// Where `fetch` keeps ciphertext while downloading (and between interrupted runs).
pub fn fetch_cache(out: &Path, infohash: &InfoHash) -> PathBuf {
    out.join(format!(".reelview-{}", &infohash.to_hex()[..16]))
}

fn default_dir(explicit: Option<&Path>, tool: &str) -> Result<PathBuf> {
    if let Some(p) = explicit {
        return Ok(p.to_path_buf());
    }
    if let Some(x) = std::env::var_os("XDG_DATA_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(x).join(tool));
    }
    let home = std::env::var_os("HOME")
        .context("cannot find a home directory: set HOME or pass --home DIR")?;
    Ok(PathBuf::from(home).join(".local/share").join(tool))
}
