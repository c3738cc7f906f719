//! Test helpers: correctly signed requests and realistic Scalekit events (feature `testing`).
//!
//! ```
//! use axum::{Router, routing::post};
//! use tower::ServiceExt;
//! use webhook_axum::testing::SignedRequest;
//! use webhook_axum::{Event, VerifiedEvent, WebhookVerify};
//! use webhook_axum::scalekit::DirectoryUser;
//!
//! const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//!
//! async fn handler(VerifiedEvent(event): VerifiedEvent<Event<DirectoryUser>>) -> String {
//!     event.data.id
//! }
//!
//! # tokio::runtime::Runtime::new().unwrap().block_on(async {
//! let app = Router::new().route("/hook", post(handler).route_layer(WebhookVerify::new(SECRET)));
//!
//! let ok = SignedRequest::scalekit(SECRET, "organization.directory.user_created").uri("/hook");
//! assert_eq!(app.clone().oneshot(ok.build()).await.unwrap().status(), 200);
//!
//! let forged = SignedRequest::scalekit(SECRET, "organization.directory.user_created")
//!     .uri("/hook")
//!     .tamper_body();
//! assert_eq!(app.oneshot(forged.build()).await.unwrap().status(), 401);
//! # });
//! ```

use axum_core::body::Body;
use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use webhook_core::testing::TestDelivery;
use webhook_core::{Scheme, Signer};

pub use webhook_core::scalekit::samples;
/// How [`SignedRequest::tamper`] spoils a request: its body or its signature.
pub use webhook_core::testing::Tamper;

/// Builds a correctly signed webhook request for tower and axum tests, under any [`Scheme`],
/// with a chosen id and timestamp, and optional tampering. webhook-actix's
/// `testing::SignedRequest` has the same constructors and builder methods, but for
/// [`method`](SignedRequest::method) (it always sends a `POST`).
///
/// Each builder gets a fresh delivery id (`msg_test_<n>`) so that the layer's duplicate
/// detection does not mistake separate tests for retries; set [`id`](SignedRequest::id) to test
/// retries. The timestamp defaults to now.
///
/// ```
/// use webhook_axum::testing::SignedRequest;
/// use webhook_axum::Scheme;
///
/// let req = SignedRequest::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", r#"{"type":"user.login"}"#)
///     .id("msg_1")
///     .timestamp(1_700_000_000)
///     .uri("/webhooks")
///     .build();
/// assert_eq!(req.headers()["webhook-id"], "msg_1");
///
/// let github = SignedRequest::with_scheme(Scheme::GitHub, "gh-secret", r#"{"action":"opened"}"#)
///     .header("x-github-event", "issues")
///     .build();
/// assert!(github.headers()["x-hub-signature-256"].to_str().unwrap().starts_with("sha256="));
/// ```
#[derive(Clone, Debug)]
pub struct SignedRequest {
    /// Its `Debug` shows the scheme and the number of keys, never a secret: test output ends
    /// up in CI logs.
    signer: Signer,
    delivery: TestDelivery,
    method: Method,
    uri: String,
    /// Whether [`build`](SignedRequest::build) adds `Content-Type: application/json`.
    json: bool,
}

impl SignedRequest {
    /// A Standard Webhooks request (what Scalekit sends) with `body`, signed with a `whsec_…`
    /// `secret`.
    ///
    /// # Panics
    /// If the secret is refused (see [`Signer::standard`]): a mistake in the test itself.
    /// [`with_signer`](SignedRequest::with_signer) takes a signer built beforehand.
    pub fn new(secret: &str, body: impl Into<Bytes>) -> Self {
        SignedRequest::with_scheme(Scheme::StandardWebhooks, secret, body)
    }

    /// A request with `body` signed under `scheme`, with `secret` as that sender shows it.
    ///
    /// # Panics
    /// If the secret is not valid for the scheme (see [`Signer::new`]).
    pub fn with_scheme(scheme: Scheme, secret: &str, body: impl Into<Bytes>) -> Self {
        SignedRequest::with_signer(webhook_core::testing::signer(scheme, secret), body)
    }

    /// A request with `body` signed by `signer` (any scheme, a `whsk_` ed25519 key, several
    /// signatures at once).
    pub fn with_signer(signer: Signer, body: impl Into<Bytes>) -> Self {
        SignedRequest {
            signer,
            delivery: TestDelivery::new(body),
            method: Method::POST,
            uri: String::from("/"),
            json: true,
        }
    }

