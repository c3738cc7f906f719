//! Every path of the layer, driven with `tower::ServiceExt::oneshot`.

use std::convert::Infallible;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream;
use http::{Request, Response, StatusCode};
use http_body::Frame;
use http_body_util::{BodyExt, Full, StreamBody};
use tower::{Layer, Service, ServiceExt, service_fn};
use webhook_core::dedupe::MemoryDedupe;
use webhook_core::{
    Delivery, EventFilter, FixedClock, ManualClock, Rejection, Scheme, Signer, Verifier,
    VerifyError,
};
use webhook_tower::{DefaultRejection, WebhookVerify};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const OLD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
const NOW: i64 = 1_700_000_000;
const BODY: &str = r#"{"id":"evt_1","type":"organization.created","data":{"name":"Acme"}}"#;

fn layer() -> WebhookVerify {
    WebhookVerify::new(SECRET).clock(Arc::new(FixedClock(NOW)))
}

/// A POST carrying `body` with the Standard Webhooks headers for `signed`: the bytes the
/// signature covers, which a streamed or broken body need not match.
fn signed_post<B>(secret: &str, id: &str, ts: i64, signed: &[u8], body: B) -> Request<B> {
    let mut req = Request::post("/webhooks").body(body).unwrap();
    *req.headers_mut() = Signer::standard(secret)
        .unwrap()
        .sign(id, ts, signed)
        .into();
    req
}

fn request_with(secret: &str, id: &str, ts: i64, body: &str) -> Request<Full<Bytes>> {
    let full = Full::new(Bytes::copy_from_slice(body.as_bytes()));
    signed_post(secret, id, ts, body.as_bytes(), full)
}

fn request(id: &str) -> Request<Full<Bytes>> {
    request_with(SECRET, id, NOW, BODY)
}

/// An inner service that records what it received and answers `status`.
#[derive(Clone, Default)]
struct Recorder {
    calls: Arc<AtomicUsize>,
    seen: Arc<Mutex<Vec<(Delivery, Bytes)>>>,
}

impl Recorder {
    fn service(
        &self,
        status: StatusCode,
    ) -> impl Service<
        Request<Full<Bytes>>,
        Response = Response<Full<Bytes>>,
        Error = Infallible,
        Future: Send,
    > + Clone
    + use<> {
        let this = self.clone();
        service_fn(move |req: Request<Full<Bytes>>| {
            let this = this.clone();
            async move {
                this.calls.fetch_add(1, Ordering::SeqCst);
                let delivery = req
                    .extensions()
                    .get::<Delivery>()
                    .cloned()
                    .expect("Delivery in extensions");
                let body = req.into_body().collect().await.unwrap().to_bytes();
                this.seen.lock().unwrap().push((delivery, body));
                let mut res = Response::new(Full::from("handled"));
                *res.status_mut() = status;
                Ok::<_, Infallible>(res)
            }
        })
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn body_string<B: http_body::Body<Error: std::fmt::Debug>>(res: Response<B>) -> String {
    let bytes = res.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(bytes.to_vec()).unwrap()
}

async fn expect_rejection(req: Request<Full<Bytes>>, status: u16, code: &str) -> Rejection {
    let rec = Recorder::default();
    let res = layer()
        .layer(rec.service(StatusCode::OK))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status().as_u16(), status, "status for {code}");
    assert_eq!(res.headers()["content-type"], "application/json");
    let rejection = res
        .extensions()
        .get::<Rejection>()
        .cloned()
        .expect("typed rejection in extensions");
    assert_eq!(rejection.code(), code);
    let body = body_string(res).await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["code"], code);
    assert!(
        !body.contains(SECRET) && !body.contains("Acme"),
        "no secret or body in {body}"
    );
    assert_eq!(
        rec.calls(),
        0,
        "inner service must not be called for {code}"
    );
    rejection
}

