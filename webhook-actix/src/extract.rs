//! The extractors: [`VerifiedEvent`] (typed) and [`VerifiedDelivery`] (raw).

use std::fmt;
use std::ops::{Deref, DerefMut};

use actix_web::{FromRequest, HttpMessage as _, HttpRequest, dev};
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use std::sync::atomic::{AtomicBool, Ordering};
use tracing::Instrument as _;

use webhook_core::dedupe::{Claim, forgets_too_soon};
use webhook_core::{Delivery, Rejection};

use crate::body::{check_declared, read_limited};
use crate::dedupe::DedupeScope;
use crate::{ActixHeaders, WebhookConfig, WebhookError};

const MISSING_CONFIG: &str = "no `WebhookConfig` registered for this route: add `.app_data(WebhookConfig::secret(..)?)` \
     (or `web::Data<WebhookConfig>`) to the App, scope or resource";

/// A verified delivery whose JSON body was deserialized into `T`.
///
/// Extraction reads the raw body (up to the configured limit), verifies it with the
/// [`WebhookConfig`] found in `app_data`, acknowledges unsubscribed event types with `200`,
/// under [`WebhookDedupe`](crate::WebhookDedupe) answers duplicates `200` and in-flight repeats
/// `409` (before typing: a duplicate is acknowledged even if `T` no longer fits it), then
/// deserializes `T` with [`Delivery::json`] (`422` naming the field on mismatch, without echoing
/// values from the body). The handler only runs for a new, authentic, subscribed delivery. It consumes the body, so it
/// must be the only body extractor of the handler.
///
/// `T` is whatever the sender sends: [`webhook_core::Event<…>`](webhook_core::Event) is
/// Scalekit's envelope only; for another sender take your own type (as below) or
/// `serde_json::Value`.
///
/// **Never take it as `Option<VerifiedEvent<T>>`.** actix-web's blanket
/// `impl<T: FromRequest> FromRequest for Option<T>` turns *every* extraction error into `None`:
/// a forged signature (401), missing or malformed headers (400), an over-long body (413), a body
/// that does not fit `T` (422), a missing [`WebhookConfig`] (500), and the acknowledgements
/// (`200` for a duplicate or an unsubscribed type, `409` in flight) alike. The handler then runs
/// for an unverified request and answers it `200`. (In axum, `Option` only means "no layer on
/// this route": the layer still refuses a forgery with 401 there.) Take it as is and customise
/// the answers with [`WebhookConfig::error_handler`], or take
/// `Result<VerifiedEvent<T>, actix_web::Error>` to see the rejection, and return the error
/// (`event?`) unless you answer it yourself; an error that is a [`WebhookError`] whose
/// [`is_acknowledgement`](WebhookError::is_acknowledgement) is true is one of the `200`
/// acknowledgements. `tests/option.rs` pins this behaviour. For several event types
/// on one route, take [`VerifiedDelivery`] and call [`Delivery::json`] per type: actix-web's
/// `Either` buffers the body itself first, under `PayloadConfig`'s limit rather than the
/// configured one.
///
/// It carries the delivery beside the event, so it is not a one-field tuple struct like
/// `web::Json`: take the event with `*`/[`Deref`], [`into_inner`](Self::into_inner) or
/// [`into_parts`](Self::into_parts).
///
/// ```
/// # use actix_web::{App, test, web};
/// # use webhook_actix::{WebhookConfig, testing::SignedRequest};
/// # #[actix_web::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use actix_web::HttpResponse;
/// use serde::Deserialize;
/// use webhook_actix::VerifiedEvent;
///
/// #[derive(Deserialize)]
/// struct OrgCreated { r#type: String, data: serde_json::Value }
///
/// async fn handle(event: VerifiedEvent<OrgCreated>) -> HttpResponse {
///     let (created, delivery) = event.into_parts();
///     HttpResponse::Ok().body(format!("{} {}", created.r#type, delivery.id().unwrap_or("-")))
/// }
/// # const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// # let app = App::new().app_data(WebhookConfig::secret(SECRET)?).route("/", web::post().to(handle));
/// # let app = test::init_service(app).await;
///
/// let req = SignedRequest::new(SECRET, r#"{"type":"organization.created","data":{}}"#).id("msg_1");
/// let res = test::call_service(&app, req.to_request()).await;
/// assert_eq!(test::read_body(res).await, "organization.created msg_1");
/// let res = test::call_service(&app, req.tamper_signature().to_request()).await;
/// assert_eq!(res.status(), 401); // the handler never ran
/// # Ok(()) }
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct VerifiedEvent<T> {
    event: T,
    delivery: Delivery,
}

