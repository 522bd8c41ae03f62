//! Property tests of the parallel file pipelines (`seal::seal_into`, `open::open_release`,
//! `open::FileSink`): for random film sizes (0, 1 and the chunk and block edges among
//! them), several files and every kind of piece length, their output must be byte for byte
//! what the sequential reference gives — each file sealed with `stream::seal_to_vec`, the
//! torrent's pieces hashed one by one over the concatenated files and their padding, the
//! card's SHA-256 over each ciphertext — and opening must give back the inputs, whatever
//! the blocks pushed.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use reelseal_core::keys::PublisherSecret;
use reelseal_core::manifest::MANIFEST_NAME;
use reelseal_core::open::{self, FileSink, OpenError};
use reelseal_core::seal::{self, Input, SealOptions, Sealed, Source};
use reelseal_core::stream::{self, CHUNK_CT, CHUNK_PLAIN};
use reelseal_core::torrent::Metainfo;
use reelseal_core::ReleaseId;
use sha1::{Digest, Sha1};
use sha2::Sha256;

const BLOCK: usize = 32 * CHUNK_PLAIN;

fn plaintext(len: usize, seed: u8) -> Vec<u8> {
    let mut x = u64::from(seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

/// A size with the edges weighted in: empty, one byte, around a chunk, around a block.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        Just(0usize),
        Just(1),
        Just(CHUNK_PLAIN - 1),
        Just(CHUNK_PLAIN),
        Just(CHUNK_PLAIN + 1),
        Just(BLOCK - 1),
        Just(BLOCK),
        Just(BLOCK + 1),
        Just(2 * BLOCK + CHUNK_PLAIN),
        0usize..3 * BLOCK,
    ]
}

/// Piece lengths: one chunk, between, one block (2 MiB), and longer than a block (the
/// pieces are then hashed in order instead of per block).
fn piece() -> impl Strategy<Value = u64> {
    prop_oneof![Just(65_536u64), Just(262_144), Just(2 << 20), Just(4 << 20)]
}

fn publisher() -> PublisherSecret {
    PublisherSecret::from_bytes(&[4; 32])
}

fn seal_files(dir: &Path, films: &[Vec<u8>], piece: u64) -> Sealed {
    let inputs: Vec<Input> = films
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let p = dir.join(format!("in-{i}.mp4"));
            std::fs::write(&p, f).unwrap();
            Input {
                source: Source::File(p),
                rel: vec![format!("film-{i}.mp4")],
                size: f.len() as u64,
                key_id: reelseal_core::keyset::MAIN_KEY,
            }
        })
        .collect();
    seal_inputs(dir, &inputs, piece, "rel")
}

fn seal_inputs(dir: &Path, inputs: &[Input], piece: u64, name: &str) -> Sealed {
    let out = dir.join(name);
    std::fs::create_dir(&out).unwrap();
    let opts = SealOptions {
        title: "Pipeline".into(),
        piece_length: Some(piece),
        created: 1_800_000_000,
        release: Some(ReleaseId([6; 16])),
        ..SealOptions::default()
    };
    let mut progressed = 0;
    let sealed = seal::seal_into(&out, inputs, &[], &opts, &publisher(), &mut |n| {
        progressed += n
    })
    .unwrap();
    assert_eq!(progressed, inputs.iter().map(|i| i.size).sum::<u64>());
    sealed
}

fn payload(dir: &Path, name: &str, sealed: &Sealed) -> PathBuf {
    seal::payload_dir(&dir.join(name), &sealed.torrent_name)
}

/// Everything `seal_into` wrote, checked against the sequential reference.
fn check_against_reference(dir: &Path, name: &str, sealed: &Sealed, films: &[Vec<u8>]) {
    let payload = payload(dir, name, sealed);
    let release = sealed.release;
    let meta = Metainfo::from_bytes(&sealed.torrent).unwrap();
    assert_eq!(
        std::fs::read(dir.join(name).join(seal::TORRENT_FILE)).unwrap(),
        sealed.torrent
    );
    // Every ciphertext is what the one-chunk-at-a-time writer makes of the plaintext.
    let mut content = Vec::new();
    for (f, film) in sealed.manifest.files.iter().zip(films) {
        let got = std::fs::read(payload.join(&f.ct_name)).unwrap();
        let want = stream::seal_to_vec(f.cipher(&sealed.keys, &release).unwrap(), film);
        assert!(got == want, "{} differs from the reference", f.ct_name);
    }
    // Pieces: SHA-1 over the files in torrent order with zeros for the padding files.
    for f in &meta.info.files {
        if f.is_padding() {
            content.resize(content.len() + f.length as usize, 0);
        } else {
            let bytes = std::fs::read(payload.join(&f.path[0])).unwrap();
            assert_eq!(bytes.len() as u64, f.length);
            // The card vouches for each file's length and SHA-256.
            let c = sealed.card.card().file(&f.path[0]).unwrap();
            assert_eq!(
                (c.len, c.sha256.as_slice()),
                (f.length, &Sha256::digest(&bytes)[..])
            );
            content.extend_from_slice(&bytes);
        }
    }
    let pieces: Vec<u8> = content
        .chunks(meta.info.piece_length as usize)
        .flat_map(|p| Sha1::digest(p).to_vec())
        .collect();
    assert!(
        pieces == meta.info.pieces,
        "piece hashes differ from the reference"
    );
    assert_eq!(sealed.card.card().infohash, meta.infohash().to_vec());
}

