#![no_main]
//! Every channel parser of untrusted bytes: member lists, version cards, channel grants
//! and pointers (FORMAT.md §12). Whatever the input: no panic, and what parses re-encodes
//! to the same bytes (canonical bencode).

use libfuzzer_sys::fuzz_target;
use reelseal_core::channel::{ChannelGrant, MemberList, Pointer, SignedVersion};
use reelseal_core::keys::PublisherSecret;

fuzz_target!(|data: &[u8]| {
    let owner = PublisherSecret::from_bytes(&[7; 32]).public();
    let _ = MemberList::verify(data, &owner);
    if let Ok(v) = SignedVersion::parse(data) {
        assert_eq!(v.as_bytes(), data);
        let _ = v.member_list(&owner);
        let _ = v.card().open_keys(&[0; 32]);
    }
    let _ = ChannelGrant::from_file_bytes(data, None);
    if let Ok(p) = Pointer::from_bytes(data) {
        assert_eq!(p.to_bytes(), data);
    }
});
