//! [`Signer`]: produces the headers a sender attaches to a delivery.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::headers::{
    SVIX_ID, SVIX_SIGNATURE, SVIX_TIMESTAMP, WEBHOOK_ID, WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};
use crate::secret::{self, HmacSha256};
use crate::verifier::signed_prefix;
use crate::{Scheme, SecretError};

/// Signs deliveries under any [`Scheme`]: for tests, the CLI and senders.
///
/// With several secrets, Standard Webhooks and Stripe carry a signature per secret; the other
/// schemes are signed with the first (see [`Scheme::carries_several_signatures`]).
///
/// ```
/// use webhook_core::{Scheme, Signer};
///
/// let signer = Signer::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
/// let headers = signer.sign("msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, br#"{"test": 2432232314}"#);
/// assert_eq!(
///     headers.get("webhook-signature"),
///     Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
/// );
///
/// let github = Signer::new(Scheme::GitHub, "It's a Secret to Everybody")?;
/// let headers = github.sign("delivery-1", 0, b"Hello, World!");
/// assert_eq!(
///     headers.get("x-hub-signature-256"),
///     Some("sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17")
/// );
/// # Ok::<(), webhook_core::SecretError>(())
/// ```
#[derive(Clone)]
pub struct Signer {
    scheme: Scheme,
    keys: Vec<SignKey>,
    signature_header: String,
}

#[derive(Clone)]
enum SignKey {
    Hmac(HmacSha256),
    #[cfg(feature = "ed25519")]
    Ed25519(Box<ed25519_dalek::SigningKey>),
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Signer")
            .field("scheme", &self.scheme)
            .field("secrets", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `scheme`, with the secret given as the sender holds it (see
    /// [`Verifier::new`](crate::Verifier::new)); a `whsk_` ed25519 signing key with the `ed25519`
    /// feature signs Standard Webhooks `v1a`.
    ///
    /// ```
    /// use webhook_core::{Scheme, Signer, Verifier};
    ///
    /// let secret = "8f742231b10e8888abcd99yyyzzz85a5";
    /// let signer = Signer::new(Scheme::Slack, secret)?;
    /// assert_eq!(signer.signature_header_name(), "x-slack-signature");
    /// let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&command=%2Fweather";
    /// let headers = signer.sign("", 1_531_420_618, body);
    /// assert_eq!(headers.get("x-slack-request-timestamp"), Some("1531420618"));
    /// Verifier::new(Scheme::Slack, secret)?.verify_at(&headers, body, 1_531_420_618)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(scheme: Scheme, secret: &str) -> Result<Self, SecretError> {
        Signer::with_secrets(scheme, [secret])
    }

    /// A signer for `scheme` signing with each of `secrets` (a sender in the middle of a
    /// rotation). Fails on an empty list or any invalid secret.
    ///
    /// ```
    /// use webhook_core::{Scheme, Signer};
    ///
    /// let signer = Signer::with_secrets(Scheme::Stripe, ["whsec_new", "whsec_old"])?;
    /// let headers = signer.sign("", 1_700_000_000, b"{}");
    /// let value = headers.get("stripe-signature").unwrap();
    /// assert_eq!(value.matches("v1=").count(), 2);
    /// assert!(Signer::with_secrets(Scheme::Stripe, Vec::<String>::new()).is_err());
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn with_secrets<I, S>(scheme: Scheme, secrets: I) -> Result<Self, SecretError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let keys = secret::parse_all(scheme, secrets, parse_sign_key)?;
        at_most_max(keys.len())?;
        Ok(Signer {
            scheme,
            keys,
            signature_header: scheme.signature_header().to_owned(),
        })
    }

    /// A Standard Webhooks signer.
    ///
    /// ```
    /// let signer = webhook_core::Signer::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let headers = signer.sign("msg_1", 1_700_000_000, b"{}");
    /// assert!(headers.get("webhook-signature").unwrap().starts_with("v1,"));
    /// assert!(webhook_core::Signer::standard("whsec_").is_err());
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn standard(secret: &str) -> Result<Self, SecretError> {
        Signer::new(Scheme::StandardWebhooks, secret)
    }

