//! The sealed stream: how every payload file (and the manifest) is encrypted.
//!
//! STREAM (Hoang–Reyhanitabar–Rogaway–Vizár, as in age) over ChaCha20-Poly1305:
//!
//! - file key = HKDF-SHA256(ikm = 32-byte key from the key set, salt = 16-byte random file
//!   nonce, info = `"reelseal/v1/" ‖ label ‖ 0x00 ‖ release id`), label `payload` or `manifest`;
//! - chunk *i* is sealed with nonce = 11-byte big-endian *i* ‖ 1 byte (1 for the last chunk,
//!   0 otherwise), no associated data;
//! - every chunk holds 65,520 plaintext bytes (65,536 ciphertext bytes with its tag) except
//!   the last, which holds 1..=65,520 bytes; only an empty plaintext has an empty last chunk.
//!
//! Because the chunk index and the last flag are in the nonce and the key is bound to the
//! file nonce and the release, truncation, extension, reordering and splicing between files
//! or releases all fail authentication, and any chunk can be checked and decrypted alone.

use std::io::{self, Read, Seek, SeekFrom, Write};

use chacha20poly1305::{aead::AeadInPlace, ChaCha20Poly1305, KeyInit, Nonce, Tag};
use hkdf::Hkdf;
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{Error, ReleaseId, Result};

/// Plaintext bytes in every chunk but the last.
pub const CHUNK_PLAIN: usize = 65_520;
/// Poly1305 tag length.
pub const TAG_LEN: usize = 16;
/// Ciphertext bytes in every chunk but the last (64 KiB).
pub const CHUNK_CT: usize = CHUNK_PLAIN + TAG_LEN;
/// Length of the random per-file nonce fed to HKDF as salt.
pub const FILE_NONCE_LEN: usize = 16;

/// What a sealed stream is used for; goes into the HKDF info so the keys never coincide.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Purpose {
    /// A payload (film) file.
    Payload,
    /// The release's encrypted manifest.
    Manifest,
}

impl Purpose {
    fn label(self) -> &'static [u8] {
        match self {
            Purpose::Payload => b"payload",
            Purpose::Manifest => b"manifest",
        }
    }
}

/// The AEAD for one file, with the per-file key already derived.
pub struct FileCipher {
    aead: ChaCha20Poly1305,
}

impl FileCipher {
    /// Derive the file key from a key-set key, the file nonce and the release id.
    pub fn new(
        key: &[u8; 32],
        nonce: &[u8; FILE_NONCE_LEN],
        release: &ReleaseId,
        purpose: Purpose,
    ) -> Self {
        let mut info = Vec::with_capacity(48);
        info.extend_from_slice(b"reelseal/v1/");
        info.extend_from_slice(purpose.label());
        info.push(0);
        info.extend_from_slice(&release.0);
        let mut okm = Zeroizing::new([0u8; 32]);
        Hkdf::<Sha256>::new(Some(nonce), key)
            .expand(&info, &mut okm[..])
            .expect("32 bytes is a valid HKDF-SHA256 output length");
        FileCipher {
            aead: ChaCha20Poly1305::new((&*okm).into()),
        }
    }

    fn nonce(index: u64, last: bool) -> Nonce {
        let mut n = [0u8; 12];
        n[3..11].copy_from_slice(&index.to_be_bytes());
        n[11] = last as u8;
        n.into()
    }

    /// Encrypt one chunk in place (`buf` holds the plaintext; the tag is appended).
    pub fn seal_chunk(&self, index: u64, last: bool, buf: &mut Vec<u8>) {
        debug_assert!(buf.len() <= CHUNK_PLAIN);
        let tag = self
            .aead
            .encrypt_in_place_detached(&Self::nonce(index, last), b"", buf)
            .expect("chunk is far below the ChaCha20 length limit");
        buf.extend_from_slice(&tag);
    }

    /// Encrypt one chunk's plaintext in place in a slice and return its tag (no copies:
    /// the sealing pipeline reads plaintext straight into its output block).
    pub fn seal_in_place(&self, index: u64, last: bool, buf: &mut [u8]) -> [u8; TAG_LEN] {
        debug_assert!(buf.len() <= CHUNK_PLAIN);
        self.aead
            .encrypt_in_place_detached(&Self::nonce(index, last), b"", buf)
            .expect("chunk is far below the ChaCha20 length limit")
            .into()
    }

    /// Decrypt one chunk in place in a slice holding ciphertext ‖ tag; returns the plaintext
    /// length (the plaintext is `buf[..len]`). On failure the slice is zeroed.
    pub fn open_in_place(&self, index: u64, last: bool, buf: &mut [u8]) -> Result<usize> {
        if buf.len() < TAG_LEN {
            buf.fill(0);
            return Err(Error::ChunkAuth { index });
        }
        let split = buf.len() - TAG_LEN;
        let (data, tag) = buf.split_at_mut(split);
        let tag = *Tag::from_slice(tag);
        match self
            .aead
            .decrypt_in_place_detached(&Self::nonce(index, last), b"", data, &tag)
        {
            Ok(()) => Ok(split),
            Err(_) => {
                buf.fill(0);
                Err(Error::ChunkAuth { index })
            }
        }
    }

