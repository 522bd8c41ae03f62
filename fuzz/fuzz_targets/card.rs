//! Signed card: inspect and verify arbitrary bytes against the test-vector publisher
//! (tests/vectors/card.json: seed 11×32). What verifies is the input byte for byte, and
//! signing the parsed card again (ed25519 is deterministic) gives the input back.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::card::SignedCard;
use reelseal_core::keys::PublisherSecret;

fuzz_target!(|data: &[u8]| {
    let inspected = SignedCard::inspect(data);
    if let Ok(c) = &inspected {
        let _ = c.release_id();
        let _ = c.publisher_key();
        let _ = c.infohash();
        let _ = c.supersedes_id();
        let _ = c.magnet("x");
    }
    let sk = PublisherSecret::from_bytes(&[0x11; 32]);
    if let Ok(c) = SignedCard::verify(data, &sk.public()) {
        assert_eq!(c.as_bytes(), data);
        assert_eq!(inspected.as_ref().ok(), Some(c.card()));
        assert_eq!(c.card().sign(&sk).unwrap().as_bytes(), data);
    }
});
