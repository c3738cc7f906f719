//! A webhook sender: signs Standard Webhooks deliveries and POSTs them, retrying until a 2xx
//! the way real senders do, and remembers every answer.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use webhook_core::Signer;

use crate::support::SECRET;

/// What one POST got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Answer {
    /// An HTTP status, and whether a `Retry-After` header came with it.
    Status(u16, bool),
    /// No answer (refused, reset, timed out).
    NoAnswer,
}

impl Answer {
    pub fn is_2xx(self) -> bool {
        matches!(self, Answer::Status(200..=299, _))
    }
}

#[derive(Clone)]
pub struct Sender {
    client: Client<HttpConnector, Full<Bytes>>,
    signer: std::sync::Arc<Signer>,
}

/// A JSON body of about `size` bytes for message `id`.
pub fn body(id: &str, size: usize) -> Bytes {
    let head = format!(r#"{{"id":"evt_{id}","type":"load.test","data":""#);
    let mut b = head.into_bytes();
    let pad = size.saturating_sub(b.len() + 2);
    b.extend(std::iter::repeat_n(b'x', pad));
    b.extend_from_slice(b"\"}");
    Bytes::from(b)
}

impl Sender {
    pub fn new() -> Self {
        let client = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .build_http();
        Sender {
            client,
            signer: std::sync::Arc::new(Signer::standard(SECRET).unwrap()),
        }
    }

    /// One signed POST.
    pub async fn send(&self, url: &str, id: &str, body: &Bytes) -> Answer {
        let ts = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let mut req = hyper::Request::post(url)
            .header("content-type", "application/json")
            .header("user-agent", "pg-test/1");
        for (k, v) in self.signer.sign(id, ts, body).iter() {
            req = req.header(k, v);
        }
        let req = req.body(Full::new(body.clone())).unwrap();
        match tokio::time::timeout(Duration::from_secs(30), self.client.request(req)).await {
            Ok(Ok(resp)) => {
                let status = resp.status().as_u16();
                let retry_after = resp.headers().contains_key("retry-after");
                let _ = resp.into_body().collect().await;
                Answer::Status(status, retry_after)
            }
            _ => Answer::NoAnswer,
        }
    }

    /// POSTs until a 2xx; returns every answer, the last one the 2xx.
    pub async fn send_until_acked(
        &self,
        url: &str,
        id: &str,
        body: &Bytes,
        pause: Duration,
    ) -> Vec<Answer> {
        let mut answers = Vec::new();
        loop {
            let answer = self.send(url, id, body).await;
            answers.push(answer);
            if answer.is_2xx() {
                return answers;
            }
            assert!(
                answers.len() < 5_000,
                "{id} was never acknowledged by {url}: {:?}",
                &answers[answers.len() - 5..]
            );
            tokio::time::sleep(pause).await;
        }
    }
}
