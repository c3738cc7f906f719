//! [`Delivery`]: a verified delivery with its raw body, event type and deduplication key.

use std::sync::OnceLock;

use bytes::Bytes;
use serde::Deserialize;
use sha2::{Digest as _, Sha256};

use crate::headers::{SHOPIFY_EVENT_ID, SHOPIFY_TOPIC};
use crate::top_level::{self, Scalar};
use crate::{Headers, KeptHeaders, Scheme, Verified, Verifier, VerifyError};

/// A verified delivery: what a receiver stores, routes and hands to its handlers.
///
/// It keeps the exact body bytes (shared, never copied), the [`Verified`] facts, the event type
/// (read from the body or a header, depending on the sender) and the headers needed to verify it
/// again later (replays, forensics).
///
/// ```
/// use webhook_core::{Signer, Verifier};
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let body = br#"{"id":"evt_1","type":"organization.created","data":{}}"#;
/// let headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, body);
///
/// let verifier = Verifier::standard(secret)?.without_timestamp_check();
/// let delivery = verifier.verify_delivery(&headers, body.to_vec().into())?;
/// assert_eq!(delivery.event_type(), Some("organization.created"));
/// assert_eq!(delivery.dedupe_key(), "standard:msg_1");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Delivery {
    verified: Verified,
    body: Bytes,
    /// Read from the body (or headers) on first use, each by a scan that stops at its field: a
    /// receiver that neither filters nor stores never scans the body here.
    event_type: OnceLock<Option<String>>,
    event_id: OnceLock<Option<String>>,
    headers: KeptHeaders,
}

/// Equal when verified alike with the same body and kept headers; what has been read from the
/// body so far (a cache) does not count.
impl PartialEq for Delivery {
    fn eq(&self, other: &Self) -> bool {
        self.verified == other.verified && self.body == other.body && self.headers == other.headers
    }
}

impl Eq for Delivery {}

/// Never the body or the header values (the signature among them): a `Debug` print ends up in
/// logs.
impl std::fmt::Debug for Delivery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Delivery")
            .field("verified", &self.verified)
            .field("event_type", &self.event_type())
            .field("body_len", &self.body.len())
            .field("headers", &self.headers)
            .finish()
    }
}

impl Verifier {
    /// Verifies a delivery and, on success, returns it as a [`Delivery`] that owns the body.
    ///
    /// ```
    /// use webhook_core::bytes::Bytes;
    /// use webhook_core::{Scheme, Signer, Verifier};
    ///
    /// let body = Bytes::from_static(br#"{"id":"evt_1NG8Du2eZvKYlo2CUI79vXWy","type":"invoice.paid"}"#);
    /// let headers = Signer::new(Scheme::Stripe, "whsec_test_secret")?.sign("", 1_700_000_000, &body);
    /// let verifier = Verifier::new(Scheme::Stripe, "whsec_test_secret")?.without_timestamp_check();
    ///
    /// let delivery = verifier.verify_delivery(&headers, body.clone())?;
    /// assert_eq!(delivery.event_type(), Some("invoice.paid"));
    /// assert_eq!(delivery.event_id(), Some("evt_1NG8Du2eZvKYlo2CUI79vXWy"));
    /// assert_eq!(delivery.body(), &body); // the same bytes, not a copy
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_delivery<H: Headers + ?Sized>(
        &self,
        headers: &H,
        body: Bytes,
    ) -> Result<Delivery, VerifyError> {
        self.verify_delivery_at(headers, body, self.clock().now_unix())
    }

    /// [`verify_delivery`](Verifier::verify_delivery) as if the time were `now` (Unix seconds).
    pub fn verify_delivery_at<H: Headers + ?Sized>(
        &self,
        headers: &H,
        body: Bytes,
        now: i64,
    ) -> Result<Delivery, VerifyError> {
        let (verified, parts) = self.verify_parts(headers, &body, now)?;
        // The headers the verifier just read are kept as read, without a second lookup.
        let kept = match parts.standard_headers() {
            Some(read) => KeptHeaders::from_values(&read),
            None => KeptHeaders::from_request(
                self.scheme(),
                Some(self.signature_header_name()),
                headers,
            ),
        };
        Ok(Delivery {
            verified,
            body,
            event_type: OnceLock::new(),
            event_id: OnceLock::new(),
            headers: kept,
        })
    }
}