    /// Also signs with `secret` (a sender in the middle of a rotation): schemes that carry
    /// several signatures (Standard Webhooks, Stripe) get one per secret, the others are signed
    /// with the first secret only (Paddle too: its SDKs refuse or misread several `h1`).
    ///
    /// ```
    /// let signer = webhook_core::Signer::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .add_secret("whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD")?;
    /// let headers = signer.sign("msg_1", 1_700_000_000, b"{}");
    /// assert_eq!(headers.get("webhook-signature").unwrap().split(' ').count(), 2);
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn add_secret(mut self, secret: &str) -> Result<Self, SecretError> {
        at_most_max(self.keys.len() + 1)?;
        self.keys.push(parse_sign_key(self.scheme, secret)?);
        Ok(self)
    }

    /// Writes the signature into another header (for the timestamped scheme). Standard Webhooks
    /// writes the `webhook-*` headers its spec names (`webhook-signature`, the default), or, given
    /// `svix-signature`, the `svix-id`, `svix-timestamp` and `svix-signature` that Svix itself
    /// sends; it ignores any other name.
    ///
    /// ```
    /// let signer = webhook_core::Signer::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .signature_header("svix-signature");
    /// let headers = signer.sign("msg_1", 1_700_000_000, b"{}");
    /// assert_eq!(headers.get("svix-id"), Some("msg_1"));
    /// assert!(headers.get("webhook-id").is_none());
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn signature_header(mut self, name: &str) -> Self {
        let name = name.to_ascii_lowercase();
        let standard_name = [SVIX_SIGNATURE, WEBHOOK_SIGNATURE].contains(&name.as_str());
        if self.scheme != Scheme::StandardWebhooks || standard_name {
            self.signature_header = name;
        }
        self
    }

    /// The scheme this signer signs with.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The (lowercase) header the signature is written to.
    pub fn signature_header_name(&self) -> &str {
        &self.signature_header
    }

