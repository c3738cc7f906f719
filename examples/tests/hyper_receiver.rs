//! The hyper receiver, over real TCP.

mod support;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use webhook_core::Signer;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verifies_dedupes_and_rejects() {
    let server = support::start(
        env!("CARGO_BIN_EXE_hyper-receiver"),
        &[],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    let url = format!("http://{}/webhooks", server.addr);
    let client = reqwest::Client::new();
    let body = r#"{"spec_version":"1","id":"evt_1","type":"organization.directory.user_created","occurred_at":"2024-01-15T10:30:00.123456789Z","environment_id":"env_1","object":"DirectoryUser","data":{"id":"diruser_1","organization_id":"org_1"}}"#;
    let send = |headers: webhook_core::SignedHeaders, body: &'static str| {
        let mut req = client.post(&url).body(body);
        for (k, v) in headers.iter() {
            req = req.header(k, v);
        }
        req.send()
    };
    let signer = Signer::standard(SECRET).unwrap();

    let res = send(signer.sign("msg_1", now(), body.as_bytes()), body)
        .await
        .unwrap();
    assert_eq!(res.status(), 204);
    let line = server.stdout.recv_timeout(Duration::from_secs(5)).unwrap();
    assert!(
        line.starts_with(r#"{"id":"msg_1","event_id":"evt_1","type":"#),
        "{line}"
    );
    let json: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(json["id"], "msg_1");
    assert_eq!(json["event_id"], "evt_1");
    assert_eq!(json["type"], "organization.directory.user_created");
    assert_eq!(json["attempt"], 1);

    // A retry of the same delivery (fresh signature, same id) is acknowledged, not processed again.
    let res = send(signer.sign("msg_1", now(), body.as_bytes()), body)
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert!(
        server
            .stdout
            .recv_timeout(Duration::from_millis(300))
            .is_err()
    );

    // Tampered body: 401 with a JSON reason.
    let res = send(
        signer.sign("msg_2", now(), body.as_bytes()),
        r#"{"type":"x"}"#,
    )
    .await
    .unwrap();
    assert_eq!(res.status(), 401);
    let err: serde_json::Value = res.json_or_text().await;
    assert_eq!(err["code"], "signature_mismatch");

    // Stale timestamp: 401; missing header: 400.
    let res = send(signer.sign("msg_3", now() - 3600, body.as_bytes()), body)
        .await
        .unwrap();
    assert_eq!(res.status(), 401);
    let mut headers = signer.sign("msg_4", now(), body.as_bytes());
    headers.0.retain(|(k, _)| k != "webhook-timestamp");
    let res = send(headers, body).await.unwrap();
    assert_eq!(res.status(), 400);

    // Another method: 405 naming POST; another path: 404.
    let res = client.get(&url).send().await.unwrap();
    assert_eq!(res.status(), 405);
    assert_eq!(res.headers()["allow"], "POST");
    let res = client
        .post(format!("http://{}/elsewhere", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
}

trait JsonOrText {
    async fn json_or_text(self) -> serde_json::Value;
}

impl JsonOrText for reqwest::Response {
    async fn json_or_text(self) -> serde_json::Value {
        let text = self.text().await.unwrap();
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text))
    }
}

/// A client that never finishes its request head is cut off; SIGTERM then stops the server
/// gracefully (exit status 0).
#[test]
fn slow_clients_are_cut_off_and_sigterm_stops_it() {
    let mut server = support::start(
        env!("CARGO_BIN_EXE_hyper-receiver"),
        &[],
        &[("WEBHOOK_SECRET", SECRET)],
    );
    server.assert_an_unfinished_head_is_cut_off();
    let exit = server.terminate();
    assert!(exit.success(), "{exit:?}");
}