impl Delivery {
    /// Wraps an already verified body. `headers` are the request's headers; the ones the scheme
    /// signs, and the sender's event-type header, are kept. With [`Verified::new`], it builds
    /// the deliveries a test of a handler needs, without signing anything.
    ///
    /// ```
    /// use webhook_core::bytes::Bytes;
    /// use webhook_core::{Delivery, Scheme, Verified};
    ///
    /// let verified = Verified::new(Scheme::GitHub, Some("72d3162e".into()), None, 0);
    /// let headers = [("x-github-event", "issues"), ("user-agent", "GitHub-Hookshot/044aadd")];
    /// let body = Bytes::from_static(br#"{"action":"opened","issue":{"number":1347}}"#);
    /// let delivery = Delivery::new(verified, &headers, body);
    ///
    /// assert_eq!(delivery.event_type(), Some("issues.opened"));
    /// assert_eq!(delivery.headers().get("user-agent"), None); // not kept
    /// ```
    pub fn new<H: Headers + ?Sized>(verified: Verified, headers: &H, body: Bytes) -> Self {
        Delivery {
            headers: KeptHeaders::from_request(verified.scheme(), None, headers),
            verified,
            body,
            event_type: OnceLock::new(),
            event_id: OnceLock::new(),
        }
    }

    /// What verification established.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// The scheme the delivery was verified under.
    pub fn scheme(&self) -> Scheme {
        self.verified.scheme()
    }

    /// The sender's delivery id from the headers (see [`Verified::id`]).
    pub fn id(&self) -> Option<&str> {
        self.verified.id()
    }

