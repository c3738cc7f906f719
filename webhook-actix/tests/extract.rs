//! Verification through the extractors, in process (`init_service` / `call_service`).

mod common;

use std::sync::Arc;

use actix_web::dev::Payload;
use actix_web::error::{InternalError, PayloadError};
use actix_web::http::StatusCode;
use actix_web::{App, FromRequest, HttpMessage as _, HttpResponse, test, web};
use bytes::Bytes;
use common::*;
use futures_util::stream;
use webhook_actix::testing::{SignedRequest, Tamper};
use webhook_actix::{VerifiedDelivery, VerifiedEvent, WebhookConfig, WebhookError};
use webhook_core::{Clock as _, FixedClock, Scheme, SystemClock};

async fn org_handler(event: VerifiedEvent<OrgEvent>) -> HttpResponse {
    HttpResponse::Ok().body(format!(
        "{} {} {}",
        event.kind, event.data.id, event.data.display_name
    ))
}

async fn delivery_handler(delivery: VerifiedDelivery) -> HttpResponse {
    HttpResponse::Ok().json(serde_json::json!({
        "id": delivery.id(),
        "event_id": delivery.event_id(),
        "event_type": delivery.event_type(),
        "scheme": delivery.scheme().as_str(),
        "timestamp": delivery.verified().timestamp(),
        "secret_index": delivery.verified().secret_index(),
        "body": String::from_utf8_lossy(delivery.body()),
    }))
}

#[derive(serde::Deserialize)]
struct Counted {
    #[allow(dead_code)]
    count: u32,
}

async fn counted_handler(_event: VerifiedEvent<Counted>) -> HttpResponse {
    HttpResponse::Ok().finish()
}

fn config() -> WebhookConfig {
    WebhookConfig::secret(SECRET).unwrap()
}

macro_rules! app {
    ($config:expr) => {
        test::init_service(
            App::new()
                .app_data($config)
                .route("/webhooks", web::post().to(org_handler))
                .route("/raw", web::post().to(delivery_handler))
                .route("/counted", web::post().to(counted_handler)),
        )
        .await
    };
}

#[actix_web::test]
async fn valid_delivery_reaches_the_handler() {
    let app = app!(config());
    let (status, body) = send(&app, signed(ORG_CREATED).to_request()).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, "organization.created org_1 Acme");
}

#[actix_web::test]
async fn each_missing_header_is_400_naming_it() {
    let app = app!(config());
    for header in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let got = send(
            &app,
            signed(ORG_CREATED).without_header(header).to_request(),
        )
        .await;
        assert_rejected(&got, 400, "missing_header", header);
    }
}

#[actix_web::test]
async fn malformed_headers_are_400() {
    let app = app!(config());
    let got = send(
        &app,
        signed(ORG_CREATED)
            .header("webhook-timestamp", "yesterday")
            .to_request(),
    )
    .await;
    assert_rejected(&got, 400, "malformed_header", "webhook-timestamp");
    let got = send(
        &app,
        signed(ORG_CREATED)
            .header("webhook-signature", " ")
            .to_request(),
    )
    .await;
    assert_rejected(&got, 400, "malformed_header", "empty signature");
    let got = send(
        &app,
        signed(ORG_CREATED).header("webhook-id", "").to_request(),
    )
    .await;
    assert_rejected(&got, 400, "malformed_header", "empty message id");
    let got = send(
        &app,
        signed(ORG_CREATED)
            .header("webhook-signature", "v2,abc")
            .to_request(),
    )
    .await;
    assert_rejected(&got, 401, "no_supported_signature", "webhook-signature");
    // A signed header sent twice is ambiguous.
    let mut req = signed(ORG_CREATED).to_test_request();
    req = req.append_header(("webhook-signature", "v1,AAAA"));
    let got = send(&app, req.to_request()).await;
    assert_rejected(&got, 400, "malformed_header", "more than once");
}

