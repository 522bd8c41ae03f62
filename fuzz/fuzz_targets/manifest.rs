//! Manifest: plaintext parser and the encrypted file. Whatever parses re-encodes exactly.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::Manifest;
use reelseal_core::ReleaseId;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Manifest::from_bytes(data) {
        assert_eq!(m.to_bytes(), data);
    }
    let mut ks = KeySet::default();
    ks.insert(0, [9; 32]);
    let _ = Manifest::open(data, &ks, &ReleaseId([3; 16]));
});
