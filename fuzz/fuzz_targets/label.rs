//! `text::check_label` (titles and labels a publisher writes): accepts exactly the texts
//! that are not blank, have at most `MAX_LABEL` characters and no character `is_dangerous`.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::text::{check_label, is_dangerous, MAX_LABEL};

fuzz_target!(|data: &[u8]| {
    let Ok(s) = std::str::from_utf8(data) else { return };
    let ok = check_label("label", s).is_ok();
    let want = !s.trim().is_empty()
        && s.chars().count() <= MAX_LABEL
        && !s.chars().any(is_dangerous);
    assert_eq!(ok, want, "{s:?}");
    for c in s.chars() {
        if c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}') {
            assert!(is_dangerous(c), "{c:?}");
        }
    }
});
