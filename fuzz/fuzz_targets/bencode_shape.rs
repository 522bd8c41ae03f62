//! `canonical::check_shape`, the flat pre-scan before any bencode is parsed, against
//! serde_bencode's own parser of its generic `Value`: never panics on any input, accepts
//! every value serde_bencode parses that is written canonically and nested no deeper than
//! `MAX_DEPTH`, refuses every deeper one, and `canonical::decode` accepts exactly the
//! canonical spellings of values within the limits.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::canonical::{self, check_shape, MAX_DEPTH};
use serde_bencode::value::Value;

/// serde_bencode recurses once per level: only small inputs go to it.
const SMALL: usize = 1024;

fn depth(v: &Value) -> usize {
    match v {
        Value::List(l) => 1 + l.iter().map(depth).max().unwrap_or(0),
        Value::Dict(d) => 1 + d.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let shape = check_shape(data, "fuzz");
    if data.len() > SMALL {
        return;
    }
    let decoded = canonical::decode::<Value>(data, "fuzz");
    let Ok(v) = serde_bencode::from_bytes::<Value>(data) else {
        assert!(decoded.is_err());
        return;
    };
    let canon = serde_bencode::to_bytes(&v).unwrap();
    if depth(&v) <= MAX_DEPTH {
        assert!(check_shape(&canon, "fuzz").is_ok(), "refused the canonical form {canon:?}");
        if data.starts_with(&canon) {
            assert!(shape.is_ok(), "refused a canonical value serde_bencode parses");
        }
        assert_eq!(decoded.is_ok(), canon == data);
    } else {
        assert!(shape.is_err(), "accepted a value nested deeper than MAX_DEPTH");
        assert!(decoded.is_err());
    }
});
