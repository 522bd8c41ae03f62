//! Known-answer vectors (`tests/vectors/*.json`, described in docs/FORMAT.md).
//!
//! `cargo test -p reelseal-core --test vectors` checks the code against every vector.
//! `REELSEAL_REGENERATE_VECTORS=1 cargo test -p reelseal-core --test vectors` rewrites them
//! first (only after a deliberate format change: the vectors are the format).

use std::path::PathBuf;

use reelseal_core::card::{Card, CardFile, SignedCard};
use reelseal_core::grant::{self, Grant, GrantParams, KeyFile};
use reelseal_core::keys::{PublisherPublic, PublisherSecret, ViewerPublic, ViewerSecret};
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::{Manifest, ManifestFile, Segment, Track};
use reelseal_core::revocation::{Entry, RevocationList, Subject};
use reelseal_core::stream::{self, FileCipher, Purpose, CHUNK_CT};
use reelseal_core::{armor, Error, GrantId, ReleaseId};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/vectors")
}

fn h(b: &[u8]) -> String {
    hex::encode(b)
}
fn unh(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().expect("hex string")).expect("valid hex")
}
fn arr<const N: usize>(v: &Value) -> [u8; N] {
    unh(v).try_into().expect("length")
}
fn sha(b: &[u8]) -> String {
    h(&Sha256::digest(b))
}
/// Plaintext rule used by the vectors: byte i = i mod 251.
fn rule(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}
fn kind(r: Result<impl Sized, Error>) -> String {
    match r {
        Ok(_) => "ok".into(),
        Err(e) => e.kind().into(),
    }
}

const PUB_SEED: [u8; 32] = [0x11; 32];
const VIEWER: [u8; 32] = [0x22; 32];
const OTHER_VIEWER: [u8; 32] = [0x33; 32];
const EPHEMERAL: [u8; 32] = [0x44; 32];
const RELEASE: [u8; 16] = [0x55; 16];
const CEK: [u8; 32] = [0x66; 32];
const NONCE: [u8; 16] = [0x77; 16];

fn keyset() -> KeySet {
    let mut ks = KeySet::default();
    ks.insert(0, CEK);
    ks.insert(7, [0x88; 32]);
    ks
}

fn card() -> SignedCard {
    let sk = PublisherSecret::from_bytes(&PUB_SEED);
    Card {
        chunk: 65_536,
        created: 1_800_000_000,
        files: vec![
            CardFile {
                len: 288,
                name: "manifest.rsm".into(),
                sha256: vec![0xaa; 32],
            },
            CardFile {
                len: 1_048_576,
                name: "f000.rsc".into(),
                sha256: vec![0xbb; 32],
            },
        ],
        infohash: vec![0xcc; 20],
        key_server: Some("https://keys.example.org".into()),
        piece: 262_144,
        publisher: sk.public().to_bytes().to_vec(),
        release: RELEASE.to_vec(),
        supersedes: None,
        title: "Vector Film".into(),
        trackers: vec!["udp://tracker.example.org:1337/announce".into()],
        v: 1,
        web_seeds: vec![],
    }
    .sign(&sk)
    .unwrap()
}

fn grant_params() -> GrantParams {
    GrantParams {
        id: GrantId([0x99; 16]),
        label: "Jury 1".into(),
        viewer: ViewerSecret::from_bytes(&VIEWER).public(),
        validity: reelseal_core::validity::Validity::new(Some(1_800_000_000), Some(1_802_678_399))
            .unwrap(),
        issued: 1_799_990_000,
    }
}

// ---------- generation ----------

fn gen_stream() -> Value {
    let rel = ReleaseId(RELEASE);
    let c = || FileCipher::new(&CEK, &NONCE, &rel, Purpose::Payload);
    let mut cases = Vec::new();
    for len in [0usize, 1, 65_519, 65_520, 65_521, 3 * 65_520] {
        let ct = stream::seal_to_vec(c(), &rule(len));
        let mut v = json!({"name": format!("ok_len_{len}"), "purpose": "payload", "plaintext_len": len,
            "ciphertext_len": ct.len(), "ciphertext_sha256": sha(&ct), "expect": "ok"});
        if ct.len() <= 256 {
            v["ciphertext"] = json!(h(&ct));
        }
        cases.push(v);
    }
    let m = stream::seal_to_vec(
        FileCipher::new(&CEK, &NONCE, &rel, Purpose::Manifest),
        &rule(100),
    );
    cases.push(json!({"name": "ok_manifest_purpose", "purpose": "manifest", "plaintext_len": 100, "ciphertext_len": m.len(), "ciphertext_sha256": sha(&m), "ciphertext": h(&m), "expect": "ok"}));
    let bad = |name: &str, mutation: Value, expect: &str| json!({"name": name, "purpose": "payload", "plaintext_len": 3 * 65_520, "mutation": mutation, "expect": expect});
    cases.push(bad(
        "truncated_at_chunk_boundary",
        json!({"truncate": 2 * CHUNK_CT}),
        "chunk_auth",
    ));
    cases.push(bad(
        "truncated_mid_tag",
        json!({"truncate": 3 * CHUNK_CT - 16 - 20}),
        "chunk_auth",
    ));
    cases.push(bad(
        "impossible_length",
        json!({"truncate": 2 * CHUNK_CT + 10}),
        "truncated",
    ));
    cases.push(bad(
        "extra_chunk_appended",
        json!({"append_copy_of_chunk": 1}),
        "chunk_auth",
    ));
    cases.push(bad(
        "chunks_swapped",
        json!({"swap_chunks": [0, 1]}),
        "chunk_auth",
    ));
    cases.push(bad(
        "bit_flip_in_chunk_2",
        json!({"flip_bit_at": 2 * CHUNK_CT + 77}),
        "chunk_auth",
    ));
    cases.push(bad(
        "spliced_from_other_file_nonce",
        json!({"splice_chunk_1_from_nonce": h(&[0x78; 16])}),
        "chunk_auth",
    ));
    cases.push(bad(
        "opened_as_other_release",
        json!({"open_with_release": h(&[0x56; 16])}),
        "chunk_auth",
    ));
    json!({"description": "Sealed stream (FORMAT.md §3). plaintext byte i = i mod 251.",
        "key": h(&CEK), "nonce": h(&NONCE), "release": h(&RELEASE), "cases": cases})
}

fn gen_keys() -> Value {
    let p = PublisherSecret::from_bytes(&PUB_SEED);
    let v = ViewerSecret::from_bytes(&VIEWER);
    let vp = v.public().to_bech32();
    let mut bad_sum = vp.clone().into_bytes();
    let last = bad_sum.len() - 1;
    bad_sum[last] = if bad_sum[last] == b'q' { b'p' } else { b'q' };
    json!({"description": "bech32 key texts (FORMAT.md §2)", "cases": [
        {"name": "publisher_public", "type": "publisher_public", "text": p.public().to_bech32(), "expect": "ok", "bytes": h(&p.public().to_bytes())},
        {"name": "publisher_secret", "type": "publisher_secret", "text": p.to_bech32().as_str(), "expect": "ok", "bytes": h(&PUB_SEED)},
        {"name": "viewer_public", "type": "viewer_public", "text": vp, "expect": "ok", "bytes": h(&v.public().to_bytes())},
        {"name": "viewer_secret", "type": "viewer_secret", "text": v.to_bech32().as_str(), "expect": "ok", "bytes": h(&VIEWER)},
        {"name": "viewer_public_uppercase", "type": "viewer_public", "text": vp.to_uppercase(), "expect": "ok", "bytes": h(&v.public().to_bytes())},
        {"name": "bad_checksum", "type": "viewer_public", "text": String::from_utf8(bad_sum).unwrap(), "expect": "malformed"},
        {"name": "wrong_hrp", "type": "publisher_public", "text": vp, "expect": "malformed"},
        {"name": "mixed_case", "type": "viewer_public", "text": format!("RSVIEW{}", &vp[6..]), "expect": "malformed"},
        // Strict keys (FORMAT.md §2): canonical encodings of points that are not of small order.
        {"name": "publisher_small_order", "type": "publisher_public", "text": raw_bech32("rspub", &small(&[1])), "expect": "weak_key"},
        {"name": "publisher_order_8", "type": "publisher_public", "text": raw_bech32("rspub", &unh(&json!("26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05"))), "expect": "weak_key"},
        {"name": "publisher_non_canonical_y", "type": "publisher_public", "text": raw_bech32("rspub", &p_plus(1)), "expect": "not_canonical"},
        {"name": "viewer_small_order", "type": "viewer_public", "text": raw_bech32("rsview", &small(&[0])), "expect": "weak_key"},
        {"name": "viewer_order_8", "type": "viewer_public", "text": raw_bech32("rsview", &unh(&json!("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"))), "expect": "weak_key"},
        {"name": "viewer_non_canonical_u", "type": "viewer_public", "text": raw_bech32("rsview", &p_plus(2)), "expect": "not_canonical"},
    ]})
}

