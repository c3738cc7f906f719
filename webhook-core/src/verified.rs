use arrayvec::ArrayString;

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
    pub(crate) id: Option<MessageId>,
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
    /// the sender's retries. [`Delivery::dedupe_key`](crate::Delivery::dedupe_key) is built from
    /// it, except for the timestamped scheme, which does not sign it. An id header other than
    /// Standard Webhooks' (which is signed) that appears twice reads as `None`.
    pub fn id(&self) -> Option<&str> {
        self.id.as_ref().map(MessageId::as_str)
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
            id: id.as_deref().map(MessageId::new),
            timestamp,
            secret_index,
        }
    }
}

/// A delivery id, stored inline when it fits (every sender's ids do: Svix `msg_…` ids are 31
/// bytes, GitHub and Shopify UUIDs 36) so that a verification allocates nothing.
#[derive(Clone)]
pub(crate) enum MessageId {
    Inline(ArrayString<48>),
    Heap(Box<str>),
}

impl MessageId {
    pub(crate) fn new(id: &str) -> Self {
        match ArrayString::from(id) {
            Ok(inline) => MessageId::Inline(inline),
            Err(_) => MessageId::Heap(id.into()),
        }
    }

    pub(crate) fn as_str(&self) -> &str {
        match self {
            MessageId::Inline(id) => id,
            MessageId::Heap(id) => id,
        }
    }
}

impl PartialEq for MessageId {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for MessageId {}

impl std::fmt::Debug for MessageId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(self.as_str(), f)
    }
}

impl std::hash::Hash for MessageId {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_of_any_length_round_trip_and_compare_by_value() {
        let short = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let long = "x".repeat(300);
        for id in [short, long.as_str(), ""] {
            let v = Verified::new(Scheme::StandardWebhooks, Some(id.to_owned()), None, 0);
            assert_eq!(v.id(), Some(id));
        }
        assert!(matches!(MessageId::new(short), MessageId::Inline(_)));
        assert!(matches!(MessageId::new(&long), MessageId::Heap(_)));
        assert_eq!(
            MessageId::Heap(short.into()),
            MessageId::new(short),
            "equality is by value, whatever the storage"
        );
    }
}
