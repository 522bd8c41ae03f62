//! Keys: bech32 key texts of every kind, secret key files, raw 32-byte public keys (viewer
//! keys must be canonical and not of small order), and the hex ids people paste.
//! Whatever parses prints back as the input (up to case and surrounding whitespace).
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::keys::{secret_line, PublisherPublic, PublisherSecret, ViewerPublic, ViewerSecret};
use reelseal_core::revocation::Subject;
use reelseal_core::{GrantId, InfoHash, ReleaseId};

fuzz_target!(|data: &[u8]| {
    if data.len() == 32 {
        if let Ok(k) = ViewerPublic::from_bytes(data) {
            assert_eq!(k.to_bytes(), data);
            assert!(data[31] & 0x80 == 0, "high bit set");
            assert_ne!(data, &[0u8; 32][..]);
            // not of small order: a shared secret with it is contributory
            assert!(reelseal_core::grant::challenge::seal(&k, &[1; 32]).is_ok());
        }
        if let Ok(k) = PublisherPublic::from_bytes(data) {
            assert_eq!(k.to_bytes(), data);
        }
    }
    let Ok(s) = std::str::from_utf8(data) else { return };
    if let Ok(k) = ViewerPublic::from_bech32(s) {
        assert!(k.to_bech32().eq_ignore_ascii_case(s.trim()));
        assert!(ViewerPublic::from_bytes(&k.to_bytes()).is_ok());
        assert_eq!(Subject::from_parts("viewer", s).unwrap(), Subject::viewer(&k));
    }
    if let Ok(k) = PublisherPublic::from_bech32(s) {
        assert!(k.to_bech32().eq_ignore_ascii_case(s.trim()));
    }
    if let Ok(k) = ViewerSecret::from_bech32(s) {
        assert!(k.to_bech32().eq_ignore_ascii_case(s.trim()));
    }
    if let Ok(k) = PublisherSecret::from_bech32(s) {
        assert!(k.to_bech32().eq_ignore_ascii_case(s.trim()));
    }
    if let Ok(l) = secret_line(s) {
        assert!(!l.is_empty() && !l.starts_with('#') && l.trim() == l.as_str());
    }
    if let Ok(g) = GrantId::from_hex(s) {
        assert!(g.to_hex().eq_ignore_ascii_case(s));
        assert_eq!(Subject::from_parts("grant", s).unwrap(), Subject::Grant(g));
    }
    if let Ok(r) = ReleaseId::from_hex(s) {
        assert!(r.to_hex().eq_ignore_ascii_case(s));
    }
    if let Ok(h) = InfoHash::from_hex(s) {
        assert!(h.to_hex().eq_ignore_ascii_case(s));
    }
});
