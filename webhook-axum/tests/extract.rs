//! The extractors on an axum router, driven with `oneshot`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::routing::post;
use http::{Request, Response, StatusCode};
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;
use webhook_axum::scalekit::{DirectoryUser, ScalekitEvent, samples};
use webhook_axum::testing::{SignedRequest, sample};
use webhook_axum::{
    Event, Rejection, Scheme, VerifiedDelivery, VerifiedEvent, Verifier, WebhookVerify,
};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn user_id(VerifiedEvent(event): VerifiedEvent<Event<DirectoryUser>>) -> String {
    event.data.id
}

async fn typed(VerifiedEvent(event): VerifiedEvent<Event<ScalekitEvent>>) -> String {
    match event.data {
        ScalekitEvent::Unknown { event_type, .. } => format!("unknown {event_type}"),
        data => data.event_type().to_owned(),
    }
}

async fn value_and_bytes(VerifiedEvent(value): VerifiedEvent<Value>, body: Bytes) -> String {
    assert_eq!(serde_json::from_slice::<Value>(&body).unwrap(), value);
    value["type"].as_str().unwrap_or("-").to_owned()
}

async fn metadata(delivery: VerifiedDelivery) -> String {
    format!(
        "{}|{}|{}|{}|{}",
        delivery.scheme(),
        delivery.id().unwrap_or("-"),
        delivery.verified().timestamp().unwrap_or(0),
        delivery.event_type().unwrap_or("-"),
        delivery.body().len()
    )
}

async fn optional(
    event: Option<VerifiedEvent<Value>>,
    delivery: Option<VerifiedDelivery>,
) -> String {
    format!("{} {}", event.is_some(), delivery.is_some())
}

fn app() -> Router {
    let verified = Router::new()
        .route("/user", post(user_id))
        .route("/typed", post(typed))
        .route("/value", post(value_and_bytes))
        .route("/meta", post(metadata))
        .route("/optional", post(optional))
        .layer(WebhookVerify::new(SECRET));
    Router::new()
        .merge(verified)
        .route("/unwrapped", post(user_id))
        .route("/unwrapped-meta", post(metadata))
        .route("/unwrapped-optional", post(optional))
}

async fn send(req: Request<Body>) -> (StatusCode, String, Response<()>) {
    let res = app().oneshot(req).await.unwrap();
    let (parts, body) = res.into_parts();
    let text = String::from_utf8(body.collect().await.unwrap().to_bytes().to_vec()).unwrap();
    (parts.status, text, Response::from_parts(parts, ()))
}

#[tokio::test]
async fn verified_event_deserializes_a_typed_scalekit_event() {
    let req = SignedRequest::scalekit(SECRET, "organization.directory.user_created")
        .uri("/user")
        .build();
    let (status, text, _) = send(req).await;
    assert_eq!(status, StatusCode::OK, "{text}");
    assert_eq!(text, "diruser_53891546960887884");
}

#[tokio::test]
async fn every_sample_event_reaches_the_typed_enum() {
    let svc = app();
    for (event_type, body) in samples::all() {
        let req = SignedRequest::new(SECRET, body).uri("/typed").build();
        let res = svc.clone().oneshot(req).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{event_type}");
        let text = res.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(text, event_type.as_bytes());
    }
}

#[tokio::test]
async fn verified_event_leaves_the_body_to_other_extractors() {
    let req = SignedRequest::scalekit(SECRET, "user.login")
        .uri("/value")
        .build();
    let (status, text, _) = send(req).await;
    assert_eq!((status, text.as_str()), (StatusCode::OK, "user.login"));
}

