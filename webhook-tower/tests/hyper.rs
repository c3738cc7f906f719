//! The layer directly on a hyper 1 server (no axum): the incoming body is hyper's `Incoming`.

use std::convert::Infallible;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tower::{Layer, service_fn};
use webhook_core::{Delivery, Signer};
use webhook_tower::WebhookVerify;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[tokio::test]
async fn verifies_over_a_real_hyper_connection() {
    let svc = WebhookVerify::new(SECRET)
        .body_limit(8 * 1024)
        .layer(service_fn(|req: Request<Full<Bytes>>| async move {
            let id = req
                .extensions()
                .get::<Delivery>()
                .and_then(|d| d.id().map(str::to_owned))
                .unwrap_or_default();
            let body = req.into_body().collect().await.unwrap().to_bytes();
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                "{id}:{}",
                body.len()
            )))))
        }));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            let svc = TowerToHyperService::new(svc.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), svc),
            );
        }
    });

    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let send = |id: &str, body: Vec<u8>, tamper: bool| {
        let mut headers = Signer::standard(SECRET).unwrap().sign(id, now(), &body);
        if tamper {
            headers.set("webhook-id", "msg_other");
        }
        let mut req = Request::post(format!("http://{addr}/"))
            .body(Full::new(Bytes::from(body)))
            .unwrap();
        *req.headers_mut() = headers.into();
        let client = client.clone();
        async move {
            let res = client.request(req).await.unwrap();
            let status = res.status();
            (status, res.into_body().collect().await.unwrap().to_bytes())
        }
    };
    assert_eq!(
        send("msg_h1", b"{\"type\":\"a\"}".to_vec(), false).await,
        (StatusCode::OK, Bytes::from("msg_h1:12"))
    );
    // The sender's retry: acknowledged as a duplicate, the handler not run again.
    assert_eq!(
        send("msg_h1", b"{\"type\":\"a\"}".to_vec(), false).await,
        (StatusCode::OK, Bytes::from(r#"{"status":"duplicate"}"#))
    );
    assert_eq!(
        send("msg_h2", b"{}".to_vec(), true).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        send("msg_h3", vec![b' '; 8 * 1024 + 1], false).await.0,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    assert_eq!(
        send("msg_h4", vec![b' '; 8 * 1024], false).await,
        (StatusCode::OK, Bytes::from("msg_h4:8192"))
    );
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}