    /// The event's own id, if any: from the body (`id`, or `event_id` for Paddle and Slack:
    /// Scalekit's and Stripe's `evt_…`), or for Shopify the `X-Shopify-Event-Id` header, the same
    /// on every webhook Shopify sends for one event (one per subscription to its topic). GitHub's
    /// bodies carry no event id (its delivery id is [`id`](Delivery::id)), and a Shopify body's
    /// `id` is the order's or the product's, not the event's: neither is read.
    ///
    /// Only the body's head is read: the scan stops at the first top-level `id` (`event_id`).
    ///
    /// ```
    /// use webhook_core::{Scheme, Signer, Verifier};
    ///
    /// let body = br#"{"event_id":"evt_01hv8x2acma2gz8s5e3nxzdn8g","event_type":"transaction.paid"}"#;
    /// let headers = Signer::new(Scheme::Paddle, "pdl_ntfset_secret")?.sign("", 1_700_000_000, body);
    /// let delivery = Verifier::new(Scheme::Paddle, "pdl_ntfset_secret")?
    ///     .verify_delivery_at(&headers, body.to_vec().into(), 1_700_000_000)?;
    /// assert_eq!(delivery.event_id(), Some("evt_01hv8x2acma2gz8s5e3nxzdn8g"));
    /// assert_eq!(delivery.id(), None); // Paddle sends no delivery-id header
    /// assert_eq!(delivery.dedupe_key(), "paddle:evt_01hv8x2acma2gz8s5e3nxzdn8g");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn event_id(&self) -> Option<&str> {
        self.event_id
            .get_or_init(|| match self.scheme() {
                Scheme::Paddle | Scheme::Slack => top_level::string(&self.body, "event_id"),
                Scheme::Shopify => self
                    .first_header(SHOPIFY_EVENT_ID)
                    .map(str::trim)
                    .filter(|id| !id.is_empty())
                    .map(str::to_owned),
                Scheme::GitHub => None,
                _ => match top_level::field(&self.body, "id")? {
                    Scalar::Str(id) => Some(id),
                    Scalar::Int(id) => Some(id.to_string()),
                    Scalar::Other => None,
                },
            })
            .as_deref()
    }

    /// The exact body bytes that were verified.
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// The event type: the body's `type` (Scalekit, Standard Webhooks, Stripe), `event_type`
    /// (Paddle), `X-GitHub-Event` joined with the body's `action` (`issues.opened`),
    /// `X-Shopify-Topic` (`orders/create`), or for Slack the inner `event.type` of an Events API
    /// `event_callback` (`app_mention`), as Bolt routes it, else the body's `type`
    /// (`url_verification`).
    ///
    /// Only the body's head is read: the scan stops at the first top-level `type` (`event_type`,
    /// `action`), so naming an event whose type comes before its data costs little whatever the
    /// body's size. A body with the key twice is named by the first (a `serde_json::Value` keeps
    /// the last; the typed envelopes refuse such a body).
    ///
    /// GitHub and Shopify sign neither header: someone holding a captured delivery can resend it
    /// under another `X-GitHub-Event` or `X-Shopify-Topic`, and it still verifies. Route on what
    /// the body says where the event type matters. A GitHub delivery sent form-encoded (the
    /// `application/x-www-form-urlencoded` content type) has no readable `action`: it is named by
    /// `X-GitHub-Event` alone, so choose JSON in the webhook's settings.
    ///
    /// ```
    /// use webhook_core::{Scheme, Signer, Verifier};
    ///
    /// let body = br#"{"action":"opened","pull_request":{"number":42}}"#;
    /// let mut headers = Signer::new(Scheme::GitHub, "gh-secret")?.sign("72d3162e", 0, body);
    /// headers.set("X-GitHub-Event", "pull_request");
    /// let delivery = Verifier::new(Scheme::GitHub, "gh-secret")?
    ///     .verify_delivery(&headers, body.to_vec().into())?;
    /// assert_eq!(delivery.event_type(), Some("pull_request.opened"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn event_type(&self) -> Option<&str> {
        self.event_type
            .get_or_init(|| {
                let body = &self.body;
                match self.scheme() {
                    Scheme::GitHub => self.headers.get("x-github-event").map(|event| {
                        match top_level::string(body, "action") {
                            Some(action) => format!("{event}.{action}"),
                            None => event.to_owned(),
                        }
                    }),
                    Scheme::Shopify => self.first_header(SHOPIFY_TOPIC).map(str::to_owned),
                    Scheme::Paddle => top_level::string(body, "event_type")
                        .or_else(|| top_level::string(body, "type")),
                    Scheme::Slack => {
                        let kind = top_level::string(body, "type")?;
                        if kind == "event_callback" {
                            top_level::nested_string(body, "event", "type").or(Some(kind))
                        } else {
                            Some(kind)
                        }
                    }
                    _ => top_level::string(body, "type"),
                }
            })
            .as_deref()
    }

    /// Whether the delivery passes `filter`, as the tower layer and the actix extractors decide
    /// before calling the handler: a delivery without an event type passes (the filter cannot
    /// tell), and so does Slack's `url_verification`, whose challenge Slack must get back before
    /// it sends any event to the endpoint.
    ///
    /// ```
    /// use webhook_core::{EventFilter, Scheme, Signer, Verifier};
    ///
    /// let filter = EventFilter::new(["app_mention"])?;
    /// let body = br#"{"type":"url_verification","challenge":"c"}"#;
    /// let headers = Signer::new(Scheme::Slack, "8f742231b10e8888abcd99yyyzzz85a5")?.sign("", 1_700_000_000, body);
    /// let delivery = Verifier::new(Scheme::Slack, "8f742231b10e8888abcd99yyyzzz85a5")?
    ///     .verify_delivery_at(&headers, body.to_vec().into(), 1_700_000_000)?;
    /// assert_eq!(delivery.event_type(), Some("url_verification"));
    /// assert!(delivery.subscribed(&filter));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn subscribed(&self, filter: &crate::EventFilter) -> bool {
        if filter.matches_all() {
            return true;
        }
        match self.event_type() {
            None => true,
            Some(event_type) => {
                filter.matches(event_type)
                    || (self.scheme() == Scheme::Slack && event_type == "url_verification")
            }
        }
    }

    /// The headers kept for re-verification and routing, lowercase names.
    pub fn headers(&self) -> &KeptHeaders {
        &self.headers
    }

    /// A key that is the same for every retry of the same delivery and differs between
    /// deliveries: `{scheme}:{id}` from the sender's delivery-id header; else
    /// `{scheme}:{event id}` from the body (Stripe, Paddle, Slack); else `{scheme}:sha256:{hex}`
    /// of the body. Shopify's id is `X-Shopify-Webhook-Id`, the idempotency key of Shopify's own
    /// app libraries: one per webhook, so that each subscription to a topic gets its delivery
    /// even though they share one `X-Shopify-Event-Id`, the fallback when it is missing.
    ///
    /// The timestamped scheme signs the body but not `webhook-id`, so its key comes from the
    /// body only (event id, else hash): a key from that header would let a captured delivery
    /// through again, within the tolerance, under a new id. GitHub's and Shopify's id headers
    /// are not signed either, and those senders sign no timestamp: their keys stop the sender's
    /// retries, not a replay by someone who captured a request (see the security notes). Their
    /// keys are `{scheme}:{id}:{hash}`, with the first 32 hex digits of the body's SHA-256: the
    /// sender's retries (same id, same body) share it, while a captured delivery resent under
    /// another delivery's id gets a key of its own, and cannot mark that delivery as handled
    /// (its retry would then be dropped as a duplicate).
    ///
    /// ```
    /// use webhook_core::{Scheme, Signer, Verifier};
    ///
    /// let body = br#"{"action":"opened","issue":{"number":1347}}"#;
    /// let signer = Signer::new(Scheme::GitHub, "gh-secret")?;
    /// let verifier = Verifier::new(Scheme::GitHub, "gh-secret")?;
    /// let key = |id: &str| -> Result<String, webhook_core::VerifyError> {
    ///     let headers = signer.sign(id, 0, body);
    ///     Ok(verifier.verify_delivery(&headers, body.to_vec().into())?.dedupe_key())
    /// };
    /// // `github:{X-GitHub-Delivery}:{32 hex digits of the body's SHA-256}`
    /// assert!(key("72d3162e")?.starts_with("github:72d3162e:"));
    /// assert_eq!(key("72d3162e")?, key("72d3162e")?); // GitHub's retry: a duplicate
    /// assert_ne!(key("72d3162e")?, key("8a1b2c3d")?);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dedupe_key(&self) -> String {
        let scheme = self.scheme();
        let id = match scheme {
            Scheme::Timestamped => self.event_id(),
            _ => self.id().or_else(|| self.event_id()),
        };
        let body_hash = || hex::encode(Sha256::digest(&self.body));
        match id {
            Some(id) if matches!(scheme, Scheme::GitHub | Scheme::Shopify) => {
                let mut hash = body_hash();
                hash.truncate(32);
                format!("{}:{id}:{hash}", scheme.as_str())
            }
            Some(id) => scheme.dedupe_key(id),
            None => format!("{}:sha256:{}", scheme.as_str(), body_hash()),
        }
    }

    /// Gives the body back, dropping the rest.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// The first of a header's names that was sent.
    fn first_header(&self, names: [&str; 2]) -> Option<&str> {
        names.into_iter().find_map(|name| self.headers.get(name))
    }
}

