//! HLS playlist parser (variant renditions): never panics; what it accepts is a list of
//! safe file names with sane durations.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::variants::parse_playlist;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(segs) = parse_playlist(text, "fuzz") {
            assert!(!segs.is_empty());
            for s in segs {
                assert!(!s.uri.contains('/') && !s.uri.starts_with('.'));
            }
        }
    }
});
