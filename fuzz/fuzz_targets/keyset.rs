//! Key set (tests/vectors/keyset.json): whatever parses has its main key and re-encodes to
//! exactly the input.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::keyset::KeySet;

fuzz_target!(|data: &[u8]| {
    if let Ok(k) = KeySet::from_bytes(data) {
        assert!(k.main().is_ok());
        let ids: Vec<u32> = k.ids().collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(&k.to_bytes()[..], data);
    }
});
