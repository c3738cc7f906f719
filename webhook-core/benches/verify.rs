//! Standard Webhooks verification: webhook-core vs the `svix` and `standardwebhooks` crates, with
//! raw SHA-256 (`sha2`) as the ceiling and `ring::hmac::verify` as the small-body floor, all in
//! one run. `verify/*` sends one `v1` signature, as senders do; `rotation/*` sends two (a decoy
//! for a retired secret, then the real one), as senders do while an endpoint's secret rotates.

use std::hint::black_box;
use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use sha2::Digest as _;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
/// A well-formed `v1` signature made with some other secret.
const DECOY: &str = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc=";
const SIZES: [usize; 4] = [256, 4 * 1024, 64 * 1024, 1024 * 1024];

fn body(len: usize) -> Vec<u8> {
    let pattern =
        br#"{"type":"organization.directory.user_created","data":{"email":"user@example.com"}} "#;
    pattern.iter().copied().cycle().take(len).collect()
}

fn bench(c: &mut Criterion) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ts = now.to_string();
    let ours = webhook_core::Verifier::standard(SECRET).unwrap();
    let signer = webhook_core::Signer::standard(SECRET).unwrap();
    let svix = svix::webhooks::Webhook::new(SECRET).unwrap();
    let sw = standardwebhooks::Webhook::new(SECRET).unwrap();
    let key_bytes = base64::engine::general_purpose::STANDARD
        .decode(&SECRET[6..])
        .unwrap();
    let ring_key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &key_bytes);

    let map_for = |signature: &str| {
        let mut map = http::HeaderMap::new();
        map.insert("webhook-id", ID.parse().unwrap());
        map.insert("webhook-timestamp", ts.parse().unwrap());
        map.insert("webhook-signature", signature.parse().unwrap());
        map
    };

    let mut group = c.benchmark_group("verify");
    for size in SIZES {
        let body = body(size);
        let signed = signer.sign(ID, now, &body);
        let real = signed.get("webhook-signature").unwrap().to_owned();
        let map = map_for(&real);
        let content = [format!("{ID}.{ts}.").as_bytes(), &body].concat();
        let tag = base64::engine::general_purpose::STANDARD
            .decode(&real[3..])
            .unwrap();

        group.throughput(Throughput::Bytes(size as u64));
        group.bench_with_input(BenchmarkId::new("webhook-core", size), &body, |b, body| {
            b.iter(|| ours.verify(black_box(&map), black_box(body)).unwrap())
        });
        group.bench_with_input(BenchmarkId::new("svix", size), &body, |b, body| {
            b.iter(|| svix.verify(black_box(body), black_box(&map)).unwrap())
        });
        group.bench_with_input(
            BenchmarkId::new("standardwebhooks", size),
            &body,
            |b, body| b.iter(|| sw.verify(black_box(body), black_box(&map)).unwrap()),
        );
        group.bench_with_input(BenchmarkId::new("sha256-raw", size), &body, |b, body| {
            b.iter(|| sha2::Sha256::digest(black_box(body)))
        });
        group.bench_with_input(
            BenchmarkId::new("ring-hmac-verify", size),
            &content,
            |b, content| {
                b.iter(|| {
                    ring::hmac::verify(&ring_key, black_box(content), black_box(&tag)).unwrap()
                })
            },
        );
    }
    group.finish();

    // Two signatures, the real one last: every library checks both. Only at 256 B, where the
    // per-signature work shows; ring has no counterpart (it checks one tag).
    let mut group = c.benchmark_group("rotation");
    let body = body(256);
    let signed = signer.sign(ID, now, &body);
    let real = signed.get("webhook-signature").unwrap();
    let map = map_for(&format!("{DECOY} {real}"));
    group.throughput(Throughput::Bytes(body.len() as u64));
    group.bench_with_input(BenchmarkId::new("webhook-core", 256), &body, |b, body| {
        b.iter(|| ours.verify(black_box(&map), black_box(body)).unwrap())
    });
    group.bench_with_input(BenchmarkId::new("svix", 256), &body, |b, body| {
        b.iter(|| svix.verify(black_box(body), black_box(&map)).unwrap())
    });
    group.bench_with_input(
        BenchmarkId::new("standardwebhooks", 256),
        &body,
        |b, body| b.iter(|| sw.verify(black_box(body), black_box(&map)).unwrap()),
    );
    group.finish();
}

/// The `http` header map read only by lookups, never in one pass.
struct LookupOnly<'a>(&'a http::HeaderMap);

impl webhook_core::Headers for LookupOnly<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        webhook_core::Headers::get(self.0, name)
    }
    fn get_unique(&self, name: &str) -> Result<Option<&[u8]>, webhook_core::headers::Duplicated> {
        webhook_core::Headers::get_unique(self.0, name)
    }
}

/// Reading the three headers in one pass vs three lookups (six when the sender uses the
/// `svix-` names, after the `webhook-` ones miss), on the 256 B verify.
fn header_read(c: &mut Criterion) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    let ours = webhook_core::Verifier::standard(SECRET).unwrap();
    let body = body(256);
    let signed: http::HeaderMap = webhook_core::Signer::standard(SECRET)
        .unwrap()
        .sign(ID, now, &body)
        .into();
    let svix_named: http::HeaderMap = signed
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().replace("webhook-", "svix-");
            (http::HeaderName::try_from(name).unwrap(), v.clone())
        })
        .collect();
    let mut group = c.benchmark_group("header_read");
    for (names, map) in [("webhook", &signed), ("svix", &svix_named)] {
        group.bench_function(BenchmarkId::new("one_pass", names), |b| {
            b.iter(|| ours.verify(black_box(map), black_box(&body)).unwrap())
        });
        group.bench_function(BenchmarkId::new("lookups", names), |b| {
            b.iter(|| {
                ours.verify(&LookupOnly(black_box(map)), black_box(&body))
                    .unwrap()
            })
        });
    }
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .warm_up_time(std::time::Duration::from_millis(700))
        .measurement_time(std::time::Duration::from_secs(3))
        .sample_size(50);
    targets = bench, header_read
}
criterion_main!(benches);