/// `rspub1…`/`rsview1…` text for arbitrary 32 bytes (what a careless or hostile encoder writes).
fn raw_bech32(hrp: &str, b: &[u8]) -> String {
    bech32::encode::<bech32::Bech32>(bech32::Hrp::parse(hrp).unwrap(), b).unwrap()
}

/// 32 little-endian bytes holding the small value given by `low`.
fn small(low: &[u8]) -> Vec<u8> {
    let mut b = vec![0u8; 32];
    b[..low.len()].copy_from_slice(low);
    b
}

/// 2^255 − 19 + k, little-endian: a non-canonical encoding of the field element k.
fn p_plus(k: u8) -> Vec<u8> {
    let mut b = vec![0xff; 32];
    b[0] = 0xed + k;
    b[31] = 0x7f;
    b
}

/// A key set in wire form with the given (id, key) entries, `v`, and ids as bencode
/// integers (version 1) or 4 big-endian bytes (version 2).
fn keyset_wire(entries: &[(u32, [u8; 32])], v: u64, byte_ids: bool) -> Vec<u8> {
    use serde_bencode::value::Value as B;
    use std::collections::HashMap;
    let keys = entries
        .iter()
        .map(|(id, key)| {
            let mut m = HashMap::new();
            let idv = if byte_ids {
                B::Bytes(id.to_be_bytes().to_vec())
            } else {
                B::Int(i64::from(*id))
            };
            m.insert(b"id".to_vec(), idv);
            m.insert(b"key".to_vec(), B::Bytes(key.to_vec()));
            B::Dict(m)
        })
        .collect();
    let mut top = HashMap::new();
    top.insert(b"keys".to_vec(), B::List(keys));
    top.insert(b"v".to_vec(), B::Int(v as i64));
    serde_bencode::to_bytes(&B::Dict(top)).unwrap()
}

fn gen_keyset() -> Value {
    let b = keyset().to_bytes();
    let entries: Vec<(u32, [u8; 32])> = keyset()
        .ids()
        .map(|id| (id, *keyset().get(id).unwrap()))
        .collect();
    let reversed: Vec<_> = entries.iter().rev().copied().collect();
    let v1 = keyset_wire(&entries, 1, false);
    let mut short_id = b.to_vec();
    let at = short_id
        .windows(10)
        .position(|w| w == b"2:id4:\0\0\0\x07")
        .unwrap();
    short_id.splice(at..at + 10, b"2:id3:\0\0\x07".iter().copied());
    json!({"description": "Key set encoding (FORMAT.md §4)", "cases": [
        {"name": "two_keys", "encoding": h(&b), "expect": "ok", "reencoded": h(&b)},
        {"name": "version_1_integer_ids", "encoding": h(&v1), "expect": "ok", "reencoded": h(&b)},
        {"name": "ids_not_ascending", "encoding": h(&keyset_wire(&reversed, 2, true)), "expect": "malformed"},
        {"name": "three_byte_id", "encoding": h(&short_id), "expect": "malformed"},
        {"name": "version_2_with_integer_ids", "encoding": h(&keyset_wire(&entries, 2, false)), "expect": "malformed"},
        {"name": "version_3", "encoding": h(&keyset_wire(&entries, 3, true)), "expect": "version"},
        {"name": "trailing_byte", "encoding": h(&[b.as_slice(), b"x"].concat()), "expect": "not_canonical"},
    ]})
}

fn manifest() -> Manifest {
    Manifest {
        release: ReleaseId(RELEASE),
        files: vec![
            ManifestFile {
                path: vec!["Vector Film.mp4".into()],
                size: 1_000_000,
                media_type: "video/mp4".into(),
                nonce: [0x01; 16],
                key_id: 0,
                ct_name: "f000.rsc".into(),
            },
            ManifestFile {
                path: vec!["subs".into(), "en.srt".into()],
                size: 42,
                media_type: "application/x-subrip".into(),
                nonce: [0x02; 16],
                key_id: 0,
                ct_name: "f001.rsc".into(),
            },
        ],
        tracks: vec![],
    }
}

/// The manifest of a release with variant segments: a shared segment, then a traced one
/// (variant A under key 1, B under key 2).
fn manifest_with_tracks() -> Manifest {
    let seg = |ct: &str, key_id: u32, name: &str, size: u64, n: u8| ManifestFile {
        path: vec!["segments".into(), name.into()],
        size,
        media_type: "video/mp2t".into(),
        nonce: [n; 16],
        key_id,
        ct_name: ct.into(),
    };
    Manifest {
        release: ReleaseId(RELEASE),
        files: vec![
            seg("f000.rsc", 0, "000000.ts", 188_000, 0x11),
            seg("f001.rsc", 1, "000001.a.ts", 190_000, 0x12),
            seg("f002.rsc", 2, "000001.b.ts", 191_000, 0x13),
        ],
        tracks: vec![Track {
            path: vec!["film.ts".into()],
            media_type: "video/mp2t".into(),
            segments: vec![
                Segment {
                    duration_ms: 2000,
                    alts: vec!["f000.rsc".into()],
                },
                Segment {
                    duration_ms: 2000,
                    alts: vec!["f001.rsc".into(), "f002.rsc".into()],
                },
            ],
        }],
    }
}

fn gen_manifest() -> Value {
    let m = manifest();
    let tracked = manifest_with_tracks();
    let tracked_sealed = tracked.seal_with_nonce(&keyset(), NONCE).unwrap();
    let sealed = m.seal_with_nonce(&keyset(), NONCE).unwrap();
    let mut flipped = sealed.clone();
    flipped[40] ^= 1;
    let mut v = json!({"description": "Manifest (FORMAT.md §5); sealed with key id 0 of keyset.json's key set", "cases": [
        {"name": "ok", "plaintext": h(&m.to_bytes()), "nonce": h(&NONCE), "file": h(&sealed), "expect": "ok"},
        {"name": "bit_flip", "file": h(&flipped), "expect": "chunk_auth"},
        {"name": "other_release", "file": h(&sealed), "open_with_release": h(&[0x56; 16]), "expect": "chunk_auth"},
        {"name": "ok_with_tracks", "plaintext": h(&tracked.to_bytes()), "nonce": h(&NONCE), "file": h(&tracked_sealed), "expect": "ok"},
    ]});
    // Every rejection of §5, each a correctly sealed manifest whose plaintext breaks one rule.
    let cases = v["cases"].as_array_mut().unwrap();
    for (name, bad) in manifest_rejections() {
        // Sealed for the release being opened, whatever the plaintext says.
        let cipher = FileCipher::new(&CEK, &NONCE, &ReleaseId(RELEASE), Purpose::Manifest);
        let file = [
            NONCE.as_slice(),
            &stream::seal_to_vec(cipher, &bad.to_bytes()),
        ]
        .concat();
        cases.push(json!({"name": name, "plaintext": h(&bad.to_bytes()), "nonce": h(&NONCE), "file": h(&file), "expect": "malformed"}));
    }
    v
}

