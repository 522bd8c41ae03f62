//! Torrent metainfo: whatever parses re-encodes exactly and passes the geometry checks.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::torrent::Metainfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Metainfo::from_bytes(data) {
        assert_eq!(m.to_bytes(), data);
        let _ = m.infohash();
        let _ = m.real_files();
    }
});
