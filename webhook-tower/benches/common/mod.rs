//! Routers and signed deliveries shared by the benches.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::routing::post;
use http::{HeaderMap, StatusCode};
use serde_json::Value;
use webhook_axum::{Signer, VerifiedEvent, WebhookVerify};

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

pub fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

/// A JSON event body of exactly `len` bytes (Scalekit-like envelope, list of users, padding).
pub fn body(len: usize) -> Vec<u8> {
    let mut users = String::new();
    let mut i = 0;
    let head = r#"{"spec_version":"1","id":"evt_53891546994442300","type":"organization.directory.user_created","occurred_at":"2025-01-06T18:44:25.153954Z","environment_id":"env_53814739859406915","object":"DirectoryUser","data":{"users":["#;
    let tail_min = r#"],"pad":""}}"#;
    loop {
        let user = format!(
            r#"{}{{"id":"diruser_{i:017}","email":"user{i}@example.com","given_name":"User","family_name":"N{i}","active":true}}"#,
            if i == 0 { "" } else { "," }
        );
        if head.len() + users.len() + user.len() + tail_min.len() > len {
            break;
        }
        users.push_str(&user);
        i += 1;
    }
    let pad = len - head.len() - users.len() - tail_min.len();
    let out = format!(r#"{head}{users}],"pad":"{}"}}}}"#, "x".repeat(pad));
    assert_eq!(out.len(), len);
    serde_json::from_str::<Value>(&out).unwrap();
    out.into_bytes()
}

pub fn signed_headers(signer: &Signer, id: &str, body: &[u8]) -> HeaderMap {
    signer.sign(id, now(), body).into()
}

fn status_for(value: &Value) -> StatusCode {
    if value.get("type").is_some() {
        StatusCode::NO_CONTENT
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

/// No verification: `Bytes` + `serde_json::from_slice`.
pub fn bare() -> Router {
    Router::new().route(
        "/",
        post(|body: Bytes| async move {
            match serde_json::from_slice::<Value>(&body) {
                Ok(value) => status_for(&value),
                Err(_) => StatusCode::BAD_REQUEST,
            }
        }),
    )
}

/// The layer (defaults: in-memory dedupe) and a `VerifiedEvent<Value>` handler.
pub fn layer(verify: WebhookVerify) -> Router {
    Router::new()
        .route(
            "/",
            post(|VerifiedEvent(value): VerifiedEvent<Value>| async move { status_for(&value) }),
        )
        .layer(verify)
}

/// The svix crate's `Webhook::verify` in the handler, then `serde_json::from_slice`.
pub fn svix() -> Router {
    let webhook = Arc::new(svix::webhooks::Webhook::new(SECRET).unwrap());
    Router::new().route(
        "/",
        post(move |headers: HeaderMap, body: Bytes| {
            let webhook = webhook.clone();
            async move {
                if webhook.verify(&body, &headers).is_err() {
                    return StatusCode::UNAUTHORIZED;
                }
                match serde_json::from_slice::<Value>(&body) {
                    Ok(value) => status_for(&value),
                    Err(_) => StatusCode::BAD_REQUEST,
                }
            }
        }),
    )
}

/// Every variant, by name, each finalized with `with_state(())` as `axum::serve` does: a router
/// still holding its handlers unconverted would build each route (and apply the layer) again on
/// every `oneshot` call.
pub fn routers() -> Vec<(&'static str, Router)> {
    let routers = vec![
        ("bare", bare()),
        ("layer", layer(WebhookVerify::new(SECRET))),
        (
            "layer-nodedupe",
            layer(WebhookVerify::new(SECRET).without_dedupe()),
        ),
        (
            "layer-dedupe1k",
            layer(
                WebhookVerify::new(SECRET)
                    .dedupe(webhook_axum::dedupe::MemoryDedupe::with_capacity(1000)),
            ),
        ),
        ("svix", svix()),
    ];
    routers
        .into_iter()
        .map(|(name, router)| (name, router.with_state(())))
        .collect()
}
