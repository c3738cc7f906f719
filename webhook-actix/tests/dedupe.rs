//! Subscriptions and duplicate handling, as in the tower layer.

mod common;

use std::sync::Arc;
use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use common::*;
use tokio::sync::Notify;
use webhook_actix::{VerifiedDelivery, VerifiedEvent, WebhookConfig, WebhookDedupe};
use webhook_core::dedupe::{Claim, DedupeStore, MemoryDedupe};
use webhook_core::{EventFilter, ManualClock};

const NOW: i64 = 1_700_000_000;

fn config() -> WebhookConfig {
    WebhookConfig::secret(SECRET).unwrap()
}

async fn counted(calls: web::Data<Calls>, event: VerifiedEvent<OrgEvent>) -> HttpResponse {
    calls.hit();
    HttpResponse::Ok().body(event.data.id.clone())
}

macro_rules! app {
    ($config:expr, $calls:expr, $dedupe:expr) => {
        test::init_service(
            App::new()
                .app_data($config)
                .app_data(web::Data::new($calls.clone()))
                .service(
                    web::resource("/webhooks")
                        .wrap($dedupe)
                        .route(web::post().to(counted)),
                ),
        )
        .await
    };
}

fn ignored(status: &str) -> (StatusCode, serde_json::Value) {
    (StatusCode::OK, serde_json::json!({ "status": status }))
}

#[actix_web::test]
async fn unsubscribed_event_is_200_without_the_handler() {
    let calls = Calls::default();
    let filter = EventFilter::new(["user.*", "organization.deleted"]).unwrap();
    let app = app!(config().events(filter), calls, WebhookDedupe::memory());
    assert_eq!(
        send(&app, signed(ORG_CREATED).to_request()).await,
        ignored("unsubscribed")
    );
    assert_eq!(calls.count(), 0);

    let subscribed = ORG_CREATED.replace("organization.created", "organization.deleted");
    assert_eq!(send(&app, signed(&subscribed).to_request()).await.0, 200);
    assert_eq!(calls.count(), 1);
    // No event type at all: passed on, as the tower layer does.
    let untyped = r#"{"data":{"id":"org_2","display_name":"B"}}"#;
    assert_eq!(
        send(&app, signed(untyped).to_request()).await,
        (StatusCode::OK, "org_2".into())
    );
    assert_eq!(calls.count(), 2);
}

#[actix_web::test]
async fn unsubscribed_but_unauthentic_is_still_rejected() {
    let calls = Calls::default();
    let app = app!(
        config().events(EventFilter::new(["user.*"]).unwrap()),
        calls,
        WebhookDedupe::memory()
    );
    let got = send(
        &app,
        signed(ORG_CREATED)
            .tamper(webhook_actix::testing::Tamper::Body)
            .to_request(),
    )
    .await;
    assert_rejected(&got, 401, "signature_mismatch", "no signature matched");
}

#[actix_web::test]
async fn duplicate_is_200_without_the_handler() {
    let calls = Calls::default();
    let app = app!(config(), calls, WebhookDedupe::memory());
    let req = signed(ORG_CREATED).id("msg_dup");
    assert_eq!(
        send(&app, req.to_request()).await,
        (StatusCode::OK, "org_1".into())
    );
    // The sender's retry: same id, a later timestamp and so a new signature.
    let retry = req.clone().timestamp(req_ts(&req) + 30);
    assert_eq!(send(&app, retry.to_request()).await, ignored("duplicate"));
    assert_eq!(send(&app, req.to_request()).await, ignored("duplicate"));
    assert_eq!(calls.count(), 1);
    // Another id is new.
    assert_eq!(
        send(&app, signed(ORG_CREATED).id("msg_other").to_request())
            .await
            .0,
        200
    );
    assert_eq!(calls.count(), 2);
}

