//! [`Verifier`]: checks a delivery's signature and timestamp.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Duration;

use arrayvec::ArrayVec;
use hmac::Mac as _;
use subtle::ConstantTimeEq as _;

#[cfg(feature = "ed25519")]
use crate::candidates::Alg;
use crate::candidates::{Candidate, Candidates};
use crate::headers::Duplicated;
use crate::headers::{
    SHOPIFY_HMAC, SHOPIFY_WEBHOOK_ID, SVIX_ID, SVIX_SIGNATURE, SVIX_TIMESTAMP, WEBHOOK_ID,
    WEBHOOK_SIGNATURE, WEBHOOK_TIMESTAMP,
};
use crate::parse::{self, MAX_ED25519_SIGNATURES, MAX_SIGNATURES, trim};
use crate::secret::{HmacSha256, Key, parse_all, parse_verify_key};
use crate::{Clock, Headers, Scheme, SecretError, SystemClock, Verified, VerifyError};

/// The default timestamp tolerance: 5 minutes, in both directions.
pub const DEFAULT_TOLERANCE: Duration = Duration::from_secs(300);

/// Verifies webhook deliveries under one [`Scheme`] with one or more secrets.
///
/// Build it once at start-up (parsing secrets and keying HMAC states happens here), share it
/// (it is `Clone + Send + Sync`), and call [`verify`](Verifier::verify) with the request's headers
/// and **exact raw body bytes**.
///
/// ```
/// use webhook_core::{Signer, Verifier};
///
/// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let body = br#"{"type":"organization.created"}"#;
/// let headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, body);
///
/// let verifier = Verifier::standard(secret)?;
/// let verified = verifier.verify_at(&headers, body, 1_700_000_010)?;
/// assert_eq!(verified.id(), Some("msg_1"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Security
/// - Signatures are decoded to bytes, length-checked and compared in constant time.
/// - Timestamps outside the tolerance (default 300 s, both directions) are rejected; pair this
///   with deduplication by [`Delivery::dedupe_key`](crate::Delivery::dedupe_key) to stop replays
///   inside the window. Not by [`Verified::id`] alone: under the timestamped scheme, GitHub and
///   Shopify the id header is not signed, and a replay under a fresh id still verifies.
/// - `Debug` never prints secrets, and no error carries the expected signature.
#[derive(Clone)]
pub struct Verifier {
    scheme: Scheme,
    keys: Vec<Key>,
    tolerance: Option<u64>,
    clock: Arc<dyn Clock>,
    signature_header: Cow<'static, str>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("scheme", &self.scheme)
            .field("secrets", &self.keys.len())
            .field("tolerance", &self.tolerance)
            .field("clock", &self.clock)
            .field("signature_header", &self.signature_header)
            .finish()
    }
}

impl Verifier {
    /// A verifier for `scheme` with one secret, given as the sender shows it: `whsec_…` for
    /// Standard Webhooks (base64 after the optional prefix; a `whpk_…` ed25519 public key with the
    /// `ed25519` feature; whitespace around it is trimmed), the raw string for every other scheme
    /// (Stripe's `whsec_…` string is used as is, as Stripe does). Whitespace around a Stripe,
    /// Slack, Shopify or Paddle secret is refused ([`SecretError::SurroundingWhitespace`](crate::SecretError::SurroundingWhitespace)):
    /// their secrets have none, and it would fail every delivery.
    ///
    /// ```
    /// use webhook_core::{Scheme, SecretError, Verifier};
    ///
    /// let stripe = Verifier::new(Scheme::Stripe, "whsec_test_secret")?;
    /// assert_eq!(stripe.signature_header_name(), "stripe-signature");
    /// assert_eq!(Verifier::new(Scheme::GitHub, "").unwrap_err(), SecretError::Empty);
    /// // A secret read from a file with its newline:
    /// let err = Verifier::new(Scheme::Stripe, "whsec_test_secret\n").unwrap_err();
    /// assert_eq!(err, SecretError::SurroundingWhitespace(Scheme::Stripe));
    /// # Ok::<(), SecretError>(())
    /// ```
    pub fn new(scheme: Scheme, secret: &str) -> Result<Self, SecretError> {
        Verifier::with_secrets(scheme, [secret])
    }

