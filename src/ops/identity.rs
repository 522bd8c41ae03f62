//! Making an identity: a publisher's ed25519 key or a viewer's x25519 key, written as a
//! commented 0600 key file in the role's home.

use std::path::{Path, PathBuf};

use anyhow::Result;
use serde::Serialize;

use crate::fsutil;

/// Which role the identity is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// A filmmaker (`rspub1…`).
    Publisher,
    /// A viewer (`rsview1…`).
    Viewer,
}

/// A new identity.
#[derive(Clone, Debug, Serialize)]
pub struct KeygenReport {
    /// Its role.
    #[serde(skip)]
    pub role: Role,
    /// The public key to hand out.
    pub public_key: String,
    /// Where the secret is.
    pub secret_key_file: PathBuf,
    /// An existing key shown again (`--show`), not a new one.
    pub existing: bool,
}

/// The public key of the identity already in `path` (like `age-keygen -y`).
pub fn show(role: Role, path: &Path, fb: &dyn crate::feedback::Feedback) -> Result<KeygenReport> {
    if !path.exists() {
        anyhow::bail!(
            "no key in {}: make one with `{} keygen` (or pass --home DIR)",
            path.display(),
            match role {
                Role::Publisher => "reelseal",
                Role::Viewer => "reelview",
            }
        );
    }
    let line = fsutil::read_secret_file(path, fb)?;
    let public_key = match role {
        Role::Publisher => reelseal_core::keys::PublisherSecret::from_bech32(&line)?
            .public()
            .to_bech32(),
        Role::Viewer => reelseal_core::keys::ViewerSecret::from_bech32(&line)?
            .public()
            .to_bech32(),
    };
    Ok(KeygenReport {
        role,
        public_key,
        secret_key_file: path.to_path_buf(),
        existing: true,
    })
}

/// Generate a key for `role` and write it to `path` (refusing to replace one unless `force`).
pub fn keygen(role: Role, path: &Path, force: bool) -> Result<KeygenReport> {
    let (tool, purpose, public, secret) = match role {
        Role::Publisher => {
            let sk = reelseal_core::keys::PublisherSecret::generate();
            (
                "reelseal publisher",
                "it signs your releases and grants.",
                sk.public().to_bech32(),
                sk.to_bech32(),
            )
        }
        Role::Viewer => {
            let sk = reelseal_core::keys::ViewerSecret::generate();
            (
                "reelview viewer",
                "it opens every grant made for you.",
                sk.public().to_bech32(),
                sk.to_bech32(),
            )
        }
    };
    if let Some(dir) = path.parent() {
        fsutil::ensure_private_dir(dir)?;
    }
    let text = zeroize::Zeroizing::new(format!(
        "# {tool} key — created {}\n# public key: {public}\n# Keep this file secret: {purpose}\n{}\n",
        reelseal_core::validity::fmt_time(reelseal_core::validity::now()),
        *secret
    ));
    fsutil::write_secret_file(path, &text, force)?;
    Ok(KeygenReport {
        role,
        public_key: public,
        secret_key_file: path.to_path_buf(),
        existing: false,
    })
}
