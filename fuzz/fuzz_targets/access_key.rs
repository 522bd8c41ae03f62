//! Access keys: the binary form (`AccessKey::from_bytes`) and armored `.rskey` texts
//! (`KeyFile::parse`, either label). Seeds: the grant of tests/vectors/grant.json bundled
//! with its viewer secret 22×32. What parses armors back to the same bytes, bundles a grant
//! for its own secret, and reads back as the same key file.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::armor;
use reelseal_core::grant::{AccessKey, Grant, KeyFile, ACCESS_LABEL, GRANT_LABEL};
use reelseal_core::keys::{PublisherSecret, ViewerSecret};

fn check(a: &AccessKey, binary: &[u8]) {
    let armored = a.to_armor();
    assert_eq!(armor::decode(ACCESS_LABEL, &armored).unwrap(), binary);
    assert_eq!(armor::label(&armored), Some(ACCESS_LABEL));
    if let Ok(c) = Grant::inspect(&a.grant) {
        assert_eq!(c.params.viewer, a.secret.public());
    }
    match KeyFile::parse(&armored) {
        Ok(KeyFile::Access(b)) => {
            assert_eq!(b.grant, a.grant);
            assert_eq!(*b.secret.to_bytes(), *a.secret.to_bytes());
        }
        _ => panic!("an access key armors as an access key"),
    }
    let pk = PublisherSecret::from_bytes(&[0x11; 32]).public();
    if let Ok(g) = Grant::verify(&a.grant, &pk) {
        let again = ViewerSecret::from_bytes(&a.secret.to_bytes());
        assert!(AccessKey::new(again, &g).is_ok());
        let _ = g.unwrap_keys(&a.secret);
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(a) = AccessKey::from_bytes(data) {
        check(&a, data);
    }
    let Ok(text) = std::str::from_utf8(data) else { return };
    // Key files may come pasted from mail (text around the armor, quoting): what parses is
    // the armor block `armor::extract` finds, decoded strictly.
    match KeyFile::parse(text) {
        Ok(KeyFile::Access(a)) => {
            let (label, block) = armor::extract(text).expect("parsed, so an armor block");
            assert_eq!(label, ACCESS_LABEL);
            check(&a, &armor::decode(ACCESS_LABEL, &block).unwrap());
        }
        Ok(KeyFile::Grant(b)) => {
            let (label, block) = armor::extract(text).expect("parsed, so an armor block");
            assert_eq!(label, GRANT_LABEL);
            assert_eq!(b, armor::decode(GRANT_LABEL, &block).unwrap());
        }
        Err(_) => {}
    }
});