    /// A verifier for `scheme` accepting any of `secrets` (rotation). Fails on an empty list or
    /// any invalid secret.
    ///
    /// ```
    /// use webhook_core::{Scheme, Signer, Verifier};
    ///
    /// let verifier = Verifier::with_secrets(Scheme::Shopify, ["new-secret", "old-secret"])?;
    /// assert_eq!(verifier.secret_count(), 2);
    ///
    /// // A delivery still signed with the old secret verifies, and says so.
    /// let body = br#"{"id":820982911946154508}"#;
    /// let headers = Signer::new(Scheme::Shopify, "old-secret")?.sign("b54557e4", 0, body);
    /// assert_eq!(verifier.verify(&headers, body)?.secret_index(), 1);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn with_secrets<I, S>(scheme: Scheme, secrets: I) -> Result<Self, SecretError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        Ok(Verifier {
            scheme,
            keys: parse_all(scheme, secrets, parse_verify_key)?,
            tolerance: Some(DEFAULT_TOLERANCE.as_secs()),
            clock: Arc::new(SystemClock),
            signature_header: Cow::Borrowed(scheme.signature_header()),
        })
    }

    /// A Standard Webhooks verifier (Scalekit, Svix-powered senders).
    ///
    /// ```
    /// use webhook_core::{Scheme, SecretError, Verifier};
    ///
    /// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert_eq!(verifier.scheme(), Scheme::StandardWebhooks);
    /// assert_eq!(verifier.tolerance_secs(), Some(300));
    /// // The `whsec_` prefix is optional; the base64 after it is not.
    /// assert!(Verifier::standard("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").is_ok());
    /// assert_eq!(Verifier::standard("whsec_not base64!").unwrap_err(), SecretError::InvalidBase64);
    /// # Ok::<(), SecretError>(())
    /// ```
    pub fn standard(secret: &str) -> Result<Self, SecretError> {
        Verifier::new(Scheme::StandardWebhooks, secret)
    }

    /// Adds a secret that is also accepted, e.g. the previous one during a rotation.
    /// [`Verified::secret_index`] tells which one matched.
    ///
    /// ```
    /// use webhook_core::{Signer, Verifier};
    ///
    /// let old = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    /// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .add_secret(old)?;
    /// let headers = Signer::standard(old)?.sign("msg_1", 1_700_000_000, b"{}");
    /// let verified = verifier.verify_at(&headers, b"{}", 1_700_000_000)?;
    /// assert_eq!(verified.secret_index(), 1); // this sender has not switched yet
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn add_secret(mut self, secret: &str) -> Result<Self, SecretError> {
        self.keys.push(parse_verify_key(self.scheme, secret)?);
        Ok(self)
    }

    /// Sets the timestamp tolerance (both directions). Default: [`DEFAULT_TOLERANCE`], 300 s.
    /// Timestamps are whole seconds, so a fraction of a second rounds up.
    ///
    /// ```
    /// use std::time::Duration;
    /// let v = webhook_core::Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .tolerance(Duration::from_millis(500));
    /// let headers = [
    ///     ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
    ///     ("webhook-timestamp", "1614265330"),
    ///     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
    /// ];
    /// let body = br#"{"test": 2432232314}"#;
    /// assert!(v.verify_at(&headers, body, 1614265331).is_ok());
    /// assert!(v.verify_at(&headers, body, 1614265332).is_err());
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn tolerance(mut self, tolerance: Duration) -> Self {
        let secs = tolerance.as_secs();
        self.tolerance = Some(secs.saturating_add(u64::from(tolerance.subsec_nanos() > 0)));
        self
    }

    /// Turns the timestamp check off: signatures are still verified, but any timestamp is
    /// accepted. For replaying stored deliveries and for tests; a live endpoint should keep the
    /// check (it is the replay protection).
    ///
    /// ```
    /// use webhook_core::Verifier;
    ///
    /// // A delivery stored in 2021, verified again today.
    /// let headers = [
    ///     ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
    ///     ("webhook-timestamp", "1614265330"),
    ///     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
    /// ];
    /// let body = br#"{"test": 2432232314}"#;
    /// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// assert!(verifier.verify(&headers, body).is_err()); // years out of tolerance
    /// let replay = verifier.without_timestamp_check();
    /// assert_eq!(replay.tolerance_secs(), None);
    /// assert!(replay.verify(&headers, body).is_ok());
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn without_timestamp_check(mut self) -> Self {
        self.tolerance = None;
        self
    }

    /// Uses `clock` for "now" instead of the system clock.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use webhook_core::{FixedClock, Verifier};
    ///
    /// let v = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .with_clock(Arc::new(FixedClock(1_700_000_000)));
    /// assert_eq!(v.clock().now_unix(), 1_700_000_000);
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The clock "now" is read from: what a layer or extractor built on this verifier uses for
    /// its other deadlines (dedupe TTLs), so that one injected clock drives them all.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    /// Reads the signature from another header (the timestamped scheme's header name differs
    /// between integrations). Case-insensitive. Standard Webhooks always reads
    /// `webhook-signature` (or `svix-signature`), which the spec names.
    ///
    /// ```
    /// use webhook_core::{Scheme, Verifier};
    /// let v = Verifier::new(Scheme::Timestamped, "secret")?.signature_header("X-Signature");
    /// assert_eq!(v.signature_header_name(), "x-signature");
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn signature_header(mut self, name: &str) -> Self {
        if self.scheme != Scheme::StandardWebhooks {
            let name = name.to_ascii_lowercase();
            // A name the crate knows keeps its static form: errors then name it (a custom name
            // reads as `signature` in them) and Shopify's fallback header still applies.
            let known = Scheme::ALL
                .iter()
                .map(|scheme| scheme.signature_header())
                .chain([SHOPIFY_HMAC[1]])
                .find(|known| *known == name);
            self.signature_header = match known {
                Some(known) => Cow::Borrowed(known),
                None => Cow::Owned(name),
            };
        }
        self
    }

    /// The scheme this verifier checks.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// How many secrets it accepts.
    pub fn secret_count(&self) -> usize {
        self.keys.len()
    }

    /// The timestamp tolerance, or `None` when the check is off.
    pub fn tolerance_secs(&self) -> Option<u64> {
        self.tolerance
    }

    /// The (lowercase) name of the header the signature is read from.
    pub fn signature_header_name(&self) -> &str {
        &self.signature_header
    }

    /// Verifies a delivery against the verifier's clock: the headers (any [`Headers`]: an
    /// `http::HeaderMap`, a slice of pairs, [`SignedHeaders`](crate::SignedHeaders)) and the
    /// exact raw body bytes.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use webhook_core::{FixedClock, Verifier, VerifyError};
    ///
    /// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?
    ///     .with_clock(Arc::new(FixedClock(1614265330))); // in production: the system clock
    /// # #[cfg(feature = "http")] {
    /// let mut headers = http::HeaderMap::new();
    /// headers.insert("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek".parse()?);
    /// headers.insert("webhook-timestamp", "1614265330".parse()?);
    /// headers.insert("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=".parse()?);
    ///
    /// assert!(verifier.verify(&headers, br#"{"test": 2432232314}"#).is_ok());
    /// let err = verifier.verify(&headers, br#"{"test": 1}"#).unwrap_err(); // modified body
    /// assert!(matches!(err, VerifyError::SignatureMismatch { .. }));
    /// assert_eq!(err.status(), 401);
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify<H: Headers + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
    ) -> Result<Verified, VerifyError> {
        self.verify_at(headers, body, self.clock.now_unix())
    }

    /// Verifies a delivery as if the time were `now` (Unix seconds): for tests, and for tools
    /// that check a delivery against the time it was received.
    ///
    /// ```
    /// use webhook_core::{Verifier, VerifyError};
    ///
    /// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?;
    /// let headers = [
    ///     ("webhook-id", "msg_p5jXN8AQM9LWM0D4loKWxJek"),
    ///     ("webhook-timestamp", "1614265330"),
    ///     ("webhook-signature", "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="),
    /// ];
    /// let body = br#"{"test": 2432232314}"#;
    /// assert!(verifier.verify_at(&headers, body, 1614265330 + 300).is_ok());
    /// let late = verifier.verify_at(&headers, body, 1614265330 + 301).unwrap_err();
    /// assert_eq!(late, VerifyError::TimestampTooOld { timestamp: 1614265330, age: 301, tolerance: 300 });
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub fn verify_at<H: Headers + ?Sized>(
        &self,
        headers: &H,
        body: &[u8],
        now: i64,
    ) -> Result<Verified, VerifyError> {
        self.verify_parts(headers, body, now)
            .map(|(verified, _)| verified)
    }

    /// Checks what can be checked before the body arrives, as of `now` (Unix seconds): the
    /// scheme's headers are present, unique and well-formed, the signature header is not empty,
    /// and the timestamp is inside the tolerance. A receiver calls it before reading the body,
    /// so that a request that can never verify is refused without buffering it (the tower
    /// layer and the actix extractor do). Passing it says nothing about the signature:
    /// [`verify_at`](Verifier::verify_at) still decides.
    ///
    /// ```
    /// use webhook_core::{Signer, Verifier, VerifyError};
    ///
    /// let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    /// let verifier = Verifier::standard(secret)?;
    /// let headers = Signer::standard(secret)?.sign("msg_1", 1_700_000_000, b"{}");
    /// verifier.check_headers_at(&headers, 1_700_000_000)?;
    ///
    /// let stale = verifier.check_headers_at(&headers, 1_700_000_000 + 3600).unwrap_err();
    /// assert!(matches!(stale, VerifyError::TimestampTooOld { .. }));
    /// let none: [(&str, &str); 0] = [];
    /// assert_eq!(verifier.check_headers_at(&none[..], 0).unwrap_err().status(), 400);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn check_headers_at<H: Headers + ?Sized>(
        &self,
        headers: &H,
        now: i64,
    ) -> Result<(), VerifyError> {
        let parts = self.extract(headers)?;
        if let (Some(ts), Some(tolerance)) = (parts.timestamp, self.tolerance) {
            check_tolerance(ts, now, tolerance)?;
        }
        Ok(())
    }

    /// Verifies, and returns the signed header fields it read as well.
    pub(crate) fn verify_parts<'h, H: Headers + ?Sized>(
        &self,
        headers: &'h H,
        body: &[u8],
        now: i64,
    ) -> Result<(Verified, Parts<'h>), VerifyError> {
        let parts = self.extract(headers)?;
        if let (Some(ts), Some(tolerance)) = (parts.timestamp, self.tolerance) {
            check_tolerance(ts, now, tolerance)?;
        }
        let secret_index = self.match_signature(&parts, body)?;
        let verified = Verified {
            scheme: self.scheme,
            id: parts.id.map(crate::verified::MessageId::new),
            timestamp: parts.timestamp,
            secret_index,
        };
        Ok((verified, parts))
    }

    fn extract<'h, H: Headers + ?Sized>(&self, headers: &'h H) -> Result<Parts<'h>, VerifyError> {
        let scheme = self.scheme;
        let sig_name = self.signature_header_name_static();
        let mut parts = match scheme {
            Scheme::StandardWebhooks => {
                let standard = StandardHeaders::read(headers);
                let (id_name, id) = standard.required(ID_HEADER)?;
                let id = trim(id);
                if id.is_empty() {
                    return Err(VerifyError::MalformedHeader {
                        name: id_name,
                        reason: "empty message id",
                    });
                }
                let id = std::str::from_utf8(id).map_err(|_| VerifyError::MalformedHeader {
                    name: id_name,
                    reason: "message id is not UTF-8",
                })?;
                let (ts_name, ts) = standard.required(TIMESTAMP_HEADER)?;
                let ts = trim(ts);
                let (sig_name, sig) = standard.required(SIGNATURE_HEADER)?;
                Parts {
                    id: Some(id),
                    timestamp: Some(parse::timestamp(ts, ts_name)?),
                    timestamp_raw: ts,
                    signature: sig,
                    signature_name: sig_name,
                    standard_names: Some((id_name, ts_name)),
                }
            }
            Scheme::Stripe | Scheme::Timestamped | Scheme::Paddle => {
                let sig = required(headers, &self.signature_header, sig_name)?;
                let (sep, ts_key): (u8, &[u8]) = if scheme == Scheme::Paddle {
                    (b';', b"ts")
                } else {
                    (b',', b"t")
                };
                let mut ts_raw = None;
                for element in parse::elements(sig, sep, b'=') {
                    let (k, v) = element.map_err(|()| VerifyError::MalformedHeader {
                        name: sig_name,
                        reason: Candidates::malformed_reason(scheme),
                    })?;
                    if k == ts_key && ts_raw.replace(v).is_some() {
                        return Err(VerifyError::MalformedHeader {
                            name: sig_name,
                            reason: "more than one timestamp element",
                        });
                    }
                }
                let ts_raw = ts_raw.ok_or(VerifyError::MalformedHeader {
                    name: sig_name,
                    reason: if scheme == Scheme::Paddle {
                        "no `ts=` timestamp element"
                    } else {
                        "no `t=` timestamp element"
                    },
                })?;
                let id = match scheme {
                    Scheme::Timestamped => optional_str(headers, WEBHOOK_ID),
                    _ => None,
                };
                Parts {
                    id,
                    timestamp: Some(parse::timestamp(ts_raw, sig_name)?),
                    timestamp_raw: ts_raw,
                    signature: sig,
                    signature_name: sig_name,
                    standard_names: None,
                }
            }
            Scheme::Slack => {
                const TS: &str = "x-slack-request-timestamp";
                let ts = trim(required(headers, TS, TS)?);
                let sig = required(headers, &self.signature_header, sig_name)?;
                Parts {
                    id: None,
                    timestamp: Some(parse::timestamp(ts, TS)?),
                    timestamp_raw: ts,
                    signature: sig,
                    signature_name: sig_name,
                    standard_names: None,
                }
            }
            Scheme::GitHub | Scheme::Shopify => {
                let (sig_name, sig) = match optional_raw(headers, &self.signature_header, sig_name)?
                {
                    Some(sig) => (sig_name, sig),
                    // Shopify's Events deliveries name it `shopify-hmac-sha256`.
                    None if sig_name == SHOPIFY_HMAC[0] => (
                        SHOPIFY_HMAC[1],
                        optional_raw(headers, SHOPIFY_HMAC[1], SHOPIFY_HMAC[1])?
                            .ok_or(VerifyError::MissingHeader { name: sig_name })?,
                    ),
                    None => return Err(VerifyError::MissingHeader { name: sig_name }),
                };
                let id = match scheme.id_header() {
                    Some(name) => optional_str(headers, name),
                    None => None,
                };
                let id = match id {
                    None if scheme == Scheme::Shopify => {
                        optional_str(headers, SHOPIFY_WEBHOOK_ID[1])
                    }
                    id => id,
                };
                Parts {
                    id,
                    timestamp: None,
                    timestamp_raw: b"",
                    signature: sig,
                    signature_name: sig_name,
                    standard_names: None,
                }
            }
        };
        parts.signature = trim(parts.signature);
        if parts.signature.is_empty() {
            return Err(VerifyError::MalformedHeader {
                name: parts.signature_name,
                reason: "empty signature",
            });
        }
        // Every sender's signature header is ASCII, and a delivery keeps it as text to be
        // verified again (an inbox replay): other bytes, even in an entry that is skipped, would
        // make a delivery that verifies now and never again.
        if !parts.signature.is_ascii() {
            return Err(VerifyError::MalformedHeader {
                name: parts.signature_name,
                reason: "signature header is not ASCII",
            });
        }
        Ok(parts)
    }

    /// The signature header name as a `&'static str` for errors: the scheme's own, or a generic
    /// label for a custom header name.
    fn signature_header_name_static(&self) -> &'static str {
        match &self.signature_header {
            Cow::Borrowed(name) => name,
            Cow::Owned(_) => "signature",
        }
    }

    fn match_signature(&self, parts: &Parts<'_>, body: &[u8]) -> Result<usize, VerifyError> {
        let scheme = self.scheme;
        let malformed = || VerifyError::MalformedHeader {
            name: parts.signature_name,
            reason: Candidates::malformed_reason(scheme),
        };
        let has_hmac = self.keys.iter().any(|k| matches!(k, Key::Hmac(_)));
        let has_ed25519 = self.keys.iter().any(|k| !matches!(k, Key::Hmac(_)));

        // One pass over the header: validate its shape, decode the HMAC tags once, and keep the
        // other candidates (ed25519) encoded. No allocation.
        let mut tags = ArrayVec::<[u8; 32], MAX_SIGNATURES>::new();
        let mut others = ArrayVec::<Candidate<'_>, MAX_SIGNATURES>::new();
        // The signatures this verifier checks (at most `MAX_SIGNATURES`): entries of versions it
        // holds no key for, or unknown ones, cost a scan of the header, not a MAC.
        let mut usable = 0usize;
        // Entries of a known version, checked or not.
        let mut known = 0usize;
        // A Standard Webhooks entry that is not `version,signature` is passed over, as the svix
        // crate does: the header is malformed for it only when it holds no known entry at all.
        let mut passed_over = false;
        for candidate in Candidates::new(scheme, parts.signature) {
            let candidate = match candidate {
                Ok(candidate) => candidate,
                Err(()) if scheme == Scheme::StandardWebhooks => {
                    passed_over = true;
                    continue;
                }
                Err(()) => return Err(malformed()),
            };
            known += 1;
            let checked = if candidate.alg.is_hmac() {
                has_hmac
            } else {
                has_ed25519
            };
            if !checked {
                continue;
            }
            if usable == MAX_SIGNATURES {
                return Err(VerifyError::MalformedHeader {
                    name: parts.signature_name,
                    reason: "more than 16 signatures",
                });
            }
            usable += 1;
            if candidate.alg.is_hmac() {
                // An undecodable tag cannot match; it still counts as a candidate.
                if let Some(tag) = candidate.alg.decode_tag(candidate.encoded) {
                    tags.push(tag);
                }
            } else {
                if others.len() == MAX_ED25519_SIGNATURES {
                    return Err(VerifyError::MalformedHeader {
                        name: parts.signature_name,
                        reason: "more than 4 v1a signatures",
                    });
                }
                others.push(candidate);
            }
        }
        if usable == 0 {
            return Err(if passed_over && known == 0 {
                malformed()
            } else {
                VerifyError::NoSupportedSignature {
                    name: parts.signature_name,
                }
            });
        }
        #[cfg(not(feature = "ed25519"))]
        let _ = others;

        let prefix = signed_prefix(
            scheme,
            parts.id.unwrap_or_default().as_bytes(),
            parts.timestamp_raw,
        );
        #[cfg(feature = "ed25519")]
        let mut message: Option<Vec<u8>> = None;
        for (index, key) in self.keys.iter().enumerate() {
            match key {
                Key::Hmac(keyed) => {
                    let tag = prefix.mac(keyed, body);
                    if tags.iter().any(|candidate| tags_equal(candidate, &tag)) {
                        return Ok(index);
                    }
                }
                #[cfg(feature = "ed25519")]
                Key::Ed25519(public) => {
                    let message = message.get_or_insert_with(|| prefix.joined(body));
                    for candidate in &others {
                        if candidate.alg != Alg::Ed25519Base64 {
                            continue;
                        }
                        if let Some(sig) = parse::base64_exact::<64>(candidate.encoded) {
                            let sig = ed25519_dalek::Signature::from_bytes(&sig);
                            if public.verify_strict(message, &sig).is_ok() {
                                return Ok(index);
                            }
                        }
                    }
                }
            }
        }
        Err(VerifyError::SignatureMismatch {
            candidates: usable,
            secrets: self.keys.len(),
        })
    }
}

