//! bech32 key texts of every kind, and secret key files.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::keys::{secret_line, PublisherPublic, PublisherSecret, ViewerPublic, ViewerSecret};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(k) = ViewerPublic::from_bech32(s) {
        assert!(k.to_bech32().eq_ignore_ascii_case(s.trim()));
    }
    if let Ok(k) = PublisherPublic::from_bech32(s) {
        assert!(k.to_bech32().eq_ignore_ascii_case(s.trim()));
    }
    let _ = ViewerSecret::from_bech32(s);
    let _ = PublisherSecret::from_bech32(s);
    let _ = secret_line(s);
});
