//! Accept throughput: group-committed concurrent accepts vs one-at-a-time, with
//! `Durability::Full` (fsync per commit) and `Durability::Process`. Each iteration stores 64
//! distinct 1 KiB deliveries. The HTTP numbers come from `scripts/load.sh`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use webhook_core::{Delivery, Signer, Verifier};
use webhook_inbox::{AcceptMeta, Durability, Inbox};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const BATCH: usize = 64;

fn delivery(verifier: &Verifier, signer: &Signer, n: u64) -> Delivery {
    let id = format!("bench-{n}");
    let mut body = format!(r#"{{"id":"evt_{id}","type":"bench.event","data":""#).into_bytes();
    body.resize(1022, b'x');
    body.extend_from_slice(b"\"}");
    let headers = signer.sign(&id, 1_700_000_000, &body);
    verifier
        .verify_delivery(&headers, Bytes::from(body))
        .unwrap()
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let verifier = Arc::new(
        Verifier::standard(SECRET)
            .unwrap()
            .without_timestamp_check(),
    );
    let signer = Arc::new(Signer::standard(SECRET).unwrap());
    let counter = Arc::new(AtomicU64::new(0));
    let mut group = c.benchmark_group("accept");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (name, durability) in [("full", Durability::Full), ("process", Durability::Process)] {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("bench.db").display());
        let inbox = rt
            .block_on(Inbox::builder(&url).durability(durability).build())
            .unwrap();
        group.bench_function(format!("{name}/64_concurrent_group_commit"), |b| {
            b.to_async(&rt).iter(|| {
                let deliveries: Vec<Delivery> = (0..BATCH)
                    .map(|_| delivery(&verifier, &signer, counter.fetch_add(1, Ordering::Relaxed)))
                    .collect();
                let inbox = inbox.clone();
                async move {
                    let tasks: Vec<_> = deliveries
                        .into_iter()
                        .map(|d| {
                            let inbox = inbox.clone();
                            tokio::spawn(async move {
                                inbox.accept(&d, AcceptMeta::new()).await.unwrap()
                            })
                        })
                        .collect();
                    for t in tasks {
                        t.await.unwrap();
                    }
                }
            });
        });
        group.bench_function(format!("{name}/64_sequential"), |b| {
            b.to_async(&rt).iter(|| {
                let deliveries: Vec<Delivery> = (0..BATCH)
                    .map(|_| delivery(&verifier, &signer, counter.fetch_add(1, Ordering::Relaxed)))
                    .collect();
                let inbox = inbox.clone();
                async move {
                    for d in deliveries {
                        inbox.accept(&d, AcceptMeta::new()).await.unwrap();
                    }
                }
            });
        });
        rt.block_on(inbox.close());
        drop(dir);
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
