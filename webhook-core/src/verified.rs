use crate::Scheme;

/// What a successful verification established about a delivery.
///
/// ```
/// use webhook_core::{Scheme, Verifier};
///
/// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
/// let headers = [
///     ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
///     ("webhook-timestamp", "1614265330"),
///     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
/// ];
/// let verified = verifier.verify_at(&headers, br#"{"test": 2432232314}"#, 1614265330).unwrap();
/// assert_eq!(verified.scheme(), Scheme::StandardWebhooks);
/// assert_eq!(verified.id(), Some("msg_p5jXN8AQM9LWM0D4loKWxJek"));
/// assert_eq!(verified.timestamp(), Some(1614265330));
/// assert_eq!(verified.secret_index(), 0);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Verified {
    pub(crate) scheme: Scheme,
    pub(crate) id: Option<String>,
    pub(crate) timestamp: Option<i64>,
    pub(crate) secret_index: usize,
}

impl Verified {
    /// The scheme the delivery was verified under.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The sender's delivery id, where the scheme has one: `webhook-id` (Standard Webhooks, also
    /// read by the timestamped scheme), `X-GitHub-Delivery`, `X-Shopify-Webhook-Id`. Stable across
    /// the sender's retries, so it is the deduplication key.
    pub fn id(&self) -> Option<&str> {
        self.id.as_deref()
    }

    /// The signed timestamp (Unix seconds), for schemes that sign one.
    pub fn timestamp(&self) -> Option<i64> {
        self.timestamp
    }

    /// Which of the verifier's secrets matched, by the order they were added (0 is the first).
    /// Useful to tell when senders have moved to a rotated secret.
    pub fn secret_index(&self) -> usize {
        self.secret_index
    }

    /// Builds a result by hand, for tests of code that consumes verified deliveries.
    pub fn new(
        scheme: Scheme,
        id: Option<String>,
        timestamp: Option<i64>,
        secret_index: usize,
    ) -> Self {
        Verified {
            scheme,
            id,
            timestamp,
            secret_index,
        }
    }
}
