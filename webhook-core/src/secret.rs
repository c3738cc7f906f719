//! Secrets and keys, parsed once and kept in the form the hot path needs.

use base64::Engine as _;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use hmac::{Hmac, KeyInit as _};
use sha2::Sha256;

use crate::{Scheme, SecretError};

pub(crate) type HmacSha256 = Hmac<Sha256>;

/// Standard base64 that accepts secrets with or without `=` padding (senders' dashboards differ).
pub(crate) const LENIENT_STANDARD: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The Standard Webhooks symmetric secret prefix.
pub const WHSEC_PREFIX: &str = "whsec_";
/// The Standard Webhooks ed25519 public key prefix.
pub const WHPK_PREFIX: &str = "whpk_";
/// The Standard Webhooks ed25519 secret (signing) key prefix.
pub const WHSK_PREFIX: &str = "whsk_";

/// A verification key: an HMAC key with its inner and outer pads already absorbed, or an ed25519
/// public key.
#[derive(Clone)]
pub(crate) enum Key {
    Hmac(HmacSha256),
    #[cfg(feature = "ed25519")]
    Ed25519(ed25519_dalek::VerifyingKey),
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Key::Hmac(_) => f.write_str("HmacKey([REDACTED])"),
            #[cfg(feature = "ed25519")]
            Key::Ed25519(_) => f.write_str("Ed25519PublicKey"),
        }
    }
}

/// The bytes an HMAC secret stands for under `scheme`: base64 after an optional `whsec_` for
/// Standard Webhooks, the string's own bytes for every other scheme.
pub(crate) fn hmac_secret_bytes(scheme: Scheme, secret: &str) -> Result<Vec<u8>, SecretError> {
    match scheme {
        Scheme::StandardWebhooks => {
            // Whitespace around the whole secret (a newline from a file, a space after `=` in
            // a `.env` file) is not part of it: trimmed before the prefix is looked for.
            let secret = secret.trim();
            let encoded = secret.strip_prefix(WHSEC_PREFIX).unwrap_or(secret);
            if encoded.trim().is_empty() {
                return Err(SecretError::Empty);
            }
            let bytes = LENIENT_STANDARD
                .decode(encoded.trim())
                .map_err(|_| SecretError::InvalidBase64)?;
            if bytes.is_empty() {
                return Err(SecretError::Empty);
            }
            Ok(bytes)
        }
        _ => {
            if secret.trim().is_empty() {
                return Err(SecretError::Empty);
            }
            // These senders' secrets are tokens without whitespace: around one, it is a newline
            // from a file or an environment variable, and every delivery would fail with 401.
            // GitHub's and the timestamped scheme's are free text, used exactly as given.
            let token = !matches!(scheme, Scheme::GitHub | Scheme::Timestamped);
            if token && secret.trim() != secret {
                return Err(SecretError::SurroundingWhitespace(scheme));
            }
            // An ed25519 key of Standard Webhooks: used as an HMAC secret, it would only ever
            // produce 401s.
            if secret.starts_with(WHPK_PREFIX) || secret.starts_with(WHSK_PREFIX) {
                return Err(SecretError::WrongScheme(scheme));
            }
            Ok(secret.as_bytes().to_vec())
        }
    }
}

pub(crate) fn hmac_key(bytes: &[u8]) -> Result<HmacSha256, SecretError> {
    if bytes.is_empty() {
        return Err(SecretError::Empty);
    }
    HmacSha256::new_from_slice(bytes).map_err(|_| SecretError::Empty)
}

/// Parses every secret of a rotation with `parse`, in order; fails on an empty list or on the
/// first invalid secret. What the signer's and the verifier's `with_secrets` share.
pub(crate) fn parse_all<K, S: AsRef<str>>(
    scheme: Scheme,
    secrets: impl IntoIterator<Item = S>,
    parse: fn(Scheme, &str) -> Result<K, SecretError>,
) -> Result<Vec<K>, SecretError> {
    let secrets: Vec<S> = secrets.into_iter().collect();
    let count = secrets.len();
    let keys = secrets
        .iter()
        .enumerate()
        .map(|(index, secret)| {
            parse(scheme, secret.as_ref()).map_err(|error| {
                // In a list, say which secret: the rest of the message cannot.
                if count > 1 {
                    SecretError::InList {
                        index,
                        count,
                        error: Box::new(error),
                    }
                } else {
                    error
                }
            })
        })
        .collect::<Result<Vec<K>, SecretError>>()?;
    if keys.is_empty() {
        return Err(SecretError::NoSecrets);
    }
    Ok(keys)
}

/// Parses a secret for verification under `scheme`.
pub(crate) fn parse_verify_key(scheme: Scheme, secret: &str) -> Result<Key, SecretError> {
    if scheme == Scheme::StandardWebhooks {
        let secret = secret.trim();
        if let Some(encoded) = secret.strip_prefix(WHPK_PREFIX) {
            return parse_public_key(encoded);
        }
        if secret.starts_with(WHSK_PREFIX) {
            return Err(SecretError::InvalidKey(
                "a `whsk_` signing key belongs to the sender; verify with its `whpk_` public key",
            ));
        }
    }
    let mut bytes = hmac_secret_bytes(scheme, secret)?;
    let key = hmac_key(&bytes);
    zero(&mut bytes);
    Ok(Key::Hmac(key?))
}

