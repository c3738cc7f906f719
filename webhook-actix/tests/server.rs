//! A real actix-web `HttpServer` on 127.0.0.1 with an ephemeral port, driven by a real HTTP
//! client (reqwest) and by a raw socket for a chunked body.

mod common;

use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use actix_web::{App, HttpResponse, HttpServer, web};
use common::*;
use webhook_actix::testing::{SignedRequest, Tamper};
use webhook_actix::{VerifiedEvent, WebhookConfig, WebhookDedupe};

async fn handle(calls: web::Data<Calls>, event: VerifiedEvent<OrgEvent>) -> HttpResponse {
    calls.hit();
    HttpResponse::Ok().body(event.data.display_name.clone())
}

async fn post(client: &reqwest::Client, addr: SocketAddr, signed: &SignedRequest) -> (u16, String) {
    let mut req = client
        .post(format!("http://{addr}/webhooks"))
        .header("content-type", "application/json");
    for (name, value) in signed.headers() {
        req = req.header(name, value);
    }
    let res = req.body(signed.body().to_vec()).send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

/// Sends `body` with `Transfer-Encoding: chunked` over a raw socket; returns the status line.
fn post_chunked(addr: SocketAddr, signed: &SignedRequest, chunk: usize) -> String {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let mut head =
        String::from("POST /webhooks HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n");
    head.push_str("Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n");
    for (name, value) in signed.headers() {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).unwrap();
    for part in signed.body().chunks(chunk) {
        // The server may answer 413 and close before the whole body is sent.
        if stream
            .write_all(format!("{:x}\r\n", part.len()).as_bytes())
            .is_err()
            || stream.write_all(part).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let mut response = Vec::new();
    let _ = stream.read_to_end(&mut response);
    let response = String::from_utf8_lossy(&response);
    response.lines().next().unwrap_or_default().to_owned()
}

/// Starts an `HttpServer` with `workers` workers over the app factory on 127.0.0.1, on an
/// ephemeral port; gives its address and handle.
macro_rules! serve {
    ($workers:expr, $factory:expr) => {{
        let server = HttpServer::new($factory)
            .workers($workers)
            .disable_signals()
            .bind(("127.0.0.1", 0))
            .unwrap();
        let addr = server.addrs()[0];
        let server = server.run();
        let handle = server.handle();
        actix_web::rt::spawn(server);
        (addr, handle)
    }};
}

#[actix_web::test]
async fn verifies_over_a_real_socket() {
    let calls = Calls::default();
    let dedupe = WebhookDedupe::memory();
    let config = WebhookConfig::secret(SECRET).unwrap().body_limit(1024);
    let app_calls = calls.clone();
    let (addr, handle) = serve!(2, move || {
        App::new()
            .app_data(config.clone())
            .app_data(web::Data::new(app_calls.clone()))
            .service(
                web::resource("/webhooks")
                    .wrap(dedupe.clone())
                    .route(web::post().to(handle)),
            )
    });

    // A connection per request: actix hands connections to its workers in turn, so the retries
    // reach both workers (a pooled connection would keep them all on one).
    let client = reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();

    let delivery = signed(ORG_CREATED).id("msg_socket");
    assert_eq!(
        post(&client, addr, &delivery).await,
        (200, "Acme".to_owned())
    );
    // The retries land on both workers: the store is shared.
    for _ in 0..4 {
        let (status, body) = post(&client, addr, &delivery).await;
        assert_eq!((status, body.as_str()), (200, r#"{"status":"duplicate"}"#));
    }
    assert_eq!(calls.count(), 1);

    let (status, body) = post(
        &client,
        addr,
        &signed(ORG_CREATED).tamper(Tamper::Signature),
    )
    .await;
    assert_eq!(status, 401);
    let body: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(body["code"], "signature_mismatch");

    // Chunked, no Content-Length: verified when under the limit, 413 past it.
    let small = signed(ORG_CREATED).id("msg_chunked");
    let status = actix_web::rt::task::spawn_blocking(move || post_chunked(addr, &small, 10))
        .await
        .unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let mut big = String::from(ORG_CREATED);
    big.insert_str(1, &format!("\"pad\":\"{}\",", "x".repeat(2000)));
    let big = signed(&big).id("msg_big");
    let status = actix_web::rt::task::spawn_blocking(move || post_chunked(addr, &big, 256))
        .await
        .unwrap();
    assert!(status.starts_with("HTTP/1.1 413"), "{status}");
    assert_eq!(calls.count(), 2);

    handle.stop(true).await;
}

/// `web::Bytes` before the extractor takes a chunked body (no Content-Length): a 500 naming the
/// mistake over a real socket, not a 401 that would read as a wrong secret.
#[actix_web::test]
async fn a_chunked_body_read_by_an_earlier_extractor_is_500() {
    let config = WebhookConfig::secret(SECRET).unwrap();
    let (addr, handle) = serve!(1, move || {
        App::new().app_data(config.clone()).route(
            "/webhooks",
            web::post().to(
                |_raw: bytes::Bytes, _d: webhook_actix::VerifiedDelivery| async {
                    HttpResponse::Ok().finish()
                },
            ),
        )
    });

    let delivery = signed(ORG_CREATED).id("msg_taken");
    let status = actix_web::rt::task::spawn_blocking(move || post_chunked(addr, &delivery, 10))
        .await
        .unwrap();
    assert!(status.starts_with("HTTP/1.1 500"), "{status}");
    handle.stop(true).await;
}
