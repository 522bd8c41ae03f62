//! Manifest: the plaintext parser and the encrypted file (`nonce ‖ sealed stream`) under
//! the test-vector key set (tests/vectors/keyset.json) and release 55×16.
//! Whatever parses re-encodes exactly, its files have a consistent ciphertext length, and
//! a viewer's outputs can be listed without panicking.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::Manifest;
use reelseal_core::stream::Geometry;
use reelseal_core::ReleaseId;

fn check(m: &Manifest, keys: &KeySet) {
    for f in &m.files {
        let g = Geometry::from_ciphertext_len(f.ct_len()).expect("ct_len is a valid length");
        assert_eq!(g.plain_len, f.size);
        assert!(!f.path.is_empty());
    }
    for (t, s) in m.traced_positions() {
        assert_eq!(m.tracks[t].segments[s].alts.len(), 2);
    }
    if let Ok(outs) = m.outputs(keys) {
        for o in outs {
            assert!(!o.parts.is_empty());
            let _ = o.size();
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let mut ks = KeySet::default();
    ks.insert(0, [0x66; 32]);
    ks.insert(7, [0x88; 32]);
    if let Ok(m) = Manifest::from_bytes(data) {
        assert_eq!(m.to_bytes(), data);
        check(&m, &ks);
    }
    let release = ReleaseId([0x55; 16]);
    if let Ok(m) = Manifest::open(data, &ks, &release) {
        assert_eq!(m.release, release);
        assert_eq!(m.seal_with_nonce(&ks, data[..16].try_into().unwrap()).unwrap(), data);
        check(&m, &ks);
    }
});
