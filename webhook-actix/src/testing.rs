//! Test helpers (feature `testing`): correctly signed actix-web test requests.
//!
//! ```
//! use actix_web::{App, HttpResponse, test, web};
//! use webhook_actix::testing::{SignedRequest, Tamper};
//! use webhook_actix::{VerifiedEvent, WebhookConfig};
//! use webhook_core::scalekit::{ScalekitEvent, samples};
//! use webhook_core::{Clock as _, Event, SystemClock};
//!
//! async fn handle(event: VerifiedEvent<Event<ScalekitEvent>>) -> HttpResponse {
//!     HttpResponse::Ok().body(event.event_type.clone())
//! }
//!
//! # actix_web::rt::System::new().block_on(async {
//! const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
//! let config = WebhookConfig::secret(SECRET).unwrap();
//! let app = test::init_service(App::new().app_data(config).route("/hook", web::post().to(handle))).await;
//!
//! // A realistic Scalekit delivery, correctly signed, stamped ten seconds ago.
//! let body = samples::sample("organization.created").unwrap();
//! let signed = SignedRequest::new(SECRET, body)
//!     .uri("/hook")
//!     .id("msg_1")
//!     .timestamp(SystemClock.now_unix() - 10);
//! let res = test::call_service(&app, signed.to_request()).await;
//! assert_eq!(res.status(), 200);
//! assert_eq!(test::read_body(res).await, "organization.created");
//!
//! // The same delivery with its body changed after signing.
//! let res = test::call_service(&app, signed.tamper(Tamper::Body).to_request()).await;
//! assert_eq!(res.status(), 401);
//! # });
//! ```

use actix_web::dev;
use actix_web::http::header::ContentType;
use actix_web::test::TestRequest;
use bytes::Bytes;
use webhook_core::testing::TestDelivery;
use webhook_core::{Scheme, SignedHeaders, Signer};

/// How [`SignedRequest::tamper`] spoils a request: its body or its signature.
pub use webhook_core::testing::Tamper;

/// Builds a correctly signed `POST` for any [`Scheme`], with a chosen id, timestamp and body, then
/// optionally spoils it. webhook-axum's `testing::SignedRequest` has the same constructors and
/// builder methods.
///
/// Defaults: a fresh id (`msg_test_N`), the current time, URI `/`, `Content-Type:
/// application/json`. Its `Debug` never shows a secret.
///
/// ```
/// use webhook_actix::testing::SignedRequest;
/// use webhook_actix::webhook_core::Scheme;
///
/// let github = SignedRequest::with_scheme(Scheme::GitHub, "gh-secret", r#"{"action":"opened"}"#)
///     .header("X-GitHub-Event", "issues");
/// assert!(github.headers().get("X-Hub-Signature-256").unwrap().starts_with("sha256="));
/// ```
#[derive(Clone, Debug)]
pub struct SignedRequest {
    signer: Signer,
    delivery: TestDelivery,
    uri: String,
    /// Whether the request gets `Content-Type: application/json` when no header sets one.
    json: bool,
}

impl SignedRequest {
    /// Signs `body` as a Standard Webhooks sender (Scalekit, Svix) with a `whsec_…` secret.
    ///
    /// # Panics
    /// If the secret is refused (see [`Signer::standard`]): a mistake in the test itself.
    /// [`with_signer`](SignedRequest::with_signer) takes a signer built beforehand.
    pub fn new(secret: &str, body: impl Into<Bytes>) -> Self {
        SignedRequest::with_scheme(Scheme::StandardWebhooks, secret, body)
    }

    /// Signs `body` under `scheme`, with `secret` as that sender shows it.
    ///
    /// # Panics
    /// If the secret is not valid for the scheme (see [`Signer::new`]).
    pub fn with_scheme(scheme: Scheme, secret: &str, body: impl Into<Bytes>) -> Self {
        SignedRequest::with_signer(webhook_core::testing::signer(scheme, secret), body)
    }

    /// Signs `body` with `signer` (any scheme, a `whsk_` ed25519 key, several signatures at
    /// once).
    pub fn with_signer(signer: Signer, body: impl Into<Bytes>) -> Self {
        SignedRequest {
            signer,
            delivery: TestDelivery::new(body),
            uri: "/".to_owned(),
            json: true,
        }
    }

    /// Signs the realistic sample Scalekit event of `event_type`
    /// ([`samples::sample`](webhook_core::scalekit::samples::sample)) with a `whsec_…` secret.
    ///
    /// ```
    /// use webhook_actix::testing::SignedRequest;
    ///
    /// let req = SignedRequest::scalekit("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "user.login");
    /// assert!(std::str::from_utf8(&req.body()).unwrap().contains(r#""type":"user.login""#));
    /// ```
    ///
    /// # Panics
    /// If `event_type` is not a documented Scalekit event type, or as [`new`](Self::new).
    #[allow(clippy::panic)]
    pub fn scalekit(secret: &str, event_type: &str) -> Self {
        let Some(body) = webhook_core::scalekit::samples::sample(event_type) else {
            panic!(
                "no Scalekit sample for `{event_type}`; see webhook_core::scalekit::samples::all()"
            );
        };
        SignedRequest::new(secret, body)
    }

    /// Sets the delivery id (`webhook-id`, `X-GitHub-Delivery`, …).
    pub fn id(mut self, id: impl Into<String>) -> Self {
        self.delivery = self.delivery.id(id);
        self
    }

