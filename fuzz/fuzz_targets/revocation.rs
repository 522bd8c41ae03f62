//! Revocation lists (version 2 with `next_update`, version 1 still read) against the
//! test-vector publisher (tests/vectors/revocation.json: seed 11×32), with and without a
//! previously seen sequence. A verified list names the pinned key, has sorted unique
//! entries and `next_update` ≥ `issued`; a version 2 list signs again (ed25519 is
//! deterministic) to exactly the input; a higher `seen` is a rollback.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::keys::PublisherSecret;
use reelseal_core::revocation::{RevocationList, DEFAULT_VALIDITY};
use reelseal_core::Error;
use serde_bencode::value::Value;

fuzz_target!(|data: &[u8]| {
    let sk = PublisherSecret::from_bytes(&[0x11; 32]);
    let pk = sk.public();
    let _ = RevocationList::verify(data, &pk, Some(3));
    let Ok(l) = RevocationList::verify(data, &pk, None) else { return };
    assert_eq!(l.publisher, pk);
    assert!(l.next_update >= l.issued);
    assert!(l.entries.windows(2).all(|w| w[0].subject < w[1].subject));
    let _ = l.is_current(i64::MAX);
    let _ = l.is_current(i64::MIN);
    assert!(RevocationList::verify(data, &pk, Some(l.seq)).is_ok());
    if let Some(next) = l.seq.checked_add(1) {
        assert!(matches!(
            RevocationList::verify(data, &pk, Some(next)),
            Err(Error::Rollback { .. })
        ));
    }
    for e in &l.entries {
        let _ = e.subject.to_string();
    }
    let resigned = l.clone().sign(&sk).expect("a verified list can be signed again");
    // A version 1 list signs again as version 2 with the same meaning; a version 2 list
    // signs again to exactly the input.
    assert_eq!(RevocationList::verify(&resigned, &pk, None).unwrap(), l);
    if version(data) == 2 {
        assert_eq!(resigned, data);
    } else {
        assert_eq!(version(data), 1);
        assert_eq!(l.next_update, l.issued.saturating_add(DEFAULT_VALIDITY));
    }
});

/// The `v` of the list inside a signed list that is known to parse.
fn version(signed: &[u8]) -> i64 {
    let field = |v: &Value, k: &[u8]| match v {
        Value::Dict(d) => d.get(k).cloned().unwrap(),
        _ => unreachable!(),
    };
    let outer: Value = serde_bencode::from_bytes(signed).unwrap();
    let Value::Bytes(list) = field(&outer, b"list") else { unreachable!() };
    let inner: Value = serde_bencode::from_bytes(&list).unwrap();
    let Value::Int(v) = field(&inner, b"v") else { unreachable!() };
    v
}
