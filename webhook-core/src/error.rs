//! Why a delivery was rejected, and why a secret was refused.

/// Why a delivery failed verification.
///
/// Every variant names the header or check that failed, so that a receiver's operator can act on
/// it; none carries a secret, an expected signature or the body. [`VerifyError::status`] gives the
/// HTTP status a receiver should answer with: `400` for missing or malformed input, `401` for a
/// signature or timestamp that fails.
///
/// ```
/// use webhook_core::{Verifier, VerifyError};
///
/// let verifier = Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
/// let err = verifier.verify(&[("webhook-id", "msg_1")], b"{}").unwrap_err();
/// assert!(matches!(err, VerifyError::MissingHeader { name: "webhook-timestamp" }));
/// assert_eq!(err.status(), 400);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// A header the scheme requires is absent.
    #[error("missing `{name}` header")]
    MissingHeader {
        /// The header's lowercase name.
        name: &'static str,
    },
    /// A header is present but cannot be parsed.
    #[error("malformed `{name}` header: {reason}")]
    MalformedHeader {
        /// The header's lowercase name.
        name: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The signed timestamp is older than the tolerance allows (a replay, or a very late retry).
    #[error(
        "timestamp {timestamp} is {age} s old, more than the {tolerance} s tolerance: replayed delivery or wrong clock"
    )]
    TimestampTooOld {
        /// The timestamp the delivery carries (Unix seconds).
        timestamp: i64,
        /// How many seconds before the verifier's clock it lies.
        age: u64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// The signed timestamp lies further in the future than the tolerance allows.
    #[error(
        "timestamp {timestamp} is {ahead} s in the future, more than the {tolerance} s tolerance: check the clocks"
    )]
    TimestampTooNew {
        /// The timestamp the delivery carries (Unix seconds).
        timestamp: i64,
        /// How many seconds after the verifier's clock it lies.
        ahead: u64,
        /// The tolerance in seconds.
        tolerance: u64,
    },
    /// The signature header holds no signature of a version this verifier accepts (e.g. only
    /// `v1a` when the verifier holds HMAC secrets, or only `v2`).
    #[error("`{name}` header has no signature of a supported version")]
    NoSupportedSignature {
        /// The header's lowercase name.
        name: &'static str,
    },
    /// No signature in the header matches the body under any of the verifier's secrets.
    #[error(
        "no signature matched ({candidates} candidate(s), {secrets} secret(s)): wrong or rotated secret, or a modified body"
    )]
    SignatureMismatch {
        /// How many signatures of a supported version the header carried.
        candidates: usize,
        /// How many secrets were tried.
        secrets: usize,
    },
}

impl VerifyError {
    /// The HTTP status a receiver should answer: `400` for missing or malformed input, `401` for a
    /// signature or timestamp that fails.
    pub const fn status(&self) -> u16 {
        match self {
            VerifyError::MissingHeader { .. } | VerifyError::MalformedHeader { .. } => 400,
            VerifyError::TimestampTooOld { .. }
            | VerifyError::TimestampTooNew { .. }
            | VerifyError::NoSupportedSignature { .. }
            | VerifyError::SignatureMismatch { .. } => 401,
        }
    }

    /// A short, stable, machine-readable code (`missing_header`, `malformed_header`,
    /// `timestamp_too_old`, `timestamp_too_new`, `no_supported_signature`, `signature_mismatch`),
    /// for response bodies and metrics labels.
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
    /// let err = verifier.verify_at(&headers, br#"{"test": 2432232314}"#, 1614265330 + 3600).unwrap_err();
    /// assert_eq!((err.status(), err.code()), (401, "timestamp_too_old"));
    /// let hint = match err {
    ///     VerifyError::TimestampTooOld { age, .. } if age > 86_400 => "a stored delivery?",
    ///     VerifyError::TimestampTooOld { .. } | VerifyError::TimestampTooNew { .. } => "check the clocks",
    ///     _ => "check the secret and headers", // the enum is non-exhaustive
    /// };
    /// assert_eq!(hint, "check the clocks");
    /// # Ok::<(), webhook_core::SecretError>(())
    /// ```
    pub const fn code(&self) -> &'static str {
        match self {
            VerifyError::MissingHeader { .. } => "missing_header",
            VerifyError::MalformedHeader { .. } => "malformed_header",
            VerifyError::TimestampTooOld { .. } => "timestamp_too_old",
            VerifyError::TimestampTooNew { .. } => "timestamp_too_new",
            VerifyError::NoSupportedSignature { .. } => "no_supported_signature",
            VerifyError::SignatureMismatch { .. } => "signature_mismatch",
        }
    }
}

