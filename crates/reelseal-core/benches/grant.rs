//! Grants issued per second on one core (target ≥ 10,000/s), and verify+unwrap per second.
//!
//! `cargo bench -p reelseal-core --bench grant`

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use reelseal_core::card::{Card, CardFile, SignedCard};
use reelseal_core::grant::{self, Grant, GrantParams};
use reelseal_core::keys::{PublisherSecret, ViewerSecret};
use reelseal_core::keyset::KeySet;
use reelseal_core::{GrantId, ReleaseId};

fn card(sk: &PublisherSecret) -> SignedCard {
    Card {
        chunk: 65_536,
        created: 1_800_000_000,
        files: (0..3)
            .map(|i| CardFile {
                len: 1 << 30,
                name: format!("f{i:03}.rsc"),
                sha256: vec![i; 32],
            })
            .collect(),
        infohash: vec![7; 20],
        key_server: Some("https://keys.example.org".into()),
        piece: 1 << 21,
        publisher: sk.public().to_bytes().to_vec(),
        release: ReleaseId([1; 16]).0.to_vec(),
        supersedes: None,
        title: "A Feature Film".into(),
        trackers: vec!["udp://tracker.example.org:1337/announce".into()],
        v: 1,
        web_seeds: vec![],
    }
    .sign(sk)
    .unwrap()
}

fn bench(c: &mut Criterion) {
    let sk = PublisherSecret::from_bytes(&[3; 32]);
    let card = card(&sk);
    let keys = KeySet::generate();
    let viewer = ViewerSecret::generate();
    let params = GrantParams {
        id: GrantId([9; 16]),
        label: "Berlinale jury 3".into(),
        viewer: viewer.public(),
        validity: reelseal_core::validity::Validity::new(Some(1_800_000_000), Some(1_802_000_000))
            .unwrap(),
        issued: 1_800_000_000,
    };
    let mut g = c.benchmark_group("grant");
    g.throughput(Throughput::Elements(1));
    g.bench_function("issue+armor", |b| {
        b.iter(|| grant::issue(&card, &keys, &params, &sk).unwrap().to_armor())
    });
    let issued = grant::issue(&card, &keys, &params, &sk).unwrap();
    let bytes = issued.to_bytes().to_vec();
    let pk = sk.public();
    g.bench_function("verify+unwrap", |b| {
        b.iter(|| {
            Grant::verify(&bytes, &pk)
                .unwrap()
                .unwrap_keys(&viewer)
                .unwrap()
        })
    });
    g.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
}
criterion_main!(benches);
