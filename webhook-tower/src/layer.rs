//! [`WebhookVerify`]: the layer and its configuration.

use std::sync::Arc;
use std::time::Duration;

use tower_layer::Layer;
use webhook_core::dedupe::{DedupeStore, MemoryDedupe, forgets_too_soon};
use webhook_core::{Clock, EventFilter, FailureLog, Scheme, SecretError, Verifier};

use crate::rejection::{DefaultRejection, OnRejection};
use crate::service::WebhookVerifyService;

/// The default body limit: 2 MiB, as axum's.
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

/// The default interval between two warnings about failing verification.
const DEFAULT_WARN_INTERVAL: Duration = Duration::from_secs(60);

/// A tower [`Layer`] that verifies webhook deliveries before the inner service sees them.
///
/// See the [crate docs](crate) for what it answers. The layer and its services are cheap to
/// clone: the verifier, filter and dedupe store sit behind an `Arc` and are shared.
///
/// ```
/// use std::time::Duration;
/// use webhook_tower::WebhookVerify;
/// use webhook_tower::webhook_core::{EventFilter, Scheme, Verifier};
///
/// // Standard Webhooks (Scalekit), defaults: 2 MiB limit, in-memory dedupe, every event.
/// let layer = WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
///
/// // Any scheme, a rotation, and options.
/// let verifier = Verifier::with_secrets(Scheme::Stripe, ["whsec_new", "whsec_old"])?;
/// let layer = WebhookVerify::with_verifier(verifier)
///     .body_limit(256 * 1024)
///     .events(EventFilter::new(["invoice.*", "customer.subscription.deleted"])?)
///     .warn_interval(Duration::from_secs(300));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct WebhookVerify<R = DefaultRejection> {
    pub(crate) config: Arc<Config>,
    pub(crate) on_rejection: R,
}

/// Everything a service needs, shared by all clones.
#[derive(Clone, Debug)]
pub(crate) struct Config {
    pub(crate) verifier: Verifier,
    pub(crate) limit: usize,
    pub(crate) filter: Option<EventFilter>,
    pub(crate) dedupe: Option<Arc<dyn DedupeStore>>,
    /// Whether `dedupe` is the layer's own store, sized to the verifier's replay window (and so
    /// rebuilt when the tolerance changes), rather than one given to [`WebhookVerify::dedupe`].
    pub(crate) default_dedupe: bool,
    pub(crate) failures: Arc<FailureLog>,
    /// The sender's name for the `source` metrics label and `webhook.source` span field.
    pub(crate) source: Option<metrics::SharedString>,
}

impl WebhookVerify {
    /// A layer verifying Standard Webhooks (what Scalekit and Svix-powered senders send) with
    /// one `whsec_…` secret.
    ///
    /// # Panics
    /// If the secret is refused (see [`SecretError`](webhook_core::SecretError)): empty or
    /// blank, not valid base64 after `whsec_`, a `whsk_` signing key, or a `whpk_` key that is
    /// malformed or given without webhook-core's `ed25519` feature. A
    /// configuration error caught at start-up; use [`try_new`](WebhookVerify::try_new) to handle
    /// it instead.
    #[allow(clippy::panic)]
    pub fn new(secret: impl AsRef<str>) -> Self {
        match WebhookVerify::try_new(secret) {
            Ok(layer) => layer,
            Err(err) => panic!("WebhookVerify::new: invalid webhook secret: {err}"),
        }
    }

    /// Like [`new`](WebhookVerify::new), returning an error for an invalid secret.
    ///
    /// ```
    /// use webhook_tower::WebhookVerify;
    ///
    /// assert!(WebhookVerify::try_new("").is_err());
    /// // A `String` (from the environment, say) is taken as it is.
    /// let secret = String::from("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    /// assert!(WebhookVerify::try_new(secret).is_ok());
    /// ```
    pub fn try_new(secret: impl AsRef<str>) -> Result<Self, SecretError> {
        Ok(WebhookVerify::with_verifier(Verifier::standard(
            secret.as_ref(),
        )?))
    }