/// Manifests that break exactly one rule of FORMAT.md §5.
fn manifest_rejections() -> Vec<(&'static str, Manifest)> {
    let edit = |f: &dyn Fn(&mut Manifest)| {
        let mut m = manifest();
        f(&mut m);
        m
    };
    let edit_tracked = |f: &dyn Fn(&mut Manifest)| {
        let mut m = manifest_with_tracks();
        f(&mut m);
        m
    };
    vec![
        (
            "path_dot_dot",
            edit(&|m| m.files[0].path = vec!["..".into(), "x".into()]),
        ),
        (
            "path_with_slash",
            edit(&|m| m.files[0].path = vec!["a/b".into()]),
        ),
        (
            "path_with_backslash",
            edit(&|m| m.files[0].path = vec!["a\\b".into()]),
        ),
        (
            "path_control_character",
            edit(&|m| m.files[0].path = vec!["a\u{1b}b".into()]),
        ),
        (
            "path_empty_component",
            edit(&|m| m.files[0].path = vec!["".into()]),
        ),
        ("path_no_components", edit(&|m| m.files[0].path = vec![])),
        (
            "duplicate_path",
            edit(&|m| m.files[1].path = m.files[0].path.clone()),
        ),
        (
            "duplicate_ct",
            edit(&|m| m.files[1].ct_name = m.files[0].ct_name.clone()),
        ),
        (
            "ct_is_the_manifest",
            edit(&|m| m.files[0].ct_name = "manifest.rsm".into()),
        ),
        (
            "ct_unsafe",
            edit(&|m| m.files[0].ct_name = "../f000.rsc".into()),
        ),
        (
            "other_release_inside",
            edit(&|m| m.release = ReleaseId([0x56; 16])),
        ),
        (
            "track_without_segments",
            edit_tracked(&|m| m.tracks[0].segments.clear()),
        ),
        (
            "track_alt_not_a_file",
            edit_tracked(&|m| m.tracks[0].segments[0].alts = vec!["f009.rsc".into()]),
        ),
        (
            "track_reuses_a_file",
            edit_tracked(&|m| {
                m.tracks[0].segments[1].alts[0] = m.tracks[0].segments[0].alts[0].clone()
            }),
        ),
        (
            "track_three_alternatives",
            edit_tracked(&|m| m.tracks[0].segments[1].alts.push("f000.rsc".into())),
        ),
        (
            "track_no_alternative",
            edit_tracked(&|m| m.tracks[0].segments[1].alts.clear()),
        ),
        (
            "track_alternatives_same_key",
            edit_tracked(&|m| {
                let k = m.files[1].key_id;
                m.files[2].key_id = k;
            }),
        ),
        (
            "track_path_is_a_file_path",
            edit_tracked(&|m| m.tracks[0].path = m.files[0].path.clone()),
        ),
    ]
}

fn reencode_with(bytes: &[u8], from: &str, to: &str) -> Vec<u8> {
    let s = bytes.iter().map(|b| *b as char).collect::<String>();
    s.replacen(from, to, 1).chars().map(|c| c as u8).collect()
}

fn gen_card() -> Value {
    let c = card();
    let b = c.as_bytes().to_vec();
    let mut flipped = b.clone();
    let at = flipped.windows(6).position(|w| w == b"Vector").unwrap();
    flipped[at] = b'v';
    let pk = PublisherSecret::from_bytes(&PUB_SEED).public();
    // A card with v = 2, correctly signed: must be rejected as a version.
    let mut c2 = c.card().clone();
    c2.v = 2;
    let body = serde_bencode::to_bytes(&c2).unwrap();
    json!({"description": "Signed release card (FORMAT.md §6); publisher seed = 11×32", "publisher_seed": h(&PUB_SEED), "publisher": h(&pk.to_bytes()), "cases": [
        {"name": "ok", "signed_card": h(&b), "card": h(&card_body(&b)), "expect": "ok"},
        {"name": "edited_title", "signed_card": h(&flipped), "expect": "bad_signature"},
        {"name": "non_canonical_integer", "signed_card": h(&reencode_with(&b, "i65536e", "i065536e")), "expect": "malformed_or_not_canonical"},
        {"name": "unsigned_v2_body", "card_body_v2": h(&body), "expect": "version"},
        {"name": "signature_s_not_reduced", "signed_card": h(&with_sig(&b, |sig| add_l(&mut sig[32..]))), "expect": "bad_signature"},
        {"name": "signature_small_order_r", "signed_card": h(&with_sig(&b, |sig| { sig[..32].copy_from_slice(&small(&[1])); })), "expect": "bad_signature"},
        {"name": "ok_web_seeds", "signed_card": h(web_seed_card(&["https://cdn.example.org/films/vector/"]).as_bytes()), "expect": "ok"},
        {"name": "web_seed_not_http", "signed_card": h(&signed_unchecked(&["ftp://cdn.example.org/films/vector/"])), "expect": "malformed"},
        {"name": "web_seed_without_slash", "signed_card": h(&signed_unchecked(&["https://cdn.example.org/films/vector"])), "expect": "malformed"},
    ]})
}

/// The vector card with web seeds (§6 `web_seeds`), signed.
fn web_seed_card(seeds: &[&str]) -> SignedCard {
    let sk = PublisherSecret::from_bytes(&PUB_SEED);
    let mut c = card().card().clone();
    c.web_seeds = seeds.iter().map(|s| s.to_string()).collect();
    c.sign(&sk).unwrap()
}

/// The vector card with web seeds that `Card::sign` would refuse, with a zero signature:
/// a reader rejects the card (`malformed`) before it looks at the signature.
fn signed_unchecked(seeds: &[&str]) -> Vec<u8> {
    #[derive(serde::Serialize)]
    struct W<'a> {
        #[serde(with = "serde_bytes")]
        card: &'a [u8],
        #[serde(with = "serde_bytes")]
        sig: &'a [u8],
    }
    let mut c = card().card().clone();
    c.web_seeds = seeds.iter().map(|s| s.to_string()).collect();
    let body = serde_bencode::to_bytes(&c).unwrap();
    serde_bencode::to_bytes(&W {
        card: &body,
        sig: &[0u8; 64],
    })
    .unwrap()
}

/// A signed card whose signature `edit` changed.
fn with_sig(signed: &[u8], edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
    #[derive(serde::Deserialize, serde::Serialize)]
    struct W {
        #[serde(with = "serde_bytes")]
        card: Vec<u8>,
        #[serde(with = "serde_bytes")]
        sig: Vec<u8>,
    }
    let mut w: W = serde_bencode::from_bytes(signed).unwrap();
    edit(&mut w.sig);
    serde_bencode::to_bytes(&w).unwrap()
}

/// Add the group order l to a little-endian 32-byte scalar (S ↦ S + l: the same value mod
/// l, a non-canonical S that strict verifiers refuse).
fn add_l(s: &mut [u8]) {
    const L: [u8; 32] = [
        0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde,
        0x14, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
    ];
    let mut carry = 0u16;
    for i in 0..32 {
        let v = u16::from(s[i]) + u16::from(L[i]) + carry;
        s[i] = v as u8;
        carry = v >> 8;
    }
}

fn card_body(signed: &[u8]) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    struct W {
        #[serde(with = "serde_bytes")]
        card: Vec<u8>,
    }
    serde_bencode::from_bytes::<W>(signed).unwrap().card
}