    /// A request carrying the realistic sample Scalekit event of `event_type` (see [`sample`]),
    /// signed with a `whsec_…` `secret`.
    ///
    /// ```
    /// use webhook_axum::testing::SignedRequest;
    ///
    /// let req = SignedRequest::scalekit("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "user.login");
    /// assert!(std::str::from_utf8(&req.body()).unwrap().contains(r#""type":"user.login""#));
    /// ```
    ///
    /// # Panics
    /// If `event_type` is not a documented Scalekit event type, or as [`new`](Self::new).
    pub fn scalekit(secret: &str, event_type: &str) -> Self {
        SignedRequest::new(secret, sample(event_type))
    }

    /// The delivery id (`webhook-id`, `X-GitHub-Delivery`, …). Reuse an id to simulate a retry.
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.delivery = self.delivery.id(id);
        self
    }

    /// The signed timestamp (Unix seconds), e.g. `now - 3600` for a stale delivery.
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.delivery = self.delivery.timestamp(timestamp);
        self
    }

    /// The request URI (default `/`).
    pub fn uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = uri.into();
        self
    }

    /// The method (default `POST`).
    pub fn method(mut self, method: Method) -> Self {
        self.method = method;
        self
    }

    /// Adds or replaces a header after signing (`x-github-event`, `content-type`, or a forged
    /// `webhook-timestamp`).
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.delivery = self.delivery.header(name, value);
        self
    }

    /// Removes a header after signing, e.g. `webhook-signature`.
    ///
    /// ```
    /// use webhook_axum::testing::SignedRequest;
    /// use webhook_axum::{Verifier, VerifyError};
    ///
    /// const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let req = SignedRequest::new(SECRET, "{}").without_header("webhook-signature");
    /// let err = Verifier::standard(SECRET)?.verify(&req.headers(), &req.body()).unwrap_err();
    /// assert_eq!(err, VerifyError::MissingHeader { name: "webhook-signature" });
    /// assert_eq!(err.status(), 400); // what the layer answers
    /// # Ok::<(), webhook_axum::SecretError>(())
    /// ```
    pub fn without_header(mut self, name: &str) -> Self {
        if name.eq_ignore_ascii_case("content-type") {
            self.json = false;
        }
        self.delivery = self.delivery.without_header(name);
        self
    }

    /// Spoils the request after signing, as webhook-actix's `SignedRequest::tamper` does; kinds
    /// add up ([`tamper_body`](SignedRequest::tamper_body),
    /// [`tamper_signature`](SignedRequest::tamper_signature)).
    ///
    /// ```
    /// use webhook_axum::testing::{SignedRequest, Tamper};
    /// use webhook_axum::{Verifier, VerifyError};
    ///
    /// const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let verifier = Verifier::standard(SECRET)?;
    /// for tamper in [Tamper::Body, Tamper::Signature] {
    ///     let req = SignedRequest::new(SECRET, r#"{"type":"user.login"}"#).tamper(tamper);
    ///     let err = verifier.verify(&req.headers(), &req.body()).unwrap_err();
    ///     assert!(matches!(err, VerifyError::SignatureMismatch { .. }), "{tamper:?}");
    /// }
    /// # Ok::<(), webhook_axum::SecretError>(())
    /// ```
    pub fn tamper(mut self, tamper: Tamper) -> Self {
        self.delivery = self.delivery.tamper(tamper);
        self
    }

    /// Changes the body after signing (the last byte is flipped, or a byte added to an empty
    /// body): verification must fail with `signature_mismatch`.
    pub fn tamper_body(self) -> Self {
        self.tamper(Tamper::Body)
    }

    /// Replaces the signature with one over different content, well-formed for the scheme:
    /// verification must fail with `signature_mismatch`.
    pub fn tamper_signature(self) -> Self {
        self.tamper(Tamper::Signature)
    }

    /// The delivery id.
    pub fn delivery_id(&self) -> &str {
        self.delivery.delivery_id()
    }

    /// The body that will be sent (after tampering).
    pub fn body(&self) -> Bytes {
        self.delivery.body()
    }

    /// The headers that will be sent (the [`build`](SignedRequest::build) request adds
    /// `Content-Type`).
    ///
    /// # Panics
    /// If a header added with [`header`](SignedRequest::header) is not a valid header.
    #[allow(clippy::panic)]
    pub fn headers(&self) -> HeaderMap {
        for (name, value) in self.delivery.extra_headers() {
            if HeaderName::from_bytes(name.as_bytes()).is_err()
                || HeaderValue::from_str(value).is_err()
            {
                panic!("SignedRequest: invalid header `{name}`");
            }
        }
        self.delivery.headers(&self.signer).into()
    }

    /// The request, with axum's body type. It carries `Content-Type: application/json`, as
    /// senders send, unless [`header`](SignedRequest::header) set another or
    /// [`without_header`](SignedRequest::without_header) removed it.
    pub fn build(&self) -> Request<Body> {
        self.build_with()
    }

    /// The request with any body type built from [`Bytes`] (e.g. `http_body_util::Full<Bytes>`
    /// for plain tower services).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::Full;
    /// use webhook_axum::testing::SignedRequest;
    ///
    /// let req = SignedRequest::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "{}")
    ///     .uri("/webhooks")
    ///     .build_with::<Full<Bytes>>();
    /// assert_eq!(req.uri(), "/webhooks");
    /// assert_eq!(req.headers()["content-type"], "application/json");
    /// ```
    ///
    /// # Panics
    /// If the URI is invalid, or as [`headers`](SignedRequest::headers).
    #[allow(clippy::panic)]
    pub fn build_with<B: From<Bytes>>(&self) -> Request<B> {
        let mut req = match Request::builder()
            .method(self.method.clone())
            .uri(self.uri.as_str())
            .body(B::from(self.body()))
        {
            Ok(req) => req,
            Err(err) => panic!("SignedRequest: invalid uri `{}`: {err}", self.uri),
        };
        *req.headers_mut() = self.headers();
        if self.json {
            req.headers_mut()
                .entry(http::header::CONTENT_TYPE)
                .or_insert(HeaderValue::from_static("application/json"));
        }
        req
    }
}

