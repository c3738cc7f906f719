//! A route using the extractors without the layer is logged as an error once, not only answered
//! 500 to the sender. Its own test binary: the log is once per process.

use std::io::Write;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::routing::post;
use http::StatusCode;
use tower::ServiceExt;
use webhook_axum::VerifiedDelivery;
use webhook_axum::testing::SignedRequest;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn a_missing_layer_is_logged_once() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let app = Router::new().route("/unwrapped", post(|_: VerifiedDelivery| async { "" }));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    tracing::subscriber::with_default(subscriber, || {
        for id in ["msg_1", "msg_2", "msg_3"] {
            let req = SignedRequest::new(SECRET, r#"{"type":"user.login"}"#)
                .uri("/unwrapped")
                .id(id)
                .build();
            let res = rt.block_on(app.clone().oneshot(req)).unwrap();
            assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR);
        }
    });
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert_eq!(log.matches("ERROR").count(), 1, "{log}");
    assert!(log.contains("no WebhookVerify layer"), "{log}");
}