    /// Sets the signed timestamp (Unix seconds), e.g. ten minutes ago to test staleness.
    pub fn timestamp(mut self, timestamp: i64) -> Self {
        self.delivery = self.delivery.timestamp(timestamp);
        self
    }

    /// Sets the request URI.
    pub fn uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = uri.into();
        self
    }

    /// Spoils the request after signing; kinds add up (`tamper_body().tamper_signature()`
    /// spoils both), as in webhook-axum.
    pub fn tamper(mut self, tamper: Tamper) -> Self {
        self.delivery = self.delivery.tamper(tamper);
        self
    }

    /// Changes the body after signing: `tamper(Tamper::Body)`, named as in webhook-axum.
    pub fn tamper_body(self) -> Self {
        self.tamper(Tamper::Body)
    }

    /// Replaces the signature with a well-formed wrong one: `tamper(Tamper::Signature)`, named
    /// as in webhook-axum.
    pub fn tamper_signature(self) -> Self {
        self.tamper(Tamper::Signature)
    }

    /// Leaves out a header (case-insensitive name): a signed one, or `Content-Type`, which the
    /// request otherwise carries as `application/json`.
    pub fn without_header(mut self, name: &str) -> Self {
        if name.eq_ignore_ascii_case("content-type") {
            self.json = false;
        }
        self.delivery = self.delivery.without_header(name);
        self
    }

    /// Adds (or, for a signed header, replaces) a header after signing, e.g. `X-GitHub-Event`
    /// or a malformed `webhook-timestamp`.
    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.delivery = self.delivery.header(name, value);
        self
    }

    /// The delivery id.
    pub fn delivery_id(&self) -> &str {
        self.delivery.delivery_id()
    }

    /// The body as it will be sent (tampered or not).
    pub fn body(&self) -> Bytes {
        self.delivery.body()
    }

    /// The headers as they will be sent (signature, tampering, removals and extra headers
    /// applied; `Content-Type` not included).
    pub fn headers(&self) -> SignedHeaders {
        self.delivery.headers(&self.signer)
    }

    /// An actix-web [`TestRequest`] carrying the signed delivery, to adjust further. Its
    /// `Content-Type` is `application/json` unless [`header`](Self::header) set another.
    ///
    /// Calling an extractor directly, with a configuration added to the request:
    ///
    /// ```
    /// # #[actix_web::main]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use actix_web::FromRequest;
    /// use webhook_actix::testing::SignedRequest;
    /// use webhook_actix::{VerifiedDelivery, WebhookConfig};
    ///
    /// const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let (req, mut payload) = SignedRequest::new(SECRET, r#"{"type":"user.login"}"#)
    ///     .to_test_request()
    ///     .app_data(WebhookConfig::secret(SECRET)?)
    ///     .to_http_parts();
    /// let delivery = VerifiedDelivery::from_request(&req, &mut payload).await?;
    /// assert_eq!(delivery.event_type(), Some("user.login"));
    /// # Ok(()) }
    /// ```
    pub fn to_test_request(&self) -> TestRequest {
        let headers = self.headers();
        let mut req = TestRequest::post().uri(&self.uri);
        if self.json
            && !headers
                .iter()
                .any(|(name, _)| name.eq_ignore_ascii_case("content-type"))
        {
            req = req.insert_header(ContentType::json());
        }
        for (name, value) in headers {
            req = req.append_header((name, value));
        }
        req.set_payload(self.body())
    }

    /// The finished request, for `actix_web::test::call_service`.
    pub fn to_request(&self) -> actix_http::Request {
        self.to_test_request().to_request()
    }

    /// The request split for calling an extractor directly:
    /// `VerifiedDelivery::from_request(&req, &mut payload)`.
    pub fn to_http_parts(&self) -> (actix_web::HttpRequest, dev::Payload) {
        self.to_test_request().to_http_parts()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axum_named_helpers_match_tamper_and_samples() {
        const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let base = SignedRequest::scalekit(SECRET, "organization.created")
            .id("m")
            .timestamp(1);
        assert!(
            std::str::from_utf8(&base.body())
                .unwrap()
                .contains(r#""type":"organization.created""#)
        );
        assert_eq!(
            base.clone().tamper_body().body(),
            base.clone().tamper(Tamper::Body).body()
        );
        assert_ne!(base.clone().tamper_body().body(), base.body());
        assert_eq!(
            base.clone().tamper_signature().headers(),
            base.clone().tamper(Tamper::Signature).headers()
        );
        assert_ne!(base.clone().tamper_signature().headers(), base.headers());
        // Kinds add up, as in webhook-axum.
        let both = base.clone().tamper_body().tamper_signature();
        assert_eq!(both.body(), base.clone().tamper_body().body());
        assert_eq!(both.headers(), base.clone().tamper_signature().headers());
    }

    #[test]
    #[should_panic(expected = "SignedRequest: invalid secret for")]
    fn a_refused_secret_panics_where_the_request_is_made() {
        let _ = SignedRequest::new("whsec_not base64!", "{}");
    }

    #[test]
    fn with_scheme_and_with_signer_sign_alike_and_debug_hides_the_secret() {
        let by_secret = SignedRequest::with_scheme(Scheme::Stripe, "whsec_stripe", "{}").id("d");
        let signer = Signer::new(Scheme::Stripe, "whsec_stripe").unwrap();
        let by_signer = SignedRequest::with_signer(signer, "{}").id("d");
        assert_eq!(by_secret.headers(), by_signer.headers());
        assert!(by_secret.headers().get("Stripe-Signature").is_some());
        assert!(!format!("{by_secret:?}").contains("whsec_stripe"));
    }
}