    /// Signs `body` and returns the headers to send. `id` goes into the scheme's delivery-id
    /// header where it has one (`webhook-id`, `X-GitHub-Delivery`, `X-Shopify-Webhook-Id`);
    /// `timestamp` (Unix seconds) is ignored by schemes without one. The id is signed as
    /// given: pass it without surrounding whitespace, which HTTP drops and verifiers trim.
    ///
    /// ```
    /// use webhook_core::{Scheme, Signer};
    ///
    /// let body = br#"{"event_id":"evt_01hv8x2acma2gz8s5e3nxzdn8g","event_type":"transaction.paid"}"#;
    /// let paddle = Signer::new(Scheme::Paddle, "pdl_ntfset_secret")?.sign("", 1_700_000_000, body);
    /// let value = paddle.get("Paddle-Signature").unwrap();
    /// assert!(value.starts_with("ts=1700000000;h1="));
    ///
    /// // Schemes with a delivery-id header carry `id`; the pairs go to any HTTP client.
    /// let github = Signer::new(Scheme::GitHub, "gh-secret")?.sign("72d3162e", 0, body);
    /// let names: Vec<&str> = github.iter().map(|(name, _)| name).collect();
    /// assert_eq!(names, ["x-github-delivery", "x-hub-signature-256"]);
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn sign(&self, id: &str, timestamp: i64, body: &[u8]) -> SignedHeaders {
        let ts = timestamp.to_string();
        let prefix = signed_prefix(self.scheme, id.as_bytes(), ts.as_bytes());
        let keys = if self.scheme.carries_several_signatures() {
            &self.keys[..]
        } else {
            &self.keys[..1]
        };
        // Each signature in the encoding the scheme sends: `v1,<base64>` entries for Standard
        // Webhooks (`v1a,` for ed25519), base64 for Shopify, hex for the rest.
        let sigs: Vec<String> = keys
            .iter()
            .map(|key| match key {
                SignKey::Hmac(keyed) => {
                    let tag = prefix.mac(keyed, body);
                    match self.scheme {
                        Scheme::StandardWebhooks => format!("v1,{}", STANDARD.encode(tag)),
                        Scheme::Shopify => STANDARD.encode(tag),
                        _ => hex::encode(tag),
                    }
                }
                #[cfg(feature = "ed25519")]
                SignKey::Ed25519(signing) => {
                    use ed25519_dalek::Signer as _;
                    let sig = signing.sign(&prefix.joined(body));
                    format!("v1a,{}", STANDARD.encode(sig.to_bytes()))
                }
            })
            .collect();
        let tagged = |tag: &str, sep: &str| {
            sigs.iter()
                .map(|s| format!("{tag}={s}"))
                .collect::<Vec<_>>()
                .join(sep)
        };
        let first = sigs.first().cloned().unwrap_or_default();
        let sig_header = self.signature_header.clone();
        let pairs: Vec<(String, String)> = match self.scheme {
            Scheme::StandardWebhooks => {
                let (id_name, ts_name) = if sig_header == SVIX_SIGNATURE {
                    (SVIX_ID, SVIX_TIMESTAMP)
                } else {
                    (WEBHOOK_ID, WEBHOOK_TIMESTAMP)
                };
                vec![
                    (id_name.into(), id.into()),
                    (ts_name.into(), ts),
                    (sig_header, sigs.join(" ")),
                ]
            }
            Scheme::Stripe => vec![(sig_header, format!("t={ts},{}", tagged("v1", ",")))],
            Scheme::Timestamped => vec![
                (WEBHOOK_ID.into(), id.into()),
                (sig_header, format!("t={ts},v1={first}")),
            ],
            Scheme::Paddle => vec![(sig_header, format!("ts={ts};{}", tagged("h1", ";")))],
            Scheme::GitHub => vec![
                ("x-github-delivery".into(), id.into()),
                (sig_header, format!("sha256={first}")),
            ],
            Scheme::Slack => vec![
                ("x-slack-request-timestamp".into(), ts),
                (sig_header, format!("v0={first}")),
            ],
            Scheme::Shopify => vec![
                ("x-shopify-webhook-id".into(), id.into()),
                (sig_header, first),
            ],
        };
        SignedHeaders(pairs)
    }
}

/// A header carries at most [`MAX_SIGNATURES`](crate::MAX_SIGNATURES) signatures, one per secret.
fn at_most_max(secrets: usize) -> Result<(), SecretError> {
    let max = crate::MAX_SIGNATURES;
    if secrets > max {
        return Err(SecretError::TooManySecrets { max });
    }
    Ok(())
}

fn parse_sign_key(scheme: Scheme, secret: &str) -> Result<SignKey, SecretError> {
    if scheme == Scheme::StandardWebhooks {
        let secret = secret.trim();
        if let Some(encoded) = secret.strip_prefix(secret::WHSK_PREFIX) {
            return parse_signing_key(encoded);
        }
        if secret.starts_with(secret::WHPK_PREFIX) {
            return Err(SecretError::InvalidKey(
                "a `whpk_` public key cannot sign; use the `whsk_` key",
            ));
        }
    }
    let mut bytes = secret::hmac_secret_bytes(scheme, secret)?;
    let key = secret::hmac_key(&bytes);
    secret::zero(&mut bytes);
    Ok(SignKey::Hmac(key?))
}

#[cfg(feature = "ed25519")]
fn parse_signing_key(encoded: &str) -> Result<SignKey, SecretError> {
    use base64::Engine as _;
    let bytes = secret::LENIENT_STANDARD
        .decode(encoded.trim())
        .map_err(|_| SecretError::InvalidKey("`whsk_` key is not base64"))?;
    // Either the 32-byte seed or the 64-byte seed-and-public-key form.
    let seed: [u8; 32] = bytes
        .get(..32)
        .filter(|_| bytes.len() == 32 || bytes.len() == 64)
        .and_then(|s| s.try_into().ok())
        .ok_or(SecretError::InvalidKey(
            "`whsk_` key is not 32 or 64 bytes long",
        ))?;
    Ok(SignKey::Ed25519(Box::new(
        ed25519_dalek::SigningKey::from_bytes(&seed),
    )))
}