/// The header fields a scheme signs, borrowed from the request.
pub(crate) struct Parts<'h> {
    /// The delivery id, when the scheme has one and it is UTF-8.
    id: Option<&'h str>,
    timestamp: Option<i64>,
    timestamp_raw: &'h [u8],
    signature: &'h [u8],
    signature_name: &'static str,
    /// Standard Webhooks: the names the id and timestamp were read under (`webhook-` or `svix-`).
    standard_names: Option<(&'static str, &'static str)>,
}

impl<'h> Parts<'h> {
    /// The three Standard Webhooks headers as read, trimmed: what a delivery keeps, without
    /// looking them up again.
    pub(crate) fn standard_headers(&self) -> Option<[(&'static str, &'h [u8]); 3]> {
        let (id_name, ts_name) = self.standard_names?;
        Some([
            (id_name, self.id?.as_bytes()),
            (ts_name, self.timestamp_raw),
            (self.signature_name, self.signature),
        ])
    }
}

/// The bytes signed before the body, as up to four slices (no copy of anything).
pub(crate) struct Prefix<'a> {
    parts: [&'a [u8]; 4],
    len: usize,
}

impl<'a> Prefix<'a> {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &'a [u8]> + '_ {
        self.parts[..self.len].iter().copied()
    }

    /// HMAC-SHA256 of the prefix then the body, fed in place from a keyed state.
    pub(crate) fn mac(&self, keyed: &HmacSha256, body: &[u8]) -> [u8; 32] {
        let mut mac = keyed.clone();
        // The prefix and the body's first bytes go in as whole SHA-256 blocks assembled on the
        // stack: one update instead of one per part, and the body after them is fed in place.
        let mut head = [0u8; 128];
        let mut len = 0;
        for part in self.iter() {
            match head.get_mut(len..len + part.len()) {
                Some(slot) => slot.copy_from_slice(part),
                None => return self.mac_by_parts(mac, body),
            }
            len += part.len();
        }
        let fill = (len.next_multiple_of(64) - len).min(body.len());
        head[len..len + fill].copy_from_slice(&body[..fill]);
        mac.update(&head[..len + fill]);
        mac.update(&body[fill..]);
        mac.finalize().into_bytes().into()
    }