    /// Decrypt one chunk in place: `buf` holds chunk ciphertext with its tag; on success it
    /// holds the plaintext. On failure `buf` is wiped, so no unauthenticated bytes escape.
    pub fn open_chunk(&self, index: u64, last: bool, buf: &mut Vec<u8>) -> Result<()> {
        if buf.len() < TAG_LEN {
            buf.clear();
            return Err(Error::ChunkAuth { index });
        }
        let split = buf.len() - TAG_LEN;
        let tag = *Tag::from_slice(&buf[split..]);
        buf.truncate(split);
        match self
            .aead
            .decrypt_in_place_detached(&Self::nonce(index, last), b"", buf, &tag)
        {
            Ok(()) => Ok(()),
            Err(_) => {
                buf.clear();
                Err(Error::ChunkAuth { index })
            }
        }
    }
}

/// Ciphertext length of a plaintext of `plain` bytes.
pub fn ciphertext_len(plain: u64) -> u64 {
    let chunks = plain.div_ceil(CHUNK_PLAIN as u64).max(1);
    plain + chunks * TAG_LEN as u64
}

/// The chunk layout of a ciphertext, validated from its length alone.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// Ciphertext length.
    pub ct_len: u64,
    /// Number of chunks (≥ 1).
    pub chunks: u64,
    /// Plaintext length.
    pub plain_len: u64,
}

impl Geometry {
    /// Check that `ct_len` is a length a sealed stream can have.
    pub fn from_ciphertext_len(ct_len: u64) -> Result<Self> {
        let full = ct_len / CHUNK_CT as u64;
        let rem = ct_len % CHUNK_CT as u64;
        let chunks = if rem == 0 {
            if full == 0 {
                return Err(Error::Truncated {
                    len: ct_len,
                    why: "empty: even an empty file has one 16-byte chunk",
                });
            }
            full
        } else if rem < TAG_LEN as u64 {
            return Err(Error::Truncated {
                len: ct_len,
                why: "the last chunk is shorter than its tag",
            });
        } else if rem == TAG_LEN as u64 && full > 0 {
            return Err(Error::Truncated {
                len: ct_len,
                why: "an empty last chunk may only follow nothing",
            });
        } else {
            full + 1
        };
        Ok(Geometry {
            ct_len,
            chunks,
            plain_len: ct_len - chunks * TAG_LEN as u64,
        })
    }

    /// Byte range `(offset, len)` of chunk `i` in the ciphertext.
    pub fn chunk_range(&self, i: u64) -> (u64, usize) {
        let off = i * CHUNK_CT as u64;
        (off, (self.ct_len - off).min(CHUNK_CT as u64) as usize)
    }

    /// Is chunk `i` the last one?
    pub fn is_last(&self, i: u64) -> bool {
        i + 1 == self.chunks
    }
}

/// Streaming encryptor: write plaintext in, ciphertext goes to the inner writer.
/// Memory is one chunk. Call [`StreamWriter::finish`]; dropping it without finishing
/// leaves a ciphertext that will fail as truncated.
pub struct StreamWriter<W: Write> {
    inner: W,
    cipher: FileCipher,
    buf: Vec<u8>,
    index: u64,
}

impl<W: Write> StreamWriter<W> {
    /// Start a stream.
    pub fn new(inner: W, cipher: FileCipher) -> Self {
        StreamWriter {
            inner,
            cipher,
            buf: Vec::with_capacity(CHUNK_CT),
            index: 0,
        }
    }

    fn flush_chunk(&mut self, last: bool) -> io::Result<()> {
        self.cipher.seal_chunk(self.index, last, &mut self.buf);
        self.inner.write_all(&self.buf)?;
        self.buf.clear();
        self.index = self
            .index
            .checked_add(1)
            .ok_or_else(|| io::Error::other("sealed stream too long"))?;
        Ok(())
    }

    /// Seal the last chunk and return the inner writer.
    pub fn finish(mut self) -> io::Result<W> {
        self.flush_chunk(true)?;
        self.inner.flush()?;
        Ok(self.inner)
    }
}