impl Delivery {
    /// Parses the verified body as JSON into `T`; on failure, an [`EventError`](crate::EventError)
    /// (422) that names the failing field. `T` may borrow from the body.
    ///
    /// [`Event<T>`](crate::Event) is Scalekit's envelope, as below; for another sender's body
    /// take your own type or `serde_json::Value`.
    ///
    /// ```
    /// use webhook_core::{Event, Signer, Verifier};
    /// use webhook_core::scalekit::{samples, DirectoryUser};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let body = samples::sample("organization.directory.user_created").unwrap();
    /// let headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, body.as_bytes());
    /// let verifier = Verifier::standard(secret)?.without_timestamp_check();
    /// let delivery = verifier.verify_delivery(&headers, body.into())?;
    ///
    /// let event: Event<DirectoryUser> = delivery.json()?;
    /// assert_eq!(event.data.id, "diruser_53891546960887884");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn json<'a, T: Deserialize<'a>>(&'a self) -> Result<T, crate::EventError> {
        crate::event::from_slice(&self.body).map_err(|e| e.of_event(self.event_type()))
    }

    /// Parses the verified body as a typed Scalekit event
    /// ([`ScalekitEvent`](crate::scalekit::ScalekitEvent); unknown types land in `Unknown`).
    ///
    /// ```
    /// use webhook_core::scalekit::{ScalekitEvent, samples};
    /// use webhook_core::{Signer, Verifier};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let body = samples::sample("organization.directory.user_deleted").unwrap();
    /// let headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, body.as_bytes());
    /// let delivery = Verifier::standard(secret)?
    ///     .verify_delivery_at(&headers, body.into(), 1_700_000_000)?;
    ///
    /// let event = delivery.scalekit_event()?;
    /// assert!(matches!(event.data, ScalekitEvent::DirectoryUserDeleted(_)));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn scalekit_event(
        &self,
    ) -> Result<crate::Event<crate::scalekit::ScalekitEvent>, crate::EventError> {
        crate::scalekit::parse(&self.body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Signer;

    /// The key of a GitHub or Shopify delivery: its id and the start of its body's hash.
    fn bound(scheme: &str, id: &str, body: &str) -> String {
        format!("{scheme}:{id}:{}", &hex::encode(Sha256::digest(body))[..32])
    }

    fn deliver(scheme: Scheme, secret: &str, extra: &[(&str, &str)], body: &str) -> Delivery {
        let mut headers =
            Signer::new(scheme, secret)
                .unwrap()
                .sign("d1", 1_700_000_000, body.as_bytes());
        for (k, v) in extra {
            headers.set(k, *v);
        }
        Verifier::new(scheme, secret)
            .unwrap()
            .without_timestamp_check()
            .verify_delivery(&headers, Bytes::copy_from_slice(body.as_bytes()))
            .unwrap()
    }

    /// A signature read under a custom header name is kept under that name (and only it), so
    /// the kept headers verify the delivery again.
    #[test]
    fn a_custom_signature_header_is_kept_under_its_name() {
        let body = br#"{"id":"evt_1","type":"user.created"}"#;
        let signed =
            Signer::new(Scheme::Timestamped, "secret")
                .unwrap()
                .sign("d1", 1_700_000_000, body);
        let signature = signed.get("webhook-signature").unwrap().to_owned();
        let headers = [
            ("X-Scalekit-Signature", signature.as_str()),
            ("webhook-signature", "t=1,v1=00"),
            ("webhook-id", "d1"),
        ];
        let verifier = Verifier::new(Scheme::Timestamped, "secret")
            .unwrap()
            .signature_header("X-Scalekit-Signature")
            .without_timestamp_check();
        let d = verifier
            .verify_delivery(&headers, Bytes::from_static(body))
            .unwrap();
        assert_eq!(
            d.headers().iter().collect::<Vec<_>>(),
            [
                ("webhook-id", "d1"),
                ("x-scalekit-signature", signature.as_str())
            ]
        );
        verifier.verify(d.headers(), d.body()).unwrap();
    }

    /// The timestamped scheme does not sign `webhook-id`: the key comes from the signed body.
    #[test]
    fn timestamped_keys_ignore_the_unsigned_id_header() {
        let key = |webhook_id: &str, body: &str| {
            deliver(
                Scheme::Timestamped,
                "secret",
                &[("webhook-id", webhook_id)],
                body,
            )
            .dedupe_key()
        };
        let with_id = r#"{"id":"evt_1","type":"user.created"}"#;
        assert_eq!(key("d1", with_id), "timestamped:evt_1");
        assert_eq!(key("d2", with_id), key("d1", with_id));
        let no_id = r#"{"type":"user.created"}"#;
        assert!(key("d1", no_id).starts_with("timestamped:sha256:"));
        assert_eq!(key("d2", no_id), key("d1", no_id));
    }

    #[test]
    fn debug_shows_neither_the_body_nor_header_values() {
        let body = r#"{"id":"evt_9","type":"charge.succeeded","card":"4242"}"#;
        let d = deliver(
            Scheme::StandardWebhooks,
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            &[],
            body,
        );
        let signature = d.headers().get("webhook-signature").unwrap().to_owned();
        let shown = format!("{d:?}");
        assert!(
            shown.contains("charge.succeeded") && shown.contains("webhook-signature"),
            "{shown}"
        );
        assert!(
            !shown.contains("4242") && !shown.contains(&signature[3..]),
            "{shown}"
        );
    }

    #[test]
    fn event_types_per_sender() {
        let d = deliver(
            Scheme::Stripe,
            "whsec_x",
            &[],
            r#"{"id":"evt_9","type":"charge.succeeded"}"#,
        );
        assert_eq!(d.event_type(), Some("charge.succeeded"));
        assert_eq!(d.dedupe_key(), "stripe:evt_9");

        let d = deliver(
            Scheme::GitHub,
            "s",
            &[("x-github-event", "issues")],
            r#"{"action":"opened"}"#,
        );
        assert_eq!(d.event_type(), Some("issues.opened"));
        assert_eq!(
            d.dedupe_key(),
            bound("github", "d1", r#"{"action":"opened"}"#)
        );
        let d = deliver(
            Scheme::GitHub,
            "s",
            &[("x-github-event", "push")],
            r#"{"ref":"main"}"#,
        );
        assert_eq!(d.event_type(), Some("push"));

        let d = deliver(
            Scheme::Shopify,
            "s",
            &[("x-shopify-topic", "orders/create")],
            "{}",
        );
        assert_eq!(d.event_type(), Some("orders/create"));

        let d = deliver(
            Scheme::Paddle,
            "pdl",
            &[],
            r#"{"event_id":"evt_01","event_type":"transaction.paid"}"#,
        );
        assert_eq!(d.event_type(), Some("transaction.paid"));
        assert_eq!(d.dedupe_key(), "paddle:evt_01");
    }

    /// Signs `body` under `scheme`, then sends the signed headers renamed by `rename` (dropped
    /// when it returns `None`) with `extra`.
    fn deliver_renamed(
        scheme: Scheme,
        extra: &[(&str, &str)],
        rename: impl Fn(&str) -> Option<&str>,
        body: &str,
    ) -> Result<Delivery, VerifyError> {
        let signed = Signer::new(scheme, "s")
            .unwrap()
            .sign("d1", 1_700_000_000, body.as_bytes());
        let mut headers: Vec<(String, String)> = signed
            .iter()
            .filter_map(|(k, v)| Some((rename(k)?.to_owned(), v.to_owned())))
            .collect();
        headers.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        Verifier::new(scheme, "s")
            .unwrap()
            .verify_delivery(&headers, Bytes::copy_from_slice(body.as_bytes()))
    }

    /// A Shopify body is the resource (`id` is the order's): two updates of one order are two
    /// events, told apart by their webhook id, else by `X-Shopify-Event-Id`, never merged by the
    /// order's id.
    #[test]
    fn shopify_events_are_named_by_their_event_id_header() {
        let order = r#"{"id":820982911946154508,"financial_status":"paid"}"#;
        let keys: Vec<(Option<String>, String)> = ["evt-0", "evt-1"]
            .iter()
            .map(|event| {
                let d = deliver_renamed(
                    Scheme::Shopify,
                    &[("x-shopify-event-id", event)],
                    |name| (name != "x-shopify-webhook-id").then_some(name),
                    order,
                )
                .unwrap();
                (d.event_id().map(str::to_owned), d.dedupe_key())
            })
            .collect();
        assert_eq!(
            keys,
            [
                (Some("evt-0".to_owned()), bound("shopify", "evt-0", order)),
                (Some("evt-1".to_owned()), bound("shopify", "evt-1", order))
            ]
        );
        // The webhook id wins: two subscriptions to one topic share the event id, and each must
        // get its delivery. Without either, the body's hash, never its id.
        let d = deliver(
            Scheme::Shopify,
            "s",
            &[("x-shopify-event-id", "evt-0")],
            order,
        );
        assert_eq!(
            (d.event_id(), d.dedupe_key()),
            (Some("evt-0"), bound("shopify", "d1", order))
        );
        let d = deliver(Scheme::Shopify, "s", &[], order);
        assert_eq!(
            (d.event_id(), d.dedupe_key()),
            (None, bound("shopify", "d1", order))
        );
        let d = deliver_renamed(
            Scheme::Shopify,
            &[],
            |name| (name != "x-shopify-webhook-id").then_some(name),
            order,
        )
        .unwrap();
        assert_eq!(d.event_id(), None);
        assert!(
            d.dedupe_key().starts_with("shopify:sha256:"),
            "{}",
            d.dedupe_key()
        );
    }

    /// Shopify's Events deliveries send `shopify-*` headers (today beside the `x-shopify-*`
    /// ones): they verify, name the event, and are kept to verify again.
    #[test]
    fn shopify_events_headers_without_the_x_prefix() {
        let d = deliver_renamed(
            Scheme::Shopify,
            &[
                ("shopify-topic", "orders/updated"),
                ("shopify-event-id", "evt-7"),
            ],
            |name| match name {
                "x-shopify-hmac-sha256" => Some("shopify-hmac-sha256"),
                "x-shopify-webhook-id" => Some("shopify-webhook-id"),
                _ => None,
            },
            r#"{"id":1}"#,
        )
        .unwrap();
        assert_eq!(d.event_type(), Some("orders/updated"));
        assert_eq!((d.id(), d.event_id()), (Some("d1"), Some("evt-7")));
        assert_eq!(d.dedupe_key(), bound("shopify", "d1", r#"{"id":1}"#));
        assert_eq!(
            d.headers().iter().map(|(k, _)| k).collect::<Vec<_>>(),
            [
                "shopify-hmac-sha256",
                "shopify-webhook-id",
                "shopify-topic",
                "shopify-event-id"
            ]
        );
        let verifier = Verifier::new(Scheme::Shopify, "s").unwrap();
        assert_eq!(
            verifier.verify(d.headers(), d.body()).unwrap(),
            *d.verified()
        );

        // Neither name: the error names the legacy header. Two of the new one: ambiguous.
        let none = deliver_renamed(Scheme::Shopify, &[], |_| None, "{}").unwrap_err();
        assert_eq!(
            none,
            VerifyError::MissingHeader {
                name: "x-shopify-hmac-sha256"
            }
        );
        let twice = deliver_renamed(
            Scheme::Shopify,
            &[("shopify-hmac-sha256", "AAAA")],
            |name| (name == "x-shopify-hmac-sha256").then_some("shopify-hmac-sha256"),
            "{}",
        )
        .unwrap_err();
        assert!(
            matches!(
                twice,
                VerifyError::MalformedHeader {
                    name: "shopify-hmac-sha256",
                    ..
                }
            ),
            "{twice:?}"
        );
    }

    /// GitHub's and Shopify's id headers are not signed: a captured delivery resent under the id
    /// of another (whose first attempt failed) must not take that delivery's key, or the
    /// sender's retry of it would be dropped as a duplicate.
    #[test]
    fn an_unsigned_id_cannot_take_another_deliverys_key() {
        for (scheme, id_header) in [
            (Scheme::GitHub, "x-github-delivery"),
            (Scheme::Shopify, "x-shopify-webhook-id"),
        ] {
            let signer = Signer::new(scheme, "s").unwrap();
            let verifier = Verifier::new(scheme, "s").unwrap();
            let key = |id: &str, body: &str| {
                let mut headers = signer.sign(id, 1_700_000_000, body.as_bytes());
                headers.set(id_header, id);
                verifier
                    .verify_delivery(&headers, Bytes::copy_from_slice(body.as_bytes()))
                    .unwrap()
                    .dedupe_key()
            };
            let real = key("guid-2", r#"{"action":"closed"}"#);
            assert_eq!(real, key("guid-2", r#"{"action":"closed"}"#), "a retry");
            assert_ne!(real, key("guid-2", r#"{"action":"opened"}"#), "{scheme}");
        }
    }

    #[test]
    fn github_bodies_have_no_event_id() {
        let body = r#"{"action":"created","id":42}"#;
        let d = deliver(Scheme::GitHub, "s", &[("x-github-event", "label")], body);
        assert_eq!(
            (d.event_id(), d.dedupe_key()),
            (None, bound("github", "d1", body))
        );
        let d = deliver_renamed(
            Scheme::GitHub,
            &[],
            |name| (name != "x-github-delivery").then_some(name),
            body,
        )
        .unwrap();
        assert!(
            d.dedupe_key().starts_with("github:sha256:"),
            "{}",
            d.dedupe_key()
        );
    }

    /// Slack's Events API wraps every event in an `event_callback`: the event is named by the
    /// inner `event.type`, as Bolt routes it.
    #[test]
    fn slack_events_are_named_by_the_inner_type() {
        let body = r#"{"token":"t","event":{"type":"app_mention","user":"U1"},"type":"event_callback","event_id":"Ev1"}"#;
        let d = deliver(Scheme::Slack, "s", &[], body);
        assert_eq!(d.event_type(), Some("app_mention"));
        assert_eq!(
            (d.event_id(), d.dedupe_key().as_str()),
            (Some("Ev1"), "slack:Ev1")
        );
        for (body, named) in [
            (
                r#"{"type":"url_verification","challenge":"c"}"#,
                "url_verification",
            ),
            (r#"{"type":"event_callback"}"#, "event_callback"),
            (
                r#"{"type":"app_rate_limited","minute_rate_limited":1}"#,
                "app_rate_limited",
            ),
        ] {
            assert_eq!(
                deliver(Scheme::Slack, "s", &[], body).event_type(),
                Some(named)
            );
        }
    }

    #[test]
    fn a_body_that_does_not_fit_is_named_by_the_deliverys_event_type() {
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct Issue {
            number: u32,
        }
        // GitHub's event comes from its header; a top-level `type` in the body is something else.
        let d = deliver(
            Scheme::GitHub,
            "s",
            &[("x-github-event", "issues")],
            r#"{"action":"opened","type":"Organization","number":"x"}"#,
        );
        let err = d.json::<Issue>().unwrap_err();
        assert!(
            err.to_string().starts_with("event `issues.opened`: "),
            "{err}"
        );
        // Where the body names the event, that is the name.
        let d = deliver(
            Scheme::Stripe,
            "whsec_x",
            &[],
            r#"{"id":"evt_9","type":"charge.succeeded","number":"x"}"#,
        );
        let err = d.json::<Issue>().unwrap_err();
        assert!(
            err.to_string().starts_with("event `charge.succeeded`: "),
            "{err}"
        );
    }

    #[test]
    fn the_body_is_read_only_when_asked() {
        let d = deliver(
            Scheme::StandardWebhooks,
            "whsec_dGVzdHNlY3JldA==",
            &[],
            r#"{"id":"evt_1","type":"a.b"}"#,
        );
        assert_eq!(d.dedupe_key(), "standard:d1");
        assert!(
            d.event_id.get().is_none(),
            "the dedupe key comes from the header id"
        );
        assert!(d.event_type.get().is_none());
        let clone = d.clone();
        assert_eq!(d.event_type(), Some("a.b"));
        assert!(d.event_type.get().is_some() && d.event_id.get().is_none());
        assert_eq!(d, clone, "what was read is a cache, not part of the value");
    }

    #[test]
    fn kept_headers_are_the_ones_read_and_verify_again() {
        let secret = "whsec_dGVzdHNlY3JldA==";
        let body = br#"{"type":"a.b"}"#;
        let signed = Signer::standard(secret)
            .unwrap()
            .sign("msg_9", 1_700_000_000, body);
        let svix: Vec<(String, String)> = signed
            .iter()
            .map(|(k, v)| (k.replace("webhook-", "svix-"), format!(" {v} ")))
            .collect();
        let verifier = Verifier::standard(secret)
            .unwrap()
            .without_timestamp_check();
        let d = verifier
            .verify_delivery(&svix, Bytes::from_static(body))
            .unwrap();
        assert_eq!(
            d.headers().iter().map(|(k, _)| k).collect::<Vec<_>>(),
            ["svix-id", "svix-timestamp", "svix-signature"]
        );
        assert_eq!(d.headers().get("svix-id"), Some("msg_9"));
        assert_eq!(
            verifier.verify(d.headers(), d.body()).unwrap(),
            *d.verified()
        );
        // Other schemes look their headers up.
        let d = deliver(Scheme::GitHub, "s", &[("x-github-event", "push")], "{}");
        assert_eq!(d.headers().get("x-github-event"), Some("push"));
        assert!(d.headers().get("x-hub-signature-256").is_some());
    }

    #[test]
    fn non_json_bodies_have_no_type_and_a_hash_key() {
        let d = deliver(Scheme::Slack, "s", &[], "token=x&command=/deploy");
        assert_eq!(d.event_type(), None);
        assert!(d.dedupe_key().starts_with("slack:sha256:"));
        assert_eq!(d.headers().len(), 2);
    }
}
