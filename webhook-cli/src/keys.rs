//! Building webhook-core's [`Signer`] and [`Verifier`] from the command line's key flags.

use webhook_core::{Signer, Verifier};

use crate::cli::KeyArgs;
use crate::error::CliError;

/// A signer holding every `--secret` (schemes with several signatures sign with each).
pub(crate) fn signer(key: &KeyArgs) -> Result<Signer, CliError> {
    let signer = Signer::with_secrets(key.scheme, secrets(key)?)?;
    Ok(match &key.signature_header {
        Some(name) => signer.signature_header(name),
        None => signer,
    })
}

/// A verifier accepting any `--secret`.
pub(crate) fn verifier(key: &KeyArgs) -> Result<Verifier, CliError> {
    let verifier = Verifier::with_secrets(key.scheme, secrets(key)?)?;
    Ok(match &key.signature_header {
        Some(name) => verifier.signature_header(name),
        None => verifier,
    })
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
