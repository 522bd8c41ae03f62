//! Sealed-stream throughput against raw ChaCha20-Poly1305 on the same buffers: the
//! overhead of reelseal's framing (HKDF once per file, nonce per chunk, tags) over the bare
//! AEAD, for sealing, sequential opening and random access.
//!
//! `cargo bench -p reelseal-core --bench stream`

use std::io::{Read, Seek, SeekFrom, Write};

use chacha20poly1305::aead::AeadInPlace;
use chacha20poly1305::{ChaCha20Poly1305, KeyInit, Nonce, Tag};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use reelseal_core::stream::{self, FileCipher, Purpose, StreamReader, StreamWriter, CHUNK_PLAIN};
use reelseal_core::ReleaseId;

const LEN: usize = 64 << 20;

fn cipher() -> FileCipher {
    FileCipher::new(&[7; 32], &[1; 16], &ReleaseId([2; 16]), Purpose::Payload)
}

fn nonce(i: usize) -> Nonce {
    let mut n = [0u8; 12];
    n[3..11].copy_from_slice(&(i as u64).to_be_bytes());
    n.into()
}

fn bench(c: &mut Criterion) {
    let plain: Vec<u8> = (0..LEN).map(|i| (i % 251) as u8).collect();
    let raw = ChaCha20Poly1305::new(&[7u8; 32].into());
    let mut g = c.benchmark_group("stream_64MiB");
    g.throughput(Throughput::Bytes(LEN as u64));
    g.sample_size(10);

    g.bench_function("raw_chacha20poly1305_seal", |b| {
        let mut buf = plain.clone();
        b.iter(|| {
            for (i, chunk) in buf.chunks_mut(CHUNK_PLAIN).enumerate() {
                std::hint::black_box(
                    raw.encrypt_in_place_detached(&nonce(i), b"", chunk)
                        .unwrap(),
                );
            }
        })
    });
    // Output buffers are reused (like the raw case's) so page faults do not count.
    let mut out = Vec::with_capacity(LEN + LEN / 1000);
    g.bench_function("reelseal_seal", |b| {
        b.iter(|| {
            out.clear();
            let mut w = StreamWriter::new(&mut out, cipher());
            w.write_all(&plain).unwrap();
            w.finish().unwrap();
            std::hint::black_box(out.len())
        })
    });

    let ct = stream::seal_to_vec(cipher(), &plain);
    // Raw decrypt of the same frames (tags checked), for the open comparison.
    let frames: Vec<(Vec<u8>, Tag)> = plain
        .chunks(CHUNK_PLAIN)
        .enumerate()
        .map(|(i, p)| {
            let mut v = p.to_vec();
            let t = raw
                .encrypt_in_place_detached(&nonce(i), b"", &mut v)
                .unwrap();
            (v, t)
        })
        .collect();
    let mut scratch = vec![0u8; CHUNK_PLAIN];
    g.bench_function("raw_chacha20poly1305_open", |b| {
        b.iter(|| {
            for (i, (f, t)) in frames.iter().enumerate() {
                let v = &mut scratch[..f.len()];
                v.copy_from_slice(f);
                raw.decrypt_in_place_detached(&nonce(i), b"", v, t).unwrap();
            }
            std::hint::black_box(scratch[0])
        })
    });
    let mut out = vec![0u8; LEN];
    g.bench_function("reelseal_open_sequential", |b| {
        b.iter(|| {
            let mut r = StreamReader::new(std::io::Cursor::new(&ct), cipher()).unwrap();
            r.read_exact(&mut out).unwrap();
            std::hint::black_box(out[0])
        })
    });
    g.finish();

    // Random access: 1,000 reads of 4 KiB at pseudo-random offsets (each decrypts one or two chunks).
    let mut g = c.benchmark_group("random_access");
    g.throughput(Throughput::Elements(1000));
    g.sample_size(10);
    g.bench_function("reelseal_1000_reads_of_4KiB", |b| {
        let mut r = StreamReader::new(std::io::Cursor::new(&ct), cipher()).unwrap();
        let mut buf = [0u8; 4096];
        b.iter(|| {
            let mut x: u64 = 12345;
            for _ in 0..1000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                r.seek(SeekFrom::Start(x % (LEN as u64 - 4096))).unwrap();
                r.read_exact(&mut buf).unwrap();
            }
            std::hint::black_box(buf[0])
        })
    });
    g.bench_function("raw_1000_chunk_decrypts", |b| {
        let mut scratch = vec![0u8; CHUNK_PLAIN];
        b.iter(|| {
            let mut x: u64 = 12345;
            for _ in 0..1000 {
                x = x
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let i = (x % (frames.len() as u64 - 1)) as usize;
                let (f, t) = &frames[i];
                scratch.copy_from_slice(f);
                raw.decrypt_in_place_detached(&nonce(i), b"", &mut scratch, t)
                    .unwrap();
            }
            std::hint::black_box(scratch[0])
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