#[tokio::test]
async fn verified_delivery_gives_raw_bytes_and_metadata() {
    let body = r#"{"id":"evt_9","type":"role.created","data":{}}"#;
    let ts = now() - 10;
    let req = SignedRequest::new(SECRET, body)
        .id("msg_meta")
        .timestamp(ts)
        .uri("/meta")
        .build();
    let (status, text, _) = send(req).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        text,
        format!("standard|msg_meta|{ts}|role.created|{}", body.len())
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test]
async fn body_that_does_not_fit_is_a_422_naming_the_field() {
    let body = sample("organization.directory.user_created")
        .replace(r#""active":true"#, r#""active":"yes""#);
    assert!(body.contains(r#""active":"yes""#), "sample changed: {body}");
    let req = SignedRequest::new(SECRET, body).uri("/user").build();
    let (status, text, res) = send(req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(res.headers()["content-type"], "application/json");
    let json: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["code"], "unprocessable_event");
    let error = json["error"].as_str().unwrap();
    assert!(error.contains("data.active"), "{error}");
    assert!(
        error.contains("organization.directory.user_created"),
        "{error}"
    );
    assert!(
        !error.contains("yes"),
        "the body's values must not be echoed: {error}"
    );
    assert!(matches!(
        res.extensions().get::<Rejection>(),
        Some(Rejection::UnprocessableEvent(_))
    ));
}

/// The layer's rejection handler answers the extractor's 422 as well: one format for every
/// rejection on the route.
#[tokio::test]
async fn the_layers_rejection_handler_answers_the_extractors_422() {
    use axum::response::IntoResponse;
    let app =
        Router::new()
            .route("/user", post(user_id))
            .layer(WebhookVerify::new(SECRET).on_rejection(|r: &Rejection| {
                (
                    StatusCode::from_u16(r.status()).unwrap(),
                    format!("custom:{}", r.code()),
                )
                    .into_response()
            }));
    let req = SignedRequest::new(SECRET, r#"{"type":"user.login","data":{}}"#)
        .uri("/user")
        .build();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        res.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let body = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], b"custom:unprocessable_event");
}

/// A handler that takes the rejection and answers with a status of its own keeps its answer,
/// as with axum's `JsonRejection`; one that passes the rejection on unchanged gets the layer's.
#[tokio::test]
async fn a_handler_answering_the_rejection_its_own_way_keeps_its_answer() {
    use axum::response::IntoResponse;
    use webhook_axum::VerifiedEventRejection;

    async fn own(
        event: Result<VerifiedEvent<Event<DirectoryUser>>, VerifiedEventRejection>,
    ) -> axum::response::Response {
        match event {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => (
                StatusCode::BAD_REQUEST,
                [("x-mine", "1")],
                e.into_response(),
            )
                .into_response(),
        }
    }
    async fn unchanged(
        event: Result<VerifiedEvent<Event<DirectoryUser>>, VerifiedEventRejection>,
    ) -> axum::response::Response {
        match event {
            Ok(_) => StatusCode::NO_CONTENT.into_response(),
            Err(e) => e.into_response(),
        }
    }
    let app = Router::new()
        .route("/own", post(own))
        .route("/unchanged", post(unchanged))
        .layer(WebhookVerify::new(SECRET).on_rejection(|r: &Rejection| {
            (
                StatusCode::from_u16(r.status()).unwrap(),
                format!("layer:{}", r.code()),
            )
                .into_response()
        }));
    let body = r#"{"type":"user.login","data":{}}"#;
    let res = app
        .clone()
        .oneshot(SignedRequest::new(SECRET, body).uri("/own").build())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["x-mine"], "1");
    let text = res.into_body().collect().await.unwrap().to_bytes();
    assert!(!text.starts_with(b"layer:"), "{text:?}");
    let res = app
        .oneshot(SignedRequest::new(SECRET, body).uri("/unchanged").build())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let text = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&text[..], b"layer:unprocessable_event");
}