    /// A layer for `scheme` accepting a signature made with any of `secrets` (a rotation: the
    /// new secret and the old one), as `WebhookConfig::secrets` is for actix-web.
    ///
    /// ```
    /// use webhook_tower::WebhookVerify;
    /// use webhook_tower::webhook_core::Scheme;
    ///
    /// let layer = WebhookVerify::secrets(Scheme::Stripe, ["whsec_new", "whsec_old"])?;
    /// # Ok::<(), webhook_tower::webhook_core::SecretError>(())
    /// ```
    pub fn secrets<I, S>(scheme: Scheme, secrets: I) -> Result<Self, SecretError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(WebhookVerify::with_verifier(Verifier::with_secrets(
            scheme, secrets,
        )?))
    }

    /// A layer using any [`Verifier`]: every scheme, several secrets during a rotation, a custom
    /// tolerance or clock.
    ///
    /// The default dedupe store remembers successful ids for the verifier's
    /// [`replay_window`](webhook_core::dedupe::replay_window) (twice its tolerance plus a second, at least 601 s): the whole window in which a
    /// replay would verify.
    pub fn with_verifier(verifier: Verifier) -> Self {
        let dedupe: Arc<dyn DedupeStore> = Arc::new(MemoryDedupe::for_verifier(&verifier));
        WebhookVerify {
            config: Arc::new(Config {
                verifier,
                limit: DEFAULT_BODY_LIMIT,
                filter: None,
                dedupe: Some(dedupe),
                default_dedupe: true,
                failures: Arc::new(FailureLog::new(DEFAULT_WARN_INTERVAL)),
                source: None,
            }),
            on_rejection: DefaultRejection,
        }
    }
}

impl From<Verifier> for WebhookVerify {
    fn from(verifier: Verifier) -> Self {
        WebhookVerify::with_verifier(verifier)
    }
}

impl<R> WebhookVerify<R> {
    fn config_mut(&mut self) -> &mut Config {
        Arc::make_mut(&mut self.config)
    }

    /// The largest body accepted, in bytes (default [`DEFAULT_BODY_LIMIT`], 2 MiB). A larger
    /// `Content-Length` is answered 413 before reading; a streamed body is read up to the limit
    /// and then answered 413, so a request never buffers more than this. Under axum, a limit
    /// over 2 MB also needs `DefaultBodyLimit::max` for axum's own `Bytes`, `Json` and `String`
    /// extractors (see [Body types](crate#body-types)).
    ///
    /// ```
    /// # use std::{convert::Infallible, sync::Arc};
    /// # use http::{Request, Response};
    /// # use tower::{Layer, ServiceExt, service_fn};
    /// # use webhook_tower::webhook_core::{FixedClock, Signer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// use webhook_tower::{DEFAULT_BODY_LIMIT, Full, WebhookVerify};
    ///
    /// let layer = WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    /// assert_eq!(layer.body_limit_bytes(), DEFAULT_BODY_LIMIT);
    /// let layer = layer.body_limit(64 * 1024);
    /// # let handler = service_fn(|_req: Request<Full<bytes::Bytes>>| async {
    /// #     Ok::<_, Infallible>(Response::new(Full::from("ok")))
    /// # });
    /// let big = Request::post("/webhooks").header("content-length", "1048576").body(Full::<bytes::Bytes>::from("{}"))?;
    /// let res = layer.layer(handler).oneshot(big).await?;
    /// assert_eq!(res.status(), 413); // refused before the body is read
    /// # Ok(()) }
    /// ```
    pub fn body_limit(mut self, bytes: usize) -> Self {
        self.config_mut().limit = bytes;
        self
    }