impl<T> VerifiedEvent<T> {
    /// The deserialized body.
    pub fn into_inner(self) -> T {
        self.event
    }

    /// The verified delivery: raw body, id, timestamp, scheme, event type.
    pub fn delivery(&self) -> &Delivery {
        &self.delivery
    }

    /// The deserialized body and the delivery.
    pub fn into_parts(self) -> (T, Delivery) {
        (self.event, self.delivery)
    }
}

impl<T> Deref for VerifiedEvent<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.event
    }
}

impl<T> DerefMut for VerifiedEvent<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.event
    }
}

impl<T: fmt::Debug> fmt::Debug for VerifiedEvent<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerifiedEvent")
            .field("event", &self.event)
            .field("delivery", &self.delivery)
            .finish()
    }
}

impl<T: DeserializeOwned + 'static> FromRequest for VerifiedEvent<T> {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        // Claimed before parsing: a duplicate is acknowledged even when `T` no longer fits the
        // body (a stricter type deployed since), and is not parsed at all. A 422 then completes
        // the claim as failed (`reject` releases it, so the request is counted once, as
        // rejected).
        extract(req, payload, |req, config, delivery| {
            let event = delivery
                .json::<T>()
                .map_err(|e| config.reject(e.into(), req))?;
            Ok(VerifiedEvent { event, delivery })
        })
    }
}

/// A verified delivery, body left raw: the [`Delivery`] with the exact bytes, id, timestamp,
/// scheme and event type.
///
/// Behaves as [`VerifiedEvent`] without the deserialization step. **Never take it as
/// `Option<VerifiedDelivery>`**: actix-web's blanket `Option<T: FromRequest>` impl turns every
/// rejection (a forged signature's 401, missing headers' 400, …) into `None` and the handler
/// answers an unverified request. Take `Result<VerifiedDelivery, actix_web::Error>` to see the
/// rejection.
///
/// ```
/// # use actix_web::{App, test, web};
/// # use webhook_actix::{WebhookConfig, testing::SignedRequest};
/// # use webhook_actix::webhook_core::Scheme;
/// # #[actix_web::main]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use actix_web::HttpResponse;
/// use webhook_actix::VerifiedDelivery;
///
/// async fn handle(delivery: VerifiedDelivery) -> HttpResponse {
///     let raw: &[u8] = delivery.body(); // the exact bytes that were verified
///     let event_type = delivery.event_type().unwrap_or("-");
///     HttpResponse::Ok().body(format!("{} {event_type}: {} bytes", delivery.scheme(), raw.len()))
/// }
///
/// let config = WebhookConfig::secrets(Scheme::GitHub, ["gh-secret"])?;
/// # let app = App::new().app_data(config).route("/", web::post().to(handle));
/// # let app = test::init_service(app).await;
/// let req = SignedRequest::with_scheme(Scheme::GitHub, "gh-secret", r#"{"action":"opened"}"#)
///     .header("X-GitHub-Event", "issues");
/// let res = test::call_service(&app, req.to_request()).await;
/// assert_eq!(test::read_body(res).await, "github issues.opened: 19 bytes");
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedDelivery(pub Delivery);

impl VerifiedDelivery {
    /// The delivery.
    pub fn into_inner(self) -> Delivery {
        self.0
    }
}

impl Deref for VerifiedDelivery {
    type Target = Delivery;
    fn deref(&self) -> &Delivery {
        &self.0
    }
}

impl FromRequest for VerifiedDelivery {
    type Error = actix_web::Error;
    type Future = LocalBoxFuture<'static, Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, payload: &mut dev::Payload) -> Self::Future {
        extract(req, payload, |_, _, delivery| {
            Ok(VerifiedDelivery(delivery))
        })
    }
}

/// What both extractors do: in the request's `webhook` span, reads, verifies, filters and
/// claims the delivery, then `finish` makes the extractor of it.
fn extract<T: 'static>(
    req: &HttpRequest,
    payload: &mut dev::Payload,
    finish: fn(&HttpRequest, &WebhookConfig, Delivery) -> Result<T, actix_web::Error>,
) -> LocalBoxFuture<'static, Result<T, actix_web::Error>> {
    let req = req.clone();
    let payload = payload.take();
    let span = request_span(&req);
    Box::pin(
        async move {
            let config = config(&req)?;
            crate::observe::record_source(config.source_label());
            let delivery = verified(&req, config, payload).await?;
            claim(&req, config, &delivery)?;
            finish(&req, config, delivery)
        }
        .instrument(span),
    )
}

