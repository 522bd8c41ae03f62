//! Revocation lists against a fixed key, with and without a previously seen sequence.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::keys::PublisherSecret;
use reelseal_core::keyset::KeySet;
use reelseal_core::revocation::RevocationList;

fuzz_target!(|data: &[u8]| {
    let pk = PublisherSecret::from_bytes(&[1; 32]).public();
    let _ = RevocationList::verify(data, &pk, None);
    let _ = RevocationList::verify(data, &pk, Some(3));
    if let Ok(k) = KeySet::from_bytes(data) {
        assert_eq!(&k.to_bytes()[..], data);
    }
});