/// Why a secret or key was refused when building a [`Verifier`](crate::Verifier) or
/// [`Signer`](crate::Signer). The message never includes the secret.
///
/// ```
/// use webhook_core::{MAX_SIGNATURES, Scheme, SecretError, Signer, Verifier};
///
/// assert_eq!(Verifier::standard("whsec_").unwrap_err(), SecretError::Empty);
/// assert_eq!(Verifier::standard("whsec_not base64!").unwrap_err(), SecretError::InvalidBase64);
/// assert_eq!(
///     Verifier::new(Scheme::Slack, "8f742231b10e8888abcd99yyyzzz85a5\n").unwrap_err(),
///     SecretError::SurroundingWhitespace(Scheme::Slack),
/// );
/// let too_many = vec!["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"; MAX_SIGNATURES + 1];
/// let err = Signer::with_secrets(Scheme::StandardWebhooks, too_many).unwrap_err();
/// assert_eq!(err, SecretError::TooManySecrets { max: MAX_SIGNATURES });
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SecretError {
    /// The secret is empty or blank (`""`, only whitespace, or only the `whsec_` prefix). An
    /// HMAC with an empty key can be computed by anyone.
    #[error("the webhook secret is empty")]
    Empty,
    /// A Standard Webhooks secret that is not base64 (after its optional `whsec_` prefix).
    #[error(
        "the webhook secret is not a Standard Webhooks secret (`whsec_` and base64); copy it whole from the sender's dashboard, or pick the scheme whose secret it is (GitHub, Stripe, Slack, Shopify and Paddle secrets are used as plain strings)"
    )]
    InvalidBase64,
    /// An ed25519 key that is not a `whpk_`/`whsk_` base64 key of the right length.
    #[error("invalid ed25519 key: {0}")]
    InvalidKey(&'static str),
    /// A token-like secret (Stripe, Slack, Shopify, Paddle) starts or ends with whitespace,
    /// usually a newline read from a file or an environment variable: with it, every delivery
    /// would fail verification.
    #[error(
        "the webhook secret starts or ends with whitespace (a newline from a file or an environment variable?); {0} secrets contain none: remove it"
    )]
    SurroundingWhitespace(crate::Scheme),
    /// A verifier was built with no secret at all.
    #[error("a verifier needs at least one secret")]
    NoSecrets,
    /// The key type does not fit the scheme (e.g. an ed25519 public key for Stripe).
    #[error("this key cannot be used with the {0} scheme")]
    WrongScheme(crate::Scheme),
    /// A signer was given more secrets than one header may carry signatures
    /// ([`MAX_SIGNATURES`](crate::MAX_SIGNATURES)): verifiers would refuse what it signs.
    #[error(
        "a signer takes at most {max} secrets (verifiers refuse a header with more signatures); sign with the current ones only"
    )]
    TooManySecrets {
        /// The most a signer takes.
        max: usize,
    },
    /// One secret of a list (`with_secrets`, `secrets`) was refused: which one, and why.
    ///
    /// ```
    /// use webhook_core::{Scheme, SecretError, Verifier};
    ///
    /// let err = Verifier::with_secrets(Scheme::Stripe, ["whsec_new", "whsec_old\n"]).unwrap_err();
    /// assert_eq!(err.to_string().split(':').next(), Some("secret 2 of 2 in the list"));
    /// assert!(matches!(err, SecretError::InList { index: 1, .. }));
    /// ```
    #[error("secret {} of {count} in the list: {error}", index + 1)]
    InList {
        /// Its position, from 0 (as [`Verified::secret_index`](crate::Verified::secret_index)
        /// counts).
        index: usize,
        /// How many secrets the list had.
        count: usize,
        /// Why it was refused.
        error: Box<SecretError>,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(VerifyError::MissingHeader { name: "x" }.status(), 400);
        assert_eq!(
            VerifyError::MalformedHeader {
                name: "x",
                reason: "y"
            }
            .status(),
            400
        );
        assert_eq!(
            VerifyError::SignatureMismatch {
                candidates: 1,
                secrets: 1
            }
            .status(),
            401
        );
        assert_eq!(
            VerifyError::TimestampTooOld {
                timestamp: 0,
                age: 1,
                tolerance: 0
            }
            .status(),
            401
        );
    }
}
