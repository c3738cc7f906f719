//! What verification costs inside actix-web, as ratios between:
//! - `actix_bytes`: a handler taking `web::Bytes` (actix-web's own cost, no verification);
//! - `verified_delivery`: the same request through `VerifiedDelivery` (read + verify);
//! - `verified_event`: through `VerifiedEvent<Event<ScalekitEvent>>` (read + verify + type);
//! - `verified_delivery_dedupe`: `VerifiedDelivery` under `WebhookDedupe` (new id each time);
//! - `core_verify`: `Verifier::verify_delivery` alone on the same headers and body.
//!
//! Run: `cargo bench -p webhook-actix --features testing -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use actix_web::dev::Service;
use actix_web::{App, HttpRequest, HttpResponse, test, web};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use webhook_actix::testing::SignedRequest;
use webhook_actix::{ActixHeaders, VerifiedDelivery, VerifiedEvent, WebhookConfig, WebhookDedupe};
use webhook_core::scalekit::{ScalekitEvent, samples};
use webhook_core::{Event, Verifier};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn bench(c: &mut Criterion) {
    let rt = actix_web::rt::System::new();
    let body = samples::sample("organization.directory.user_created").unwrap_or_default();
    let signed = SignedRequest::new(SECRET, body.clone()).uri("/hook");
    let config = WebhookConfig::secret(SECRET).unwrap();

    let mut group = c.benchmark_group("actix");
    group.throughput(criterion::Throughput::Bytes(body.len() as u64));

    let app = rt.block_on(test::init_service(App::new().route(
        "/hook",
        web::post().to(|b: web::Bytes| async move { HttpResponse::Ok().body(b.len().to_string()) }),
    )));
    group.bench_function("actix_bytes", |b| {
        b.iter_batched(
            || signed.to_request(),
            |req| rt.block_on(async { black_box(ok(app.call(req).await.unwrap().status())) }),
            BatchSize::SmallInput,
        )
    });

    let app = rt.block_on(test::init_service(
        App::new().app_data(config.clone()).route(
            "/hook",
            web::post().to(|d: VerifiedDelivery| async move {
                HttpResponse::Ok().body(d.body().len().to_string())
            }),
        ),
    ));
    group.bench_function("verified_delivery", |b| {
        b.iter_batched(
            || signed.to_request(),
            |req| rt.block_on(async { black_box(ok(app.call(req).await.unwrap().status())) }),
            BatchSize::SmallInput,
        )
    });

    let app = rt.block_on(test::init_service(
        App::new().app_data(config.clone()).route(
            "/hook",
            web::post().to(|e: VerifiedEvent<Event<ScalekitEvent>>| async move {
                HttpResponse::Ok().body(e.id.clone())
            }),
        ),
    ));
    group.bench_function("verified_event", |b| {
        b.iter_batched(
            || signed.to_request(),
            |req| rt.block_on(async { black_box(ok(app.call(req).await.unwrap().status())) }),
            BatchSize::SmallInput,
        )
    });

    let app = rt.block_on(test::init_service(
        App::new().app_data(config.clone()).service(
            web::resource("/hook").wrap(WebhookDedupe::memory()).route(
                web::post().to(|d: VerifiedDelivery| async move {
                    HttpResponse::Ok().body(d.body().len().to_string())
                }),
            ),
        ),
    ));
    let mut n = 0u64;
    group.bench_function("verified_delivery_dedupe", |b| {
        b.iter_batched(
            || {
                n += 1;
                signed.clone().id(format!("msg_{n}")).to_request()
            },
            |req| rt.block_on(async { black_box(ok(app.call(req).await.unwrap().status())) }),
            BatchSize::SmallInput,
        )
    });

    let verifier: Verifier = config.verifier().clone();
    let req: HttpRequest = signed.to_test_request().to_http_request();
    let bytes = signed.body();
    group.bench_function("core_verify", |b| {
        b.iter(|| {
            black_box(
                verifier
                    .verify_delivery(&ActixHeaders(req.headers()), bytes.clone())
                    .expect("the bench measures verification that passes"),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);

/// A benchmark of an answer that is not 200 would time a rejection, not the extractor.
fn ok(status: actix_web::http::StatusCode) -> actix_web::http::StatusCode {
    assert_eq!(status, 200, "the bench request was not accepted");
    status
}
