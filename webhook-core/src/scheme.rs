use std::fmt;
use std::str::FromStr;

/// A signature scheme: how a sender signs a delivery and which headers carry it.
///
/// ```
/// use webhook_core::Scheme;
///
/// let scheme: Scheme = "stripe".parse().unwrap();
/// assert_eq!(scheme, Scheme::Stripe);
/// assert_eq!(scheme.as_str(), "stripe");
/// assert_eq!(Scheme::StandardWebhooks.signature_header(), "webhook-signature");
///
/// // Names are case-insensitive, with aliases; `Display` writes the short name back.
/// let scheme: Scheme = "Svix".parse().unwrap();
/// assert_eq!(scheme, Scheme::StandardWebhooks);
/// assert_eq!(scheme.to_string(), "standard");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scheme {
    /// [Standard Webhooks](https://www.standardwebhooks.com/) (Scalekit, Svix and every Svix-powered
    /// sender): `webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64>` (or the
    /// `svix-*` aliases), HMAC-SHA256 over `{id}.{timestamp}.{body}`, and `v1a` ed25519 signatures
    /// with the `ed25519` feature.
    StandardWebhooks,
    /// Stripe: `Stripe-Signature: t=<unix>,v1=<hex>`, HMAC-SHA256 over `{t}.{body}`.
    Stripe,
    /// GitHub: `X-Hub-Signature-256: sha256=<hex>`, HMAC-SHA256 over the body.
    GitHub,
    /// Slack: `X-Slack-Signature: v0=<hex>` over `v0:{X-Slack-Request-Timestamp}:{body}`.
    Slack,
    /// Shopify: `X-Shopify-Hmac-Sha256: <base64>`, HMAC-SHA256 over the body.
    Shopify,
    /// Paddle Billing: `Paddle-Signature: ts=<unix>;h1=<hex>` over `{ts}:{body}`.
    Paddle,
    /// The timestamped-hex scheme from Scalekit's best-practices page:
    /// `webhook-signature: t=<unix>,v1=<hex>` over `{t}.{body}`, keyed with the secret's bytes.
    Timestamped,
}

impl Scheme {
    /// Every scheme, in a stable order.
    pub const ALL: [Scheme; 7] = [
        Scheme::StandardWebhooks,
        Scheme::Stripe,
        Scheme::GitHub,
        Scheme::Slack,
        Scheme::Shopify,
        Scheme::Paddle,
        Scheme::Timestamped,
    ];