    /// Only pass on events whose type matches `filter`; others are answered 200 without calling
    /// the inner service (the sender stops retrying them). Deliveries without an event type are
    /// always passed on, and so is Slack's `url_verification`, whose challenge the handler must
    /// answer ([`Delivery::subscribed`](webhook_core::Delivery::subscribed)).
    ///
    /// ```
    /// # use std::{convert::Infallible, sync::Arc};
    /// # use http::{Request, Response};
    /// # use tower::{Layer, ServiceExt, service_fn};
    /// # use webhook_tower::webhook_core::{FixedClock, Signer};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    /// # use http_body_util::BodyExt;
    /// use webhook_tower::{Full, WebhookVerify};
    /// use webhook_tower::webhook_core::EventFilter;
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let layer = WebhookVerify::new(secret)
    ///     .events(EventFilter::new(["organization.*"])?)
    ///     .clock(Arc::new(FixedClock(1_700_000_000)));
    /// let handler = service_fn(|_req: Request<Full<bytes::Bytes>>| async {
    ///     Ok::<_, Infallible>(Response::new(Full::from("handled")))
    /// });
    ///
    /// let body = r#"{"type":"user.login"}"#;
    /// let mut req = Request::post("/webhooks").body(Full::<bytes::Bytes>::from(body))?;
    /// *req.headers_mut() = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, body.as_bytes()).into();
    /// let res = layer.layer(handler).oneshot(req).await?;
    /// assert_eq!(res.status(), 200); // acknowledged, the handler not called
    /// assert_eq!(res.into_body().collect().await?.to_bytes(), r#"{"status":"unsubscribed"}"#);
    /// # Ok(()) }
    /// ```
    pub fn events(mut self, filter: EventFilter) -> Self {
        self.config_mut().filter = Some(filter);
        self
    }