#[tokio::test]
async fn valid_delivery_reaches_the_inner_service_with_body_and_delivery() {
    let rec = Recorder::default();
    let res = layer()
        .layer(rec.service(StatusCode::OK))
        .oneshot(request("msg_valid"))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.extensions().get::<Rejection>().is_none());
    assert_eq!(body_string(res).await, "handled");
    let seen = rec.seen.lock().unwrap();
    let (delivery, body) = &seen[0];
    assert_eq!(body, BODY.as_bytes());
    assert_eq!(delivery.body(), BODY.as_bytes());
    assert_eq!(delivery.id(), Some("msg_valid"));
    assert_eq!(delivery.event_id(), Some("evt_1"));
    assert_eq!(delivery.event_type(), Some("organization.created"));
    assert_eq!(delivery.scheme(), Scheme::StandardWebhooks);
    assert_eq!(delivery.verified().timestamp(), Some(NOW));
}

#[tokio::test]
async fn each_missing_header_is_a_400() {
    for name in ["webhook-id", "webhook-timestamp", "webhook-signature"] {
        let mut req = request("msg_missing");
        req.headers_mut().remove(name);
        let rejection = expect_rejection(req, 400, "missing_header").await;
        assert_eq!(
            rejection,
            Rejection::Verify(VerifyError::MissingHeader { name })
        );
    }
}

#[tokio::test]
async fn malformed_headers_are_a_400() {
    let mut req = request("msg_malformed");
    req.headers_mut()
        .insert("webhook-timestamp", "yesterday".parse().unwrap());
    expect_rejection(req, 400, "malformed_header").await;

    // No entry of the `version,signature` form (one without a comma beside a signature would be
    // passed over, as svix does).
    let mut req = request("msg_malformed");
    req.headers_mut()
        .insert("webhook-signature", "not-a-signature".parse().unwrap());
    expect_rejection(req, 400, "malformed_header").await;
}

#[tokio::test]
async fn bad_signature_is_a_401() {
    let mut req = request("msg_bad");
    *req.body_mut() = Full::from(BODY.replace("Acme", "Evil"));
    expect_rejection(req, 401, "signature_mismatch").await;
    expect_rejection(
        request_with(OLD_SECRET, "msg_bad", NOW, BODY),
        401,
        "signature_mismatch",
    )
    .await;
    // Not base64: a signature that cannot match.
    let mut req = request("msg_bad_b64");
    req.headers_mut()
        .insert("webhook-signature", "v1,not base64!".parse().unwrap());
    expect_rejection(req, 401, "signature_mismatch").await;
}

#[tokio::test]
async fn stale_and_future_timestamps_are_a_401() {
    expect_rejection(
        request_with(SECRET, "msg_old", NOW - 301, BODY),
        401,
        "timestamp_too_old",
    )
    .await;
    expect_rejection(
        request_with(SECRET, "msg_new", NOW + 301, BODY),
        401,
        "timestamp_too_new",
    )
    .await;
    // inside the tolerance both ways
    for ts in [NOW - 300, NOW + 300] {
        let rec = Recorder::default();
        let res = layer()
            .layer(rec.service(StatusCode::OK))
            .oneshot(request_with(SECRET, &format!("msg_{ts}"), ts, BODY))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        assert_eq!(body_string(res).await, "handled");
        assert_eq!(rec.calls(), 1);
    }
}

#[tokio::test]
async fn rotation_accepts_old_and_new_secrets() {
    let verifier = Verifier::standard(SECRET)
        .unwrap()
        .add_secret(OLD_SECRET)
        .unwrap();
    let rec = Recorder::default();
    let svc = WebhookVerify::with_verifier(verifier)
        .clock(Arc::new(FixedClock(NOW)))
        .layer(rec.service(StatusCode::OK));
    for (secret, id) in [(SECRET, "msg_r1"), (OLD_SECRET, "msg_r2")] {
        let res = svc
            .clone()
            .oneshot(request_with(secret, id, NOW, BODY))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK);
    }
    let seen = rec.seen.lock().unwrap();
    assert_eq!(seen[0].0.verified().secret_index(), 0);
    assert_eq!(seen[1].0.verified().secret_index(), 1);
}