#[cfg(not(feature = "ed25519"))]
fn parse_signing_key(_encoded: &str) -> Result<SignKey, SecretError> {
    Err(SecretError::InvalidKey(
        "`whsk_` keys need webhook-core's `ed25519` feature",
    ))
}

/// The public key (`whpk_…`) that verifies signatures made with a `whsk_…` signing key.
///
/// ```
/// # #[cfg(feature = "ed25519")] {
/// let public = webhook_core::ed25519_public_key("whsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=").unwrap();
/// assert!(public.starts_with("whpk_"));
/// # }
/// ```
#[cfg(feature = "ed25519")]
pub fn ed25519_public_key(signing_key: &str) -> Result<String, SecretError> {
    let encoded = signing_key
        .trim()
        .strip_prefix(secret::WHSK_PREFIX)
        .ok_or(SecretError::InvalidKey("expected a `whsk_` key"))?;
    match parse_signing_key(encoded)? {
        SignKey::Ed25519(k) => Ok(format!(
            "{}{}",
            secret::WHPK_PREFIX,
            STANDARD.encode(k.verifying_key().to_bytes())
        )),
        SignKey::Hmac(_) => Err(SecretError::InvalidKey("expected a `whsk_` key")),
    }
}

/// Headers produced by [`Signer::sign`], lowercase names in the order a sender sends them.
///
/// It implements [`Headers`](crate::Headers), so it can be verified directly, and converts into
/// an iterator of `(name, value)` pairs for any HTTP client (or into an `http::HeaderMap`).
///
/// ```
/// use webhook_core::{Signer, Verifier};
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let mut headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, b"{}");
/// assert_eq!(headers.get("Webhook-Id"), Some("msg_1"));
///
/// let verifier = Verifier::standard(secret)?.without_timestamp_check();
/// assert!(verifier.verify(&headers, b"{}").is_ok());
///
/// headers.set("webhook-id", "msg_2"); // the signature no longer matches
/// assert!(verifier.verify(&headers, b"{}").is_err());
///
/// # #[cfg(feature = "http")] {
/// let map: http::HeaderMap = headers.into();
/// assert_eq!(map["webhook-id"], "msg_2");
/// # }
/// # Ok::<(), webhook_core::SecretError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignedHeaders(pub Vec<(String, String)>);

impl SignedHeaders {
    /// The value of header `name` (case-insensitive).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Replaces (or adds) header `name`, e.g. to tamper with a signature in a test.
    pub fn set(&mut self, name: &str, value: impl Into<String>) {
        let value = value.into();
        match self
            .0
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
        {
            Some(slot) => slot.1 = value,
            None => self.0.push((name.to_ascii_lowercase(), value)),
        }
    }

    /// The pairs, as `(name, value)` string slices.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

impl crate::Headers for SignedHeaders {
    fn get(&self, name: &str) -> Option<&[u8]> {
        crate::Headers::get(self.0.as_slice(), name)
    }
    fn count(&self, name: &str) -> usize {
        crate::Headers::count(self.0.as_slice(), name)
    }
}

impl IntoIterator for SignedHeaders {
    type Item = (String, String);
    type IntoIter = std::vec::IntoIter<(String, String)>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

#[cfg(feature = "http")]
impl From<SignedHeaders> for http::HeaderMap {
    /// Converts into a `HeaderMap`. Values that are not valid header values are skipped (a
    /// signer only produces ASCII, but ids come from the caller).
    fn from(h: SignedHeaders) -> Self {
        let mut map = http::HeaderMap::with_capacity(h.0.len());
        for (k, v) in h.0 {
            if let (Ok(name), Ok(value)) = (
                http::HeaderName::from_bytes(k.as_bytes()),
                http::HeaderValue::from_str(&v),
            ) {
                map.append(name, value);
            }
        }
        map
    }
}