fn open_all(dir: &Path, name: &str, sealed: &Sealed, films: &[Vec<u8>]) {
    let out = dir.join(format!("{name}-out"));
    let (outputs, written) = open::open_release(
        &payload(dir, name, sealed),
        sealed.card.card(),
        &sealed.keys,
        &out,
        false,
        &mut |_| {},
    )
    .unwrap();
    assert_eq!(outputs.len(), films.len());
    for (w, film) in written.iter().zip(films) {
        assert!(
            std::fs::read(w).unwrap() == *film,
            "{} differs",
            w.display()
        );
    }
    assert_no_partials(&out);
}

fn assert_no_partials(dir: &Path) {
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let n = e.file_name().to_string_lossy().into_owned();
            assert!(!n.contains("reelseal-partial"), "partial file left: {n}");
        }
    }
}

/// Push the concatenation of `parts` (ciphertext files) into a sink in blocks of the
/// given chunk counts (cycled; never spanning two parts).
fn push_in_blocks(sink: &mut FileSink, cts: &[Vec<u8>], sizes: &[usize]) -> Result<(), OpenError> {
    let mut k = 0;
    for ct in cts {
        let mut at = 0;
        while at < ct.len() {
            let n = (sizes[k % sizes.len()].max(1) * CHUNK_CT).min(ct.len() - at);
            sink.push(ct[at..at + n].to_vec())?;
            at += n;
            k += 1;
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn parallel_seal_is_the_sequential_reference_and_opens_back(
        sizes in proptest::collection::vec(size(), 1..4),
        piece in piece(),
        seed in any::<u8>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let films: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| plaintext(n, seed.wrapping_add(i as u8))).collect();
        let sealed = seal_files(dir.path(), &films, piece);
        check_against_reference(dir.path(), "rel", &sealed, &films);
        open_all(dir.path(), "rel", &sealed, &films);
    }

    #[test]
    fn a_sink_fed_any_block_sizes_writes_the_same_output(
        sizes in proptest::collection::vec(size(), 1..4),
        blocks in proptest::collection::vec(prop_oneof![Just(32usize), Just(1), 1usize..70], 1..4),
        seed in any::<u8>(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let films: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| plaintext(n, seed.wrapping_add(i as u8))).collect();
        let sealed = seal_files(dir.path(), &films, 262_144);
        let payload = payload(dir.path(), "rel", &sealed);
        let cts: Vec<Vec<u8>> = sealed.manifest.files.iter().map(|f| std::fs::read(payload.join(&f.ct_name)).unwrap()).collect();
        // All files as the parts of one output (a track), and the first on its own.
        for parts in [&sealed.manifest.files[..], &sealed.manifest.files[..1]] {
            let dest = dir.path().join(format!("out-{}", parts.len()));
            let mut sink = FileSink::create(sealed.card.card(), &sealed.keys, parts, &dest, &payload).unwrap();
            push_in_blocks(&mut sink, &cts[..parts.len()], &blocks).unwrap();
            sink.finish().unwrap();
            let want: Vec<u8> = films[..parts.len()].concat();
            prop_assert!(std::fs::read(&dest).unwrap() == want);
        }
        assert_no_partials(dir.path());
    }

    #[test]
    fn a_flipped_bit_is_named_and_nothing_is_written(
        sizes in proptest::collection::vec(1usize..3 * BLOCK, 1..3),
        which in any::<prop::sample::Index>(),
        bit in any::<prop::sample::Index>(),
        blocks in prop_oneof![Just(32usize), 1usize..40],
    ) {
        let dir = tempfile::tempdir().unwrap();
        let films: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| plaintext(n, i as u8)).collect();
        let sealed = seal_files(dir.path(), &films, 262_144);
        let payload = payload(dir.path(), "rel", &sealed);
        let f = &sealed.manifest.files[which.index(films.len())];
        let mut ct = std::fs::read(payload.join(&f.ct_name)).unwrap();
        let bit = bit.index(ct.len() * 8);
        ct[bit / 8] ^= 1 << (bit % 8);
        // Through open (the file on disk)...
        std::fs::write(payload.join(&f.ct_name), &ct).unwrap();
        let out = dir.path().join("out");
        let e = open::open_release(&payload, sealed.card.card(), &sealed.keys, &out, false, &mut |_| {}).unwrap_err();
        match e {
            OpenError::Tampered { index, .. } => prop_assert_eq!(index, (bit / 8 / CHUNK_CT) as u64),
            other => prop_assert!(false, "{other}"),
        }
        prop_assert!(!out.join(f.path.join("/")).exists());
        assert_no_partials(&out);
        // ...and through a sink fed blocks of another size.
        let dest = dir.path().join("sink-out");
        let mut sink = FileSink::create(sealed.card.card(), &sealed.keys, std::slice::from_ref(f), &dest, &payload).unwrap();
        let r = push_in_blocks(&mut sink, &[ct], &[blocks]).and_then(|()| sink.finish());
        match r {
            Err(OpenError::Tampered { index, .. }) => prop_assert_eq!(index, (bit / 8 / CHUNK_CT) as u64),
            other => prop_assert!(false, "{:?}", other.err().map(|e| e.to_string())),
        }
        prop_assert!(!dest.exists());
        assert_no_partials(dir.path());
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// Rotation re-seals files of an earlier release (decrypting them on the fly): the
    /// result is again the reference, and opens to the original films.
    #[test]
    fn resealing_a_release_is_the_reference_too(
        sizes in proptest::collection::vec(size(), 1..3),
        piece in piece(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let films: Vec<Vec<u8>> = sizes.iter().enumerate().map(|(i, &n)| plaintext(n, 40 + i as u8)).collect();
        let first = seal_files(dir.path(), &films, piece);
        let old = payload(dir.path(), "rel", &first);
        let inputs: Vec<Input> = first.manifest.files.iter().map(|f| Input {
            source: Source::Sealed {
                path: old.join(&f.ct_name),
                key: zeroize::Zeroizing::new(*first.keys.get(f.key_id).unwrap()),
                nonce: f.nonce,
                release: first.release,
            },
            rel: f.path.clone(),
            size: f.size,
            key_id: f.key_id,
        }).collect();
        let second = seal_inputs(dir.path(), &inputs, piece, "rel2");
        check_against_reference(dir.path(), "rel2", &second, &films);
        open_all(dir.path(), "rel2", &second, &films);
    }
}

#[test]
fn a_manifest_is_written_first_and_every_file_is_complete() {
    let dir = tempfile::tempdir().unwrap();
    let films = vec![plaintext(BLOCK + 5, 1), plaintext(0, 2)];
    let sealed = seal_files(dir.path(), &films, 65_536);
    let payload = payload(dir.path(), "rel", &sealed);
    assert!(payload.join(MANIFEST_NAME).is_file());
    for f in &sealed.manifest.files {
        assert_eq!(
            std::fs::metadata(payload.join(&f.ct_name)).unwrap().len(),
            f.ct_len()
        );
    }
}

/// The page-cache path (file systems without `O_DIRECT`) gives the same bytes. The switch
/// is process-wide: tests running meanwhile may take that path too, which they must
/// survive just the same.
#[test]
fn without_direct_io_the_output_is_the_same() {
    std::env::set_var("REELSEAL_NO_DIRECT_IO", "1");
    let dir = tempfile::tempdir().unwrap();
    let films: Vec<Vec<u8>> = [0, 1, CHUNK_PLAIN, BLOCK + 1, 2 * BLOCK]
        .iter()
        .enumerate()
        .map(|(i, &n)| plaintext(n, 90 + i as u8))
        .collect();
    for (k, piece) in [65_536u64, 4 << 20].into_iter().enumerate() {
        let name = format!("rel{k}");
        let out = dir.path().join(&name);
        let inputs: Vec<Input> = films
            .iter()
            .enumerate()
            .map(|(i, f)| {
                let p = dir.path().join(format!("c-{i}.bin"));
                std::fs::write(&p, f).unwrap();
                Input {
                    source: Source::File(p),
                    rel: vec![format!("film-{i}.bin")],
                    size: f.len() as u64,
                    key_id: reelseal_core::keyset::MAIN_KEY,
                }
            })
            .collect();
        let sealed = seal_inputs(dir.path(), &inputs, piece, &name);
        assert!(out.is_dir());
        check_against_reference(dir.path(), &name, &sealed, &films);
        open_all(dir.path(), &name, &sealed, &films);
    }
    std::env::remove_var("REELSEAL_NO_DIRECT_IO");
}
