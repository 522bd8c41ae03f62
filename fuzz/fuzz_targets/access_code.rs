//! One-time access codes as buyers type them (`code::code_hash`, `code::prefix`): the hash
//! ignores case, dashes and spaces (only ASCII letters and digits count), and the prefix is
//! a prefix of what was typed.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::code::{code_hash, prefix};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let h = code_hash(s);
    let norm: String = s.chars().filter(char::is_ascii_alphanumeric).collect();
    assert_eq!(code_hash(&norm.to_ascii_lowercase()), h);
    assert_eq!(code_hash(&s.replace('-', " ").to_ascii_uppercase()), h);
    let p = prefix(s);
    assert!(s.starts_with(&p), "{p:?} of {s:?}");
});