#[actix_web::test]
async fn the_configs_clock_also_times_the_dedupe_window() {
    let clock = Arc::new(ManualClock::new(NOW * 1000));
    let calls = Calls::default();
    let app = app!(
        config().clock(clock.clone()),
        calls,
        WebhookDedupe::new(MemoryDedupe::new().ttl(Duration::from_secs(601)))
    );
    let at = |ts: i64| signed(ORG_CREATED).id("msg_clock").timestamp(ts);
    assert_eq!(send(&app, at(NOW).to_request()).await.0, 200);
    assert_eq!(send(&app, at(NOW).to_request()).await, ignored("duplicate"));
    clock.advance(Duration::from_secs(601));
    // Past the TTL on the configured clock: the sender's retry runs the handler again.
    assert_eq!(send(&app, at(NOW + 601).to_request()).await.0, 200);
    assert_eq!(calls.count(), 2);
}

/// With a tolerance of an hour a replay verifies for two hours (a timestamp an hour ahead, then
/// an hour behind): `memory_for` remembers deliveries that long, `memory` only 601 s.
#[actix_web::test]
async fn memory_for_covers_the_replay_window_of_a_long_tolerance() {
    let clock = Arc::new(ManualClock::new(NOW * 1000));
    let config = config()
        .clock(clock.clone())
        .tolerance(Duration::from_secs(3600));
    let at = |ts: i64| signed(ORG_CREATED).id("msg_long").timestamp(ts);
    for (dedupe, runs) in [
        (WebhookDedupe::memory_for(&config), 1),
        (WebhookDedupe::memory(), 2),
    ] {
        clock.set(NOW * 1000);
        let calls = Calls::default();
        let app = app!(config.clone(), calls, dedupe);
        assert_eq!(send(&app, at(NOW + 3000).to_request()).await.0, 200);
        // 6000 s later the same delivery still verifies (3000 s old).
        clock.advance(Duration::from_secs(6000));
        let replay = send(&app, at(NOW + 3000).to_request()).await;
        assert_eq!(calls.count(), runs, "{replay:?}");
    }
}

fn req_ts(req: &webhook_actix::testing::SignedRequest) -> i64 {
    req.headers()
        .get("webhook-timestamp")
        .unwrap()
        .parse()
        .unwrap()
}

#[actix_web::test]
async fn in_flight_duplicate_is_409_and_the_first_attempt_still_counts() {
    let calls = Calls::default();
    let started = Arc::new(Notify::new());
    let release = Arc::new(Notify::new());
    let (s, r, c) = (started.clone(), release.clone(), calls.clone());
    let app = test::init_service(
        App::new().app_data(config()).service(
            web::resource("/webhooks")
                .wrap(WebhookDedupe::memory())
                .route(web::post().to(move |_d: VerifiedDelivery| {
                    let (s, r, c) = (s.clone(), r.clone(), c.clone());
                    async move {
                        c.hit();
                        s.notify_one();
                        r.notified().await;
                        HttpResponse::Accepted().finish()
                    }
                })),
        ),
    )
    .await;
    let req = signed(ORG_CREATED).id("msg_slow");
    let first = send(&app, req.to_request());
    let second = async {
        started.notified().await;
        let got = send(&app, req.to_request()).await;
        release.notify_one();
        got
    };
    let (first, second) = futures_util::future::join(first, second).await;
    assert_eq!(first.0, StatusCode::ACCEPTED);
    assert_rejected(&second, 409, "in_flight", "retry later");
    assert_eq!(calls.count(), 1);
    // 202 is a success: the next retry is a duplicate.
    assert_eq!(send(&app, req.to_request()).await, ignored("duplicate"));
    assert_eq!(calls.count(), 1);
}

#[actix_web::test]
async fn retry_after_a_failure_runs_the_handler_again() {
    let calls = Calls::default();
    let c = calls.clone();
    let app = test::init_service(
        App::new().app_data(config()).service(
            web::resource("/webhooks")
                .wrap(WebhookDedupe::memory())
                .route(web::post().to(move |_d: VerifiedDelivery| {
                    let c = c.clone();
                    async move {
                        match c.hit() {
                            1 => Ok(HttpResponse::ServiceUnavailable().finish()),
                            2 => Err(actix_web::error::ErrorInternalServerError("database down")),
                            _ => Ok(HttpResponse::Ok().finish()),
                        }
                    }
                })),
        ),
    )
    .await;
    let req = signed(ORG_CREATED).id("msg_flaky");
    assert_eq!(send(&app, req.to_request()).await.0, 503);
    assert_eq!(send(&app, req.to_request()).await.0, 500);
    assert_eq!(send(&app, req.to_request()).await.0, 200);
    assert_eq!(send(&app, req.to_request()).await, ignored("duplicate"));
    assert_eq!(calls.count(), 3);
}

