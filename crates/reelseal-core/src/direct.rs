//! Output files written in large blocks from several threads, straight to the disk.
//!
//! Sealing and opening write every byte once and then make it durable (fsync before the
//! rename). Going through the page cache first costs a copy of every byte into freshly
//! allocated cache pages (on the project's VM that copy alone took longer than encrypting
//! the bytes) and then a write-back that the final fsync has to wait for. So an
//! [`OutFile`] is preallocated to its final length and, where the file system supports it,
//! written with `O_DIRECT`: each block goes from our buffer to the device, the workers'
//! writes run side by side, and the final fsync only has metadata left. Whatever cannot be
//! written directly (a file system without `O_DIRECT`, an unaligned file end) goes through
//! the page cache as before; the end of a file is written only after all its blocks, so
//! a cached partial page never races a direct write.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Alignment of [`AlignedBuf`]s: a page, enough for any device's direct I/O.
pub(crate) const ALIGN: usize = 4096;

/// A fixed-size buffer whose start is [`ALIGN`]-aligned (a slice of a slightly larger
/// vector: no `unsafe` needed).
pub(crate) struct AlignedBuf {
    v: Vec<u8>,
    off: usize,
    len: usize,
}

impl AlignedBuf {
    /// A zeroed buffer of `len` bytes.
    pub(crate) fn new(len: usize) -> Self {
        let v = vec![0u8; len + ALIGN];
        let off = v.as_ptr().align_offset(ALIGN).min(ALIGN);
        AlignedBuf { v, off, len }
    }

    /// The whole buffer.
    pub(crate) fn get(&mut self) -> &mut [u8] {
        &mut self.v[self.off..self.off + self.len]
    }
}

/// An output file being written in blocks at known offsets (see the module docs).
pub(crate) struct OutFile {
    path: PathBuf,
    /// Through the page cache: file ends, fallbacks, and the final fsync.
    cached: File,
    /// `O_DIRECT`, when the file system takes it at the alignment we write at.
    direct: Option<File>,
    /// Offset and length alignment of direct writes.
    align: u64,
}

impl OutFile {
    /// Create (truncate) `path`, `len` bytes long once written. Blocks will be written at
    /// offsets that are multiples of `offsets` from buffers aligned to [`ALIGN`]; direct
    /// I/O is used only if the file system's alignment divides that.
    pub(crate) fn create(path: &Path, len: u64, offsets: u64) -> Result<Self> {
        let cached = File::create(path).map_err(|e| Error::io(path, e))?;
        if len > 0 {
            // Allocating up front reports a full disk before any work and lets direct
            // writes into the file run side by side (they no longer extend it).
            match rustix::fs::fallocate(&cached, rustix::fs::FallocateFlags::empty(), 0, len) {
                Ok(()) => {}
                Err(rustix::io::Errno::NOSPC) => {
                    return Err(Error::io(path, rustix::io::Errno::NOSPC.into()))
                }
                Err(_) => {} // not supported here: the writes allocate as they go
            }
        }
        let (direct, align) = match open_direct(path, offsets) {
            Some((f, a)) => (Some(f), a),
            None => (None, 1),
        };
        Ok(OutFile {
            path: path.to_path_buf(),
            cached,
            direct,
            align,
        })
    }

