//! [`WebhookConfig`]: how the extractors verify, registered with `app_data`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{HttpRequest, web};
use webhook_core::{Clock, EventFilter, FailureLog, Rejection, Scheme, SecretError, Verifier};

/// The default body limit: 2 MiB, as the tower layer.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The default minimum time between two warnings about failing verification: 60 s.
pub const DEFAULT_WARN_INTERVAL: Duration = Duration::from_secs(60);

type ErrorHandler = dyn Fn(Rejection, &HttpRequest) -> actix_web::Error + Send + Sync;

/// Configuration of the [`VerifiedEvent`](crate::VerifiedEvent) and
/// [`VerifiedDelivery`](crate::VerifiedDelivery) extractors.
///
/// Register it the actix way, like `JsonConfig`: `App::app_data`, `Scope::app_data` or
/// `Resource::app_data` (the innermost wins), either as is or wrapped in `web::Data`. Use one
/// form throughout: a plain `WebhookConfig` at any level is found before a `web::Data` one. There is no
/// default: an extractor that finds none answers `500` with a body naming `WebhookConfig`.
///
/// ```
/// use std::time::Duration;
/// use actix_web::{App, web};
/// use webhook_actix::WebhookConfig;
/// use webhook_core::EventFilter;
///
/// let config = WebhookConfig::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
///     .add_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")? // the previous secret, while rotating
///     .body_limit(512 * 1024)
///     .tolerance(Duration::from_secs(300))
///     .events(EventFilter::new(["organization.*", "user.login"])?);
/// assert_eq!(config.verifier().secret_count(), 2);
/// assert_eq!(config.body_limit_bytes(), 512 * 1024);
/// assert!(!config.event_filter().matches("user.logout"));
/// let app = App::new().app_data(config);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// The configuration is cloned into every worker; it holds no per-request state.
#[derive(Clone)]
pub struct WebhookConfig {
    verifier: Verifier,
    limit: usize,
    filter: EventFilter,
    error_handler: Option<Arc<ErrorHandler>>,
    failures: Arc<FailureLog>,
    source: Option<metrics::SharedString>,
}

impl fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("verifier", &self.verifier)
            .field("limit", &self.limit)
            .field("filter", &self.filter)
            .field("error_handler", &self.error_handler.is_some())
            .field("source", &self.source.as_deref())
            .finish()
    }
}

impl WebhookConfig {
    /// Verifies with `verifier` (any scheme, secrets, tolerance and clock), a 2 MiB body limit
    /// and every event type subscribed.
    pub fn new(verifier: Verifier) -> Self {
        WebhookConfig {
            verifier,
            limit: DEFAULT_BODY_LIMIT,
            filter: EventFilter::all(),
            error_handler: None,
            failures: Arc::new(FailureLog::new(DEFAULT_WARN_INTERVAL)),
            source: None,
        }
    }

    /// A Standard Webhooks configuration (Scalekit, Svix-powered senders) with one `whsec_…`
    /// secret (a `&str` or a `String`, as read from the environment).
    ///
    /// ```
    /// let secret = String::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    /// let config = webhook_actix::WebhookConfig::secret(secret)?;
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn secret(secret: impl AsRef<str>) -> Result<Self, SecretError> {
        Verifier::standard(secret.as_ref()).map(WebhookConfig::new)
    }

