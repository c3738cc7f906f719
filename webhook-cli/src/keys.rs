//! Building webhook-core's [`Signer`] and [`Verifier`] from the command line's key flags.

use webhook_core::headers::{SVIX_SIGNATURE, WEBHOOK_SIGNATURE};
use webhook_core::{Scheme, Signer, Verifier};

use crate::cli::KeyArgs;
use crate::error::CliError;

/// A signer holding every `--secret`: schemes with several signatures sign with each; the others
/// carry one, so several secrets are refused rather than all but the first silently dropped.
pub(crate) fn signer(key: &KeyArgs) -> Result<Signer, CliError> {
    let secrets = secrets(key)?;
    if secrets.len() > 1 && !key.scheme.carries_several_signatures() {
        return Err(CliError::Usage(format!(
            "{} carries one signature: sign with one --secret (verify accepts several)",
            key.scheme
        )));
    }
    let signer = Signer::with_secrets(key.scheme, secrets)?;
    check_signature_header(key)?;
    Ok(match &key.signature_header {
        Some(name) => signer.signature_header(name),
        None => signer,
    })
}

/// A verifier accepting any `--secret`.
pub(crate) fn verifier(key: &KeyArgs) -> Result<Verifier, CliError> {
    let verifier = Verifier::with_secrets(key.scheme, secrets(key)?)?;
    check_signature_header(key)?;
    Ok(match &key.signature_header {
        Some(name) => verifier.signature_header(name),
        None => verifier,
    })
}

/// `--signature-header` must be a valid header name, and a scheme that lets it move.
fn check_signature_header(key: &KeyArgs) -> Result<(), CliError> {
    let Some(name) = &key.signature_header else {
        return Ok(());
    };
    if key.scheme == Scheme::StandardWebhooks {
        // Its two names: verifiers read both; the signer writes the svix-* set for the second.
        if [WEBHOOK_SIGNATURE, SVIX_SIGNATURE].contains(&name.to_ascii_lowercase().as_str()) {
            return Ok(());
        }
        return Err(CliError::Usage(
            "--signature-header takes only webhook-signature or svix-signature with the standard scheme".into(),
        ));
    }
    if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
        return Err(CliError::Usage(format!(
            "--signature-header `{name}` is not a valid header name"
        )));
    }
    Ok(())
}

fn secrets(key: &KeyArgs) -> Result<&[String], CliError> {
    if key.secret.is_empty() {
        return Err(CliError::Usage(
            "no secret: pass --secret SECRET or set WEBHOOK_SECRET".into(),
        ));
    }
    Ok(&key.secret)
}

/// The current Unix time in seconds.
pub(crate) fn now_unix() -> i64 {
    use webhook_core::Clock as _;
    webhook_core::SystemClock.now_unix()
}