    /// The short, stable name of the scheme (`standard`, `stripe`, `github`, `slack`, `shopify`,
    /// `paddle`, `timestamped`), as used in metrics labels, storage and the CLI.
    pub const fn as_str(self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => "standard",
            Scheme::Stripe => "stripe",
            Scheme::GitHub => "github",
            Scheme::Slack => "slack",
            Scheme::Shopify => "shopify",
            Scheme::Paddle => "paddle",
            Scheme::Timestamped => "timestamped",
        }
    }

    /// Whether a [`Signer`](crate::Signer) puts several signatures in the header (one per
    /// secret during a rotation): Standard Webhooks and Stripe, whose official libraries try
    /// each. The others get one, made with the first secret. Paddle's header may hold several
    /// `h1` (a [`Verifier`](crate::Verifier) accepts any), but Paddle's Go SDK refuses such a
    /// header and its Node SDK reads only the last `h1`, so a signer sends one.
    ///
    /// ```
    /// use webhook_core::Scheme;
    /// assert!(Scheme::Stripe.carries_several_signatures());
    /// assert!(!Scheme::GitHub.carries_several_signatures());
    /// assert!(!Scheme::Paddle.carries_several_signatures());
    /// ```
    pub const fn carries_several_signatures(self) -> bool {
        matches!(self, Scheme::StandardWebhooks | Scheme::Stripe)
    }

    /// The dedupe key of a delivery with this id under this scheme: `{scheme}:{id}`, what
    /// [`Delivery::dedupe_key`](crate::Delivery::dedupe_key) returns when the delivery has a
    /// signed id (the Standard Webhooks id; the body's event id for Stripe, Slack, Paddle and
    /// the timestamped scheme). GitHub's and Shopify's keys add a hash of the body to their
    /// unsigned id.
    ///
    /// ```
    /// use webhook_core::Scheme;
    /// assert_eq!(Scheme::StandardWebhooks.dedupe_key("msg_1"), "standard:msg_1");
    /// ```
    pub fn dedupe_key(self, id: &str) -> String {
        // Built by hand: `format!` costs more than the rest of a dedupe check.
        let scheme = self.as_str();
        let mut key = String::with_capacity(scheme.len() + 1 + id.len());
        key.push_str(scheme);
        key.push(':');
        key.push_str(id);
        key
    }

    /// The (lowercase) name of the header that carries the signature by default.
    pub const fn signature_header(self) -> &'static str {
        match self {
            Scheme::StandardWebhooks => crate::headers::WEBHOOK_SIGNATURE,
            Scheme::Stripe => "stripe-signature",
            Scheme::GitHub => "x-hub-signature-256",
            Scheme::Slack => "x-slack-signature",
            Scheme::Shopify => crate::headers::SHOPIFY_HMAC[0],
            Scheme::Paddle => "paddle-signature",
            Scheme::Timestamped => crate::headers::WEBHOOK_SIGNATURE,
        }
    }

    /// Whether the scheme signs a timestamp, so that a replay window can be enforced.
    pub const fn has_timestamp(self) -> bool {
        !matches!(self, Scheme::GitHub | Scheme::Shopify)
    }

    /// The (lowercase) header that carries the sender's unique delivery id, if the scheme has one.
    ///
    /// ```
    /// use webhook_core::Scheme;
    ///
    /// assert_eq!(Scheme::GitHub.id_header(), Some("x-github-delivery"));
    /// assert_eq!(Scheme::Stripe.id_header(), None); // the event id is in the body
    /// // GitHub and Shopify sign no timestamp: no replay window applies to them.
    /// let unstamped: Vec<_> = Scheme::ALL.into_iter().filter(|s| !s.has_timestamp()).collect();
    /// assert_eq!(unstamped, [Scheme::GitHub, Scheme::Shopify]);
    /// ```
    pub const fn id_header(self) -> Option<&'static str> {
        match self {
            Scheme::StandardWebhooks | Scheme::Timestamped => Some(crate::headers::WEBHOOK_ID),
            Scheme::GitHub => Some("x-github-delivery"),
            Scheme::Shopify => Some(crate::headers::SHOPIFY_WEBHOOK_ID[0]),
            Scheme::Stripe | Scheme::Slack | Scheme::Paddle => None,
        }
    }
}

impl fmt::Display for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error returned when parsing an unknown scheme name. It holds the name as given, and its
/// message lists the accepted ones.
///
/// ```
/// use webhook_core::{Scheme, UnknownScheme};
///
/// let err = "hmac-sha256".parse::<Scheme>().unwrap_err();
/// assert_eq!(err, UnknownScheme("hmac-sha256".into()));
/// assert!(err.to_string().contains("expected one of standard, svix"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown signature scheme `{0}`: expected one of standard, svix, scalekit, stripe, github, slack, shopify, paddle, timestamped"
)]
pub struct UnknownScheme(pub String);

impl FromStr for Scheme {
    type Err = UnknownScheme;

    /// Parses a scheme name, case-insensitively. `standard-webhooks`, `svix` and `scalekit` are
    /// aliases of [`Scheme::StandardWebhooks`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        Ok(match lower.as_str() {
            "standard" | "standard-webhooks" | "standardwebhooks" | "svix" | "scalekit" => {
                Scheme::StandardWebhooks
            }
            "stripe" => Scheme::Stripe,
            "github" => Scheme::GitHub,
            "slack" => Scheme::Slack,
            "shopify" => Scheme::Shopify,
            "paddle" => Scheme::Paddle,
            "timestamped" | "scalekit-timestamped" => Scheme::Timestamped,
            _ => return Err(UnknownScheme(s.to_owned())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for scheme in Scheme::ALL {
            assert_eq!(scheme.as_str().parse::<Scheme>().unwrap(), scheme);
            assert_eq!(scheme.to_string(), scheme.as_str());
        }
        assert_eq!("SVIX".parse::<Scheme>().unwrap(), Scheme::StandardWebhooks);
        assert!("hmac".parse::<Scheme>().is_err());
    }
}