    /// [`mac`](Prefix::mac) for a prefix longer than two blocks (an unusually long id).
    fn mac_by_parts(&self, mut mac: HmacSha256, body: &[u8]) -> [u8; 32] {
        for part in self.iter() {
            mac.update(part);
        }
        mac.update(body);
        mac.finalize().into_bytes().into()
    }

    /// The prefix and the body as one message, for ed25519 (which cannot be fed in parts).
    #[cfg(feature = "ed25519")]
    pub(crate) fn joined(&self, body: &[u8]) -> Vec<u8> {
        let len = self.iter().map(<[u8]>::len).sum::<usize>() + body.len();
        let mut message = Vec::with_capacity(len);
        for part in self.iter() {
            message.extend_from_slice(part);
        }
        message.extend_from_slice(body);
        message
    }
}

/// What `scheme` signs in front of the body: `{id}.{ts}.` (Standard Webhooks), `{t}.` (Stripe,
/// timestamped), `v0:{ts}:` (Slack), `{ts}:` (Paddle), nothing (GitHub, Shopify).
pub(crate) fn signed_prefix<'a>(scheme: Scheme, id: &'a [u8], ts: &'a [u8]) -> Prefix<'a> {
    let empty: &[u8] = b"";
    match scheme {
        Scheme::StandardWebhooks => Prefix {
            parts: [id, b".", ts, b"."],
            len: 4,
        },
        Scheme::Stripe | Scheme::Timestamped => Prefix {
            parts: [ts, b".", empty, empty],
            len: 2,
        },
        Scheme::Slack => Prefix {
            parts: [b"v0:", ts, b":", empty],
            len: 3,
        },
        Scheme::Paddle => Prefix {
            parts: [ts, b":", empty, empty],
            len: 2,
        },
        Scheme::GitHub | Scheme::Shopify => Prefix {
            parts: [empty; 4],
            len: 0,
        },
    }
}