fn gen_grant() -> Value {
    let sk = PublisherSecret::from_bytes(&PUB_SEED);
    let g =
        grant::issue_with_ephemeral(&card(), &keyset(), &grant_params(), &sk, &EPHEMERAL).unwrap();
    let b = g.to_bytes().to_vec();
    let edited = reencode_with(&b, "3:nafi1802678399e", "3:nafi1902678399e");
    // A grant for a small-order viewer key cannot even be asked for: the key is refused.
    let weak_r = ViewerPublic::from_bytes(&[0u8; 32]);
    json!({"description": "Grant (FORMAT.md §7): card from card.json, key set from keyset.json",
        "publisher_seed": h(&PUB_SEED), "viewer_secret": h(&VIEWER), "other_viewer_secret": h(&OTHER_VIEWER), "ephemeral_secret": h(&EPHEMERAL),
        "keyset": h(&keyset().to_bytes()), "cases": [
        {"name": "ok", "signed_grant": h(&b), "armored": g.to_armor(), "unwrap_with": "viewer_secret", "expect": "ok", "keyset": h(&keyset().to_bytes())},
        {"name": "other_viewer", "signed_grant": h(&b), "unwrap_with": "other_viewer_secret", "expect": "not_my_grant"},
        {"name": "edited_window", "signed_grant": h(&edited), "expect": "bad_signature"},
        {"name": "low_order_viewer_key_refused_when_issuing", "viewer_public": h(&[0u8; 32]), "expect": kind(weak_r)},
    ]})
}

fn gen_armor() -> Value {
    let data: Vec<u8> = (0..100u8).collect();
    let a = armor::encode("GRANT", &data);
    let long = a.replacen('\n', "", 2).replacen(
        "-----BEGIN REELSEAL GRANT-----",
        "-----BEGIN REELSEAL GRANT-----\n",
        1,
    );
    json!({"description": "Armor (FORMAT.md §11): data = bytes 0..100", "cases": [
        {"name": "ok", "label": "GRANT", "text": a, "data": h(&data), "expect": "ok"},
        {"name": "crlf", "label": "GRANT", "text": a.replace('\n', "\r\n"), "data": h(&data), "expect": "ok"},
        {"name": "long_line", "label": "GRANT", "text": long, "expect": "malformed"},
        {"name": "wrong_label", "label": "GRANT", "text": a.replace("GRANT", "KEY"), "expect": "malformed"},
    ]})
}

fn gen_revocation() -> Value {
    let sk = PublisherSecret::from_bytes(&PUB_SEED);
    let list = |seq| RevocationList {
        publisher: sk.public(),
        seq,
        issued: 1_800_100_000,
        next_update: 1_800_359_200,
        entries: vec![
            Entry {
                subject: Subject::Viewer(
                    ViewerSecret::from_bytes(&OTHER_VIEWER).public().to_bytes(),
                ),
                reason: "leaked".into(),
                time: 1_800_050_000,
            },
            Entry {
                subject: Subject::Grant(GrantId([0x99; 16])),
                reason: "jury left".into(),
                time: 1_800_060_000,
            },
        ],
    };
    let b = list(5).sign(&sk).unwrap();
    let mut flipped = b.clone();
    let at = flipped.windows(6).position(|w| w == b"leaked").unwrap();
    flipped[at] = b'L';
    // Lists a writer of this version never makes, signed correctly all the same.
    let v1 = sign_list_like(&b, |w| {
        w.next_update = None;
        w.v = 1;
    });
    let backwards = sign_list_like(&b, |w| w.next_update = Some(w.issued - 1));
    let v2_without_next = sign_list_like(&b, |w| w.next_update = None);
    let v3 = sign_list_like(&b, |w| w.v = 3);
    json!({"description": "Revocation list (FORMAT.md §8)", "publisher_seed": h(&PUB_SEED), "cases": [
        {"name": "ok", "signed_list": h(&b), "seen": null, "expect": "ok", "seq": 5, "next_update": 1_800_359_200},
        {"name": "rollback", "signed_list": h(&b), "seen": 6, "expect": "rollback"},
        {"name": "same_seq_again", "signed_list": h(&b), "seen": 5, "expect": "ok", "seq": 5, "next_update": 1_800_359_200},
        {"name": "edited_reason", "signed_list": h(&flipped), "seen": null, "expect": "bad_signature"},
        {"name": "version_1_list_valid_72_hours", "signed_list": h(&v1), "seen": null, "expect": "ok", "seq": 5, "next_update": 1_800_100_000 + 72 * 3600},
        {"name": "next_update_before_issued", "signed_list": h(&backwards), "seen": null, "expect": "malformed"},
        {"name": "version_2_without_next_update", "signed_list": h(&v2_without_next), "seen": null, "expect": "malformed"},
        {"name": "version_3", "signed_list": h(&v3), "seen": null, "expect": "version"},
    ]})
}

/// The wire form of a revocation list (FORMAT.md §8), for making lists the library refuses.
#[derive(serde::Serialize, serde::Deserialize)]
struct WireList {
    entries: Vec<serde_bencode::value::Value>,
    issued: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    next_update: Option<i64>,
    #[serde(with = "serde_bytes")]
    publisher: Vec<u8>,
    seq: u64,
    v: u64,
}

#[derive(serde::Serialize, serde::Deserialize)]
struct WireSignedList {
    #[serde(with = "serde_bytes")]
    list: Vec<u8>,
    #[serde(with = "serde_bytes")]
    sig: Vec<u8>,
}

/// Re-sign `signed` (a signed list) after `edit` changed its body.
fn sign_list_like(signed: &[u8], edit: impl FnOnce(&mut WireList)) -> Vec<u8> {
    use ed25519_dalek::Signer;
    let outer: WireSignedList = serde_bencode::from_bytes(signed).unwrap();
    let mut w: WireList = serde_bencode::from_bytes(&outer.list).unwrap();
    edit(&mut w);
    let list = serde_bencode::to_bytes(&w).unwrap();
    let mut msg = b"reelseal/v1/revocations\0".to_vec();
    msg.extend_from_slice(&list);
    let sig = ed25519_dalek::SigningKey::from_bytes(&PUB_SEED).sign(&msg);
    serde_bencode::to_bytes(&WireSignedList {
        list,
        sig: sig.to_bytes().to_vec(),
    })
    .unwrap()
}

