//! Property tests: round trips for every length, random access equals the plaintext slice,
//! and any single-bit flip (or truncation) of any authenticated format is rejected.

use std::io::{Read, Seek, SeekFrom, Write};

use proptest::prelude::*;
use reelseal_core::card::{Card, CardFile, SignedCard};
use reelseal_core::grant::{self, Grant, GrantParams, KeyFile};
use reelseal_core::keys::{PublisherSecret, ViewerPublic, ViewerSecret};
use reelseal_core::keyset::KeySet;
use reelseal_core::manifest::{Manifest, ManifestFile, Segment, Track};
use reelseal_core::revocation::{Entry, RevocationList, Subject};
use reelseal_core::stream::{
    self, FileCipher, Geometry, Purpose, StreamReader, StreamWriter, CHUNK_CT, CHUNK_PLAIN,
};
use reelseal_core::variants::parse_playlist;
use reelseal_core::{armor, Error, GrantId, ReleaseId};

const REL: ReleaseId = ReleaseId([5; 16]);

fn cipher() -> FileCipher {
    FileCipher::new(&[9; 32], &[3; 16], &REL, Purpose::Payload)
}

fn plaintext(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

/// Seal with writes of the given sizes (cycled).
fn seal_in_pieces(plain: &[u8], sizes: &[usize]) -> Vec<u8> {
    let mut w = StreamWriter::new(Vec::new(), cipher());
    let mut off = 0;
    let mut k = 0;
    while off < plain.len() {
        let n = sizes[k % sizes.len()].max(1).min(plain.len() - off);
        w.write_all(&plain[off..off + n]).unwrap();
        off += n;
        k += 1;
    }
    w.finish().unwrap()
}

fn round_trip(len: usize, sizes: &[usize]) {
    let plain = plaintext(len, 7);
    let ct = seal_in_pieces(&plain, sizes);
    assert_eq!(ct.len() as u64, stream::ciphertext_len(len as u64));
    assert_eq!(
        Geometry::from_ciphertext_len(ct.len() as u64)
            .unwrap()
            .plain_len,
        len as u64
    );
    assert_eq!(stream::open_to_vec(cipher(), &ct).unwrap(), plain);
    let mut r = StreamReader::new(std::io::Cursor::new(&ct), cipher()).unwrap();
    let mut back = Vec::new();
    r.read_to_end(&mut back).unwrap();
    assert_eq!(back, plain);
}

#[test]
fn round_trip_at_the_edges() {
    for len in [0, 1, 65_519, 65_520, 65_521, 3 * 65_520, 3 * 65_520 + 1] {
        round_trip(len, &[1000, 65_520, 7]);
    }
}

fn the_card(sk: &PublisherSecret, title: &str) -> SignedCard {
    Card {
        chunk: 65_536,
        created: 1_800_000_000,
        files: vec![CardFile {
            len: 100,
            name: "manifest.rsm".into(),
            sha256: vec![1; 32],
        }],
        infohash: vec![2; 20],
        key_server: None,
        piece: 262_144,
        publisher: sk.public().to_bytes().to_vec(),
        release: REL.0.to_vec(),
        supersedes: Some(vec![4; 16]),
        title: title.into(),
        trackers: vec![],
        v: 1,
        web_seeds: vec![],
    }
    .sign(sk)
    .unwrap()
}

fn flip(b: &[u8], bit: usize) -> Vec<u8> {
    let mut v = b.to_vec();
    v[bit / 8] ^= 1 << (bit % 8);
    v
}

fn safe_component() -> impl Strategy<Value = String> {
    "[A-Za-z0-9 _.-]{1,20}".prop_filter("not . or ..", |s| s != "." && s != "..")
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn stream_round_trips(len in 0usize..300_000, sizes in proptest::collection::vec(1usize..100_000, 1..5)) {
        round_trip(len, &sizes);
    }

    #[test]
    fn random_seek_and_read_equals_the_slice(len in 1usize..250_000, ops in proptest::collection::vec((0u8..3, any::<u32>(), 0usize..140_000), 1..12)) {
        let plain = plaintext(len, 1);
        let ct = seal_in_pieces(&plain, &[65_536]);
        let mut r = StreamReader::new(std::io::Cursor::new(&ct), cipher()).unwrap();
        let mut pos: i64 = 0;
        for (how, x, n) in ops {
            let target = match how {
                0 => r.seek(SeekFrom::Start(x as u64 % (len as u64 + 10))).unwrap(),
                1 => r.seek(SeekFrom::End(-((x as i64) % (len as i64 + 1)))).unwrap(),
                _ => {
                    let d = (x as i64 % 100_000) - 50_000;
                    match r.seek(SeekFrom::Current(d)) {
                        Ok(p) => p,
                        Err(_) => { prop_assert!(pos + d < 0); continue }
                    }
                }
            };
            pos = target as i64;
            let mut buf = vec![0u8; n];
            let mut got = 0;
            loop {
                let k = r.read(&mut buf[got..]).unwrap();
                if k == 0 || got + k == n { got += k; break }
                got += k;
            }
            let start = (target as usize).min(len);
            let end = (target as usize + n).min(len);
            prop_assert_eq!(&buf[..got], &plain[start..end]);
            pos += got as i64;
        }
    }

    #[test]
    fn any_bit_flip_in_a_sealed_stream_names_its_chunk(len in 1usize..200_000, bit in any::<usize>()) {
        let ct = stream::seal_to_vec(cipher(), &plaintext(len, 2));
        let bit = bit % (ct.len() * 8);
        match stream::open_to_vec(cipher(), &flip(&ct, bit)) {
            Err(Error::ChunkAuth { index }) => prop_assert_eq!(index, (bit / 8 / CHUNK_CT) as u64),
            other => prop_assert!(false, "flip at bit {} not caught: {:?}", bit, other.map(|_| ())),
        }
    }

    #[test]
    fn any_truncation_of_a_sealed_stream_is_rejected(len in 1usize..150_000, cut in any::<usize>()) {
        let ct = stream::seal_to_vec(cipher(), &plaintext(len, 3));
        let cut = cut % ct.len();
        prop_assert!(stream::open_to_vec(cipher(), &ct[..cut]).is_err());
    }

    #[test]
    fn signed_card_rejects_any_flip_or_cut(title in "[ -~]{0,40}", bit in any::<usize>(), cut in any::<usize>()) {
        let sk = PublisherSecret::from_bytes(&[1; 32]);
        let c = the_card(&sk, &title);
        let b = c.as_bytes();
        prop_assert!(SignedCard::verify(b, &sk.public()).is_ok());
        prop_assert!(SignedCard::verify(&flip(b, bit % (b.len() * 8)), &sk.public()).is_err());
        prop_assert!(SignedCard::verify(&b[..cut % b.len()], &sk.public()).is_err());
    }

    #[test]
    fn grant_rejects_any_flip_binary_or_armored(bit in any::<usize>(), label in "[ -~]{0,30}") {
        let sk = PublisherSecret::from_bytes(&[1; 32]);
        let viewer = ViewerSecret::from_bytes(&[2; 32]);
        let p = GrantParams { id: GrantId([3; 16]), label, viewer: viewer.public(), validity: reelseal_core::validity::Validity::new(None, Some(1_900_000_000)).unwrap(), issued: 1 };
        let g = grant::issue_with_ephemeral(&the_card(&sk, "T"), &KeySet::generate(), &p, &sk, &[4; 32]).unwrap();
        let b = g.to_bytes();
        prop_assert!(Grant::verify(&flip(b, bit % (b.len() * 8)), &sk.public()).is_err());
        // Armored: a flipped bit in the text either breaks the armor/base64, or (base64's
        // padding bits aside) changes the bytes, which the signature then rejects. The one
        // thing that must never happen is different bytes that verify.
        let text = g.to_armor();
        let t = flip(text.as_bytes(), bit % (text.len() * 8));
        if let Ok(s) = std::str::from_utf8(&t) {
            if let Ok(kf) = KeyFile::parse(s) {
                let same = kf.grant_bytes() == b;
                prop_assert!(same || Grant::verify(kf.grant_bytes(), &sk.public()).is_err());
            }
        }
    }

    #[test]
    fn manifest_file_rejects_any_flip(bit in any::<usize>(), names in proptest::collection::vec(safe_component(), 1..4)) {
        let ks = KeySet::generate();
        let m = Manifest { release: REL, files: names.iter().enumerate().map(|(i, n)| ManifestFile {
            path: vec![format!("{i}-{n}")], size: i as u64 * 1000, media_type: "video/mp4".into(), nonce: [i as u8; 16], key_id: 0, ct_name: format!("f{i:03}.rsc"),
        }).collect(), tracks: vec![] };
        prop_assert_eq!(Manifest::from_bytes(&m.to_bytes()).unwrap(), m.clone());
        let f = m.seal(&ks).unwrap();
        prop_assert_eq!(Manifest::open(&f, &ks, &REL).unwrap(), m);
        prop_assert!(Manifest::open(&flip(&f, bit % (f.len() * 8)), &ks, &REL).is_err());
    }

    #[test]
    fn revocation_list_round_trips_and_rejects_any_flip(ids in proptest::collection::btree_set(any::<[u8; 16]>(), 0..6), seq in 1u64..1000, bit in any::<usize>()) {
        let sk = PublisherSecret::from_bytes(&[1; 32]);
        let entries: Vec<Entry> = ids.iter().map(|g| Entry { subject: Subject::Grant(GrantId(*g)), reason: "r".into(), time: 5 }).collect();
        let l = RevocationList { publisher: sk.public(), seq, issued: 9, next_update: 10, entries };
        let b = l.clone().sign(&sk).unwrap();
        prop_assert_eq!(RevocationList::verify(&b, &sk.public(), Some(seq)).unwrap(), l);
        prop_assert!(RevocationList::verify(&flip(&b, bit % (b.len() * 8)), &sk.public(), None).is_err());
        let rolled_back = matches!(RevocationList::verify(&b, &sk.public(), Some(seq + 1)), Err(Error::Rollback { .. }));
        prop_assert!(rolled_back);
    }

    /// The key set is not authenticated on its own (it only travels inside AEAD), so a flip
    /// must be rejected *or* decode to a different key set: never silently the same one.
    #[test]
    fn key_set_flip_is_rejected_or_visible(bit in any::<usize>()) {
        let mut ks = KeySet::generate();
        ks.insert(3, [7; 32]);
        let b = ks.to_bytes();
        prop_assert_eq!(KeySet::from_bytes(&b).unwrap().to_bytes(), b.clone());
        let f = flip(&b, bit % (b.len() * 8));
        if let Ok(other) = KeySet::from_bytes(&f) {
            prop_assert_ne!(other.to_bytes(), b);
        }
    }

    #[test]
    // From one byte: nothing armored is empty, and `decode` wants at least one body line
    // (an empty body failed here about one run in three).
    fn armor_round_trips(data in proptest::collection::vec(any::<u8>(), 1..500)) {
        prop_assert_eq!(armor::decode("GRANT", &armor::encode("GRANT", &data)).unwrap(), data);
    }

    #[test]
    fn viewer_keys_round_trip_and_a_changed_character_is_rejected(seed in any::<[u8; 32]>(), at in any::<usize>(), c in 0usize..32) {
        let v = ViewerSecret::from_bytes(&seed).public();
        let s = v.to_bech32();
        prop_assert_eq!(ViewerPublic::from_bech32(&s).unwrap(), v);
        let mut chars: Vec<char> = s.chars().collect();
        let i = 7 + at % (chars.len() - 7);
        let new = "qpzry9x8gf2tvdw0s3jn54khce6mua7l".chars().nth(c).unwrap();
        prop_assume!(chars[i] != new);
        chars[i] = new;
        prop_assert!(ViewerPublic::from_bech32(&chars.into_iter().collect::<String>()).is_err());
    }
}

#[test]
fn chunk_constants_are_what_the_spec_says() {
    assert_eq!(CHUNK_PLAIN, 65_520);
    assert_eq!(CHUNK_CT, 65_536);
}

/// A manifest with one track of `pattern.len()` segments: `true` = two variants.
fn tracked_manifest(pattern: &[bool]) -> Manifest {
    let mut files = Vec::new();
    let mut segments = Vec::new();
    let mut t = 0u32;
    for (i, &two) in pattern.iter().enumerate() {
        let mut alts = Vec::new();
        let keys: Vec<u32> = if two {
            vec![1 + 2 * t, 2 + 2 * t]
        } else {
            vec![0]
        };
        t += u32::from(two);
        for (v, k) in keys.into_iter().enumerate() {
            let ct = format!("f{:03}.rsc", files.len());
            files.push(ManifestFile {
                path: vec!["segments".into(), format!("{i:06}.{v}.ts")],
                size: 1000 + i as u64,
                media_type: "video/mp2t".into(),
                nonce: [i as u8; 16],
                key_id: k,
                ct_name: ct.clone(),
            });
            alts.push(ct);
        }
        segments.push(Segment {
            duration_ms: 500,
            alts,
        });
    }
    Manifest {
        release: REL,
        files,
        tracks: vec![Track {
            path: vec!["film.ts".into()],
            media_type: "video/mp2t".into(),
            segments,
        }],
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn tracks_round_trip_and_each_codeword_picks_its_own_segments(
        pattern in proptest::collection::vec(any::<bool>(), 1..40),
        bits in proptest::collection::vec(any::<bool>(), 40),
        bit in any::<usize>(),
    ) {
        let m = tracked_manifest(&pattern);
        prop_assert_eq!(Manifest::from_bytes(&m.to_bytes()).unwrap(), m.clone());
        let traced = pattern.iter().filter(|b| **b).count();
        prop_assert_eq!(m.traced_positions().len(), traced);
        // A viewer's key set: main key + one variant key per traced position.
        let mut ks = KeySet::default();
        ks.insert(0, [1; 32]);
        for (t, b) in bits.iter().take(traced).enumerate() {
            ks.insert(reelseal_core::tardos::variant_key_id(t, *b), [2; 32]);
        }
        let out = m.outputs(&ks).unwrap();
        prop_assert_eq!(out.len(), 1);
        prop_assert_eq!(out[0].parts.len(), pattern.len());
        let mut t = 0;
        for p in &out[0].parts {
            if p.key_id != 0 {
                prop_assert_eq!(p.key_id, reelseal_core::tardos::variant_key_id(t, bits[t]));
                t += 1;
            }
        }
        // Sealed, any bit flip is refused.
        let full = KeySet::generate();
        let f = m.seal(&full).unwrap();
        prop_assert!(Manifest::open(&flip(&f, bit % (f.len() * 8)), &full, &REL).is_err());
    }

    #[test]
    fn playlists_parse_what_they_list(durs in proptest::collection::vec(0u32..100_000, 1..50)) {
        let mut text = String::from("#EXTM3U\n#EXT-X-VERSION:3\n");
        for (i, d) in durs.iter().enumerate() {
            text.push_str(&format!("#EXTINF:{}.{:03},\nseg{i:05}.ts\n", d / 1000, d % 1000));
        }
        text.push_str("#EXT-X-ENDLIST\n");
        let segs = parse_playlist(&text, "p").unwrap();
        prop_assert_eq!(segs.len(), durs.len());
        for (s, d) in segs.iter().zip(&durs) {
            prop_assert_eq!(s.duration_ms, u64::from(*d));
        }
    }

    #[test]
    fn playlist_parser_never_panics(text in "(#EXTM3U\n)?((#EXTINF:[0-9.a-z-]{0,6},\n)?[a-z./:#-]{0,12}\n){0,8}") {
        let _ = parse_playlist(&text, "p");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The chunk plan for any byte range of any multi-part output, walked over the real
    /// ciphertext (each planned chunk decrypted on its own and trimmed), gives exactly that
    /// range of the concatenated plaintext; every chunk is read once, in order.
    #[test]
    fn the_range_plan_decrypts_exactly_the_range(
        sizes in proptest::collection::vec(0usize..200_000, 1..4),
        a in any::<u64>(),
        b in any::<u64>(),
    ) {
        let parts: Vec<(Vec<u8>, Vec<u8>)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &n)| {
                let p = plaintext(n, i as u8);
                let c = stream::seal_to_vec(cipher(), &p);
                (p, c)
            })
            .collect();
        let whole: Vec<u8> = parts.iter().flat_map(|(p, _)| p.clone()).collect();
        let total = whole.len() as u64;
        prop_assume!(total > 0);
        let (start, end) = {
            let (x, y) = (a % total, b % (total + 10));
            (x.min(y), x.max(y))
        };
        let lens: Vec<u64> = parts.iter().map(|(p, _)| p.len() as u64).collect();
        let plan = reelseal_core::range::plan(&lens, start, end);
        let mut got = Vec::new();
        let mut last: Option<(usize, u64)> = None;
        for step in &plan {
            prop_assert!(last.is_none_or(|l| l < (step.part, step.chunk)), "order");
            last = Some((step.part, step.chunk));
            let ct = &parts[step.part].1;
            let geo = Geometry::from_ciphertext_len(ct.len() as u64).unwrap();
            let (off, len) = geo.chunk_range(step.chunk);
            let mut chunk = ct[off as usize..off as usize + len].to_vec();
            let n = cipher().open_in_place(step.chunk, geo.is_last(step.chunk), &mut chunk).unwrap();
            prop_assert!(step.skip + step.take <= n);
            got.extend_from_slice(&chunk[step.skip..step.skip + step.take]);
        }
        let end = end.min(total - 1);
        prop_assert_eq!(got, whole[start as usize..=end as usize].to_vec());
    }
}

#[test]
fn a_card_checks_the_torrent_it_signs() {
    use reelseal_core::torrent::TorrentFile;
    let sk = PublisherSecret::from_bytes(&[4; 32]);
    let card = the_card(&sk, "T");
    let c = card.card();
    let files: Vec<TorrentFile> = c
        .files
        .iter()
        .enumerate()
        .map(|(i, f)| TorrentFile {
            index: 2 * i,
            path: format!("top/{}", f.name),
            len: f.len,
            padding: false,
        })
        .collect();
    let mut with_pad = files.clone();
    with_pad.insert(
        1,
        TorrentFile {
            index: 1,
            path: ".pad/100".into(),
            len: 100,
            padding: true,
        },
    );
    c.check_torrent_files(&with_pad).unwrap();
    let mut longer = files.clone();
    longer[0].len += 1;
    assert_eq!(
        c.check_torrent_files(&longer).unwrap_err().kind(),
        "mismatch"
    );
    let mut renamed = files.clone();
    renamed[0].path = "top/other".into();
    assert_eq!(
        c.check_torrent_files(&renamed).unwrap_err().kind(),
        "mismatch"
    );
    assert_eq!(
        c.check_torrent_files(&files[..files.len() - 1])
            .unwrap_err()
            .kind(),
        "mismatch"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// A grant's size says nothing about the variant keys it holds: every codeword gives
    /// the same length (key ids are fixed-width, FORMAT.md §4), across the 9/10 and 99/100
    /// boundaries of the ids too.
    #[test]
    fn grant_length_reveals_no_codeword(bits in proptest::collection::vec(any::<bool>(), 60)) {
        use reelseal_core::issue::{issue, GrantRequest};
        use reelseal_core::tardos::{Code, Params};
        let sk = PublisherSecret::from_bytes(&[4; 32]);
        let card = the_card(&sk, "T");
        let mut keys = KeySet::generate();
        for id in 1..=120 {
            keys.insert(id, [id as u8; 32]);
        }
        let code = Code { params: Params { n: 10, c: 2, eps: 0.01 }, cutoff: 0.1, biases: vec![0.5; 60] };
        let len = |codeword: Vec<bool>| {
            let req = GrantRequest {
                label: "same".into(),
                viewer: Some(ViewerSecret::from_bytes(&[8; 32]).public()),
                validity: reelseal_core::validity::Validity::ALWAYS,
                codeword: Some(codeword),
            };
            issue(&card, &keys, Some(&code), &sk, &req, 1).unwrap().grant.to_bytes().len()
        };
        prop_assert_eq!(len(bits), len(vec![false; 60]));
        prop_assert_eq!(len(vec![true; 60]), len(vec![false; 60]));
    }
}