#[tokio::test]
async fn any_scheme_through_with_verifier() {
    let secret = "It's a Secret to Everybody";
    let headers = Signer::new(Scheme::GitHub, secret).unwrap().sign(
        "gh-delivery-1",
        0,
        b"{\"action\":\"opened\"}",
    );
    let mut req = Request::post("/")
        .body(Full::new(Bytes::from_static(b"{\"action\":\"opened\"}")))
        .unwrap();
    *req.headers_mut() = headers.into();
    req.headers_mut()
        .insert("x-github-event", "issues".parse().unwrap());
    let rec = Recorder::default();
    let svc = WebhookVerify::with_verifier(Verifier::new(Scheme::GitHub, secret).unwrap())
        .layer(rec.service(StatusCode::OK));
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    let seen = rec.seen.lock().unwrap();
    assert_eq!(seen[0].0.event_type(), Some("issues.opened"));
    let key = seen[0].0.dedupe_key();
    assert!(key.starts_with("github:gh-delivery-1:"), "{key}");
    assert_eq!(key.len(), "github:gh-delivery-1:".len() + 32, "{key}");
}

#[tokio::test]
async fn the_verifiers_clock_also_times_the_dedupe_window() {
    // A verifier with its own clock, no `.clock()` on the layer: the remembered id expires on
    // that clock, not on the system's.
    let clock = Arc::new(ManualClock::new(NOW * 1000));
    let verifier = Verifier::standard(SECRET)
        .unwrap()
        .with_clock(clock.clone());
    let rec = Recorder::default();
    let svc = WebhookVerify::with_verifier(verifier)
        .dedupe(MemoryDedupe::new().ttl(Duration::from_secs(601)))
        .layer(rec.service(StatusCode::NO_CONTENT));
    let status = |ts: i64| {
        let svc = svc.clone();
        async move {
            svc.oneshot(request_with(SECRET, "msg_clock", ts, BODY))
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(status(NOW).await, StatusCode::NO_CONTENT);
    assert_eq!(
        status(NOW).await,
        StatusCode::OK,
        "a duplicate within the TTL"
    );
    clock.advance(Duration::from_secs(601));
    // The sender's retry, signed at the new time, is processed again: the TTL has passed.
    assert_eq!(status(NOW + 601).await, StatusCode::NO_CONTENT);
    assert_eq!(rec.calls(), 2);
}

/// `tolerance` on the layer: timestamps are checked against it, and the layer's own dedupe
/// store remembers ids for the longer replay window it makes, so a replay signed 50 minutes
/// ago (within a 1-hour tolerance) is still a duplicate. `add_secret` verifies the second
/// secret.
#[tokio::test]
async fn tolerance_and_add_secret_on_the_layer() {
    const OTHER: &str = "whsec_c3RyYW5nZXI=";
    let clock = Arc::new(ManualClock::new(NOW * 1000));
    let rec = Recorder::default();
    let svc = WebhookVerify::new(SECRET)
        .clock(clock.clone())
        .tolerance(Duration::from_secs(3600))
        .add_secret(OTHER)
        .unwrap()
        .layer(rec.service(StatusCode::NO_CONTENT));
    let status = |secret: &'static str, id: &'static str, ts: i64| {
        let svc = svc.clone();
        async move {
            svc.oneshot(request_with(secret, id, ts, BODY))
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(status(SECRET, "msg_tol", NOW).await, StatusCode::NO_CONTENT);
    clock.advance(Duration::from_secs(3000));
    assert_eq!(
        status(SECRET, "msg_tol", NOW).await,
        StatusCode::OK,
        "a replay 50 minutes later is a duplicate"
    );
    assert_eq!(
        status(OTHER, "msg_other", NOW + 3000).await,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        status(SECRET, "msg_old", NOW + 3000 - 3601).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(rec.calls(), 2);
}

/// A body that counts how many frames were pulled from it.
fn endless_body(
    polled: Arc<AtomicUsize>,
    chunk: usize,
) -> StreamBody<impl futures_util::Stream<Item = Result<Frame<Bytes>, std::io::Error>>> {
    let data = Bytes::from(vec![b'a'; chunk]);
    StreamBody::new(stream::repeat_with(move || {
        polled.fetch_add(1, Ordering::SeqCst);
        Ok(Frame::data(data.clone()))
    }))
}

#[tokio::test]
async fn oversize_content_length_is_a_413_before_reading() {
    let polled = Arc::new(AtomicUsize::new(0));
    let mut req = signed_post(
        SECRET,
        "msg_big",
        NOW,
        b"x",
        endless_body(polled.clone(), 1024),
    );
    req.headers_mut()
        .insert("content-length", "2097153".parse().unwrap());
    let rec = Recorder::default();
    let res = layer()
        .layer(rec.service(StatusCode::OK))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.extensions().get::<Rejection>(),
        Some(&Rejection::PayloadTooLarge {
            limit: 2 * 1024 * 1024
        })
    );
    assert_eq!(
        polled.load(Ordering::SeqCst),
        0,
        "the body must not be read"
    );
    assert_eq!(rec.calls(), 0);
    let json: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    assert_eq!(json["code"], "payload_too_large");
}

#[tokio::test]
async fn oversize_streamed_body_without_length_stops_at_the_limit() {
    let polled = Arc::new(AtomicUsize::new(0));
    let req = signed_post(
        SECRET,
        "msg_stream",
        NOW,
        b"x",
        endless_body(polled.clone(), 1000),
    );
    let rec = Recorder::default();
    let svc = layer()
        .body_limit(64 * 1024)
        .layer(rec.service(StatusCode::OK));
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    // 65 chunks fit in 64 KiB (65 000 bytes), the 66th goes over: reading stops there.
    assert_eq!(polled.load(Ordering::SeqCst), 66);
    assert_eq!(rec.calls(), 0);
}

/// Headers that can never verify are refused before the body is read: a request without them,
/// or with a stale timestamp, neither buffers its body nor waits for it.
#[tokio::test]
async fn unverifiable_headers_are_refused_before_the_body_is_read() {
    let stale = signed_post(
        SECRET,
        "msg_old",
        NOW - 3600,
        b"x",
        endless_body(Arc::new(AtomicUsize::new(0)), 1000),
    );
    let bare = Request::post("/webhooks")
        .body(endless_body(Arc::new(AtomicUsize::new(0)), 1000))
        .unwrap();
    for (req, code) in [(stale, "timestamp_too_old"), (bare, "missing_header")] {
        let polled = Arc::new(AtomicUsize::new(0));
        let (parts, _) = req.into_parts();
        let req = Request::from_parts(parts, endless_body(polled.clone(), 1000));
        let rec = Recorder::default();
        let res = tokio::time::timeout(
            Duration::from_secs(5),
            layer().layer(rec.service(StatusCode::OK)).oneshot(req),
        )
        .await
        .expect("answered without reading the endless body")
        .unwrap();
        assert_eq!(res.extensions().get::<Rejection>().unwrap().code(), code);
        assert_eq!(polled.load(Ordering::SeqCst), 0, "{code}: body read");
        assert_eq!(rec.calls(), 0);
    }
}

#[tokio::test]
async fn chunked_body_within_the_limit_is_joined_and_verified() {
    let chunks: Vec<Result<Frame<Bytes>, std::io::Error>> = BODY
        .as_bytes()
        .chunks(7)
        .map(|c| Ok(Frame::data(Bytes::copy_from_slice(c))))
        .collect();
    let body = StreamBody::new(stream::iter(chunks));
    let req = signed_post(SECRET, "msg_chunks", NOW, BODY.as_bytes(), body);
    let rec = Recorder::default();
    let res = layer()
        .layer(rec.service(StatusCode::OK))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(rec.seen.lock().unwrap()[0].1, BODY.as_bytes());
}

/// A size limit outside the layer (tower-http's `RequestBodyLimitLayer` wraps the body in
/// http-body-util's `Limited`) ends an over-long streamed body with an error: still a 413, as
/// the body is too large, not broken; also when axum's body wraps that error.
#[tokio::test]
async fn a_limit_outside_the_layer_that_cuts_the_body_is_a_413() {
    let limited = || {
        http_body_util::Limited::new(endless_body(Arc::new(AtomicUsize::new(0)), 1000), 8 * 1024)
    };
    let rec = Recorder::default();
    let res = layer()
        .layer(rec.service(StatusCode::OK))
        .oneshot(signed_post(SECRET, "msg_limited", NOW, b"x", limited()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        res.extensions().get::<Rejection>(),
        Some(&Rejection::BodyLimitExceeded)
    );
    let json: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    assert_eq!(json["code"], "payload_too_large");

    let res = layer()
        .layer(rec.service(StatusCode::OK))
        .oneshot(signed_post(
            SECRET,
            "msg_limited_axum",
            NOW,
            b"x",
            axum::body::Body::new(limited()),
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(rec.calls(), 0);
}

/// An HTTP/1 request answered before its whole body was read (its connection closes after
/// such an answer) says so with `Connection: close`; one whose body was read, or on HTTP/2,
/// does not.
#[tokio::test]
async fn an_answer_before_the_end_of_the_body_announces_the_close() {
    let close = |res: &Response<_>| res.headers().get("connection").cloned();
    let svc = || {
        layer()
            .body_limit(1024)
            .layer(Recorder::default().service(StatusCode::OK))
    };

    let mut unsigned = request("msg_close");
    unsigned.headers_mut().remove("webhook-signature");
    let res = svc().oneshot(unsigned).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        close(&res).as_ref().map(|v| v.as_bytes()),
        Some(&b"close"[..])
    );

    let mut http2 = request("msg_close_h2");
    http2.headers_mut().remove("webhook-signature");
    *http2.version_mut() = http::Version::HTTP_2;
    assert_eq!(close(&svc().oneshot(http2).await.unwrap()), None);

    let mut empty = request_with(SECRET, "msg_empty", NOW, "");
    empty.headers_mut().remove("webhook-signature");
    assert_eq!(close(&svc().oneshot(empty).await.unwrap()), None);

    let streamed = signed_post(
        SECRET,
        "msg_close_stream",
        NOW,
        b"x",
        endless_body(Arc::new(AtomicUsize::new(0)), 1000),
    );
    let res = svc().oneshot(streamed).await.unwrap();
    assert_eq!(res.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(close(&res).is_some());

    // read to its end and refused: the connection stays open
    let res = svc()
        .oneshot(request_with(
            "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD",
            "msg_read",
            NOW,
            BODY,
        ))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(close(&res), None);
}

#[tokio::test]
async fn body_error_mid_stream_is_a_400() {
    let frames: Vec<Result<Frame<Bytes>, std::io::Error>> = vec![
        Ok(Frame::data(Bytes::from_static(b"{\"id\":"))),
        Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "reset",
        )),
    ];
    let body = StreamBody::new(stream::iter(frames));
    let req = signed_post(SECRET, "msg_err", NOW, BODY.as_bytes(), body);
    let rec = Recorder::default();
    let res = layer()
        .layer(rec.service(StatusCode::OK))
        .oneshot(req)
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(
        res.extensions().get::<Rejection>(),
        Some(&Rejection::BodyRead)
    );
    assert_eq!(rec.calls(), 0);
}

/// A GitHub filter on the event name (`issues`, as GitHub's docs and octokit name it) takes
/// every action of that event; Slack's `url_verification` passes any filter, since Slack sends
/// no event before it gets its challenge back.
#[tokio::test]
async fn github_event_names_and_slack_challenges_pass_their_filters() {
    let github = "It's a Secret to Everybody";
    let gh_request = |id: &str, event: &str, body: &'static [u8]| {
        let mut req = Request::post("/")
            .body(Full::new(Bytes::from_static(body)))
            .unwrap();
        *req.headers_mut() = Signer::new(Scheme::GitHub, github)
            .unwrap()
            .sign(id, 0, body)
            .into();
        req.headers_mut()
            .insert("x-github-event", event.parse().unwrap());
        req
    };
    let rec = Recorder::default();
    let svc = WebhookVerify::with_verifier(Verifier::new(Scheme::GitHub, github).unwrap())
        .events(EventFilter::new(["issues", "push"]).unwrap())
        .layer(rec.service(StatusCode::OK));
    for (id, event, body, calls) in [
        ("gh-1", "issues", &b"{\"action\":\"opened\"}"[..], 1),
        ("gh-2", "push", b"{\"ref\":\"refs/heads/main\"}", 2),
        ("gh-3", "pull_request", b"{\"action\":\"opened\"}", 2),
    ] {
        let res = svc
            .clone()
            .oneshot(gh_request(id, event, body))
            .await
            .unwrap();
        assert_eq!(res.status(), StatusCode::OK, "{event}");
        assert_eq!(rec.calls(), calls, "{event}");
    }

    let slack = "8f742231b10e8888abcd99yyyzzz85a5";
    let body: &'static [u8] = br#"{"type":"url_verification","challenge":"c"}"#;
    let mut req = Request::post("/")
        .body(Full::new(Bytes::from_static(body)))
        .unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    *req.headers_mut() = Signer::new(Scheme::Slack, slack)
        .unwrap()
        .sign("", now, body)
        .into();
    let rec = Recorder::default();
    let svc = WebhookVerify::with_verifier(Verifier::new(Scheme::Slack, slack).unwrap())
        .events(EventFilter::new(["app_mention"]).unwrap())
        .layer(rec.service(StatusCode::OK));
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(rec.calls(), 1, "the challenge reached the handler");
}

#[tokio::test]
async fn unsubscribed_event_is_a_200_without_the_inner_service() {
    let rec = Recorder::default();
    let svc = layer()
        .events(EventFilter::new(["user.*"]).unwrap())
        .layer(rec.service(StatusCode::OK));
    let res = svc.clone().oneshot(request("msg_unsub")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_string(res).await, r#"{"status":"unsubscribed"}"#);
    assert_eq!(rec.calls(), 0);

    let body = r#"{"type":"user.login","data":{}}"#;
    let res = svc
        .oneshot(request_with(SECRET, "msg_sub", NOW, body))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(rec.calls(), 1);
}

#[tokio::test]
async fn duplicate_after_success_is_a_200_without_the_inner_service() {
    let rec = Recorder::default();
    let svc = layer().layer(rec.service(StatusCode::NO_CONTENT));
    assert_eq!(
        svc.clone()
            .oneshot(request("msg_dup"))
            .await
            .unwrap()
            .status(),
        StatusCode::NO_CONTENT
    );
    let res = svc.clone().oneshot(request("msg_dup")).await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body_string(res).await, r#"{"status":"duplicate"}"#);
    assert_eq!(rec.calls(), 1);
    // another id is processed
    assert_eq!(
        svc.oneshot(request("msg_other")).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(rec.calls(), 2);
}

#[tokio::test]
async fn duplicate_while_in_flight_is_a_409() {
    let release = Arc::new(tokio::sync::Notify::new());
    let entered = Arc::new(tokio::sync::Notify::new());
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = {
        let (release, entered, calls) = (release.clone(), entered.clone(), calls.clone());
        service_fn(move |_req: Request<Full<Bytes>>| {
            let (release, entered, calls) = (release.clone(), entered.clone(), calls.clone());
            async move {
                calls.fetch_add(1, Ordering::SeqCst);
                entered.notify_one();
                release.notified().await;
                Ok::<_, Infallible>(Response::new(Full::from("done")))
            }
        })
    };
    let svc = layer().layer(inner);
    let first = tokio::spawn(svc.clone().oneshot(request("msg_slow")));
    entered.notified().await;

    let res = svc.clone().oneshot(request("msg_slow")).await.unwrap();
    assert_eq!(res.status(), StatusCode::CONFLICT);
    assert_eq!(
        res.extensions().get::<Rejection>(),
        Some(&Rejection::InFlight)
    );
    let json: serde_json::Value = serde_json::from_str(&body_string(res).await).unwrap();
    assert_eq!(json["code"], "in_flight");

    release.notify_one();
    assert_eq!(first.await.unwrap().unwrap().status(), StatusCode::OK);
    assert_eq!(
        svc.oneshot(request("msg_slow")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn retry_after_a_failure_is_processed_again() {
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = {
        let calls = calls.clone();
        service_fn(move |_req: Request<Full<Bytes>>| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                let mut res = Response::new(Full::from(""));
                if n == 0 {
                    *res.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
                }
                Ok::<_, Infallible>(res)
            }
        })
    };
    let svc = layer().layer(inner);
    assert_eq!(
        svc.clone()
            .oneshot(request("msg_retry"))
            .await
            .unwrap()
            .status(),
        StatusCode::SERVICE_UNAVAILABLE
    );
    assert_eq!(
        svc.clone()
            .oneshot(request("msg_retry"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        svc.oneshot(request("msg_retry")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(
        calls.load(Ordering::SeqCst),
        2,
        "third attempt is a duplicate"
    );
}

#[tokio::test]
async fn inner_error_releases_the_claim() {
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = {
        let calls = calls.clone();
        service_fn(move |_req: Request<Full<Bytes>>| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    Err("boom")
                } else {
                    Ok(Response::new(Full::from("")))
                }
            }
        })
    };
    let svc = layer().layer(inner);
    assert!(svc.clone().oneshot(request("msg_err_inner")).await.is_err());
    assert_eq!(
        svc.oneshot(request("msg_err_inner"))
            .await
            .unwrap()
            .status(),
        StatusCode::OK
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn dropped_request_releases_the_claim() {
    let calls = Arc::new(AtomicUsize::new(0));
    let inner = {
        let calls = calls.clone();
        service_fn(move |_req: Request<Full<Bytes>>| {
            let n = calls.fetch_add(1, Ordering::SeqCst);
            async move {
                if n == 0 {
                    std::future::pending::<()>().await;
                }
                Ok::<_, Infallible>(Response::new(Full::from("")))
            }
        })
    };
    let svc = layer().layer(inner);
    let hung = tokio::time::timeout(
        Duration::from_millis(20),
        svc.clone().oneshot(request("msg_drop")),
    )
    .await;
    assert!(hung.is_err(), "first attempt hangs and is dropped");
    assert_eq!(
        svc.oneshot(request("msg_drop")).await.unwrap().status(),
        StatusCode::OK
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn dedupe_can_be_disabled_or_replaced() {
    let rec = Recorder::default();
    let svc = layer().without_dedupe().layer(rec.service(StatusCode::OK));
    for _ in 0..2 {
        assert_eq!(
            svc.clone()
                .oneshot(request("msg_nodedupe"))
                .await
                .unwrap()
                .status(),
            StatusCode::OK
        );
    }
    assert_eq!(rec.calls(), 2);

    let store = Arc::new(MemoryDedupe::with_capacity(10));
    let rec = Recorder::default();
    let svc = layer()
        .dedupe(store.clone())
        .layer(rec.service(StatusCode::OK));
    svc.clone().oneshot(request("msg_shared")).await.unwrap();
    svc.oneshot(request("msg_shared")).await.unwrap();
    assert_eq!(rec.calls(), 1);
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn custom_rejection_response_keeps_the_typed_error() {
    let rec = Recorder::default();
    let svc = layer()
        .on_rejection(|r: &Rejection| {
            let mut res = DefaultRejection::response(r);
            *res.body_mut() = Full::from(format!("nope: {}", r.code()));
            res.headers_mut()
                .insert("x-reason", r.code().parse().unwrap());
            res
        })
        .layer(rec.service(StatusCode::OK));
    let mut req = request("msg_custom");
    req.headers_mut().remove("webhook-signature");
    let res = svc.oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(res.headers()["x-reason"], "missing_header");
    assert!(matches!(
        res.extensions().get::<Rejection>(),
        Some(Rejection::Verify(VerifyError::MissingHeader { .. }))
    ));
    assert_eq!(body_string(res).await, "nope: missing_header");
}

/// An axum router's rejection handler can answer with anything axum builds
/// (`into_response()`), not only the layer's own `Full<Bytes>` body.
#[tokio::test]
async fn an_axum_router_answers_rejections_with_its_own_responses() {
    use axum::response::IntoResponse as _;
    let app = axum::Router::new()
        .route(
            "/webhooks",
            axum::routing::post(|| async { StatusCode::NO_CONTENT }),
        )
        .layer(layer().on_rejection(|r: &Rejection| {
            let status = StatusCode::from_u16(r.status()).unwrap_or(StatusCode::BAD_REQUEST);
            (
                status,
                [(http::header::CONTENT_TYPE, "application/json")],
                format!(r#"{{"problem":"{}"}}"#, r.code()),
            )
                .into_response()
        }));
    let mut req = request("msg_axum_rejection");
    *req.uri_mut() = "/webhooks".parse().unwrap();
    req.headers_mut()
        .insert("webhook-signature", "v1,AAAA".parse().unwrap());
    let res = app.clone().oneshot(req).await.unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.extensions().get::<Rejection>().map(Rejection::code),
        Some("signature_mismatch")
    );
    assert_eq!(
        body_string(res).await,
        r#"{"problem":"signature_mismatch"}"#
    );

    // the valid delivery still reaches the handler
    let mut req = request("msg_axum_ok");
    *req.uri_mut() = "/webhooks".parse().unwrap();
    assert_eq!(
        app.oneshot(req).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
}

#[test]
fn invalid_secrets_fail_try_new_and_panic_in_new() {
    assert!(WebhookVerify::try_new("").is_err());
    assert!(WebhookVerify::try_new("whsec_!!!").is_err());
    let panic = std::panic::catch_unwind(|| WebhookVerify::new("whsec_"));
    let message = panic.unwrap_err().downcast::<String>().unwrap();
    assert!(message.contains("invalid webhook secret"), "{message}");
}

#[test]
fn layer_and_service_are_clone_send_sync() {
    fn check<T: Clone + Send + Sync + 'static>(_: &T) {}
    let layer = WebhookVerify::new(SECRET);
    check(&layer);
    check(&layer.layer(Recorder::default().service(StatusCode::OK)));
    assert!(
        !format!("{layer:?}").contains("MfKQ9r8"),
        "Debug must not print the secret"
    );
}

#[tokio::test]
async fn completed_requests_release_everything() {
    let store = Arc::new(MemoryDedupe::new());
    let rec = Recorder::default();
    let svc = layer()
        .dedupe(store.clone())
        .layer(rec.service(StatusCode::OK));
    for i in 0..10 {
        svc.clone()
            .oneshot(request(&format!("msg_leak_{i}")))
            .await
            .unwrap();
    }
    svc.clone().oneshot(request("msg_leak_0")).await.unwrap(); // duplicate path
    drop(svc);
    assert_eq!(
        Arc::strong_count(&store),
        1,
        "a request future leaked the layer's shared state"
    );
}
