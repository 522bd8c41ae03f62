//! Signed card: inspect and verify arbitrary bytes against a fixed key.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::card::SignedCard;
use reelseal_core::keys::PublisherSecret;

fuzz_target!(|data: &[u8]| {
    let _ = SignedCard::inspect(data);
    let pk = PublisherSecret::from_bytes(&[1; 32]).public();
    if let Ok(c) = SignedCard::verify(data, &pk) {
        assert_eq!(c.as_bytes(), data);
    }
});
