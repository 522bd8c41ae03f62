//! Sealed stream: arbitrary ciphertext under a fixed key, opened whole and through random
//! seeks. Must never panic; anything that opens must re-seal to the same bytes.
#![no_main]
use std::io::{Read, Seek, SeekFrom};

use libfuzzer_sys::fuzz_target;
use reelseal_core::stream::{self, FileCipher, Purpose, StreamReader};
use reelseal_core::ReleaseId;

fn cipher() -> FileCipher {
    FileCipher::new(&[7; 32], &[1; 16], &ReleaseId([2; 16]), Purpose::Payload)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (seeks, ct) = data.split_at(2);
    if let Ok(p) = stream::open_to_vec(cipher(), ct) {
        assert_eq!(stream::seal_to_vec(cipher(), &p), ct);
    }
    if let Ok(mut r) = StreamReader::new(std::io::Cursor::new(ct), cipher()) {
        let len = r.plain_len();
        let _ = r.seek(SeekFrom::Start(u64::from(seeks[0]) * 997 % (len + 1)));
        let mut buf = vec![0u8; seeks[1] as usize * 300];
        let _ = r.read(&mut buf);
    }
});