#[actix_web::test]
async fn bad_signatures_are_401() {
    let app = app!(config());
    for tamper in [Tamper::Body, Tamper::Signature] {
        let got = send(&app, signed(ORG_CREATED).tamper(tamper).to_request()).await;
        assert_rejected(&got, 401, "signature_mismatch", "no signature matched");
    }
    // The id is signed too.
    let got = send(
        &app,
        signed(ORG_CREATED)
            .header("webhook-id", "msg_other")
            .to_request(),
    )
    .await;
    assert_rejected(&got, 401, "signature_mismatch", "no signature matched");
}

#[actix_web::test]
async fn stale_and_future_timestamps_are_401() {
    let now = SystemClock.now_unix();
    let app = app!(config());
    let got = send(&app, signed(ORG_CREATED).timestamp(now - 301).to_request()).await;
    assert_rejected(&got, 401, "timestamp_too_old", "tolerance");
    let got = send(&app, signed(ORG_CREATED).timestamp(now + 301).to_request()).await;
    assert_rejected(&got, 401, "timestamp_too_new", "future");
    // Inside the window both ways.
    assert_eq!(
        send(&app, signed(ORG_CREATED).timestamp(now - 250).to_request())
            .await
            .0,
        200
    );
    assert_eq!(
        send(&app, signed(ORG_CREATED).timestamp(now + 250).to_request())
            .await
            .0,
        200
    );
}

#[actix_web::test]
async fn tolerance_and_clock_come_from_the_config() {
    let config = config()
        .clock(Arc::new(FixedClock(1_700_000_000)))
        .tolerance(std::time::Duration::from_secs(10));
    let app = app!(config);
    let ok = signed(ORG_CREATED).timestamp(1_700_000_009);
    assert_eq!(send(&app, ok.to_request()).await.0, 200);
    let got = send(
        &app,
        signed(ORG_CREATED).timestamp(1_699_999_989).to_request(),
    )
    .await;
    assert_rejected(&got, 401, "timestamp_too_old", "10 s tolerance");
}

#[actix_web::test]
async fn rotation_accepts_the_old_and_the_new_secret() {
    let app = app!(config().add_secret(OLD_SECRET).unwrap());
    for (secret, index) in [(SECRET, 0), (OLD_SECRET, 1)] {
        let req = SignedRequest::new(secret, ORG_CREATED).uri("/raw");
        let (status, body) = send(&app, req.to_request()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["secret_index"], index);
    }
    let stranger = SignedRequest::new("whsec_c3RyYW5nZXI=", ORG_CREATED).uri("/raw");
    let got = send(&app, stranger.to_request()).await;
    assert_rejected(&got, 401, "signature_mismatch", "no signature matched");
    // The answer does not tell a stranger that two secrets are configured (a rotation).
    assert!(
        !got.1["error"].as_str().unwrap().contains("secret("),
        "{}",
        got.1
    );
}

#[actix_web::test]
async fn oversize_content_length_is_413_before_reading() {
    let app = app!(config().body_limit(64));
    // A real body over the limit.
    let got = send(&app, signed(ORG_CREATED).to_request()).await;
    assert_rejected(&got, 413, "payload_too_large", "64 byte limit");
    // A small body under a lying Content-Length: refused on the header alone.
    let req = signed("{}")
        .to_test_request()
        .insert_header(("content-length", "65"))
        .to_request();
    let got = send(&app, req).await;
    assert_rejected(&got, 413, "payload_too_large", "64 byte limit");
}

/// A request whose body arrives as a stream of chunks, without `Content-Length`.
fn streamed(signed: &SignedRequest, chunk: usize) -> actix_http::Request {
    let body = signed.body();
    let chunks: Vec<Result<Bytes, PayloadError>> = body
        .chunks(chunk)
        .map(|c| Ok(Bytes::copy_from_slice(c)))
        .collect();
    let mut req = signed.to_test_request().to_request();
    req.headers_mut().remove("content-length");
    let payload: Payload = Payload::Stream {
        payload: Box::pin(stream::iter(chunks)),
    };
    req.replace_payload(payload).0
}

