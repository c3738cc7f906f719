//! [`KeptHeaders`]: the request headers a [`Delivery`](crate::Delivery) keeps.

use serde::ser::{Serialize, SerializeSeq, Serializer};

use crate::Headers;
use crate::headers::{
    SHOPIFY_EVENT_ID, SHOPIFY_HMAC, SHOPIFY_SHOP_DOMAIN, SHOPIFY_TOPIC, SHOPIFY_WEBHOOK_ID,
    SVIX_ID, SVIX_SIGNATURE, SVIX_TIMESTAMP, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};
use crate::scheme::Scheme;

/// The most headers a scheme keeps.
const MAX_KEPT: usize = 5;

/// The headers a delivery keeps from its request: the ones its scheme signs (to verify it again
/// later, e.g. when an inbox replays it) and the sender's id and event-type headers, with their
/// values as sent. Lowercase names; values that are not UTF-8 are not kept.
///
/// All values share one allocation. It serializes as a list of `[name, value]` pairs.
///
/// ```
/// use webhook_core::{Signer, Verifier};
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, b"{}");
/// let delivery = Verifier::standard(secret)?
///     .without_timestamp_check()
///     .verify_delivery(&headers, b"{}".to_vec().into())?;
///
/// let kept = delivery.headers();
/// assert_eq!(kept.get("webhook-id"), Some("msg_1"));
/// assert_eq!(kept.iter().map(|(name, _)| name).collect::<Vec<_>>(),
///            ["webhook-id", "webhook-timestamp", "webhook-signature"]);
/// // The kept headers verify the delivery again.
/// Verifier::standard(secret)?.without_timestamp_check().verify(kept, delivery.body())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct KeptHeaders {
    /// The values, one after the other.
    values: String,
    /// Each kept header's name ([`CUSTOM`] for `custom_signature`) and the end of its value in
    /// `values`.
    entries: [(&'static str, usize); MAX_KEPT],
    len: usize,
    /// The signature header's name when the verifier reads it under a name of its own
    /// ([`Verifier::signature_header`](crate::Verifier::signature_header)).
    custom_signature: Option<Box<str>>,
}

/// The name entry standing for `custom_signature`.
const CUSTOM: &str = "";

impl KeptHeaders {
    /// Copies the headers `scheme` keeps out of `headers`. Of two alias names (`webhook-id` and
    /// `svix-id`), the first with a value (not blank, UTF-8) is kept, else the first present, as
    /// the verifier reads them (Shopify's id falls back to `shopify-webhook-id` past a blank
    /// `x-shopify-webhook-id`). `signature_header` is the name the verifier read the signature
    /// under, when not the scheme's own.
    pub(crate) fn from_request<H: Headers + ?Sized>(
        scheme: Scheme,
        signature_header: Option<&str>,
        headers: &H,
    ) -> Self {
        let custom = signature_header.filter(|&name| name != scheme.signature_header());
        let mut found: [(&'static str, &[u8]); MAX_KEPT] = [("", b""); MAX_KEPT];
        let mut len = 0;
        for names in kept_names(scheme) {
            let value = match custom {
                Some(custom) if names[0] == scheme.signature_header() => {
                    headers.get(custom).map(|value| (CUSTOM, value))
                }
                _ => names
                    .iter()
                    .find_map(|&name| {
                        let value = headers.get(name)?;
                        crate::parse::id_value(value).map(|_| (name, value))
                    })
                    .or_else(|| {
                        names
                            .iter()
                            .find_map(|&name| Some((name, headers.get(name)?)))
                    }),
            };
            if let Some(value) = value {
                found[len] = value;
                len += 1;
            }
        }
        let mut kept = KeptHeaders::from_values(&found[..len]);
        kept.custom_signature = custom.map(Box::from);
        kept
    }

    /// Keeps `values` (at most [`MAX_KEPT`]), skipping those that are not UTF-8.
    pub(crate) fn from_values(values: &[(&'static str, &[u8])]) -> Self {
        let values: [Option<(&'static str, &str)>; MAX_KEPT] = std::array::from_fn(|i| {
            let (name, value) = values.get(i)?;
            Some((*name, std::str::from_utf8(value).ok()?))
        });
        let total = values.iter().flatten().map(|(_, v)| v.len()).sum();
        let mut kept = KeptHeaders {
            values: String::with_capacity(total),
            ..KeptHeaders::default()
        };
        for (name, value) in values.into_iter().flatten() {
            kept.values.push_str(value);
            kept.entries[kept.len] = (name, kept.values.len());
            kept.len += 1;
        }
        kept
    }

    /// The kept headers as `(name, value)` pairs, in the scheme's order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        let mut start = 0;
        self.entries[..self.len].iter().map(move |&(name, end)| {
            let value = &self.values[start..end];
            start = end;
            let name = match name {
                CUSTOM => self.custom_signature.as_deref().unwrap_or_default(),
                name => name,
            };
            (name, value)
        })
    }

    /// The value of header `name` (lowercase), if kept.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.iter().find(|(n, _)| *n == name).map(|(_, v)| v)
    }

    /// How many headers are kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Headers for KeptHeaders {
    fn get(&self, name: &str) -> Option<&[u8]> {
        KeptHeaders::get(self, name).map(str::as_bytes)
    }
}

/// Names only: one of the values is the signature.
impl std::fmt::Debug for KeptHeaders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.iter().map(|(name, _)| name))
            .finish()
    }
}

