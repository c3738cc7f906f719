//! `serve_http1`'s bound on the connections served at once, over real sockets.

use std::convert::Infallible;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webhook_examples::serve::serve_http1;

async fn get(stream: &mut TcpStream) -> std::io::Result<String> {
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        .await?;
    let mut buf = vec![0u8; 256];
    let n = stream.read(&mut buf).await?;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// At the cap, a new connection waits in the backlog, unanswered, until a served one closes:
/// clients that stall cannot make the server hold more connections (and bodies) than that.
#[tokio::test]
async fn connections_past_the_cap_wait_until_one_closes() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_http1(
        listener,
        |_peer| {
            hyper::service::service_fn(|_req: Request<Incoming>| async {
                Ok::<_, Infallible>(Response::new(Full::new(Bytes::from_static(b"ok"))))
            })
        },
        async {
            let _ = stopped.await;
        },
        2,
    ));
    // Two clients hold the two slots with a request head they never finish.
    let mut stalled = Vec::new();
    for _ in 0..2 {
        let mut s = TcpStream::connect(addr).await.unwrap();
        s.write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
            .await
            .unwrap();
        stalled.push(s);
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut third = TcpStream::connect(addr).await.unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(500), get(&mut third)).await;
    assert!(waited.is_err(), "answered past the cap: {waited:?}");
    // A slot frees: the waiting connection is served (its request is already sent).
    drop(stalled.pop());
    let mut buf = vec![0u8; 256];
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a slot freed")
        .unwrap();
    assert!(
        String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&buf[..n])
    );
    let _ = stop.send(());
    drop(stalled);
    let _ = tokio::time::timeout(Duration::from_secs(15), server).await;
}