fn check_tolerance(ts: i64, now: i64, tolerance: u64) -> Result<(), VerifyError> {
    let diff = i128::from(now) - i128::from(ts);
    let tol = i128::from(tolerance);
    if diff > tol {
        return Err(VerifyError::TimestampTooOld {
            timestamp: ts,
            age: u64::try_from(diff).unwrap_or(u64::MAX),
            tolerance,
        });
    }
    if -diff > tol {
        return Err(VerifyError::TimestampTooNew {
            timestamp: ts,
            ahead: u64::try_from(-diff).unwrap_or(u64::MAX),
            tolerance,
        });
    }
    Ok(())
}

fn required<'h, H: Headers + ?Sized>(
    headers: &'h H,
    lookup: &str,
    name: &'static str,
) -> Result<&'h [u8], VerifyError> {
    optional_raw(headers, lookup, name)?.ok_or(VerifyError::MissingHeader { name })
}

fn optional_raw<'h, H: Headers + ?Sized>(
    headers: &'h H,
    lookup: &str,
    name: &'static str,
) -> Result<Option<&'h [u8]>, VerifyError> {
    headers
        .get_unique(lookup)
        .map_err(|Duplicated| duplicated(name))
}

fn duplicated(name: &'static str) -> VerifyError {
    VerifyError::MalformedHeader {
        name,
        reason: "header appears more than once",
    }
}