/// The same layer applied twice (on the method router and again on the router) shares one
/// store: the inner layer finds every delivery in flight, claimed by the outer one, and answers
/// 409 (it cannot tell that claim from a concurrent retry's). Documented: apply it once.
#[tokio::test]
async fn the_same_layer_applied_twice_answers_409() {
    let verify = WebhookVerify::new(SECRET);
    let app = Router::new()
        .route(
            "/twice",
            post(|_: VerifiedEvent<Value>| async { StatusCode::NO_CONTENT })
                .route_layer(verify.clone()),
        )
        .layer(verify);
    let req = SignedRequest::new(SECRET, r#"{"type":"user.login"}"#)
        .uri("/twice")
        .build();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
}

/// An outer layer without dedupe (in front of an inbox, say) and a route layer with it: a retry
/// arriving while the first attempt runs still gets 409 from the route's store.
#[tokio::test]
async fn an_outer_layer_does_not_let_a_concurrent_retry_through() {
    let release = Arc::new(tokio::sync::Notify::new());
    let runs = Arc::new(AtomicUsize::new(0));
    let (held, counted) = (release.clone(), runs.clone());
    let app = Router::new()
        .route(
            "/held",
            post(move |_: VerifiedEvent<Value>| {
                let (held, counted) = (held.clone(), counted.clone());
                async move {
                    counted.fetch_add(1, Ordering::SeqCst);
                    held.notified().await;
                    StatusCode::NO_CONTENT
                }
            })
            .route_layer(WebhookVerify::new(SECRET)),
        )
        .layer(WebhookVerify::new(SECRET).without_dedupe());
    let delivery = SignedRequest::new(SECRET, r#"{"type":"user.login"}"#)
        .uri("/held")
        .id("msg_held");
    let first = tokio::spawn(app.clone().oneshot(delivery.clone().build()));
    while runs.load(Ordering::SeqCst) == 0 {
        tokio::task::yield_now().await;
    }
    let retry = app.clone().oneshot(delivery.build()).await.unwrap();
    assert_eq!(retry.status(), StatusCode::CONFLICT);
    release.notify_waiters();
    assert_eq!(
        first.await.unwrap().unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(runs.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn invalid_json_is_a_422() {
    let req = SignedRequest::new(SECRET, "not json").uri("/user").build();
    let (status, text, _) = send(req).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{text}");
}

#[tokio::test]
async fn missing_layer_is_a_500_naming_it() {
    for uri in ["/unwrapped", "/unwrapped-meta"] {
        let req = SignedRequest::scalekit(SECRET, "organization.directory.user_created")
            .uri(uri)
            .build();
        let (status, text, res) = send(req).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["code"], "misconfigured");
        assert!(
            json["error"].as_str().unwrap().contains("WebhookVerify"),
            "{text}"
        );
        assert!(matches!(
            res.extensions().get::<Rejection>(),
            Some(Rejection::Misconfigured(_))
        ));
    }
}

#[tokio::test]
async fn option_is_none_without_the_layer() {
    let req = SignedRequest::scalekit(SECRET, "user.login")
        .uri("/optional")
        .build();
    assert_eq!(send(req).await.1, "true true");
    let req = SignedRequest::scalekit(SECRET, "user.login")
        .uri("/unwrapped-optional")
        .build();
    assert_eq!(send(req).await.1, "false false");
}

#[tokio::test]
async fn option_still_rejects_a_body_that_does_not_fit() {
    let app = Router::new()
        .route(
            "/",
            post(
                |e: Option<VerifiedEvent<Event<DirectoryUser>>>| async move {
                    format!("{}", e.is_some())
                },
            ),
        )
        .layer(WebhookVerify::new(SECRET));
    let res = app
        .oneshot(SignedRequest::new(SECRET, r#"{"type":"x"}"#).build())
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn testing_helpers_produce_each_failure() {
    let base = || SignedRequest::scalekit(SECRET, "user.login").uri("/value");
    let cases = [
        (base().tamper_body(), 401, "signature_mismatch"),
        (base().tamper_signature(), 401, "signature_mismatch"),
        (base().timestamp(now() - 3600), 401, "timestamp_too_old"),
        (base().timestamp(now() + 3600), 401, "timestamp_too_new"),
        (base().without_header("webhook-id"), 400, "missing_header"),
        (
            base().header("webhook-timestamp", "soon"),
            400,
            "malformed_header",
        ),
        (
            SignedRequest::scalekit("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD", "user.login")
                .uri("/value"),
            401,
            "signature_mismatch",
        ),
    ];
    for (req, status, code) in cases {
        let (got, text, _) = send(req.build()).await;
        assert_eq!(got.as_u16(), status, "{code}: {text}");
        let json: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(json["code"], code);
    }
}

#[tokio::test]
async fn retries_with_the_same_id_reach_the_handler_once() {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let app = Router::new()
        .route(
            "/",
            post(move |VerifiedEvent(_): VerifiedEvent<Value>| {
                counter.fetch_add(1, Ordering::SeqCst);
                async { StatusCode::NO_CONTENT }
            }),
        )
        .layer(WebhookVerify::new(SECRET));
    let req = SignedRequest::scalekit(SECRET, "organization.created").id("msg_retry");
    assert_eq!(
        app.clone().oneshot(req.build()).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        app.oneshot(req.build()).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn other_schemes_through_with_verifier() {
    let secret = "gh-secret";
    let app = Router::new()
        .route("/", post(metadata))
        .layer(WebhookVerify::with_verifier(
            Verifier::new(Scheme::GitHub, secret).unwrap(),
        ));
    let req = SignedRequest::with_scheme(Scheme::GitHub, secret, r#"{"action":"opened"}"#)
        .id("gh-1")
        .header("x-github-event", "issues")
        .build();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let text = res.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(text, "github|gh-1|0|issues.opened|19");
}

/// axum's own `Bytes`, `Json` and `String` extractors keep axum's `DefaultBodyLimit` (2 MB)
/// over the re-buffered body: with a larger `body_limit`, raise it too. The webhook extractors
/// read the verified bytes from the extensions and need nothing more.
#[tokio::test]
async fn a_body_limit_over_axums_default_needs_default_body_limit_for_axums_extractors() {
    use axum::extract::DefaultBodyLimit;
    const LIMIT: usize = 4 * 1024 * 1024;
    let big = format!(
        r#"{{"type":"user.login","pad":"{}"}}"#,
        "x".repeat(3 * 1024 * 1024)
    );
    let request = || SignedRequest::new(SECRET, big.clone()).uri("/").build();
    let bytes_route = || {
        Router::new()
            .route(
                "/",
                post(|body: Bytes| async move { body.len().to_string() }),
            )
            .layer(WebhookVerify::new(SECRET).body_limit(LIMIT))
    };
    let status = |app: Router| async move { app.oneshot(request()).await.unwrap().status() };
    assert_eq!(
        status(bytes_route()).await,
        StatusCode::PAYLOAD_TOO_LARGE,
        "axum's default limit no longer applies: drop the advice from the docs"
    );
    assert_eq!(
        status(bytes_route().layer(DefaultBodyLimit::max(LIMIT))).await,
        StatusCode::OK
    );
    let delivery_route = Router::new()
        .route(
            "/",
            post(|d: VerifiedDelivery| async move { d.body().len().to_string() }),
        )
        .layer(WebhookVerify::new(SECRET).body_limit(LIMIT));
    assert_eq!(status(delivery_route).await, StatusCode::OK);
}

/// Where the layer goes decides what other requests see. `Router::layer` also wraps the router's
/// fallbacks: an unknown path or another method on the route is refused as an unsigned webhook
/// (400). On the method router, `route_layer` wraps the POST handler alone, so the router still
/// answers 404 and 405 for the rest.
#[tokio::test]
async fn placement_decides_what_requests_other_than_the_webhook_get() {
    let get = |uri: &str| Request::get(uri).body(Body::empty()).unwrap();
    let status = |app: Router, req: Request<Body>| async move {
        app.oneshot(req).await.unwrap().status().as_u16()
    };
    let handler = |VerifiedEvent(_): VerifiedEvent<Value>| async { "ok" };

    let on_router = || {
        Router::new()
            .route("/webhooks", post(handler))
            .layer(WebhookVerify::new(SECRET))
    };
    assert_eq!(status(on_router(), get("/webhooks")).await, 400);
    assert_eq!(status(on_router(), get("/other")).await, 400);

    let on_route = || {
        Router::new()
            .route(
                "/webhooks",
                post(handler).route_layer(WebhookVerify::new(SECRET)),
            )
            .route("/health", axum::routing::get(|| async { "up" }))
    };
    assert_eq!(status(on_route(), get("/webhooks")).await, 405);
    assert_eq!(status(on_route(), get("/other")).await, 404);
    assert_eq!(status(on_route(), get("/health")).await, 200);
    let signed = SignedRequest::new(SECRET, r#"{"type":"a.b"}"#)
        .uri("/webhooks")
        .build();
    assert_eq!(status(on_route(), signed).await, 200);
    let unsigned = Request::post("/webhooks").body(Body::from("{}")).unwrap();
    assert_eq!(status(on_route(), unsigned).await, 400);
}

/// The test helper sends `Content-Type: application/json`, as senders do, so a handler may take
/// axum's `Json` behind the layer.
#[tokio::test]
async fn signed_requests_are_json_for_axums_json_extractor() {
    let app = Router::new()
        .route(
            "/",
            post(|axum::Json(v): axum::Json<Value>| async move { v["type"].to_string() }),
        )
        .layer(WebhookVerify::new(SECRET));
    let req = SignedRequest::new(SECRET, r#"{"type":"a.b"}"#)
        .uri("/")
        .build();
    assert_eq!(req.headers()["content-type"], "application/json");
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let plain = SignedRequest::new(SECRET, "x")
        .header("content-type", "text/plain")
        .build();
    assert_eq!(plain.headers()["content-type"], "text/plain");
    let none = SignedRequest::new(SECRET, "x")
        .without_header("Content-Type")
        .build();
    assert!(none.headers().get("content-type").is_none());
}
