//! Torrent metainfo: whatever parses re-encodes exactly, passes the geometry checks again,
//! has 20 × ⌈total / piece⌉ bytes of piece hashes and files at increasing offsets.
#![no_main]
use libfuzzer_sys::fuzz_target;
use reelseal_core::torrent::Metainfo;

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = Metainfo::from_bytes(data) {
        assert_eq!(m.to_bytes(), data);
        assert!(m.check().is_ok());
        let _ = m.infohash();
        let total: u64 = m.info.files.iter().map(|f| f.length).sum();
        assert_eq!(m.info.pieces.len() as u64, total.div_ceil(m.info.piece_length) * 20);
        let real = m.real_files();
        assert!(real.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
        assert_eq!(m.files().len(), m.info.files.len());
    }
});