impl<W: Write> Write for StreamWriter<W> {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            // A full buffer is only sealed once more data proves it is not the last chunk.
            if self.buf.len() == CHUNK_PLAIN {
                self.flush_chunk(false)?;
            }
            let take = (CHUNK_PLAIN - self.buf.len()).min(data.len());
            self.buf.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// Encrypt a whole in-memory plaintext (for small things like the manifest, and tests).
pub fn seal_to_vec(cipher: FileCipher, plain: &[u8]) -> Vec<u8> {
    let mut w = StreamWriter::new(
        Vec::with_capacity(ciphertext_len(plain.len() as u64) as usize),
        cipher,
    );
    w.write_all(plain).expect("writing to a Vec cannot fail");
    w.finish().expect("writing to a Vec cannot fail")
}

/// Decrypt a whole in-memory ciphertext.
pub fn open_to_vec(cipher: FileCipher, ct: &[u8]) -> Result<Vec<u8>> {
    let geo = Geometry::from_ciphertext_len(ct.len() as u64)?;
    let mut out = Vec::with_capacity(geo.plain_len as usize);
    let mut buf = Vec::with_capacity(CHUNK_CT);
    for i in 0..geo.chunks {
        let (off, len) = geo.chunk_range(i);
        buf.clear();
        buf.extend_from_slice(&ct[off as usize..off as usize + len]);
        cipher.open_chunk(i, geo.is_last(i), &mut buf)?;
        out.extend_from_slice(&buf);
    }
    Ok(out)
}

/// Random-access decryptor: `Read + Seek` over the *plaintext* of a ciphertext that is
/// itself `Read + Seek`. Only the chunks a read touches are fetched and decrypted; errors
/// are `io::Error`s carrying an [`Error`] (see [`Error::from_io`]) that names the chunk.
pub struct StreamReader<R> {
    inner: R,
    cipher: FileCipher,
    geo: Geometry,
    pos: u64,
    cached: Option<u64>,
    buf: Vec<u8>,
}

impl<R: Read + Seek> StreamReader<R> {
    /// Wrap a ciphertext whose length is taken from the reader itself.
    pub fn new(mut inner: R, cipher: FileCipher) -> io::Result<Self> {
        let len = inner.seek(SeekFrom::End(0))?;
        Self::with_len(inner, cipher, len)
    }

    /// Wrap a ciphertext of known length (e.g. from the signed card).
    pub fn with_len(inner: R, cipher: FileCipher, ct_len: u64) -> io::Result<Self> {
        let geo = Geometry::from_ciphertext_len(ct_len)?;
        Ok(StreamReader {
            inner,
            cipher,
            geo,
            pos: 0,
            cached: None,
            buf: Vec::with_capacity(CHUNK_CT),
        })
    }

    /// Plaintext length.
    pub fn plain_len(&self) -> u64 {
        self.geo.plain_len
    }

    /// The validated chunk layout.
    pub fn geometry(&self) -> Geometry {
        self.geo
    }

    fn load(&mut self, i: u64) -> io::Result<()> {
        if self.cached == Some(i) {
            return Ok(());
        }
        self.cached = None;
        let (off, len) = self.geo.chunk_range(i);
        self.inner.seek(SeekFrom::Start(off))?;
        self.buf.resize(len, 0);
        if let Err(e) = self.inner.read_exact(&mut self.buf) {
            self.buf.clear();
            return Err(if e.kind() == io::ErrorKind::UnexpectedEof {
                Error::Truncated {
                    len: off,
                    why: "the file ends before its last chunk",
                }
                .into()
            } else {
                e
            });
        }
        self.cipher
            .open_chunk(i, self.geo.is_last(i), &mut self.buf)?;
        self.cached = Some(i);
        Ok(())
    }
}

impl<R: Read + Seek> Read for StreamReader<R> {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if self.pos >= self.geo.plain_len || out.is_empty() {
            return Ok(0);
        }
        let i = self.pos / CHUNK_PLAIN as u64;
        self.load(i)?;
        let within = (self.pos - i * CHUNK_PLAIN as u64) as usize;
        let n = (self.buf.len() - within).min(out.len());
        out[..n].copy_from_slice(&self.buf[within..within + n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for StreamReader<R> {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let new = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.geo.plain_len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        }
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = new;
        Ok(new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cipher(release: u8) -> FileCipher {
        FileCipher::new(
            &[7; 32],
            &[9; 16],
            &ReleaseId([release; 16]),
            Purpose::Payload,
        )
    }

    #[test]
    fn geometry_edges() {
        for plain in [0u64, 1, 65_519, 65_520, 65_521, 3 * 65_520, 3 * 65_520 + 1] {
            let ct = ciphertext_len(plain);
            let g = Geometry::from_ciphertext_len(ct).unwrap();
            assert_eq!(g.plain_len, plain, "plain {plain}");
        }
        for bad in [0u64, 15, 65_536 + 16, 65_536 + 5] {
            assert!(Geometry::from_ciphertext_len(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn truncation_at_chunk_boundary_is_detected() {
        let pt = vec![1u8; 3 * CHUNK_PLAIN];
        let ct = seal_to_vec(cipher(1), &pt);
        let e = open_to_vec(cipher(1), &ct[..2 * CHUNK_CT]).unwrap_err();
        assert!(matches!(e, Error::ChunkAuth { index: 1 }), "{e}");
    }

    #[test]
    fn other_release_fails() {
        let ct = seal_to_vec(cipher(1), b"hello");
        assert!(matches!(
            open_to_vec(cipher(2), &ct),
            Err(Error::ChunkAuth { index: 0 })
        ));
    }
}
