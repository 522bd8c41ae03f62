//! Grants: binary grants, armored key files (grant or access key), raw armor.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::armor;
use reelseal_core::grant::{Grant, KeyFile};
use reelseal_core::keys::{PublisherSecret, ViewerSecret};

fuzz_target!(|data: &[u8]| {
    let _ = Grant::inspect(data);
    let pk = PublisherSecret::from_bytes(&[1; 32]).public();
    if let Ok(g) = Grant::verify(data, &pk) {
        let _ = g.unwrap_keys(&ViewerSecret::from_bytes(&[2; 32]));
        let _ = g.window(0);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(kf) = KeyFile::parse(text) {
            let _ = Grant::inspect(kf.grant_bytes());
        }
        if let Ok(b) = armor::decode("GRANT", text) {
            assert_eq!(armor::decode("GRANT", &armor::encode("GRANT", &b)).unwrap(), b);
        }
    }
});