#[cfg(feature = "ed25519")]
fn parse_public_key(encoded: &str) -> Result<Key, SecretError> {
    let mut buf = [0u8; 48];
    let n = LENIENT_STANDARD
        .decode_slice(encoded.trim(), &mut buf)
        .map_err(|_| SecretError::InvalidKey("`whpk_` key is not base64 of 32 bytes"))?;
    let bytes: [u8; 32] = buf[..n]
        .try_into()
        .map_err(|_| SecretError::InvalidKey("`whpk_` key is not 32 bytes long"))?;
    let key = ed25519_dalek::VerifyingKey::from_bytes(&bytes)
        .map_err(|_| SecretError::InvalidKey("`whpk_` key is not a valid ed25519 point"))?;
    Ok(Key::Ed25519(key))
}

#[cfg(not(feature = "ed25519"))]
fn parse_public_key(_encoded: &str) -> Result<Key, SecretError> {
    Err(SecretError::InvalidKey(
        "`whpk_` keys need webhook-core's `ed25519` feature",
    ))
}

/// Overwrites secret material we no longer need.
pub(crate) fn zero(bytes: &mut [u8]) {
    for b in bytes.iter_mut() {
        // A volatile-free best effort: the allocation is dropped right after.
        *b = 0;
    }
    std::hint::black_box(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_secrets_are_refused() {
        for s in ["", "whsec_", "whsec_   "] {
            assert_eq!(
                parse_verify_key(Scheme::StandardWebhooks, s).unwrap_err(),
                SecretError::Empty,
                "{s:?}"
            );
        }
        assert_eq!(
            parse_verify_key(Scheme::Stripe, "").unwrap_err(),
            SecretError::Empty
        );
    }

    #[test]
    fn whsec_prefix_is_optional_and_padding_lenient() {
        let a = hmac_secret_bytes(Scheme::StandardWebhooks, "whsec_dGVzdHNlY3JldA==").unwrap();
        let b = hmac_secret_bytes(Scheme::StandardWebhooks, "dGVzdHNlY3JldA").unwrap();
        assert_eq!(a, b"testsecret");
        assert_eq!(b, b"testsecret");
        assert_eq!(
            hmac_secret_bytes(Scheme::StandardWebhooks, "whsec_not base64!").unwrap_err(),
            SecretError::InvalidBase64
        );
    }

    #[test]
    fn ed25519_keys_are_refused_by_the_hmac_schemes() {
        for scheme in [Scheme::Stripe, Scheme::GitHub, Scheme::Paddle] {
            for key in ["whpk_AAAA", "whsk_AAAA"] {
                assert_eq!(
                    hmac_secret_bytes(scheme, key).unwrap_err(),
                    SecretError::WrongScheme(scheme)
                );
            }
        }
    }

    #[test]
    fn whitespace_around_a_standard_secret_is_ignored() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let bytes = hmac_secret_bytes(Scheme::StandardWebhooks, secret).unwrap();
        for padded in [
            format!(" {secret}"),
            format!("{secret}\n"),
            format!("\t{secret} "),
        ] {
            assert_eq!(
                hmac_secret_bytes(Scheme::StandardWebhooks, &padded).unwrap(),
                bytes
            );
        }
    }

    #[test]
    fn blank_secrets_and_whitespace_around_token_secrets_are_refused() {
        for scheme in [
            Scheme::Stripe,
            Scheme::GitHub,
            Scheme::Slack,
            Scheme::Timestamped,
        ] {
            assert_eq!(
                hmac_secret_bytes(scheme, " \n\t"),
                Err(SecretError::Empty),
                "{scheme:?}"
            );
        }
        for scheme in [
            Scheme::Stripe,
            Scheme::Slack,
            Scheme::Shopify,
            Scheme::Paddle,
        ] {
            for secret in ["whsec_abc\n", " whsec_abc", "abc\r\n"] {
                assert_eq!(
                    hmac_secret_bytes(scheme, secret),
                    Err(SecretError::SurroundingWhitespace(scheme)),
                    "{scheme:?} {secret:?}"
                );
            }
        }
        // Free-text secrets are used exactly as given.
        assert_eq!(
            hmac_secret_bytes(Scheme::GitHub, " my secret ").unwrap(),
            b" my secret "
        );
    }

    #[test]
    fn other_schemes_use_the_string_bytes() {
        assert_eq!(
            hmac_secret_bytes(Scheme::Stripe, "whsec_abc").unwrap(),
            b"whsec_abc"
        );
    }

    #[test]
    fn debug_is_redacted() {
        let k = parse_verify_key(Scheme::GitHub, "hunter2").unwrap();
        assert!(!format!("{k:?}").contains("hunter2"));
    }
}
