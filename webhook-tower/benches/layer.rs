//! In-process comparison through `oneshot`: an axum router with the layer and a
//! `VerifiedEvent<serde_json::Value>` handler, vs the bare router (`Bytes` + `serde_json`, no
//! verification), vs a handler verifying with the `svix` crate. Every iteration sends a distinct,
//! freshly signed delivery (signing happens outside the measurement).

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use axum::body::Body;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use http::Request;
use tower::ServiceExt;
use webhook_axum::Signer;

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let signer = Signer::standard(common::SECRET).unwrap();
    let counter = AtomicU64::new(0);
    for size in [1024usize, 64 * 1024] {
        let body = bytes::Bytes::from(common::body(size));
        let mut group = c.benchmark_group(format!("oneshot/{size}"));
        group.throughput(Throughput::Bytes(size as u64));
        for (name, router) in common::routers() {
            group.bench_function(BenchmarkId::from_parameter(name), |b| {
                // One request alive at a time (signed outside the timed part), so that the heap
                // looks like a server's, not like a batch of thousands of pending requests.
                b.iter_custom(|iters| {
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let id = format!("msg_{}", counter.fetch_add(1, Ordering::Relaxed));
                        let mut req = Request::post("/").body(Body::from(body.clone())).unwrap();
                        *req.headers_mut() = common::signed_headers(&signer, &id, &body);
                        req.headers_mut()
                            .insert("content-length", body.len().into());
                        let start = Instant::now();
                        let res = rt.block_on(router.clone().oneshot(req)).unwrap();
                        total += start.elapsed();
                        assert_eq!(res.status(), 204);
                    }
                    total
                })
            });
        }
        group.finish();
    }
}

/// Where the layer's time goes at 1 KiB: verification alone, verification plus building the
/// `Delivery` (envelope parse, kept headers), and a dedupe claim + complete on a full store.
fn parts(c: &mut Criterion) {
    let signer = Signer::standard(common::SECRET).unwrap();
    let verifier = webhook_axum::Verifier::standard(common::SECRET).unwrap();
    let body = bytes::Bytes::from(common::body(1024));
    let headers = common::signed_headers(&signer, "msg_parts", &body);
    let mut group = c.benchmark_group("parts/1024");
    group.bench_function("verify", |b| {
        b.iter(|| verifier.verify(&headers, &body).unwrap())
    });
    group.bench_function("verify_delivery", |b| {
        b.iter(|| verifier.verify_delivery(&headers, body.clone()).unwrap())
    });
    group.bench_function("json_value", |b| {
        b.iter(|| serde_json::from_slice::<serde_json::Value>(&body).unwrap())
    });
    let store = webhook_axum::dedupe::MemoryDedupe::new();
    let counter = AtomicU64::new(0);
    group.bench_function("dedupe_claim_complete", |b| {
        use webhook_axum::dedupe::DedupeStore;
        b.iter(|| {
            let key = format!("standard:msg_{}", counter.fetch_add(1, Ordering::Relaxed));
            store.claim(&key, 1_700_000_000);
            store.complete(&key, 1_700_000_000, true, 1_700_000_000);
        })
    });
    group.finish();
}

criterion_group!(benches, bench, parts);
criterion_main!(benches);
