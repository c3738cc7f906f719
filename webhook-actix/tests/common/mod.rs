//! Shared fixtures for the integration tests.
#![allow(dead_code, unreachable_pub)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::test;
use serde::Deserialize;
use webhook_actix::testing::SignedRequest;

pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
pub const OLD_SECRET: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";

/// A Scalekit-shaped `organization.created` event.
pub const ORG_CREATED: &str = r#"{"spec_version":"1","id":"evt_1","type":"organization.created","occurred_at":"2025-01-06T18:44:25.153954Z","environment_id":"env_1","object":"Organization","data":{"id":"org_1","display_name":"Acme"}}"#;

#[derive(Debug, Deserialize)]
pub struct OrgEvent {
    #[serde(rename = "type", default)]
    pub kind: String,
    pub data: OrgData,
}

#[derive(Debug, Deserialize)]
pub struct OrgData {
    pub id: String,
    pub display_name: String,
}

pub fn signed(body: &str) -> SignedRequest {
    SignedRequest::new(SECRET, body.to_owned()).uri("/webhooks")
}

/// Counts handler runs.
#[derive(Clone, Default)]
pub struct Calls(pub Arc<AtomicUsize>);

impl Calls {
    pub fn hit(&self) -> usize {
        self.0.fetch_add(1, Ordering::SeqCst) + 1
    }
    pub fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

/// Sends `req` and returns the status and the body parsed as JSON (or as a string).
pub async fn send<S>(app: &S, req: actix_http::Request) -> (StatusCode, serde_json::Value)
where
    S: Service<actix_http::Request, Response = ServiceResponse, Error = actix_web::Error>,
{
    let res = test::call_service(app, req).await;
    let status = res.status();
    let body = test::read_body(res).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(&body).into_owned()));
    (status, value)
}

/// Asserts a rejection: status, `code`, and that `error` mentions `needle`.
pub fn assert_rejected(
    got: &(StatusCode, serde_json::Value),
    status: u16,
    code: &str,
    needle: &str,
) {
    assert_eq!(got.0.as_u16(), status, "body: {}", got.1);
    assert_eq!(got.1["code"], code, "body: {}", got.1);
    let error = got.1["error"].as_str().unwrap_or_default();
    assert!(
        error.contains(needle),
        "`{error}` should mention `{needle}`"
    );
}