    /// Write a block at `off`. All of it, unless `last` (the file's final block): then
    /// only the part that can go directly to the disk, and the rest is for
    /// [`OutFile::write_tail`] once every other block is written. Returns the bytes
    /// written.
    pub(crate) fn write_block(&self, data: &[u8], off: u64, last: bool) -> Result<usize> {
        if let Some(d) = &self.direct {
            let n = data.len() as u64 / self.align * self.align;
            let aligned = off & (self.align - 1) == 0 // a power of two
                && data.as_ptr().align_offset(ALIGN) == 0
                && (last || n == data.len() as u64);
            if aligned && n > 0 {
                match d.write_all_at(&data[..n as usize], off) {
                    Ok(()) => return Ok(n as usize),
                    // Refused at this alignment after all: through the cache instead, now
                    // if the block covers whole pages (no page shared with a direct write
                    // in flight), else in order with the file's end.
                    Err(e)
                        if e.raw_os_error() == Some(rustix::io::Errno::INVAL.raw_os_error())
                            && (last || (off | n) & (ALIGN as u64 - 1) == 0) => {}
                    Err(e) => return Err(Error::io(&self.path, e)),
                }
            }
            if last {
                return Ok(0);
            }
        }
        self.write_tail(data, off)?;
        Ok(data.len())
    }

    /// Write bytes through the page cache (a file's unaligned end).
    pub(crate) fn write_tail(&self, data: &[u8], off: u64) -> Result<()> {
        self.cached
            .write_all_at(data, off)
            .map_err(|e| Error::io(&self.path, e))
    }

    /// Make everything written durable.
    pub(crate) fn sync(&self) -> Result<()> {
        self.cached.sync_all().map_err(|e| Error::io(&self.path, e))
    }
}

/// Open `path` again with `O_DIRECT` if its file system supports direct writes at
/// multiples of `offsets` from [`ALIGN`]-aligned memory; returns it and the alignment.
#[cfg(target_os = "linux")]
fn open_direct(path: &Path, offsets: u64) -> Option<(File, u64)> {
    use rustix::fs::{AtFlags, OFlags, StatxFlags};
    use std::os::unix::fs::OpenOptionsExt;
    if std::env::var_os("REELSEAL_NO_DIRECT_IO").is_some() {
        return None;
    }
    let f = std::fs::OpenOptions::new()
        .write(true)
        .custom_flags(OFlags::DIRECT.bits() as i32)
        .open(path)
        .ok()?;
    // Linux 6.1+ says what direct I/O needs; before that, a page is always enough.
    let (mem, offset) = match rustix::fs::statx(&f, "", AtFlags::EMPTY_PATH, StatxFlags::DIOALIGN) {
        Ok(s) if s.stx_mask & StatxFlags::DIOALIGN.bits() != 0 => (
            u64::from(s.stx_dio_mem_align),
            u64::from(s.stx_dio_offset_align),
        ),
        _ => (ALIGN as u64, ALIGN as u64),
    };
    let usable = offset != 0 // 0: no direct I/O on this file
        && mem != 0
        && mem <= ALIGN as u64
        && offset.is_power_of_two()
        && offsets & (offset - 1) == 0;
    usable.then_some((f, offset))
}

#[cfg(not(target_os = "linux"))]
fn open_direct(_: &Path, _: u64) -> Option<(File, u64)> {
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_buffers_are_aligned() {
        for len in [1, 4096, 65_536, 2 << 20] {
            let mut b = AlignedBuf::new(len);
            assert_eq!(b.get().len(), len);
            assert_eq!(b.get().as_ptr().align_offset(ALIGN), 0);
        }
    }

    #[test]
    fn blocks_and_an_unaligned_tail_make_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out");
        let block = 1 << 20;
        let len = 3 * block as u64 + 1234;
        let out = OutFile::create(&path, len, block as u64).unwrap();
        let mut want = Vec::new();
        let mut buf = AlignedBuf::new(block);
        for k in 0..4u64 {
            let n = if k == 3 { 1234 } else { block };
            let data = &mut buf.get()[..n];
            data.iter_mut()
                .enumerate()
                .for_each(|(i, b)| *b = (i as u64 * 7 + k) as u8);
            want.extend_from_slice(data);
            let done = out.write_block(data, k * block as u64, k == 3).unwrap();
            assert!(k == 3 || done == n);
            if done < n {
                out.write_tail(&data[done..], k * block as u64 + done as u64)
                    .unwrap();
            }
        }
        out.sync().unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), want);
    }
}
