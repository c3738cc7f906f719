//! Building webhook-core's [`Signer`] and [`Verifier`] from the command line's key flags.

use webhook_core::{Signer, Verifier};

use crate::cli::KeyArgs;
use crate::error::CliError;

/// A signer holding every `--secret` (schemes with several signatures sign with each).
pub(crate) fn signer(key: &KeyArgs) -> Result<Signer, CliError> {
    let (first, rest) = split(key)?;
    let mut signer = Signer::new(key.scheme, first)?;
    for secret in rest {
        signer = signer.add_secret(secret)?;
    }
    if let Some(name) = &key.signature_header {
        signer = signer.signature_header(name);
    }
    Ok(signer)
}

/// A verifier accepting any `--secret`.
pub(crate) fn verifier(key: &KeyArgs) -> Result<Verifier, CliError> {
    let (first, rest) = split(key)?;
    let mut verifier = Verifier::new(key.scheme, first)?;
    for secret in rest {
        verifier = verifier.add_secret(secret)?;
    }
    if let Some(name) = &key.signature_header {
        verifier = verifier.signature_header(name);
    }
    Ok(verifier)
}

fn split(key: &KeyArgs) -> Result<(&str, &[String]), CliError> {
    match key.secret.split_first() {
        Some((first, rest)) => Ok((first.as_str(), rest)),
        None => Err(CliError::Usage(
            "no secret: pass --secret SECRET or set WEBHOOK_SECRET".into(),
        )),
    }
}

/// The current Unix time in seconds.
pub(crate) fn now_unix() -> i64 {
    use webhook_core::Clock as _;
    webhook_core::SystemClock.now_unix()
}
