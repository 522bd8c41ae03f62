//! The demo identities in `keys/` (public, for examples and tests only), copied into a
//! scratch directory with their secrets at mode 0600 as the tools expect.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

/// `keys/` in the source tree.
pub fn keys_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("keys")
}

/// Copy `keys/<name>` (publisher, jury-1, jury-2, buyer-1) to `root/<name>`, usable as a
/// `--home`.
pub fn copy_identity(name: &str, root: &Path) -> Result<PathBuf> {
    let src = keys_dir().join(name);
    let dst = root.join(name);
    crate::fsutil::ensure_private_dir(&dst)?;
    for e in std::fs::read_dir(&src)
        .with_context(|| format!("demo keys missing in {}", src.display()))?
    {
        let e = e?;
        let to = dst.join(e.file_name());
        std::fs::copy(e.path(), &to)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&to, std::fs::Permissions::from_mode(0o600))?;
        }
    }
    Ok(dst)
}

/// The public key (`rspub1…` / `rsview1…`) of a demo identity.
pub fn public_key(name: &str) -> Result<String> {
    let f = if name == "publisher" {
        "publisher.pub"
    } else {
        "viewer.pub"
    };
    Ok(std::fs::read_to_string(keys_dir().join(name).join(f))?
        .trim()
        .to_string())
}

/// Deterministic bytes that do not compress (xorshift64), standing in for a film where only
/// the size matters.
pub fn film_bytes(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}