impl Serialize for KeptHeaders {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.len))?;
        for pair in self.iter() {
            seq.serialize_element(&pair)?;
        }
        seq.end()
    }
}

/// The headers a scheme keeps, each as its name and aliases.
fn kept_names(scheme: Scheme) -> &'static [&'static [&'static str]] {
    match scheme {
        Scheme::StandardWebhooks => &[
            &[WEBHOOK_ID, SVIX_ID],
            &[WEBHOOK_TIMESTAMP, SVIX_TIMESTAMP],
            &[WEBHOOK_SIGNATURE, SVIX_SIGNATURE],
        ],
        Scheme::Stripe => &[&["stripe-signature"]],
        Scheme::GitHub => &[
            &["x-hub-signature-256"],
            &["x-github-delivery"],
            &["x-github-event"],
            &["x-github-hook-id"],
        ],
        Scheme::Slack => &[
            &["x-slack-signature"],
            &["x-slack-request-timestamp"],
            &["x-slack-retry-num"],
        ],
        // Shopify's Events deliveries also send (and may one day only send) `shopify-*` names.
        Scheme::Shopify => &[
            &SHOPIFY_HMAC,
            &SHOPIFY_WEBHOOK_ID,
            &SHOPIFY_TOPIC,
            &SHOPIFY_SHOP_DOMAIN,
            &SHOPIFY_EVENT_ID,
        ],
        Scheme::Paddle => &[&["paddle-signature"]],
        Scheme::Timestamped => &[&[WEBHOOK_ID], &[WEBHOOK_SIGNATURE]],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_scheme_fits() {
        for scheme in Scheme::ALL {
            assert!(kept_names(scheme).len() <= MAX_KEPT, "{scheme:?}");
        }
    }

    #[test]
    fn svix_aliases_are_kept_when_the_webhook_names_are_absent() {
        let headers = [
            ("svix-id", "msg_1"),
            ("svix-timestamp", "1"),
            ("Svix-Signature", "v1,x"),
            ("x-other", "y"),
        ];
        let kept = KeptHeaders::from_request(Scheme::StandardWebhooks, None, &headers[..]);
        assert_eq!(
            kept.iter().collect::<Vec<_>>(),
            [
                ("svix-id", "msg_1"),
                ("svix-timestamp", "1"),
                ("svix-signature", "v1,x")
            ]
        );
        assert_eq!(
            serde_json::to_string(&kept).unwrap(),
            r#"[["svix-id","msg_1"],["svix-timestamp","1"],["svix-signature","v1,x"]]"#
        );
    }

    #[test]
    fn absent_and_non_utf8_values_are_skipped() {
        let headers: [(&str, &[u8]); 3] = [
            ("x-shopify-topic", b"orders/create"),
            ("x-shopify-hmac-sha256", b"abc="),
            ("x-shopify-webhook-id", b"\xff"),
        ];
        let kept = KeptHeaders::from_request(Scheme::Shopify, None, &headers[..]);
        assert_eq!(kept.len(), 2);
        assert_eq!(kept.get("x-shopify-topic"), Some("orders/create"));
        assert_eq!(kept.get("x-shopify-webhook-id"), None);
        assert!(KeptHeaders::from_request(Scheme::Paddle, None, &headers[..]).is_empty());
    }
}