/// Object keys in byte order, so regenerated files diff cleanly.
fn sorted(v: Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut entries: Vec<(String, Value)> = m.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(a) => Value::Array(a.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// Content of torrent vector file `i`, byte `j`: `(7i + j) mod 251`.
fn vector_file(i: usize, len: u64) -> Vec<u8> {
    (0..len).map(|j| ((7 * i as u64 + j) % 251) as u8).collect()
}

/// The torrent vector: three files (a short one, one not piece-aligned, one exactly one
/// piece), 64 KiB pieces, BEP 47 padding.
fn vector_torrent() -> reelseal_core::torrent::Metainfo {
    use reelseal_core::torrent::{layout, Info, Metainfo, PieceHasher, ProjectData};
    let files = vec![
        ("manifest.rsm".to_string(), 100u64),
        ("f000.rsc".to_string(), 70_000),
        ("f001.rsc".to_string(), 65_536),
    ];
    let piece = 65_536;
    let mut hasher = PieceHasher::new(piece);
    let infos = layout(&files, piece);
    let mut real = 0;
    for f in &infos {
        if f.is_padding() {
            hasher.zeros(f.length);
        } else {
            hasher.update(&vector_file(real, f.length));
            real += 1;
        }
    }
    Metainfo {
        announce: None,
        announce_list: None,
        comment: None,
        created_by: None,
        creation_date: None,
        info: Info {
            files: infos,
            name: "reelseal-0123456789ab".into(),
            piece_length: piece,
            pieces: hasher.finish(),
            private: None,
        },
        reelseal: Some(ProjectData {
            release: vec![0x55; 16],
            v: 1,
        }),
        url_list: None,
    }
}

fn gen_torrent() -> Value {
    let m = vector_torrent();
    let b = m.to_bytes();
    let mut extra = m.clone();
    extra.info.pieces.extend_from_slice(&[0; 20]);
    let mut odd = m.clone();
    odd.info.piece_length = 100_000;
    let mut unsafe_path = m.clone();
    unsafe_path.info.files[0].path = vec!["..".into(), "x".into()];
    json!({"description": "Torrent (FORMAT.md §9): real file i holds bytes (7i + j) mod 251", "cases": [
        {"name": "ok", "torrent": h(&b), "infohash": hex::encode(m.infohash()), "expect": "ok",
         "files": [["manifest.rsm", 100], ["f000.rsc", 70_000], ["f001.rsc", 65_536]],
         "padding": [[".pad", "65436"], [".pad", "61072"]]},
        {"name": "one_hash_too_many", "torrent": h(&extra.to_bytes()), "expect": "malformed"},
        {"name": "piece_length_not_power_of_two", "torrent": h(&odd.to_bytes()), "expect": "malformed"},
        {"name": "unsafe_path", "torrent": h(&unsafe_path.to_bytes()), "expect": "malformed"},
    ]})
}

fn gen_access() -> Value {
    use reelseal_core::grant::AccessKey;
    let sk = PublisherSecret::from_bytes(&PUB_SEED);
    let g =
        grant::issue_with_ephemeral(&card(), &keyset(), &grant_params(), &sk, &EPHEMERAL).unwrap();
    let a = AccessKey::new(ViewerSecret::from_bytes(&VIEWER), &g).unwrap();
    // The same grant bundled with a secret it was not made for.
    #[derive(serde::Serialize)]
    struct W<'a> {
        #[serde(with = "serde_bytes")]
        grant: &'a [u8],
        #[serde(with = "serde_bytes")]
        secret: &'a [u8],
        v: u64,
    }
    let wrong = serde_bencode::to_bytes(&W {
        grant: g.to_bytes(),
        secret: &OTHER_VIEWER,
        v: 1,
    })
    .unwrap();
    json!({"description": "Access key (FORMAT.md §7): the grant of grant.json bundled with its viewer secret", "cases": [
        {"name": "ok", "armored": a.to_armor().as_str(), "secret": h(&VIEWER), "expect": "ok"},
        {"name": "secret_of_another_viewer", "armored": armor::encode("ACCESS KEY", &wrong), "expect": "malformed"},
    ]})
}

fn gen_challenge() -> Value {
    use reelseal_core::grant::challenge;
    let viewer = ViewerSecret::from_bytes(&VIEWER).public();
    let token = [0x42u8; 32];
    let (epk, boxed) = challenge::seal(&viewer, &token).unwrap();
    let mut flipped = boxed.clone();
    flipped[0] ^= 1;
    json!({"description": "Renewal challenge (FORMAT.md §7): a token sealed to viewer_secret's public key", "viewer_secret": h(&VIEWER), "cases": [
        {"name": "ok", "epk": h(&epk), "box": h(&boxed), "expect": "ok", "token": h(&token)},
        {"name": "flipped", "epk": h(&epk), "box": h(&flipped), "expect": "unwrap"},
        {"name": "other_viewer", "epk": h(&epk), "box": h(&boxed), "open_with": h(&OTHER_VIEWER), "expect": "unwrap"},
    ]})
}

fn gen_code() -> Value {
    let c = "RS-7K2Q-9M4X-TTB0-1ZZZ-K7Q2-M4X9-TB01-ZZZK";
    json!({"description": "Access code hash (FORMAT.md §11): SHA-256(\"reelseal/v1/code\" ‖ 0x00 ‖ uppercase letters and digits)", "cases": [
        {"name": "as_printed", "code": c, "hash": h(&reelseal_core::code::code_hash(c))},
        {"name": "typed_lowercase_with_spaces", "code": c.to_lowercase().replace('-', " "), "hash": h(&reelseal_core::code::code_hash(c))},
        {"name": "another_code", "code": "RS-0000", "hash": h(&reelseal_core::code::code_hash("RS-0000"))},
    ]})
}

fn gen_window() -> Value {
    use reelseal_core::validity::{Validity, Window};
    let w = Validity::parse(Some("2027-03-01"), Some("2027-03-31")).unwrap();
    let (a, b) = (w.not_before().unwrap(), w.not_after().unwrap());
    let show = |r: Window| match r {
        Window::Open => json!("open"),
        Window::NotYet(t) => json!(["not_yet", t]),
        Window::Expired(t) => json!(["expired", t]),
    };
    json!({"description": "Validity windows (FORMAT.md §7): inclusive ends; a plain date means 00:00:00 or 23:59:59 UTC", "not_before_text": "2027-03-01", "not_after_text": "2027-03-31", "nbf": a, "naf": b, "cases": [
        {"name": "second_before", "now": a - 1, "expect": show(w.check(a - 1))},
        {"name": "first_second", "now": a, "expect": show(w.check(a))},
        {"name": "last_second", "now": b, "expect": show(w.check(b))},
        {"name": "second_after", "now": b + 1, "expect": show(w.check(b + 1))},
        {"name": "closes_before_it_opens", "nbf": b, "naf": a, "expect": "malformed"},
    ]})
}

// ---------- channels (FORMAT.md §12) ----------

const CHANNEL: [u8; 16] = [0x5a; 16];
const EDITOR_SEED: [u8; 32] = [0x12; 32];
const STRANGER_SEED: [u8; 32] = [0x13; 32];
const EPOCH_KEY: [u8; 32] = [0x66; 32];

fn channel_members() -> reelseal_core::channel::MemberList {
    use reelseal_core::channel::{ChannelId, Editor, Member, MemberListDraft};
    let mut eph = [0x44u8, 0x45, 0x46].into_iter().map(|b| [b; 32]);
    MemberListDraft {
        channel: ChannelId(CHANNEL),
        created: 1_800_000_000,
        editors: vec![Editor {
            key: PublisherSecret::from_bytes(&EDITOR_SEED).public(),
            name: "ed".into(),
        }],
        epoch: 3,
        from_version: 2,
        follows: Some(reelseal_core::InfoHash([0x77; 20])),
        key_server: None,
        members: vec![Member {
            key: ViewerSecret::from_bytes(&VIEWER).public(),
            name: "alice".into(),
        }],
        seq: 4,
        title: "Post".into(),
        trackers: vec![],
    }
    .sign_with_ephemerals(
        &EPOCH_KEY,
        &PublisherSecret::from_bytes(&PUB_SEED),
        &mut || eph.next().expect("three stanzas"),
    )
    .unwrap()
}

fn channel_version(seed: &[u8; 32], note: &str) -> reelseal_core::channel::SignedVersion {
    use reelseal_core::channel::{seal_keys, ChannelId, VersionCard};
    VersionCard {
        channel: CHANNEL.to_vec(),
        chunk: CHUNK_CT as u64,
        created: 1_800_000_100,
        epoch: 3,
        files: vec![CardFile {
            len: 100,
            name: "manifest.rsm".into(),
            sha256: vec![0xcd; 32],
        }],
        keys: seal_keys(&keyset(), &EPOCH_KEY, &ChannelId(CHANNEL), 2, [0x77; 16]),
        members: channel_members().as_bytes().to_vec(),
        note: Some(note.into()),
        piece: 262_144,
        prev: Some(vec![0xab; 32]),
        publisher: PublisherSecret::from_bytes(seed)
            .public()
            .to_bytes()
            .to_vec(),
        v: 1,
        version: 2,
    }
    .sign(&PublisherSecret::from_bytes(seed))
    .unwrap()
}

fn gen_channel() -> Value {
    use reelseal_core::channel::{bep44_signable, ChannelGrant, ChannelId, Holder, Pointer};
    let list = channel_members();
    let lb = list.as_bytes().to_vec();
    let edited_list = reencode_with(&lb, "5:title4:Post", "5:title4:Past");
    let v = channel_version(&EDITOR_SEED, "cut 2");
    let edited_v = reencode_with(v.as_bytes(), "4:note5:cut 2", "4:note5:cut 3");
    let stranger = channel_version(&STRANGER_SEED, "cut 2");
    let editor = PublisherSecret::from_bytes(&EDITOR_SEED);
    let p = Pointer::sign(
        &editor,
        &ChannelId(CHANNEL),
        2,
        &reelseal_core::InfoHash([0xee; 20]),
    );
    let g = ChannelGrant::issue_with_id(
        &list,
        Holder::Member(ViewerSecret::from_bytes(&VIEWER).public()),
        "alice",
        1_800_000_000,
        &PublisherSecret::from_bytes(&PUB_SEED),
        [0x99; 16],
    )
    .unwrap();
    json!({"description": "Channels (FORMAT.md §12): member list, version card, chain rules, pointer, channel grant",
        "owner_seed": h(&PUB_SEED), "editor_seed": h(&EDITOR_SEED), "member_secret": h(&VIEWER),
        "other_member_secret": h(&OTHER_VIEWER), "channel": h(&CHANNEL), "epoch_key": h(&EPOCH_KEY),
        "editor_x25519_public": h(&editor.public().to_x25519().unwrap().to_bytes()),
        "keyset": h(&keyset().to_bytes()), "cases": [
        {"name": "members_ok", "signed_list": h(&lb), "expect": "ok", "epoch": 3, "seq": 4,
         "open_with": ["owner_seed", "editor_seed", "member_secret"]},
        {"name": "members_not_a_member", "signed_list": h(&lb), "open_with": ["other_member_secret"], "expect": "not_member"},
        {"name": "members_edited_title", "signed_list": h(&edited_list), "expect": "bad_signature"},
        {"name": "version_ok", "signed_version": h(v.as_bytes()), "card_hash": h(&v.hash()), "expect": "ok"},
        {"name": "version_edited_note", "signed_version": h(&edited_v), "expect": "bad_signature"},
        {"name": "chain_next", "signed_version": h(v.as_bytes()), "held": [1, h(&[0xab; 32])], "newest_list": [4, 2], "expect": "ok"},
        {"name": "chain_first_seen", "signed_version": h(v.as_bytes()), "held": null, "newest_list": null, "expect": "ok"},
        {"name": "chain_rollback", "signed_version": h(v.as_bytes()), "held": [2, h(&v.hash())], "newest_list": [4, 2], "expect": "rollback"},
        {"name": "chain_fork", "signed_version": h(v.as_bytes()), "held": [1, h(&[0; 32])], "newest_list": [4, 2], "expect": "fork"},
        {"name": "chain_stale_member_list", "signed_version": h(v.as_bytes()), "held": [1, h(&[0xab; 32])], "newest_list": [5, 2], "expect": "members"},
        {"name": "chain_newer_list_governs_later_versions", "signed_version": h(v.as_bytes()), "held": [1, h(&[0xab; 32])], "newest_list": [5, 3], "expect": "ok"},
        {"name": "chain_not_an_editor", "signed_version": h(stranger.as_bytes()), "held": [1, h(&[0xab; 32])], "newest_list": [4, 2], "expect": "not_editor"},
        {"name": "pointer_ok", "pointer": h(&p.to_bytes()), "signable": h(&bep44_signable(&CHANNEL, 2, &p.value())),
         "value": h(&p.value()), "signer": h(&editor.public().to_bytes()), "seq": 2, "infohash": h(&[0xee; 20]), "expect": "ok"},
        {"name": "pointer_other_seq", "pointer": h(&reencode_with(&p.to_bytes(), "3:seqi2e", "3:seqi3e")), "expect": "bad_signature"},
        {"name": "grant_ok", "armored": g.to_armor(), "expect": "ok", "role": "member", "label": "alice"},
    ]})
}

fn check_channel(v: &Value) -> usize {
    use reelseal_core::channel::{
        check_version, ChannelGrant, ChannelId, Holder, MemberList, Pointer, SignedVersion,
        VersionRefusal,
    };
    assert_eq!(
        sorted(gen_channel()),
        sorted(v.clone()),
        "channel.json: the vectors are what the code writes"
    );
    let owner = PublisherSecret::from_bytes(&arr(&v["owner_seed"])).public();
    let list = MemberList::verify(&unh(&v["cases"][0]["signed_list"]), &owner).unwrap();
    for c in v["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let expect = c["expect"].as_str().unwrap();
        if let Some(b) = c.get("signed_list") {
            let r = MemberList::verify(&unh(b), &owner);
            if expect == "bad_signature" {
                assert_eq!(kind(r), expect, "{name}");
                continue;
            }
            let l = r.unwrap();
            for who in c["open_with"].as_array().unwrap() {
                let who = who.as_str().unwrap();
                let k = if who.ends_with("seed") {
                    l.epoch_key_for_editor(&PublisherSecret::from_bytes(&arr(&v[who])))
                } else {
                    l.epoch_key_for_member(&ViewerSecret::from_bytes(&arr(&v[who])))
                };
                match expect {
                    "ok" => assert_eq!(h(&*k.unwrap()), v["epoch_key"].as_str().unwrap(), "{name}"),
                    e => assert_eq!(kind(k), e, "{name}"),
                }
            }
        } else if let Some(b) = c.get("signed_version") {
            let r = SignedVersion::parse(&unh(b));
            if expect == "bad_signature" {
                assert_eq!(kind(r), expect, "{name}");
                continue;
            }
            let sv = r.unwrap();
            if c.get("held").is_none() {
                assert_eq!(h(&sv.hash()), c["card_hash"].as_str().unwrap(), "{name}");
                let ks = sv.card().open_keys(&arr(&v["epoch_key"])).unwrap();
                assert_eq!(h(&ks.to_bytes()), v["keyset"].as_str().unwrap(), "{name}");
                continue;
            }
            let held = c["held"]
                .as_array()
                .map(|a| (a[0].as_u64().unwrap(), arr::<32>(&a[1])));
            let got = match check_version(
                &sv,
                &list,
                &ChannelId(CHANNEL),
                held,
                c["newest_list"]
                    .as_array()
                    .map(|a| reelseal_core::channel::Newest {
                        seq: a[0].as_u64().unwrap(),
                        from_version: a[1].as_u64().unwrap(),
                    }),
            ) {
                Ok(()) => "ok",
                Err(VersionRefusal::Rollback { .. }) => "rollback",
                Err(VersionRefusal::Fork { .. }) => "fork",
                Err(VersionRefusal::NotEditor { .. }) => "not_editor",
                Err(VersionRefusal::Members(_)) => "members",
            };
            assert_eq!(got, expect, "{name}");
        } else if let Some(b) = c.get("pointer") {
            let r = Pointer::from_bytes(&unh(b));
            if expect != "ok" {
                assert_eq!(kind(r), expect, "{name}");
                continue;
            }
            let p = r.unwrap();
            assert_eq!(h(&p.signer.to_bytes()), c["signer"].as_str().unwrap());
            assert_eq!(p.version, c["seq"].as_u64().unwrap());
            assert_eq!(h(&p.infohash.0), c["infohash"].as_str().unwrap());
            assert_eq!(h(&p.value()), c["value"].as_str().unwrap());
        } else {
            let g = ChannelGrant::from_file_bytes(
                c["armored"].as_str().unwrap().as_bytes(),
                Some(&owner),
            )
            .unwrap();
            assert_eq!(g.label, "alice");
            assert_eq!(
                g.holder,
                Holder::Member(ViewerSecret::from_bytes(&arr(&v["member_secret"])).public())
            );
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn generate() {
    std::fs::create_dir_all(dir()).unwrap();
    for (name, v) in [
        ("torrent", gen_torrent()),
        ("access", gen_access()),
        ("challenge", gen_challenge()),
        ("code", gen_code()),
        ("window", gen_window()),
        ("stream", gen_stream()),
        ("keys", gen_keys()),
        ("keyset", gen_keyset()),
        ("manifest", gen_manifest()),
        ("card", gen_card()),
        ("grant", gen_grant()),
        ("armor", gen_armor()),
        ("revocation", gen_revocation()),
        ("channel", gen_channel()),
    ] {
        std::fs::write(
            dir().join(format!("{name}.json")),
            serde_json::to_string_pretty(&sorted(v)).unwrap() + "\n",
        )
        .unwrap();
    }
}

// ---------- checking ----------

fn load(name: &str) -> Value {
    let p = dir().join(format!("{name}.json"));
    serde_json::from_str(
        &std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display())),
    )
    .unwrap()
}

fn check_stream(v: &Value) -> usize {
    let key: [u8; 32] = arr(&v["key"]);
    let nonce: [u8; 16] = arr(&v["nonce"]);
    let rel = ReleaseId(arr(&v["release"]));
    let mut n = 0;
    for c in v["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        let purpose = if c["purpose"] == "manifest" {
            Purpose::Manifest
        } else {
            Purpose::Payload
        };
        let plain = rule(c["plaintext_len"].as_u64().unwrap() as usize);
        let mut ct = stream::seal_to_vec(FileCipher::new(&key, &nonce, &rel, purpose), &plain);
        let mut open_rel = rel;
        if c["expect"] == "ok" {
            assert_eq!(
                ct.len() as u64,
                c["ciphertext_len"].as_u64().unwrap(),
                "{name}"
            );
            assert_eq!(sha(&ct), c["ciphertext_sha256"].as_str().unwrap(), "{name}");
            if let Some(x) = c.get("ciphertext") {
                assert_eq!(h(&ct), x.as_str().unwrap(), "{name}");
            }
        } else {
            let m = &c["mutation"];
            if let Some(t) = m.get("truncate") {
                ct.truncate(t.as_u64().unwrap() as usize);
            } else if let Some(i) = m.get("append_copy_of_chunk") {
                let i = i.as_u64().unwrap() as usize;
                let chunk = ct[i * CHUNK_CT..(i + 1) * CHUNK_CT].to_vec();
                ct.extend_from_slice(&chunk);
            } else if let Some(s) = m.get("swap_chunks") {
                let (a, b) = (
                    s[0].as_u64().unwrap() as usize,
                    s[1].as_u64().unwrap() as usize,
                );
                let ca = ct[a * CHUNK_CT..(a + 1) * CHUNK_CT].to_vec();
                let cb = ct[b * CHUNK_CT..(b + 1) * CHUNK_CT].to_vec();
                ct[a * CHUNK_CT..(a + 1) * CHUNK_CT].copy_from_slice(&cb);
                ct[b * CHUNK_CT..(b + 1) * CHUNK_CT].copy_from_slice(&ca);
            } else if let Some(f) = m.get("flip_bit_at") {
                ct[f.as_u64().unwrap() as usize] ^= 1;
            } else if let Some(o) = m.get("splice_chunk_1_from_nonce") {
                let other =
                    stream::seal_to_vec(FileCipher::new(&key, &arr(o), &rel, purpose), &plain);
                ct[CHUNK_CT..2 * CHUNK_CT].copy_from_slice(&other[CHUNK_CT..2 * CHUNK_CT]);
            } else if let Some(r) = m.get("open_with_release") {
                open_rel = ReleaseId(arr(r));
            } else {
                panic!("{name}: unknown mutation {m}");
            }
        }
        match stream::open_to_vec(FileCipher::new(&key, &nonce, &open_rel, purpose), &ct) {
            Ok(p) => {
                assert_eq!(c["expect"], "ok", "{name}");
                assert_eq!(p, plain, "{name}");
            }
            Err(e) => assert_eq!(e.kind(), c["expect"].as_str().unwrap(), "{name}: {e}"),
        }
        n += 1;
    }
    n
}

fn check_keys(v: &Value) -> usize {
    let mut n = 0;
    for c in v["cases"].as_array().unwrap() {
        let (name, text) = (c["name"].as_str().unwrap(), c["text"].as_str().unwrap());
        let got: Result<Vec<u8>, Error> = match c["type"].as_str().unwrap() {
            "publisher_public" => PublisherPublic::from_bech32(text).map(|k| k.to_bytes().to_vec()),
            "publisher_secret" => PublisherSecret::from_bech32(text).map(|k| {
                let enc = k.to_bech32();
                assert_eq!(enc.as_str(), text, "{name}: canonical text");
                PUB_SEED.to_vec()
            }),
            "viewer_public" => ViewerPublic::from_bech32(text).map(|k| k.to_bytes().to_vec()),
            "viewer_secret" => ViewerSecret::from_bech32(text).map(|k| k.to_bytes().to_vec()),
            t => panic!("unknown type {t}"),
        };
        match &got {
            Ok(b) => {
                assert_eq!(c["expect"], "ok", "{name}");
                assert_eq!(h(b), c["bytes"].as_str().unwrap(), "{name}");
            }
            Err(e) => assert_eq!(e.kind(), c["expect"].as_str().unwrap(), "{name}: {e}"),
        }
        n += 1;
    }
    n
}

fn check_keyset(v: &Value) -> usize {
    for c in v["cases"].as_array().unwrap() {
        let r = KeySet::from_bytes(&unh(&c["encoding"]));
        if c["expect"] == "ok" {
            assert_eq!(h(&r.unwrap().to_bytes()), c["reencoded"].as_str().unwrap());
            assert_eq!(
                h(&keyset().to_bytes()),
                c["reencoded"].as_str().unwrap(),
                "generator key set"
            );
        } else {
            assert_eq!(kind(r), c["expect"].as_str().unwrap(), "{}", c["name"]);
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn check_manifest(v: &Value) -> usize {
    for c in v["cases"].as_array().unwrap() {
        let rel = c
            .get("open_with_release")
            .map(|r| ReleaseId(arr(r)))
            .unwrap_or(ReleaseId(RELEASE));
        let r = Manifest::open(&unh(&c["file"]), &keyset(), &rel);
        if c["expect"] == "ok" {
            let m = r.unwrap();
            let want = if c["name"] == "ok_with_tracks" {
                manifest_with_tracks()
            } else {
                manifest()
            };
            assert_eq!(m, want);
            assert_eq!(h(&m.to_bytes()), c["plaintext"].as_str().unwrap());
            assert_eq!(
                h(&want.seal_with_nonce(&keyset(), arr(&c["nonce"])).unwrap()),
                c["file"].as_str().unwrap()
            );
        } else {
            assert_eq!(kind(r), c["expect"].as_str().unwrap(), "{}", c["name"]);
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn check_card(v: &Value) -> usize {
    let pk = PublisherPublic::from_bytes(&unh(&v["publisher"])).unwrap();
    for c in v["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        if let Some(b) = c.get("card_body_v2") {
            // The body alone, parsed as a card: a version error.
            #[derive(serde::Serialize)]
            struct W<'a> {
                #[serde(with = "serde_bytes")]
                card: &'a [u8],
                #[serde(with = "serde_bytes")]
                sig: &'a [u8],
            }
            let body = unh(b);
            let wrapped = serde_bencode::to_bytes(&W {
                card: &body,
                sig: &[0u8; 64],
            })
            .unwrap();
            assert_eq!(kind(SignedCard::verify(&wrapped, &pk)), "version", "{name}");
            continue;
        }
        let b = unh(&c["signed_card"]);
        let r = SignedCard::verify(&b, &pk);
        match c["expect"].as_str().unwrap() {
            "ok" if name == "ok_web_seeds" => {
                let card = r.unwrap();
                assert_eq!(
                    card.card().web_seeds,
                    ["https://cdn.example.org/films/vector/"],
                    "{name}"
                );
                assert_eq!(
                    h(web_seed_card(&["https://cdn.example.org/films/vector/"]).as_bytes()),
                    h(&b),
                    "{name}: deterministic signature"
                );
            }
            "ok" => {
                assert_eq!(
                    h(card().as_bytes()),
                    h(&b),
                    "{name}: deterministic signature"
                );
                assert_eq!(h(&card_body(&b)), c["card"].as_str().unwrap());
                r.unwrap();
            }
            "malformed_or_not_canonical" => assert!(
                matches!(kind(r).as_str(), "malformed" | "not_canonical"),
                "{name}"
            ),
            want => assert_eq!(kind(r), want, "{name}"),
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn check_grant(v: &Value) -> usize {
    let pk = PublisherSecret::from_bytes(&arr(&v["publisher_seed"])).public();
    for c in v["cases"].as_array().unwrap() {
        let name = c["name"].as_str().unwrap();
        if c.get("viewer_public").is_some() {
            // Such a key is refused as a key: no grant can name it.
            let r = ViewerPublic::from_bytes(&unh(&c["viewer_public"]));
            assert_eq!(kind(r), c["expect"].as_str().unwrap(), "{name}");
            continue;
        }
        let b = unh(&c["signed_grant"]);
        let g = Grant::verify(&b, &pk);
        if c["expect"] == "bad_signature" {
            assert_eq!(kind(g), "bad_signature", "{name}");
            continue;
        }
        let g = g.unwrap();
        let who = ViewerSecret::from_bytes(&arr(&v[c["unwrap_with"].as_str().unwrap()]));
        let r = g.unwrap_keys(&who);
        if c["expect"] == "ok" {
            let fresh = grant::issue_with_ephemeral(
                &card(),
                &keyset(),
                &grant_params(),
                &PublisherSecret::from_bytes(&PUB_SEED),
                &arr(&v["ephemeral_secret"]),
            )
            .unwrap();
            assert_eq!(h(fresh.to_bytes()), h(&b), "{name}: deterministic");
            assert_eq!(h(&r.unwrap().to_bytes()), c["keyset"].as_str().unwrap());
            match KeyFile::parse(c["armored"].as_str().unwrap()).unwrap() {
                KeyFile::Grant(x) => assert_eq!(x, b),
                KeyFile::Access(_) => panic!("{name}: armor label"),
            }
        } else {
            assert_eq!(kind(r), c["expect"].as_str().unwrap(), "{name}");
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn check_armor(v: &Value) -> usize {
    for c in v["cases"].as_array().unwrap() {
        let r = armor::decode(c["label"].as_str().unwrap(), c["text"].as_str().unwrap());
        if c["expect"] == "ok" {
            assert_eq!(h(&r.unwrap()), c["data"].as_str().unwrap());
        } else {
            assert_eq!(kind(r), c["expect"].as_str().unwrap(), "{}", c["name"]);
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn check_revocation(v: &Value) -> usize {
    let pk = PublisherSecret::from_bytes(&arr(&v["publisher_seed"])).public();
    for c in v["cases"].as_array().unwrap() {
        let r = RevocationList::verify(&unh(&c["signed_list"]), &pk, c["seen"].as_u64());
        match c["expect"].as_str().unwrap() {
            "ok" => {
                let l = r.unwrap();
                assert_eq!(l.seq, c["seq"].as_u64().unwrap());
                assert_eq!(l.next_update, c["next_update"].as_i64().unwrap());
                assert!(l
                    .find(
                        &GrantId([0x99; 16]),
                        &ViewerSecret::from_bytes(&VIEWER).public()
                    )
                    .is_some());
            }
            want => assert_eq!(kind(r), want, "{}", c["name"]),
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn check_torrent(v: &Value) -> usize {
    use reelseal_core::torrent::Metainfo;
    for c in v["cases"].as_array().unwrap() {
        let r = Metainfo::from_bytes(&unh(&c["torrent"]));
        if c["expect"] == "ok" {
            let m = r.unwrap();
            assert_eq!(m, vector_torrent());
            assert_eq!(hex::encode(m.infohash()), c["infohash"].as_str().unwrap());
        } else {
            assert_eq!(kind(r), c["expect"].as_str().unwrap(), "{}", c["name"]);
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn check_access(v: &Value) -> usize {
    for c in v["cases"].as_array().unwrap() {
        let r = KeyFile::parse(c["armored"].as_str().unwrap());
        match c["expect"].as_str().unwrap() {
            "ok" => match r.unwrap() {
                KeyFile::Access(a) => {
                    assert_eq!(h(&a.secret.to_bytes()[..]), c["secret"].as_str().unwrap())
                }
                KeyFile::Grant(_) => panic!("{}: not an access key", c["name"]),
            },
            want => assert_eq!(kind(r), want, "{}", c["name"]),
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn check_challenge(v: &Value) -> usize {
    use reelseal_core::grant::challenge;
    for c in v["cases"].as_array().unwrap() {
        let me = ViewerSecret::from_bytes(&arr(c.get("open_with").unwrap_or(&v["viewer_secret"])));
        let r = challenge::open(&me, &arr(&c["epk"]), &unh(&c["box"]));
        match c["expect"].as_str().unwrap() {
            "ok" => assert_eq!(h(&r.unwrap()), c["token"].as_str().unwrap()),
            want => assert_eq!(kind(r), want, "{}", c["name"]),
        }
    }
    v["cases"].as_array().unwrap().len()
}

fn check_code(v: &Value) -> usize {
    for c in v["cases"].as_array().unwrap() {
        let got = reelseal_core::code::code_hash(c["code"].as_str().unwrap());
        assert_eq!(h(&got), c["hash"].as_str().unwrap(), "{}", c["name"]);
    }
    v["cases"].as_array().unwrap().len()
}

fn check_window(v: &Value) -> usize {
    use reelseal_core::validity::{parse_time, End, Validity, Window};
    let nbf = parse_time(v["not_before_text"].as_str().unwrap(), End::Start).unwrap();
    let naf = parse_time(v["not_after_text"].as_str().unwrap(), End::Finish).unwrap();
    assert_eq!(
        (nbf, naf),
        (v["nbf"].as_i64().unwrap(), v["naf"].as_i64().unwrap())
    );
    for c in v["cases"].as_array().unwrap() {
        if c["expect"] == "malformed" {
            let r = Validity::new(c["nbf"].as_i64(), c["naf"].as_i64());
            assert_eq!(kind(r), "malformed");
            continue;
        }
        let got = match Validity::new(Some(nbf), Some(naf))
            .unwrap()
            .check(c["now"].as_i64().unwrap())
        {
            Window::Open => json!("open"),
            Window::NotYet(t) => json!(["not_yet", t]),
            Window::Expired(t) => json!(["expired", t]),
        };
        assert_eq!(got, c["expect"], "{}", c["name"]);
    }
    v["cases"].as_array().unwrap().len()
}

#[test]
fn code_matches_every_vector() {
    if std::env::var_os("REELSEAL_REGENERATE_VECTORS").is_some() {
        generate();
    }
    let mut total = 0;
    total += check_stream(&load("stream"));
    total += check_keys(&load("keys"));
    total += check_keyset(&load("keyset"));
    total += check_manifest(&load("manifest"));
    total += check_card(&load("card"));
    total += check_grant(&load("grant"));
    total += check_armor(&load("armor"));
    total += check_revocation(&load("revocation"));
    total += check_torrent(&load("torrent"));
    total += check_access(&load("access"));
    total += check_challenge(&load("challenge"));
    total += check_code(&load("code"));
    total += check_window(&load("window"));
    total += check_channel(&load("channel"));
    assert!(
        total >= 40,
        "only {total} vectors found in {}",
        dir().display()
    );
    eprintln!("{total} vectors checked");
}

#[test]
fn an_independent_python_implementation_agrees() {
    let script = dir().join("check_vectors.py");
    let out = std::process::Command::new("python3")
        .arg(&script)
        .output()
        .expect("python3 is needed (see .ci/setup)");
    assert!(
        out.status.success(),
        "{} failed (is `pip install cryptography` done? .ci/setup does it):\n{}\n{}",
        script.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let s = String::from_utf8_lossy(&out.stdout);
    assert!(s.contains("checked"), "{s}");
}