/// Headers that can never verify are refused before the body is read: an endless body is
/// neither buffered nor waited for.
#[actix_web::test]
async fn unverifiable_headers_are_refused_before_the_body_is_read() {
    let app = app!(config());
    let stale =
        signed("{}").timestamp(webhook_core::Clock::now_unix(&webhook_core::SystemClock) - 3600);
    for (delivery, status, code, needle) in [
        (
            signed("{}").without_header("webhook-id"),
            400,
            "missing_header",
            "webhook-id",
        ),
        (stale, 401, "timestamp_too_old", "old"),
    ] {
        let mut req = delivery.to_test_request().to_request();
        req.headers_mut().remove("content-length");
        let endless = stream::repeat_with(|| Ok::<_, PayloadError>(Bytes::from_static(b"aaaa")));
        let payload: Payload = Payload::Stream {
            payload: Box::pin(endless),
        };
        let (req, _) = req.replace_payload(payload);
        let got = actix_web::rt::time::timeout(std::time::Duration::from_secs(5), send(&app, req))
            .await
            .expect("answered without reading the endless body");
        assert_rejected(&got, status, code, needle);
    }
}

#[actix_web::test]
async fn oversize_streamed_body_is_413() {
    let limit = ORG_CREATED.len() - 1;
    let app = app!(config().body_limit(limit));
    let req = streamed(&signed(ORG_CREATED), 16);
    assert!(req.headers().get("content-length").is_none());
    let got = send(&app, req).await;
    assert_rejected(&got, 413, "payload_too_large", "byte limit");
}

#[actix_web::test]
async fn streamed_body_at_the_limit_is_verified() {
    let app = app!(config().body_limit(ORG_CREATED.len()));
    let (status, body) = send(&app, streamed(&signed(ORG_CREATED), 7)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "organization.created org_1 Acme");
}

#[actix_web::test]
async fn default_limit_is_2_mib() {
    assert_eq!(config().body_limit_bytes(), 2 * 1024 * 1024);
    let app = app!(config());
    let req = signed("{}")
        .to_test_request()
        .insert_header(("content-length", (2 * 1024 * 1024 + 1).to_string()));
    let got = send(&app, req.to_request()).await;
    assert_rejected(&got, 413, "payload_too_large", "2097152 byte limit");
}

#[actix_web::test]
async fn missing_config_is_500_naming_it() {
    let app = test::init_service(App::new().route("/webhooks", web::post().to(org_handler))).await;
    let got = send(&app, signed(ORG_CREATED).to_request()).await;
    assert_rejected(&got, 500, "misconfigured", "WebhookConfig");
}

/// `web::Bytes` before the extractor takes the body: a 500 naming the mistake, not a 401 that
/// would read as a wrong secret.
#[actix_web::test]
async fn a_body_read_by_an_earlier_extractor_is_500_naming_it() {
    let app = test::init_service(App::new().app_data(config()).route(
        "/webhooks",
        web::post().to(|_raw: Bytes, _d: VerifiedDelivery| async { HttpResponse::Ok().finish() }),
    ))
    .await;
    let got = send(&app, signed(ORG_CREATED).to_request()).await;
    assert_rejected(
        &got,
        500,
        "misconfigured",
        "already read by another extractor",
    );
}

#[actix_web::test]
async fn config_as_web_data_and_innermost_wins() {
    let other = WebhookConfig::secret(OLD_SECRET).unwrap();
    let app = test::init_service(
        App::new()
            .app_data(web::Data::new(config()))
            .route("/webhooks", web::post().to(org_handler))
            .service(
                web::resource("/other")
                    .app_data(other)
                    .route(web::post().to(org_handler)),
            ),
    )
    .await;
    assert_eq!(send(&app, signed(ORG_CREATED).to_request()).await.0, 200);
    let got = send(&app, signed(ORG_CREATED).uri("/other").to_request()).await;
    assert_eq!(
        got.0, 401,
        "the resource's config (old secret only) applies"
    );
    let req = SignedRequest::new(OLD_SECRET, ORG_CREATED).uri("/other");
    assert_eq!(send(&app, req.to_request()).await.0, 200);
}

