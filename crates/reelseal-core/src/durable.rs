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

/// What a file is, for messages ("a named pipe (FIFO)", "a symbolic link", …).
pub fn kind_of(t: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_symlink() {
        "a symbolic link"
    } else if t.is_dir() {
        "a directory"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_block_device() || t.is_char_device() {
        "a device file"
    } else if t.is_file() {
        "a regular file"
    } else {
        "not a regular file"
    }
}

/// Create a new file for writing, mode `mode` (less the umask): only if nothing is at
/// `path` (`O_EXCL`), and never through a symbolic link (`O_NOFOLLOW`: a link planted
/// there, dangling or not, is refused, not followed). The error names the file, says what
/// is in the way and what to do.
pub fn create_new(path: &Path, mode: u32) -> Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .custom_flags((rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC).bits() as i32)
        .open(path)
        .map_err(|e| in_the_way(path, e))
}

/// An error creating `path`, told as what is in the way.
pub fn in_the_way(path: &Path, e: std::io::Error) -> Error {
    let what = std::fs::symlink_metadata(path).ok().map(|m| m.file_type());
    match what {
        Some(t) if e.kind() == std::io::ErrorKind::AlreadyExists || t.is_symlink() => Error::io(
            path,
            std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!(
                    "{} is already there; nothing was written to it or through it: remove it, or choose another output",
                    kind_of(&t)
                ),
            ),
        ),
        _ => Error::io(path, e),
    }
}

/// Open a file for reading only if it is a regular file. A named pipe, socket or device
/// is refused before a byte is read (it is opened non-blocking, so a FIFO without a
/// writer cannot hang us); with `follow` false a symbolic link is refused too. Errors keep
/// their kind (`NotFound` stays `NotFound`); the refusal's message says what the file is.
pub fn open_regular(path: &Path, follow: bool) -> std::io::Result<std::fs::File> {
    use rustix::fs::OFlags;
    use std::os::unix::fs::OpenOptionsExt;
    let mut flags = OFlags::NONBLOCK | OFlags::CLOEXEC;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(flags.bits() as i32)
        .open(path)
        .map_err(|e| match std::fs::symlink_metadata(path) {
            Ok(m) if !follow && m.file_type().is_symlink() => not_regular(&m.file_type()),
            _ => e,
        })?;
    let t = f.metadata()?.file_type();
    if !t.is_file() {
        return Err(not_regular(&t));
    }
    rustix::fs::fcntl_setfl(&f, OFlags::empty())?;
    Ok(f)
}

fn not_regular(t: &std::fs::FileType) -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::InvalidInput,
        format!(
            "it is {}, not a regular file, and was not read: give a regular file instead",
            kind_of(t)
        ),
    )
}

/// Read a whole file with [`open_regular`] (links followed).
pub fn read_regular(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut f = open_regular(path, true)?;
    let mut v = Vec::new();
    f.read_to_end(&mut v)?;
    Ok(v)
}

/// Put a finished file `tmp` in place as `dest`: only if nothing is there unless
/// `replace`, and never over a symbolic link or anything else that is not a regular file
/// (replacing a link would not follow it, but a link there is someone else's doing).
pub fn place(tmp: &Path, dest: &Path, replace: bool) -> Result<()> {
    use rustix::fs::{RenameFlags, CWD};
    if let Ok(m) = std::fs::symlink_metadata(dest) {
        if !replace || !m.file_type().is_file() {
            return Err(in_the_way(dest, std::io::ErrorKind::AlreadyExists.into()));
        }
    }
    if replace {
        return std::fs::rename(tmp, dest).map_err(|e| Error::io(dest, e));
    }
    match rustix::fs::renameat_with(CWD, tmp, CWD, dest, RenameFlags::NOREPLACE) {
        Ok(()) => Ok(()),
        // No RENAME_NOREPLACE on this file system: a hard link fails if the name is taken.
        Err(rustix::io::Errno::INVAL | rustix::io::Errno::NOSYS) => {
            std::fs::hard_link(tmp, dest).map_err(|e| in_the_way(dest, e))?;
            std::fs::remove_file(tmp).map_err(|e| Error::io(tmp, e))
        }
        Err(e) => Err(in_the_way(dest, e.into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_files_are_never_created_through_a_link_or_over_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "mine").unwrap();
        for (name, target) in [
            ("to-file", victim.clone()),
            ("dangling", dir.path().join("nowhere")),
        ] {
            let link = dir.path().join(name);
            std::os::unix::fs::symlink(&target, &link).unwrap();
            let e = create_new(&link, 0o600).unwrap_err().to_string();
            assert!(e.contains("a symbolic link is already there"), "{e}");
        }
        assert!(create_new(&victim, 0o600).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        assert!(!dir.path().join("nowhere").exists());
        let fresh = dir.path().join("fresh");
        drop(create_new(&fresh, 0o600).unwrap());
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(
            std::fs::metadata(&fresh).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // Put in place: never over something there, unless replacing a regular file.
        assert!(place(&fresh, &victim, false).is_err());
        assert!(place(&fresh, &dir.path().join("to-file"), true).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "mine");
        place(&fresh, &dir.path().join("placed"), false).unwrap();
        assert!(!fresh.exists());
    }

    #[test]
    fn only_regular_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("fifo");
        rustix::fs::mkfifoat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::Mode::from_raw_mode(0o600),
        )
        .unwrap();
        // No writer: a blocking open would hang here.
        let e = open_regular(&fifo, true).unwrap_err();
        assert!(e.to_string().contains("named pipe"), "{e}");
        let file = dir.path().join("file");
        std::fs::write(&file, "x").unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&file, &link).unwrap();
        assert_eq!(read_regular(&link).unwrap(), b"x");
        let e = open_regular(&link, false).unwrap_err();
        assert!(e.to_string().contains("symbolic link"), "{e}");
        assert_eq!(
            open_regular(&dir.path().join("absent"), true)
                .unwrap_err()
                .kind(),
            std::io::ErrorKind::NotFound
        );
    }
}