/// An optional, unsigned id header: absent, repeated, empty or not UTF-8 all read as no id. Being
/// unsigned, it cannot make a signed delivery fail.
fn optional_str<'h, H: Headers + ?Sized>(headers: &'h H, name: &'static str) -> Option<&'h str> {
    headers
        .get_unique(name)
        .ok()
        .flatten()
        .and_then(parse::id_value)
}

/// The Standard Webhooks headers, read in one pass when the headers offer it
/// ([`Headers::visit_all`]), else looked up one name at a time.
enum StandardHeaders<'h, H: ?Sized> {
    Read([Slot<'h>; 6]),
    Lookup(&'h H),
}

// Each header's place in `StandardHeaders::NAMES`.
const ID_HEADER: usize = 0;
const TIMESTAMP_HEADER: usize = 2;
const SIGNATURE_HEADER: usize = 4;

#[derive(Clone, Copy)]
enum Slot<'h> {
    Absent,
    Once(&'h [u8]),
    Repeated,
}

impl<'h, H: Headers + ?Sized> StandardHeaders<'h, H> {
    /// Each header's `webhook-` name, then its `svix-` alias.
    const NAMES: [&'static str; 6] = [
        WEBHOOK_ID,
        SVIX_ID,
        WEBHOOK_TIMESTAMP,
        SVIX_TIMESTAMP,
        WEBHOOK_SIGNATURE,
        SVIX_SIGNATURE,
    ];

    fn read(headers: &'h H) -> Self {
        let mut slots = [Slot::Absent; 6];
        let visited = headers.visit_all(&mut |name, value| {
            let i = match name {
                WEBHOOK_ID => 0,
                SVIX_ID => 1,
                WEBHOOK_TIMESTAMP => 2,
                SVIX_TIMESTAMP => 3,
                WEBHOOK_SIGNATURE => 4,
                SVIX_SIGNATURE => 5,
                _ => return,
            };
            slots[i] = match slots[i] {
                Slot::Absent => Slot::Once(value),
                _ => Slot::Repeated,
            };
        });
        if visited {
            StandardHeaders::Read(slots)
        } else {
            StandardHeaders::Lookup(headers)
        }
    }

    fn unique(&self, i: usize) -> Result<Option<&'h [u8]>, VerifyError> {
        let name = Self::NAMES[i];
        match self {
            StandardHeaders::Lookup(headers) => optional_raw(*headers, name, name),
            StandardHeaders::Read(slots) => match slots[i] {
                Slot::Absent => Ok(None),
                Slot::Once(value) => Ok(Some(value)),
                Slot::Repeated => Err(duplicated(name)),
            },
        }
    }

    /// Header `i` under its `webhook-` name or, failing that, its `svix-` alias.
    fn required(&self, i: usize) -> Result<(&'static str, &'h [u8]), VerifyError> {
        for i in [i, i + 1] {
            if let Some(value) = self.unique(i)? {
                return Ok((Self::NAMES[i], value));
            }
        }
        Err(VerifyError::MissingHeader {
            name: Self::NAMES[i],
        })
    }
}

/// Constant-time equality of two 32-byte tags: the length is checked, the bytes are XOR-folded
/// into one word without branching, and `subtle` decides on the word.
fn tags_equal(a: &[u8; 32], b: &[u8]) -> bool {
    let Ok(b) = <&[u8; 32]>::try_from(b) else {
        return false;
    };
    let mut diff = 0u64;
    for (x, y) in a.chunks_exact(8).zip(b.chunks_exact(8)) {
        let x = u64::from_ne_bytes([x[0], x[1], x[2], x[3], x[4], x[5], x[6], x[7]]);
        let y = u64::from_ne_bytes([y[0], y[1], y[2], y[3], y[4], y[5], y[6], y[7]]);
        diff |= x ^ y;
    }
    bool::from(diff.ct_eq(&0))
}

#[cfg(test)]
mod tests {
    use super::tags_equal;

    #[test]
    fn tag_compare() {
        let a = [7u8; 32];
        assert!(tags_equal(&a, &a));
        for i in 0..32 {
            for bit in 0..8 {
                let mut b = a;
                b[i] ^= 1 << bit;
                assert!(!tags_equal(&a, &b));
            }
        }
        assert!(!tags_equal(&a, &a[..31]));
        assert!(!tags_equal(&a, &[]));
    }

    /// The MAC over the prefix and body, fed as stack-assembled blocks (or part by part for a
    /// long prefix), equals HMAC-SHA256 over the joined message, at every block boundary.
    #[test]
    fn mac_matches_hmac_of_the_joined_message() {
        use hmac::Mac as _;

        use super::signed_prefix;
        use crate::Scheme;

        let keyed = crate::secret::hmac_key(b"key").unwrap();
        let body: Vec<u8> = (0..=255u8).cycle().take(300).collect();
        for id_len in 0..=200 {
            let id = vec![b'i'; id_len];
            let prefix = signed_prefix(Scheme::StandardWebhooks, &id, b"1700000000");
            for body_len in [0, 1, 17, 18, 19, 63, 64, 65, 127, 128, 129, 300] {
                let body = &body[..body_len];
                let joined: Vec<u8> = prefix.iter().flatten().chain(body).copied().collect();
                let mut reference = keyed.clone();
                reference.update(&joined);
                let expected: [u8; 32] = reference.finalize().into_bytes().into();
                assert_eq!(
                    prefix.mac(&keyed, body),
                    expected,
                    "id {id_len}, body {body_len}"
                );
            }
        }
    }
}
