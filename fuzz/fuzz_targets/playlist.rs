//! HLS playlist parser (variant renditions): never panics; what it accepts is a non-empty
//! list of safe file names (no separators, no leading dot, no control characters, trimmed).
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::manifest::check_component;
use reelseal_core::variants::parse_playlist;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(segs) = parse_playlist(text, "fuzz") {
            assert!(!segs.is_empty());
            assert!(text.trim_start().starts_with("#EXTM3U"));
            for s in segs {
                assert!(!s.uri.contains(['/', '\\']) && !s.uri.starts_with('.'));
                assert!(!s.uri.starts_with('#') && s.uri.trim() == s.uri);
                assert!(check_component(&s.uri).is_ok());
            }
        }
    }
});