/// The `webhook` span [`WebhookDedupe`](crate::WebhookDedupe) opened for the request, else a
/// new one for the extractor's own work.
fn request_span(req: &HttpRequest) -> tracing::Span {
    req.extensions()
        .get::<crate::observe::WebhookSpan>()
        .map_or_else(crate::observe::span, |s| s.0.clone())
}

fn config(req: &HttpRequest) -> Result<&WebhookConfig, actix_web::Error> {
    WebhookConfig::from_req(req).ok_or_else(|| {
        // Logged once per process (each delivery would repeat it), counted every time.
        static LOGGED: AtomicBool = AtomicBool::new(false);
        if !LOGGED.swap(true, Ordering::Relaxed) {
            tracing::error!(path = req.path(), "{MISSING_CONFIG}");
        }
        let rejection = Rejection::Misconfigured(MISSING_CONFIG);
        crate::observe::count_rejection(&rejection, None, None);
        WebhookError::Rejected(rejection).into()
    })
}

/// Reads, verifies and filters.
async fn verified(
    req: &HttpRequest,
    config: &WebhookConfig,
    payload: dev::Payload,
) -> Result<Delivery, actix_web::Error> {
    // A body over the limit by its `Content-Length`, then headers that can never verify
    // (missing, malformed, a stale timestamp): both refused before the body is read.
    check_declared(req, config.body_limit_bytes()).map_err(|r| config.reject(r, req))?;
    let headers = ActixHeaders(req.headers());
    let verifier = config.verifier();
    verifier
        .check_headers_at(&headers, verifier.clock().now_unix())
        .map_err(|e| config.reject(e.into(), req))?;
    let body = read_limited(req, payload, config.body_limit_bytes())
        .await
        .map_err(|r| config.reject(r, req))?;
    let started = std::time::Instant::now();
    let verified = verifier.verify_delivery(&headers, body);
    crate::observe::verify_time(started.elapsed(), config.source_label());
    let delivery = verified.map_err(|e| config.reject(e.into(), req))?;
    crate::observe::record_delivery(&delivery);
    if !config.subscribed(&delivery) {
        crate::observe::finish(crate::observe::outcome::UNSUBSCRIBED, config.source_label());
        tracing::debug!(
            event_type = delivery.event_type(),
            "webhook event type not subscribed; acknowledged"
        );
        return Err(WebhookError::Unsubscribed {
            event_type: delivery.event_type().map(str::to_owned),
        }
        .into());
    }
    Ok(delivery)
}

/// Warns once per process when the dedupe store forgets deliveries before their signatures
/// expire (the store is built apart from the config, so this is the first place both meet).
fn warn_if_forgetful(scope: &DedupeScope, config: &WebhookConfig) {
    static WARNED: AtomicBool = AtomicBool::new(false);
    if let Some((ttl, window)) = forgets_too_soon(scope.store(), config.verifier())
        && !WARNED.swap(true, Ordering::Relaxed)
    {
        tracing::warn!(
            remembers_secs = ttl.as_secs(),
            replay_window_secs = window.as_secs(),
            "the webhook dedupe store forgets deliveries before their signatures expire; a replay in between runs the handler again: build it with WebhookDedupe::memory_for(&config)"
        );
    }
}

/// Completes the request's claim, if any, as failed: the sender's retry runs again.
pub(crate) fn release(req: &HttpRequest) {
    let scope = req.extensions().get::<DedupeScope>().cloned();
    if let Some(scope) = scope {
        scope.complete(false);
    }
}

/// Claims the delivery when [`WebhookDedupe`](crate::WebhookDedupe) wraps the route.
fn claim(
    req: &HttpRequest,
    config: &WebhookConfig,
    delivery: &Delivery,
) -> Result<(), actix_web::Error> {
    let Some(scope) = req.extensions().get::<DedupeScope>().cloned() else {
        return Ok(());
    };
    warn_if_forgetful(&scope, config);
    let key = delivery.dedupe_key();
    match scope.claim(
        key.clone(),
        config.verifier().clock(),
        config.source_label(),
    ) {
        Claim::New => Ok(()),
        Claim::Duplicate => {
            crate::observe::finish(crate::observe::outcome::DUPLICATE, config.source_label());
            tracing::debug!(key, "webhook delivery already processed; acknowledged");
            Err(WebhookError::Duplicate { key }.into())
        }
        Claim::InFlight => Err(config.reject(Rejection::InFlight, req)),
    }
}
