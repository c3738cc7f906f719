//! The tower service over real sockets: axum with a verification middleware in front.

mod support;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use support::{SECRET, inbox_with};
use webhook_core::{Signer, Verifier};
use webhook_inbox::{DeliveryId, Inbox};

async fn verify(State(verifier): State<Arc<Verifier>>, req: Request, next: Next) -> Response {
    let (mut parts, body) = req.into_parts();
    let bytes = to_bytes(body, 1 << 20).await.unwrap();
    match verifier.verify_delivery(&parts.headers, bytes) {
        Ok(d) => {
            parts.extensions.insert(d);
            next.run(Request::from_parts(parts, Body::empty())).await
        }
        Err(e) => (axum::http::StatusCode::UNAUTHORIZED, e.to_string()).into_response(),
    }
}

async fn serve(inbox: &Inbox) -> SocketAddr {
    let verifier = Arc::new(
        Verifier::standard(SECRET)
            .unwrap()
            .without_timestamp_check(),
    );
    let app = Router::new()
        .route_service("/webhook", inbox.service())
        .layer(middleware::from_fn_with_state(verifier, verify))
        .route_service("/unverified", inbox.service());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    addr
}

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn post(
    client: &HttpClient,
    addr: SocketAddr,
    path: &str,
    id: &str,
) -> (u16, Option<String>, String) {
    post_event(client, addr, path, id, "user.created").await
}