/// The realistic sample body of a documented Scalekit event type, as Scalekit sends it (from
/// [`samples`]).
///
/// ```
/// use webhook_axum::testing::sample;
/// use webhook_axum::Event;
/// use webhook_axum::scalekit::{DirectoryUser, ScalekitEvent};
///
/// let body = sample("organization.directory.user_created");
/// let event: Event<DirectoryUser> = serde_json::from_str(&body).unwrap();
/// assert!(event.data.id.starts_with("diruser_"));
///
/// let typed: Event<ScalekitEvent> = serde_json::from_str(&sample("user.login")).unwrap();
/// assert_eq!(typed.data.event_type(), "user.login");
/// ```
///
/// # Panics
/// If `event_type` is not documented; [`samples::sample`] returns an `Option` instead, and
/// [`samples::all`] lists every type.
#[allow(clippy::panic)]
pub fn sample(event_type: &str) -> String {
    match samples::sample(event_type) {
        Some(body) => body,
        None => panic!(
            "no Scalekit sample for `{event_type}`; see webhook_core::scalekit::samples::all()"
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tamper_takes_the_same_kinds_as_the_named_methods() {
        let base = SignedRequest::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "{}")
            .id("m")
            .timestamp(1);
        assert_eq!(
            base.clone().tamper(Tamper::Body).body(),
            base.clone().tamper_body().body()
        );
        assert_ne!(base.clone().tamper_body().body(), base.body());
        assert_eq!(
            base.clone().tamper(Tamper::Signature).headers(),
            base.clone().tamper_signature().headers()
        );
        assert_ne!(base.clone().tamper_signature().headers(), base.headers());
    }

    #[test]
    fn debug_redacts_the_secret() {
        let req = SignedRequest::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "{}");
        let shown = format!("{req:?}");
        assert!(
            shown.contains("StandardWebhooks") && !shown.contains("MfKQ9r8G"),
            "{shown}"
        );
    }

    #[test]
    #[should_panic(expected = "SignedRequest: invalid secret for")]
    fn a_refused_secret_panics_where_the_request_is_made() {
        let _ = SignedRequest::new("whsec_not base64!", "{}");
    }

    #[test]
    fn with_scheme_and_with_signer_sign_alike() {
        let by_secret = SignedRequest::with_scheme(Scheme::GitHub, "gh-secret", "{}").id("d");
        let signer = Signer::new(Scheme::GitHub, "gh-secret").unwrap();
        let by_signer = SignedRequest::with_signer(signer, "{}").id("d");
        assert_eq!(by_secret.headers(), by_signer.headers());
        assert!(by_secret.headers().contains_key("x-hub-signature-256"));
        assert_eq!(by_secret.delivery_id(), "d");
    }
}