    /// Uses `store` to recognise duplicates and replays instead of the default in-memory store
    /// (one per layer, 100 000 ids). The store answers synchronously, from memory (see
    /// [`DedupeStore`]); across processes, deduplicate in a durable inbox behind the layer.
    ///
    /// ```
    /// use webhook_tower::WebhookVerify;
    /// use webhook_tower::webhook_core::dedupe::MemoryDedupe;
    ///
    /// let layer = WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    ///     .dedupe(MemoryDedupe::with_capacity(1_000_000));
    /// ```
    ///
    /// A store that forgets deliveries sooner than the verifier's [`replay_window`](webhook_core::dedupe::replay_window) is logged
    /// as a warning: a replay arriving in between would run the handler again.
    pub fn dedupe<D: DedupeStore + 'static>(mut self, store: D) -> Self {
        warn_if_forgetful(&store, &self.config.verifier);
        let config = self.config_mut();
        config.dedupe = Some(Arc::new(store));
        config.default_dedupe = false;
        self
    }

    /// Turns duplicate detection off, e.g. when a durable inbox deduplicates behind the layer.
    /// Signatures and timestamps are still checked.
    pub fn without_dedupe(mut self) -> Self {
        let config = self.config_mut();
        config.dedupe = None;
        config.default_dedupe = false;
        self
    }

    /// Also accepts deliveries signed with `secret`, in the verifier's scheme: during a
    /// rotation, the old and the new secret both verify (the
    /// [`Delivery`](webhook_core::Delivery)'s `verified().secret_index()` says which matched).
    ///
    /// ```
    /// use webhook_tower::WebhookVerify;
    ///
    /// let layer = WebhookVerify::try_new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .add_secret("whsec_c3RyYW5nZXI=")?;
    /// assert_eq!(layer.verifier().secret_count(), 2);
    /// # Ok::<(), webhook_tower::webhook_core::SecretError>(())
    /// ```
    pub fn add_secret(mut self, secret: impl AsRef<str>) -> Result<Self, SecretError> {
        let config = self.config_mut();
        config.verifier = config.verifier.clone().add_secret(secret.as_ref())?;
        Ok(self)
    }

    /// Sets the timestamp tolerance, both directions (default 300 s). The layer's own dedupe
    /// store follows: it remembers ids for the new [`replay_window`](webhook_core::dedupe::replay_window); a store given to
    /// [`dedupe`](WebhookVerify::dedupe) that forgets them sooner is warned about.
    ///
    /// ```
    /// use std::time::Duration;
    /// use webhook_tower::WebhookVerify;
    ///
    /// let layer = WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    ///     .tolerance(Duration::from_secs(60));
    /// assert_eq!(layer.verifier().tolerance_secs(), Some(60));
    /// ```
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        let config = self.config_mut();
        config.verifier = config.verifier.clone().tolerance(tolerance);
        if config.default_dedupe {
            config.dedupe = Some(Arc::new(MemoryDedupe::for_verifier(&config.verifier)));
        } else if let Some(store) = &config.dedupe {
            warn_if_forgetful(store, &config.verifier);
        }
        self
    }

    /// Uses `clock` for the timestamp check and the dedupe store (tests, replays).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use webhook_tower::WebhookVerify;
    /// use webhook_tower::webhook_core::FixedClock;
    ///
    /// let layer = WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
    ///     .clock(Arc::new(FixedClock(1_700_000_000)));
    /// assert_eq!(layer.verifier().clock().now_unix(), 1_700_000_000);
    /// ```
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        let config = self.config_mut();
        config.verifier = config.verifier.clone().with_clock(clock);
        self
    }

    /// The minimum time between two warnings about failing verification (default 60 s).
    pub fn warn_interval(mut self, interval: Duration) -> Self {
        self.config_mut().failures = Arc::new(FailureLog::new(interval));
        self
    }

    /// Names the sender whose webhooks this layer guards: the metrics get a `source` label, the
    /// request span a `webhook.source` field, and the warning about failing verification says
    /// whose secret to check. Without it the metrics carry no `source` label; the `scheme`
    /// label of `webhook_rejections_total` tells Stripe from GitHub, but not two Standard
    /// Webhooks senders (Scalekit and Clerk, say) on two routes.
    ///
    /// ```
    /// use axum::{Router, routing::post};
    /// use webhook_tower::WebhookVerify;
    ///
    /// # async fn scalekit() {}
    /// # async fn clerk() {}
    /// let app: Router = Router::new()
    ///     .route("/webhooks/scalekit", post(scalekit).route_layer(
    ///         WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").source("scalekit"),
    ///     ))
    ///     .route("/webhooks/clerk", post(clerk).route_layer(
    ///         WebhookVerify::new("whsec_c3RyYW5nZXI=").source("clerk"),
    ///     ));
    /// ```
    ///
    /// A named layer builds its metrics keys per request (one small allocation each); an
    /// unnamed one uses static keys.
    pub fn source(mut self, name: impl Into<Arc<str>>) -> Self {
        let config = self.config_mut();
        config.source = Some(metrics::SharedString::from(name.into()));
        // Its own count of failures: layers cloned from one and named apart warn apart.
        config.failures = Arc::new(FailureLog::new(config.failures.interval()));
        self
    }

    /// The sender's name given to [`source`](Self::source).
    pub fn source_name(&self) -> Option<&str> {
        self.config.source.as_deref()
    }

    /// Answers rejections with `on_rejection` instead of the default JSON body.
    pub fn on_rejection<T: OnRejection>(self, on_rejection: T) -> WebhookVerify<T> {
        WebhookVerify {
            config: self.config,
            on_rejection,
        }
    }

    /// The verifier in use.
    pub fn verifier(&self) -> &Verifier {
        &self.config.verifier
    }

    /// The body limit in bytes.
    pub fn body_limit_bytes(&self) -> usize {
        self.config.limit
    }

    /// The subscribed event types, when [`events`](Self::events) narrowed them (`None`: all).
    ///
    /// ```
    /// use webhook_tower::WebhookVerify;
    /// use webhook_tower::webhook_core::EventFilter;
    ///
    /// let layer = WebhookVerify::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
    /// assert!(layer.event_filter().is_none());
    /// let layer = layer.events(EventFilter::new(["organization.*"])?);
    /// assert!(layer.event_filter().is_some_and(|f| f.matches("organization.created")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn event_filter(&self) -> Option<&EventFilter> {
        self.config.filter.as_ref()
    }
}

impl<R> std::fmt::Debug for WebhookVerify<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookVerify")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl<S, R: Clone> Layer<S> for WebhookVerify<R> {
    type Service = WebhookVerifyService<S, R>;

    fn layer(&self, inner: S) -> Self::Service {
        WebhookVerifyService::new(inner, self.config.clone(), self.on_rejection.clone())
    }
}

/// Warns when `store` forgets deliveries before `verifier`'s signatures expire: a replay in
/// between would run the handler again.
fn warn_if_forgetful(store: &dyn DedupeStore, verifier: &Verifier) {
    if let Some((ttl, window)) = forgets_too_soon(store, verifier) {
        tracing::warn!(
            remembers_secs = ttl.as_secs(),
            replay_window_secs = window.as_secs(),
            "the webhook dedupe store forgets deliveries before their signatures expire; a replay in between runs the handler again"
        );
    }
}