    /// A configuration for `scheme` accepting any of `secrets`.
    ///
    /// ```
    /// use webhook_core::Scheme;
    /// let config = webhook_actix::WebhookConfig::secrets(Scheme::Stripe, ["whsec_new", "whsec_old"])?;
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn secrets<I, S>(scheme: Scheme, secrets: I) -> Result<Self, SecretError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Verifier::with_secrets(scheme, secrets).map(WebhookConfig::new)
    }

    /// Also accepts `secret` (e.g. the previous one during a rotation).
    pub fn add_secret(mut self, secret: impl AsRef<str>) -> Result<Self, SecretError> {
        self.verifier = self.verifier.add_secret(secret.as_ref())?;
        Ok(self)
    }

    /// Sets the timestamp tolerance, both directions (default 300 s).
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        self.verifier = self.verifier.tolerance(tolerance);
        self
    }

    /// Reads "now" from `clock` when checking timestamps and for the dedupe window of
    /// [`WebhookDedupe`](crate::WebhookDedupe) (tests, replays).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.verifier = self.verifier.with_clock(clock);
        self
    }

    /// Sets the largest body accepted, in bytes (default [`DEFAULT_BODY_LIMIT`], 2 MiB). A larger
    /// `Content-Length` is refused before reading; a body without one is read up to the limit.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.limit = limit;
        self
    }

    /// Subscribes to the event types `filter` matches (default: all). Authentic deliveries of
    /// other types are acknowledged with `200` without running the handler. Deliveries whose
    /// event type cannot be read are passed on, as the tower layer does, and so is Slack's
    /// `url_verification`, whose challenge the handler must answer.
    pub fn events(mut self, filter: EventFilter) -> Self {
        self.filter = filter;
        self
    }

    /// The minimum time between two warnings about failing verification (default
    /// [`DEFAULT_WARN_INTERVAL`], 60 s). Each warning counts the failures since the last one by
    /// check and names the usual cause (a wrong or rotated secret for `signature_mismatch`), so
    /// verification that keeps failing is never silent. Clones share the count.
    pub fn warn_interval(mut self, interval: Duration) -> Self {
        self.failures = Arc::new(FailureLog::new(interval));
        self
    }

    /// Names the sender whose webhooks this configuration verifies, as the tower layer's
    /// `source`: the metrics get a `source` label, the request span a `webhook.source` field,
    /// and the warning about failing verification says whose secret to check. Without it the
    /// metrics carry no `source` label; the `scheme` label of `webhook_rejections_total` tells
    /// Stripe from GitHub, but not two Standard Webhooks senders on two routes.
    ///
    /// ```
    /// use actix_web::{App, web};
    /// use webhook_actix::WebhookConfig;
    ///
    /// let scalekit = WebhookConfig::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?.source("scalekit");
    /// let clerk = WebhookConfig::secret("whsec_c3RyYW5nZXI=")?.source("clerk");
    /// let app = App::new()
    ///     .service(web::resource("/webhooks/scalekit").app_data(scalekit))
    ///     .service(web::resource("/webhooks/clerk").app_data(clerk));
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn source(mut self, name: impl Into<Arc<str>>) -> Self {
        self.source = Some(metrics::SharedString::from(name.into()));
        // Its own count of failures: configurations cloned from one and named apart warn apart.
        self.failures = Arc::new(FailureLog::new(self.failures.interval()));
        self
    }

    /// The sender's name given to [`source`](Self::source).
    pub fn source_name(&self) -> Option<&str> {
        self.source.as_deref()
    }

    pub(crate) fn source_label(&self) -> Option<&metrics::SharedString> {
        self.source.as_ref()
    }

    /// Turns rejections into custom responses. Acknowledgements (`200` for an unsubscribed or
    /// duplicate delivery) are not passed to it. A claim an earlier extractor of the request
    /// made is released before it runs; if it panics, the request is counted as `failed`.
    ///
    /// ```
    /// use actix_web::http::StatusCode;
    /// use actix_web::{HttpResponse, error::InternalError};
    /// use webhook_actix::WebhookConfig;
    ///
    /// // Plain-text bodies instead of JSON.
    /// let config = WebhookConfig::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .error_handler(|rejection, _req| {
    ///         let status = StatusCode::from_u16(rejection.status()).unwrap_or(StatusCode::BAD_REQUEST);
    ///         let res = HttpResponse::build(status).body(rejection.code());
    ///         InternalError::from_response(rejection, res).into()
    ///     });
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn error_handler<F>(mut self, handler: F) -> Self
    where
        F: Fn(Rejection, &HttpRequest) -> actix_web::Error + Send + Sync + 'static,
    {
        self.error_handler = Some(Arc::new(handler));
        self
    }

    /// The verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.verifier
    }

    /// The body limit in bytes (named as on the tower layer).
    pub fn body_limit_bytes(&self) -> usize {
        self.limit
    }

    /// The body limit in bytes.
    #[deprecated(note = "use `body_limit_bytes`, the name the tower layer's getter has")]
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// The subscribed event types.
    pub fn event_filter(&self) -> &EventFilter {
        &self.filter
    }

    /// The configuration registered for `req`: the innermost `WebhookConfig` in `app_data`, or,
    /// when there is none, the innermost `web::Data<WebhookConfig>`.
    ///
    /// ```
    /// use actix_web::{test::TestRequest, web};
    /// use webhook_actix::WebhookConfig;
    ///
    /// let config = WebhookConfig::secret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?.source("scalekit");
    /// let req = TestRequest::default().app_data(web::Data::new(config)).to_http_request();
    /// let found = WebhookConfig::from_req(&req).map(WebhookConfig::source_name);
    /// assert_eq!(found, Some(Some("scalekit")));
    /// assert!(WebhookConfig::from_req(&TestRequest::default().to_http_request()).is_none());
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn from_req(req: &HttpRequest) -> Option<&WebhookConfig> {
        req.app_data::<WebhookConfig>().or_else(|| {
            req.app_data::<web::Data<WebhookConfig>>()
                .map(|data| data.get_ref())
        })
    }

    /// Whether the delivery passes the configured filter.
    pub(crate) fn subscribed(&self, delivery: &webhook_core::Delivery) -> bool {
        delivery.subscribed(&self.filter)
    }

    /// Converts a rejection into the error the extractor returns, through the custom handler if
    /// one is set.
    pub(crate) fn reject(&self, rejection: Rejection, req: &HttpRequest) -> actix_web::Error {
        // A delivery an earlier extractor of the request claimed is released first, uncounted:
        // this request is rejected (or failed, below) and counted once, here, not again when
        // `WebhookDedupe` completes the claim.
        crate::extract::release(req);
        // The handler first: if it panics, the request is counted as failed, not rejected.
        let unwinding = crate::observe::FailedIfUnwinding(self.source_label());
        let error = match &self.error_handler {
            Some(handler) => handler(rejection.clone(), req),
            None => crate::WebhookError::Rejected(rejection.clone()).into(),
        };
        drop(unwinding);
        crate::observe::rejected(
            &rejection,
            &self.failures,
            self.verifier.scheme(),
            self.source_label(),
        );
        error
    }
}