#[actix_web::test]
async fn body_not_fitting_the_type_is_422_naming_the_field() {
    let app = app!(config());
    let body = r#"{"type":"organization.created","data":{"id":"org_1","display_name":42}}"#;
    let got = send(&app, signed(body).to_request()).await;
    assert_rejected(&got, 422, "unprocessable_event", "data.display_name");
    let body = r#"{"type":"organization.created","data":{"display_name":"Acme"}}"#;
    let got = send(&app, signed(body).to_request()).await;
    assert_rejected(&got, 422, "unprocessable_event", "`id`");
    let got = send(&app, signed("not json").to_request()).await;
    assert_eq!(got.0, 422, "{}", got.1);
}

#[actix_web::test]
async fn the_422_message_does_not_echo_body_strings() {
    let app = app!(config());
    let body = r#"{"type":"organization.created","data":{"id":"org_1","display_name":"Acme"},"count":"s3cr3t-value"}"#;
    let got = send(&app, signed(body).uri("/counted").to_request()).await;
    assert_rejected(&got, 422, "unprocessable_event", "count");
    assert_eq!(got.0, 422);
    assert!(!got.1.to_string().contains("s3cr3t-value"), "{}", got.1);
    // Nor numbers (a card number in the wrong field, say).
    for value in ["4111111111111111", "-4111", "4111.5", "true"] {
        let body = format!(r#"{{"type":"organization.created","count":{value}}}"#);
        let got = send(&app, signed(&body).uri("/counted").to_request()).await;
        assert_rejected(&got, 422, "unprocessable_event", "count");
        assert!(!got.1.to_string().contains(value), "{}", got.1);
    }
}

#[actix_web::test]
async fn raw_delivery_extractor_gives_the_exact_bytes_and_metadata() {
    let app = app!(config());
    let now = SystemClock.now_unix();
    // Whitespace and key order are kept: the bytes are the ones that were signed.
    let body = "{ \"type\" : \"user.login\",\n \"id\":\"evt_9\" }";
    let req = signed(body).id("msg_raw").timestamp(now).uri("/raw");
    let (status, got) = send(&app, req.to_request()).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["body"], body);
    assert_eq!(got["id"], "msg_raw");
    assert_eq!(got["event_id"], "evt_9");
    assert_eq!(got["event_type"], "user.login");
    assert_eq!(got["scheme"], "standard");
    assert_eq!(got["timestamp"], now);
}

#[actix_web::test]
async fn other_schemes_through_the_testing_helper() {
    let cases = [
        (
            Scheme::Stripe,
            "whsec_stripe_test",
            r#"{"id":"evt_1","type":"charge.succeeded"}"#,
            "charge.succeeded",
        ),
        (
            Scheme::Paddle,
            "pdl_ntfset_x",
            r#"{"event_id":"evt_2","event_type":"transaction.paid"}"#,
            "transaction.paid",
        ),
        (
            Scheme::Slack,
            "slack-secret",
            r#"{"type":"event_callback"}"#,
            "event_callback",
        ),
    ];
    for (scheme, secret, body, event_type) in cases {
        let app = app!(WebhookConfig::secrets(scheme, [secret]).unwrap());
        let req = SignedRequest::with_scheme(scheme, secret, body).uri("/raw");
        let (status, got) = send(&app, req.clone().to_request()).await;
        assert_eq!(status, 200, "{scheme}: {got}");
        assert_eq!(got["event_type"], event_type);
        assert_eq!(got["scheme"], scheme.as_str());
        let got = send(&app, req.tamper(Tamper::Body).to_request()).await;
        assert_rejected(&got, 401, "signature_mismatch", "no signature matched");
    }
    // GitHub: no timestamp, event type from the header.
    let app = app!(WebhookConfig::secrets(Scheme::GitHub, ["gh"]).unwrap());
    let req = SignedRequest::with_scheme(Scheme::GitHub, "gh", r#"{"action":"opened"}"#)
        .uri("/raw")
        .id("delivery-1")
        .header("x-github-event", "issues");
    let (status, got) = send(&app, req.to_request()).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got["event_type"], "issues.opened");
    assert_eq!(got["id"], "delivery-1");
}

