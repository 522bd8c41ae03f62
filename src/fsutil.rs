//! Files the tools write and read: private directories, atomic writes (single and in
//! batches), secret key files, and file-name-safe labels.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crate::feedback::Feedback;

/// Create a directory (and missing parents) readable only by the owner (0700). A
/// directory that already exists is left exactly as it is: it is the user's, and its mode
/// is theirs to choose ([`warn_if_shared`] says when that is risky).
pub fn ensure_private_dir(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut b = std::fs::DirBuilder::new();
    b.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        b.mode(0o700);
    }
    b.create(dir)
        .with_context(|| format!("cannot create {}", dir.display()))
}

/// Warn when a home directory (secret keys, ledger) can be read by the group or by others.
pub fn warn_if_shared(dir: &Path, fb: &dyn Feedback) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(m) = std::fs::metadata(dir) {
            let mode = m.permissions().mode();
            if mode & 0o077 != 0 {
                fb.warn(&format!(
                    "{} is accessible to other users (mode {:o}); run `chmod 700 {}`",
                    dir.display(),
                    mode & 0o777,
                    dir.display()
                ));
            }
        }
    }
}

/// Write a file atomically (temporary file, fsync, rename); `private` makes it 0600.
pub fn write_atomic(path: &Path, data: &[u8], private: bool) -> Result<()> {
    Ok(reelseal_core::durable::write_atomic(path, data, private)?)
}

/// Write a new file (0644), refusing if anything — a file, a link — is at `path`: the
/// contents go to a temporary file first and are linked into place only if the name is
/// free (`link` fails rather than replace), so nothing existing is ever overwritten.
pub fn write_new(path: &Path, data: &[u8]) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut b = tempfile::Builder::new();
    b.prefix(".reelseal-tmp-");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        b.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = b
        .tempfile_in(&dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    std::io::Write::write_all(&mut tmp, data)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    tmp.persist_noclobber(path).map_err(|e| {
        if e.error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists; nothing was overwritten: choose another --out",
                path.display()
            )
        } else {
            anyhow::Error::new(e.error).context(format!("cannot write {}", path.display()))
        }
    })?;
    Ok(())
}

/// One file of a batch: where, what, and whether it holds a secret (0600).
pub struct BatchFile {
    /// Destination.
    pub path: PathBuf,
    /// Contents.
    pub data: zeroize::Zeroizing<String>,
    /// Mode 0600 instead of 0644.
    pub private: bool,
}

/// Write many files (e.g. a batch of grants), each atomically by temp file + rename, then
/// make them all durable with one `syncfs` instead of an fsync per file (100,000 fsyncs
/// would take minutes).
pub fn write_many(files: &[BatchFile]) -> Result<()> {
    let mut dirs = std::collections::BTreeSet::new();
    for f in files {
        let dir = match f.path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => PathBuf::from("."),
        };
        if dirs.insert(dir.clone()) {
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
        }
        let mut b = tempfile::Builder::new();
        b.prefix(".reelseal-tmp-");
        #[cfg(unix)]
        if !f.private {
            use std::os::unix::fs::PermissionsExt;
            b.permissions(std::fs::Permissions::from_mode(0o644));
        }
        // tempfile creates files 0600 by default on unix.
        let mut tmp = b
            .tempfile_in(&dir)
            .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
        std::io::Write::write_all(&mut tmp, f.data.as_bytes())
            .with_context(|| format!("cannot write {}", f.path.display()))?;
        tmp.persist(&f.path)
            .with_context(|| format!("cannot write {}", f.path.display()))?;
    }
    for d in dirs {
        let f = std::fs::File::open(&d).with_context(|| format!("cannot open {}", d.display()))?;
        rustix::fs::syncfs(&f).with_context(|| format!("cannot flush {} to disk", d.display()))?;
    }
    Ok(())
}

/// Write a secret key file (0600), refusing to replace an existing one unless `force`.
pub fn write_secret_file(path: &Path, text: &str, force: bool) -> Result<()> {
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists; refusing to overwrite a secret key (pass --force to replace it, and lose the old one)",
            path.display()
        );
    }
    write_atomic(path, text.as_bytes(), true)
}

/// Read a secret key file, warning (through `fb`) if others can read it.
pub fn read_secret_file(path: &Path, fb: &dyn Feedback) -> Result<zeroize::Zeroizing<String>> {
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if std::fs::metadata(path)?.permissions().mode() & 0o077 != 0 {
            fb.warn(&format!(
                "{} is readable by other users; run `chmod 600 {}`",
                path.display(),
                path.display()
            ));
        }
    }
    Ok(reelseal_core::keys::secret_line(&text)?)
}

/// Read a secret key file that must be private: refuse (with the fix) unless only its
/// owner can read it (mode 0600 or 0400). For keys handed to servers (`--key-file`),
/// where a warning would scroll by unseen.
pub fn read_private_secret_file(path: &Path) -> Result<zeroize::Zeroizing<String>> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .with_context(|| format!("cannot read {}", path.display()))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            anyhow::bail!(
                "{} has mode {:o}: a signing key must be readable by its owner only; run `chmod 600 {}`",
                path.display(),
                mode & 0o777,
                path.display()
            );
        }
    }
    let text = zeroize::Zeroizing::new(
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?,
    );
    Ok(reelseal_core::keys::secret_line(&text)?)
}

/// A file-name-safe slug of a label (`Berlinale jury 3` → `Berlinale-jury-3`).
pub fn slug(label: &str) -> String {
    let s: String = label
        .chars()
        .map(|c| {
            if c.is_alphanumeric() || c == '-' || c == '_' || c == '.' {
                c
            } else {
                '-'
            }
        })
        .collect();
    let s = s.trim_matches(|c| c == '-' || c == '.').to_string();
    if s.is_empty() {
        "viewer".into()
    } else {
        s
    }
}

/// `dir/<stem>.rskey`, or `dir/<stem>-2.rskey`… if an earlier file of the same batch
/// took the name.
pub fn unique_path(
    dir: &Path,
    stem: &str,
    taken: &mut std::collections::HashSet<PathBuf>,
) -> PathBuf {
    let mut n = 1;
    loop {
        let name = if n == 1 {
            format!("{stem}.rskey")
        } else {
            format!("{stem}-{n}.rskey")
        };
        let p = dir.join(name);
        if taken.insert(p.clone()) {
            return p;
        }
        n += 1;
    }
}
