//! Writing small files durably and atomically (big outputs go through
//! [`crate::direct`]'s block writer).

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Write a small file atomically: a new temporary file beside it (created exclusively,
/// mode 0600 when `private`, else 0644), contents, fsync, rename over `path`. Readers see
/// the old file or the new one, never a part; an interrupted write leaves only a
/// `.reelseal-tmp-*` file, never something under the real name.
pub fn write_atomic(path: &Path, data: &[u8], private: bool) -> Result<()> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
    let tmp = dir.join(format!(
        ".reelseal-tmp-{}",
        hex::encode(crate::random_array::<8>())
    ));
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(if private { 0o600 } else { 0o644 });
    }
    #[cfg(not(unix))]
    let _ = private;
    let written = o.open(&tmp).and_then(|mut f| {
        f.write_all(data)?;
        f.sync_all()
    });
    let placed = written.and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}