/// Posts a signed delivery; `event_type` goes into the JSON as written (escapes included).
async fn post_event(
    client: &HttpClient,
    addr: SocketAddr,
    path: &str,
    id: &str,
    event_type: &str,
) -> (u16, Option<String>, String) {
    let body = format!(r#"{{"id":"evt_{id}","type":"{event_type}","data":{{}}}}"#);
    let mut req = hyper::Request::post(format!("http://{addr}{path}"))
        .header("user-agent", "Svix-Webhooks/1.17");
    for (k, v) in Signer::standard(SECRET)
        .unwrap()
        .sign(id, 1_700_000_000, body.as_bytes())
        .iter()
    {
        req = req.header(k, v);
    }
    let resp = client
        .request(req.body(Full::new(Bytes::from(body))).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    let body = resp.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        retry_after,
        String::from_utf8(body.to_vec()).unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn answers_201_new_200_duplicate_500_without_layer_503_when_closed() {
    let (_dir, inbox, _clock) = inbox_with(|b| b).await;
    let addr = serve(&inbox).await;
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();

    let (status, _, body) = post(&client, addr, "/webhook", "msg_1").await;
    assert_eq!(status, 201, "{body}");
    assert!(body.contains(r#""duplicate":false"#));
    let (status, _, body) = post(&client, addr, "/webhook", "msg_1").await;
    assert_eq!(status, 200);
    assert!(body.contains(r#""duplicate":true"#));

    let stored = inbox.get(DeliveryId(1)).await.unwrap().unwrap();
    assert_eq!(stored.user_agent.as_deref(), Some("Svix-Webhooks/1.17"));
    // The address comes from axum's `ConnectInfo`, read with the `axum` feature only.
    if cfg!(feature = "axum") {
        assert!(stored.client_addr.unwrap().starts_with("127.0.0.1:"));
    } else {
        assert_eq!(stored.client_addr, None);
    }

    let (status, _, body) = post(&client, addr, "/unverified", "msg_2").await;
    assert_eq!(status, 500);
    assert!(
        body.contains("WebhookVerify") && body.contains(r#""code":"misconfigured""#),
        "{body}"
    );

    // Verified, but no backend can store it: 422, alone, and nothing is stored.
    let (status, _, body) =
        post_event(&client, addr, "/webhook", "msg_nul", r"user.\u0000created").await;
    assert_eq!(status, 422, "{body}");
    assert!(
        body.contains(r#""code":"unstorable""#) && body.contains("event type contains a NUL"),
        "{body}"
    );
    let long = "m".repeat(2000);
    let (status, _, body) = post(&client, addr, "/webhook", &long).await;
    assert_eq!(status, 422, "{body}");
    assert!(body.contains("2009 bytes long"), "{body}");
    assert_eq!(inbox.counts().await.unwrap().pending, 1);

    inbox.close().await;
    let (status, retry_after, body) = post(&client, addr, "/webhook", "msg_3").await;
    assert_eq!(status, 503);
    assert_eq!(retry_after.as_deref(), Some("5"));
    assert!(body.contains("store_unavailable"));
}

#[test]
fn concurrent_accepts_share_commits() {
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    metrics::set_global_recorder(recorder).unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let (_dir, inbox, _clock) = inbox_with(|b| b).await;
        let addr = serve(&inbox).await;
        let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
        let tasks: Vec<_> = (0..200)
            .map(|i| {
                let client = client.clone();
                tokio::spawn(
                    async move { post(&client, addr, "/webhook", &format!("m{i}")).await.0 },
                )
            })
            .collect();
        for t in tasks {
            assert_eq!(t.await.unwrap(), 201);
        }
        assert_eq!(inbox.counts().await.unwrap().pending, 200);
    });
    let mut commits = 0;
    let mut stored = 0.0;
    let mut accepted = 0;
    for (key, _, _, value) in snapshotter.snapshot().into_vec() {
        match (key.key().name(), value) {
            ("webhook_inbox_commit_batch_size", DebugValue::Histogram(sizes)) => {
                commits += sizes.len();
                stored += sizes.iter().map(|s| s.into_inner()).sum::<f64>();
            }
            ("webhook_inbox_accepted_total", DebugValue::Counter(n)) => accepted += n,
            _ => {}
        }
    }
    // The other test in this binary may add its few accepts to the global recorder.
    assert!((200.0..210.0).contains(&stored), "{stored}");
    assert!((200..210).contains(&accepted), "{accepted}");
    assert!(
        commits < 150,
        "200 concurrent accepts took {commits} commits"
    );
}

/// Two inboxes in one process (one per sender): named, each has its own gauges; unnamed, they
/// would share one series and overwrite each other's counts.
#[test]
fn named_inboxes_have_their_own_gauges() {
    use webhook_inbox::AcceptMeta;
    let recorder = DebuggingRecorder::new();
    let snapshotter = recorder.snapshotter();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    metrics::with_local_recorder(&recorder, || {
        rt.block_on(async {
            let (_da, a, _) = inbox_with(|b| b.metrics_name("stripe")).await;
            let (_db, b, _) = inbox_with(|b| b.metrics_name("github")).await;
            let (_dc, c, _) = inbox_with(|b| b).await;
            for i in 0..3 {
                a.accept(
                    &support::delivery(&format!("a{i}"), "t", "{}"),
                    AcceptMeta::new(),
                )
                .await
                .unwrap();
            }
            a.counts().await.unwrap();
            b.counts().await.unwrap();
            c.counts().await.unwrap();
        })
    });
    let mut depths: Vec<(String, f64)> = snapshotter
        .snapshot()
        .into_vec()
        .into_iter()
        .filter(|(k, ..)| k.key().name() == webhook_inbox::metrics::QUEUE_DEPTH)
        .filter_map(|(k, _, _, v)| match v {
            DebugValue::Gauge(g) => Some((
                k.key()
                    .labels()
                    .map(|l| format!("{}={}", l.key(), l.value()))
                    .collect(),
                g.into_inner(),
            )),
            _ => None,
        })
        .collect();
    depths.sort_by(|x, y| x.0.cmp(&y.0));
    assert_eq!(
        depths,
        [
            // An unnamed inbox's gauge has no label.
            (String::new(), 0.0),
            ("inbox=github".to_owned(), 0.0),
            ("inbox=stripe".to_owned(), 3.0)
        ]
    );
}
