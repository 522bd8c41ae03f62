//! Validity windows as people type them (`Validity::parse`, `validity::parse_time`):
//! input `not_before|not_after`. Never panics; an accepted window never closes before it
//! opens and matches its ends parsed alone; a plain date spans one day; what `fmt_time`
//! prints reads back as the same second.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::validity::{fmt_time, parse_time, End, Validity, Window};

/// 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what RFC 3339 can write.
const FIRST: i64 = -62_167_219_200;
const LAST: i64 = 253_402_300_799;

fn one(s: &str) -> Option<i64> {
    let a = parse_time(s, End::Start);
    let b = parse_time(s, End::Finish);
    assert_eq!(a.is_ok(), b.is_ok());
    let (a, b) = (a.ok()?, b.ok()?);
    assert!(a == b || b - a == 86_399, "{s:?}: {a} {b}");
    for t in [a, b] {
        if (FIRST..=LAST).contains(&t) {
            let back = fmt_time(t);
            assert_eq!(parse_time(&back, End::Start).ok(), Some(t), "{back}");
        }
    }
    Some(a)
}

fuzz_target!(|data: &[u8]| {
    if data.len() >= 8 {
        let _ = fmt_time(i64::from_le_bytes(data[..8].try_into().unwrap()));
    }
    let Ok(s) = std::str::from_utf8(data) else { return };
    let (nb, na) = s.split_once('|').unwrap_or((s, ""));
    let start = one(nb);
    let _ = one(na);
    let end = (!na.trim().is_empty())
        .then(|| parse_time(na, End::Finish).ok())
        .flatten();
    match Validity::parse(Some(nb), Some(na)) {
        Ok(w) => {
            assert_eq!(w.not_before(), if nb.trim().is_empty() { None } else { start });
            assert_eq!(w.not_after(), end);
            if let (Some(a), Some(b)) = (w.not_before(), w.not_after()) {
                assert!(a <= b);
                assert_eq!(w.check(a), Window::Open);
                assert_eq!(w.check(b), Window::Open);
            }
            let _ = w.describe();
            let _ = w.check(i64::MIN);
            let _ = w.check(i64::MAX);
            assert!(w.or(Validity::ALWAYS).is_ok());
        }
        Err(_) => {
            let nb_ok = nb.trim().is_empty() || start.is_some();
            let na_ok = na.trim().is_empty() || end.is_some();
            if nb_ok && na_ok {
                assert!(matches!((start, end), (Some(a), Some(b)) if a > b));
            }
        }
    }
    assert!(Validity::parse(None, None).unwrap() == Validity::ALWAYS);
});
