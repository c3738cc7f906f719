//! Typing a ~4 KiB Scalekit directory-user event: `Event<ScalekitEvent>` (type dispatched while
//! parsing) against serde_json straight into `Event<DirectoryUser>` by hand, plus the generic
//! `Value` route and the filter's hot path.
//!
//! Run: `cargo bench -p webhook-core --bench events -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;
use webhook_core::event::{Event, from_slice};
use webhook_core::scalekit::{DirectoryUser, ScalekitEvent, samples};
use webhook_core::{EventFilter, Signer, Verifier, scalekit};

/// The `organization.directory.user_created` sample, padded with custom attributes to 4 KiB.
fn body_4k() -> String {
    let sample: Value =
        serde_json::from_str(&samples::sample("organization.directory.user_created").unwrap())
            .unwrap();
    let mut data = sample["data"].clone();
    for i in 0.. {
        // In Scalekit's field order (`type` before `data`); serde_json's map would sort them.
        let body = format!(
            r#"{{"spec_version":"1","id":"evt_53891546994442316","type":"organization.directory.user_created","object":"DirectoryUser","occurred_at":"2025-01-06T18:44:25.153954123Z","environment_id":"env_53814739859406915","organization_id":"org_53879494091473415","data":{},"display_name":"Directory User Created"}}"#,
            serde_json::to_string(&data).unwrap()
        );
        if body.len() >= 4096 {
            return body;
        }
        data["custom_attributes"][format!("attribute_{i:02}")] =
            Value::String(format!("value {i} of a custom SCIM attribute"));
    }
    unreachable!()
}

fn bench_typing(c: &mut Criterion) {
    let body = body_4k();
    let bytes = body.as_bytes();
    // Both routes must produce the same user.
    let typed = scalekit::parse(bytes).unwrap();
    let by_hand: Event<DirectoryUser> = serde_json::from_slice(bytes).unwrap();
    assert_eq!(
        typed.data,
        ScalekitEvent::DirectoryUserCreated(by_hand.data.clone())
    );

    let mut g = c.benchmark_group("type_4k_directory_user");
    g.throughput(Throughput::Bytes(bytes.len() as u64));
    g.bench_function("serde_json_by_hand_Event<DirectoryUser>", |b| {
        b.iter(|| serde_json::from_slice::<Event<DirectoryUser>>(black_box(bytes)).unwrap())
    });
    g.bench_function("from_slice_Event<DirectoryUser>", |b| {
        b.iter(|| from_slice::<Event<DirectoryUser>>(black_box(bytes)).unwrap())
    });
    g.bench_function("scalekit_parse_Event<ScalekitEvent>", |b| {
        b.iter(|| scalekit::parse(black_box(bytes)).unwrap())
    });
    g.bench_function("two_pass_Event<&RawValue>_then_match", |b| {
        b.iter(|| {
            let raw: Event<&serde_json::value::RawValue> =
                serde_json::from_slice(black_box(bytes)).unwrap();
            let data = match raw.event_type.as_str() {
                "organization.directory.user_created" => {
                    serde_json::from_str::<DirectoryUser>(raw.data.get()).unwrap()
                }
                _ => unreachable!(),
            };
            raw.map(|_| data)
        })
    });
    g.bench_function("serde_json_Event<Value>", |b| {
        b.iter(|| serde_json::from_slice::<Event<Value>>(black_box(bytes)).unwrap())
    });
    g.finish();
}

fn bench_filter(c: &mut Criterion) {
    let filter = EventFilter::new([
        "organization.directory.*",
        "organization.sso_created",
        "user.login",
        "user.logout",
        "role.created",
        "connected_account.*",
    ])
    .unwrap();
    let mut g = c.benchmark_group("filter_matches");
    g.bench_function("exact_hit", |b| {
        b.iter(|| filter.matches(black_box("user.login")))
    });
    g.bench_function("prefix_hit", |b| {
        b.iter(|| filter.matches(black_box("organization.directory.user_created")))
    });
    g.bench_function("miss", |b| {
        b.iter(|| filter.matches(black_box("permission.deleted")))
    });
    g.finish();
}

/// What a layer with tracing or a filter pays to name a delivery: the event type and the body's
/// id, read from a fresh `Delivery` (each read is cached in the delivery), against parsing the
/// same body into a `Value`, which the handler does anyway.
fn bench_identity(c: &mut Criterion) {
    let body = body_4k();
    let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    let headers = Signer::standard(secret)
        .unwrap()
        .sign("msg_1", 1_700_000_000, body.as_bytes());
    let verifier = Verifier::standard(secret)
        .unwrap()
        .without_timestamp_check();
    let delivery = verifier
        .verify_delivery(&headers, Bytes::from(body.clone()))
        .unwrap();
    assert_eq!(
        delivery.event_type(),
        Some("organization.directory.user_created")
    );
    let fresh = || {
        verifier
            .verify_delivery(&headers, delivery.body().clone())
            .unwrap()
    };

    let mut g = c.benchmark_group("identity_4k");
    g.bench_function("event_type", |b| {
        b.iter_batched(
            fresh,
            |d| d.event_type().map(str::len),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("event_type_and_event_id", |b| {
        b.iter_batched(
            fresh,
            |d| (d.event_type().map(str::len), d.event_id().map(str::len)),
            BatchSize::SmallInput,
        )
    });
    g.bench_function("serde_json_Value", |b| {
        b.iter(|| serde_json::from_slice::<Value>(black_box(body.as_bytes())).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_typing, bench_filter, bench_identity);
criterion_main!(benches);
