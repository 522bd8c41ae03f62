//! Writing big files durably without paying for it at the end: a helper thread fsyncs
//! behind the writer every 256 MiB, so the final `sync_all` has little left to flush.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::thread::JoinHandle;

use crate::{Error, Result};

const FLUSH_EVERY: u64 = 256 << 20;

/// A file being written, flushed to disk in the background as it grows.
pub struct DurableFile {
    path: PathBuf,
    file: File,
    since_flush: u64,
    flusher: Option<(SyncSender<File>, JoinHandle<()>)>,
}

impl DurableFile {
    /// Create (truncate) `path`.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).map_err(|e| Error::io(path, e))?;
        Ok(DurableFile {
            path: path.to_path_buf(),
            file,
            since_flush: 0,
            flusher: None,
        })
    }

    /// Append bytes.
    pub fn write_all(&mut self, b: &[u8]) -> Result<()> {
        self.file
            .write_all(b)
            .map_err(|e| Error::io(&self.path, e))?;
        self.since_flush += b.len() as u64;
        if self.since_flush >= FLUSH_EVERY {
            self.since_flush = 0;
            self.flush_behind();
        }
        Ok(())
    }

    fn flush_behind(&mut self) {
        if self.flusher.is_none() {
            let (tx, rx) = sync_channel::<File>(1);
            let spawned = std::thread::Builder::new()
                .name("reelseal-flush".into())
                .spawn(move || {
                    for f in rx {
                        let _ = f.sync_data(); // best effort; `finish` checks the final sync
                    }
                });
            match spawned {
                Ok(h) => self.flusher = Some((tx, h)),
                Err(_) => return,
            }
        }
        if let (Some((tx, _)), Ok(c)) = (&self.flusher, self.file.try_clone()) {
            let _ = tx.try_send(c); // a flush already queued is enough
        }
    }

    /// Sync everything to disk and close.
    pub fn finish(mut self) -> Result<()> {
        if let Some((tx, h)) = self.flusher.take() {
            drop(tx);
            let _ = h.join();
        }
        self.file.sync_all().map_err(|e| Error::io(&self.path, e))
    }

    /// Close without syncing (the caller is about to delete it).
    pub fn abandon(mut self) {
        if let Some((tx, h)) = self.flusher.take() {
            drop(tx);
            let _ = h.join();
        }
    }
}

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
