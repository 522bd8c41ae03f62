//! Grants (binary) against the test-vector publisher and viewer (tests/vectors/grant.json:
//! publisher seed 11×32, viewer secret 22×32), armored grant files, raw armor.
//! A verified grant is the input byte for byte, agrees with what `inspect` shows, and
//! survives armoring; unwrapped key sets re-encode; armor round-trips.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::armor;
use reelseal_core::grant::{Grant, KeyFile, GRANT_LABEL};
use reelseal_core::keys::{PublisherSecret, ViewerSecret};
use reelseal_core::keyset::KeySet;

fuzz_target!(|data: &[u8]| {
    let inspected = Grant::inspect(data);
    let pk = PublisherSecret::from_bytes(&[0x11; 32]).public();
    if let Ok(g) = Grant::verify(data, &pk) {
        assert_eq!(g.to_bytes(), data);
        let claims = inspected.expect("a verified grant can be inspected");
        assert_eq!(&claims.card, g.card().card());
        assert_eq!(claims.params.id, g.params().id);
        assert_eq!(claims.params.viewer, g.params().viewer);
        assert_eq!(claims.params.validity, g.params().validity);
        let v = g.params().validity;
        if let (Some(a), Some(b)) = (v.not_before(), v.not_after()) {
            assert!(a <= b);
        }
        let _ = g.window(0);
        let _ = g.window(i64::MAX);
        match KeyFile::parse(&g.to_armor()).unwrap() {
            KeyFile::Grant(b) => assert_eq!(b, data),
            KeyFile::Access(_) => panic!("a grant armors as a grant"),
        }
        if let Ok(ks) = g.unwrap_keys(&ViewerSecret::from_bytes(&[0x22; 32])) {
            assert!(ks.main().is_ok());
            let b = ks.to_bytes();
            assert_eq!(KeySet::from_bytes(&b).unwrap().to_bytes(), b);
        }
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(kf) = KeyFile::parse(text) {
            let _ = Grant::inspect(kf.grant_bytes());
        }
        if let Ok(b) = armor::decode(GRANT_LABEL, text) {
            let again = armor::encode(GRANT_LABEL, &b);
            assert_eq!(armor::decode(GRANT_LABEL, &again).unwrap(), b);
            assert_eq!(armor::label(&again), Some(GRANT_LABEL));
        }
    }
});