#[actix_web::test]
async fn a_422_does_not_mark_the_delivery_done() {
    let calls = Calls::default();
    let store = Arc::new(MemoryDedupe::new());
    let app = app!(config(), calls, WebhookDedupe::from_arc(store.clone()));
    let got = send(&app, signed("{}").id("msg_bad").to_request()).await;
    assert_eq!(got.0, 422);
    assert_eq!(
        store.claim("standard:msg_bad", 0),
        Claim::New,
        "nothing was remembered for it"
    );
}

#[actix_web::test]
async fn without_the_middleware_there_is_no_deduplication() {
    let calls = Calls::default();
    let app = test::init_service(
        App::new()
            .app_data(config())
            .app_data(web::Data::new(calls.clone()))
            .route("/webhooks", web::post().to(counted)),
    )
    .await;
    let req = signed(ORG_CREATED).id("msg_twice");
    assert_eq!(send(&app, req.to_request()).await.0, 200);
    assert_eq!(send(&app, req.to_request()).await.0, 200);
    assert_eq!(calls.count(), 2);
}

#[actix_web::test]
async fn clones_share_one_store_across_apps() {
    // Two apps stand for two workers built by the same `HttpServer::new` factory.
    let dedupe = WebhookDedupe::memory();
    let calls = Calls::default();
    let worker_a = app!(config(), calls, dedupe.clone());
    let worker_b = app!(config(), calls, dedupe.clone());
    let req = signed(ORG_CREATED).id("msg_shared");
    assert_eq!(send(&worker_a, req.to_request()).await.0, 200);
    assert_eq!(
        send(&worker_b, req.to_request()).await,
        ignored("duplicate")
    );
    assert_eq!(calls.count(), 1);
}

#[actix_web::test]
async fn routes_without_the_extractor_pass_through() {
    let app = test::init_service(App::new().wrap(WebhookDedupe::memory()).route(
        "/health",
        web::get().to(|| async { HttpResponse::Ok().body("up") }),
    ))
    .await;
    let got = send(&app, test::TestRequest::get().uri("/health").to_request()).await;
    assert_eq!(got, (StatusCode::OK, "up".into()));
}

/// A delivery already handled is acknowledged as a duplicate even when the handler's type no
/// longer fits its body (a stricter type deployed since): it is claimed before it is parsed.
/// A body that does not fit still fails its claim, so a corrected handler gets the retry.
#[actix_web::test]
async fn a_duplicate_is_acknowledged_before_its_body_is_parsed() {
    #[derive(serde::Deserialize)]
    struct Stricter {
        #[allow(dead_code)]
        required_since_the_last_deploy: String,
    }
    async fn strict(_event: VerifiedEvent<Stricter>) -> HttpResponse {
        HttpResponse::Ok().finish()
    }
    let calls = Calls::default();
    let dedupe = WebhookDedupe::memory();
    let app = test::init_service(
        App::new()
            .app_data(config())
            .app_data(web::Data::new(calls.clone()))
            .service(
                web::resource("/before")
                    .wrap(dedupe.clone())
                    .route(web::post().to(counted)),
            )
            .service(
                web::resource("/after")
                    .wrap(dedupe)
                    .route(web::post().to(strict)),
            ),
    )
    .await;
    let first = signed(ORG_CREATED).uri("/before").id("m_deployed");
    assert_eq!(send(&app, first.to_request()).await.0, 200);
    let retry = signed(ORG_CREATED).uri("/after").id("m_deployed");
    assert_eq!(send(&app, retry.to_request()).await, ignored("duplicate"));

    // A new delivery that does not fit: 422, and its claim is released.
    let new = || signed(ORG_CREATED).uri("/after").id("m_new");
    assert_eq!(send(&app, new().to_request()).await.0, 422);
    assert_eq!(
        send(&app, new().to_request()).await.0,
        422,
        "not a duplicate"
    );
    assert_eq!(calls.count(), 1);
}
