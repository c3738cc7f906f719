//! End to end: a real axum server on 127.0.0.1, real HTTP/1.1 clients.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use http::StatusCode;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use webhook_axum::scalekit::{DirectoryUser, ScalekitEvent};
use webhook_axum::testing::SignedRequest;
use webhook_axum::{Event, EventFilter, VerifiedEvent, WebhookVerify};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

async fn serve(calls: Arc<AtomicUsize>) -> std::net::SocketAddr {
    let handler = move |VerifiedEvent(event): VerifiedEvent<Event<ScalekitEvent>>| {
        calls.fetch_add(1, Ordering::SeqCst);
        async move {
            match event.data {
                ScalekitEvent::DirectoryUserCreated(DirectoryUser { id, .. }) => id,
                other => other.event_type().to_owned(),
            }
        }
    };
    let app = Router::new().route("/webhooks", post(handler)).layer(
        WebhookVerify::new(SECRET)
            .body_limit(64 * 1024)
            .events(EventFilter::new(["organization.*", "user.login"]).unwrap()),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

#[tokio::test]
async fn verified_duplicate_unsubscribed_forged_and_oversize_over_http() {
    let calls = Arc::new(AtomicUsize::new(0));
    let addr = serve(calls.clone()).await;
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let uri = format!("http://{addr}/webhooks");
    let send = |req: SignedRequest| {
        let client = client.clone();
        let req = req.uri(uri.clone()).build_with::<Full<Bytes>>();
        async move {
            let res = client.request(req).await.unwrap();
            let status = res.status();
            let body = res.into_body().collect().await.unwrap().to_bytes();
            (status, String::from_utf8(body.to_vec()).unwrap())
        }
    };

    let first =
        SignedRequest::scalekit(SECRET, "organization.directory.user_created").id("msg_e2e");
    assert_eq!(
        send(first.clone()).await,
        (StatusCode::OK, "diruser_53891546960887884".to_owned())
    );
    assert_eq!(
        send(first).await,
        (StatusCode::OK, r#"{"status":"duplicate"}"#.to_owned())
    );

    let unsubscribed = SignedRequest::scalekit(SECRET, "role.created");
    assert_eq!(
        send(unsubscribed).await,
        (StatusCode::OK, r#"{"status":"unsubscribed"}"#.to_owned())
    );

    let (status, body) = send(SignedRequest::scalekit(SECRET, "user.login").tamper_body()).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    let json: Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["code"], "signature_mismatch");

    let big = SignedRequest::new(SECRET, vec![b' '; 64 * 1024 + 1]);
    assert_eq!(send(big).await.0, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(calls.load(Ordering::SeqCst), 1);

    // A chunked body with no Content-Length that never ends: 413 once 64 KiB have arrived.
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let headers = SignedRequest::scalekit(SECRET, "user.login").headers();
    let mut head = String::from(
        "POST /webhooks HTTP/1.1\r\nhost: localhost\r\ntransfer-encoding: chunked\r\n",
    );
    for (name, value) in &headers {
        head.push_str(&format!("{name}: {}\r\n", value.to_str().unwrap()));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    let chunk = format!("{:x}\r\n{}\r\n", 4096, "a".repeat(4096));
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        for _ in 0..10_000 {
            if write.write_all(chunk.as_bytes()).await.is_err() {
                return true;
            }
        }
        false
    });
    let mut response = vec![0; 1024];
    let n = read.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..n]);
    assert!(response.starts_with("HTTP/1.1 413"), "{response}");
    assert!(response.contains("payload_too_large"), "{response}");
    drop(read);
    writer.abort();
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}
