//! Sealed stream: arbitrary ciphertext under the test-vector key (tests/vectors/stream.json:
//! key 66×32, file nonce 77×16, release 55×16), opened whole and through a random seek.
//! Input: purpose byte, seek byte, read-length byte, then the ciphertext.
//! Must never panic; anything that opens must re-seal to the same bytes, and what the
//! random-access reader returns must be exactly the plaintext at that offset.
#![no_main]
use std::io::{Read, Seek, SeekFrom};

use libfuzzer_sys::fuzz_target;
use reelseal_core::stream::{self, FileCipher, Geometry, Purpose, StreamReader};
use reelseal_core::ReleaseId;

fn cipher(purpose: Purpose) -> FileCipher {
    FileCipher::new(&[0x66; 32], &[0x77; 16], &ReleaseId([0x55; 16]), purpose)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 3 {
        return;
    }
    let (head, ct) = data.split_at(3);
    let purpose = if head[0] & 1 == 0 { Purpose::Payload } else { Purpose::Manifest };
    let geo = Geometry::from_ciphertext_len(ct.len() as u64);
    let opened = stream::open_to_vec(cipher(purpose), ct);
    if let Ok(p) = &opened {
        let g = geo.as_ref().expect("an opened stream has a valid geometry");
        assert_eq!(g.plain_len, p.len() as u64);
        assert_eq!(stream::ciphertext_len(g.plain_len), ct.len() as u64);
        assert_eq!(stream::seal_to_vec(cipher(purpose), p), ct);
    }
    match StreamReader::new(std::io::Cursor::new(ct), cipher(purpose)) {
        Ok(mut r) => {
            let len = r.plain_len();
            assert_eq!(Some(len), geo.as_ref().ok().map(|g| g.plain_len));
            let pos = u64::from(head[1]) * 997 % (len + 1);
            assert_eq!(r.seek(SeekFrom::Start(pos)).unwrap(), pos);
            let mut buf = vec![0u8; head[2] as usize * 300];
            match r.read(&mut buf) {
                Ok(n) => {
                    if let Ok(p) = &opened {
                        let pos = pos as usize;
                        assert_eq!(&buf[..n], &p[pos..pos + n]);
                        assert!(n > 0 || buf.is_empty() || pos == p.len());
                    }
                }
                Err(_) => assert!(opened.is_err(), "the reader failed where the whole stream opens"),
            }
        }
        Err(_) => assert!(geo.is_err()),
    }
});