#[actix_web::test]
async fn custom_error_handler_renders_rejections() {
    let config = config().error_handler(|rejection, req| {
        let status = StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::BAD_REQUEST);
        let body = format!("{} on {}", rejection.code(), req.path());
        InternalError::from_response(rejection, HttpResponse::build(status).body(body)).into()
    });
    let app = app!(config);
    let got = send(&app, signed(ORG_CREATED).tamper(Tamper::Body).to_request()).await;
    assert_eq!(
        got,
        (
            StatusCode::UNAUTHORIZED,
            "signature_mismatch on /webhooks".into()
        )
    );
    let got = send(&app, signed("{}").to_request()).await;
    assert_eq!(
        got,
        (
            StatusCode::UNPROCESSABLE_ENTITY,
            "unprocessable_event on /webhooks".into()
        )
    );
}

#[actix_web::test]
async fn extractors_can_be_called_directly() {
    let (req, mut payload) = signed(ORG_CREATED)
        .to_test_request()
        .app_data(config())
        .to_http_parts();
    let delivery = VerifiedDelivery::from_request(&req, &mut payload)
        .await
        .unwrap();
    assert_eq!(delivery.event_type(), Some("organization.created"));
    assert_eq!(delivery.body(), ORG_CREATED.as_bytes());

    let (req, mut payload) = signed(ORG_CREATED)
        .tamper(Tamper::Body)
        .to_test_request()
        .app_data(config())
        .to_http_parts();
    let err = VerifiedEvent::<OrgEvent>::from_request(&req, &mut payload)
        .await
        .unwrap_err();
    let err = err.as_error::<WebhookError>().unwrap();
    assert_eq!(err.code(), "signature_mismatch");
    assert_eq!(err.rejection().map(|r| r.status()), Some(401));
}

#[actix_web::test]
async fn result_extractor_exposes_the_error_to_the_handler() {
    async fn lenient(event: Result<VerifiedDelivery, actix_web::Error>) -> HttpResponse {
        match event {
            Ok(_) => HttpResponse::Ok().finish(),
            Err(err) => HttpResponse::Ok()
                .body(err.as_error::<WebhookError>().map_or("other", |e| e.code())),
        }
    }
    let app = test::init_service(
        App::new()
            .app_data(config())
            .route("/webhooks", web::post().to(lenient)),
    )
    .await;
    let got = send(
        &app,
        signed(ORG_CREATED)
            .without_header("webhook-id")
            .to_request(),
    )
    .await;
    assert_eq!(got, (StatusCode::OK, "missing_header".into()));
}

/// `header("content-type", …)` replaces the helper's `application/json`, as the axum helper's
/// does, instead of sending two content types.
#[actix_web::test]
async fn the_testing_helpers_content_type_can_be_replaced_or_left_out() {
    let content_types = |req: SignedRequest| {
        let req = req.to_test_request().to_http_request();
        req.headers()
            .get_all("content-type")
            .map(|v| v.to_str().unwrap().to_owned())
            .collect::<Vec<_>>()
    };
    let req = SignedRequest::new(SECRET, "{}");
    assert_eq!(content_types(req.clone()), ["application/json"]);
    assert_eq!(
        content_types(req.clone().header("Content-Type", "text/plain")),
        ["text/plain"]
    );
    // Left out, as webhook-axum's helper leaves it out.
    assert!(content_types(req.without_header("Content-Type")).is_empty());
}
