//! Building webhook-core's [`Signer`] and [`Verifier`] from the command line's key flags.

use std::io::Read;
use std::path::Path;

use webhook_core::headers::{SVIX_SIGNATURE, WEBHOOK_SIGNATURE};
use webhook_core::{Scheme, Signer, Verifier};

use crate::body;
use crate::cli::KeyArgs;
use crate::error::CliError;

/// A signer holding every `--secret`: schemes with several signatures sign with each; the others
/// carry one, so several secrets are refused rather than all but the first silently dropped.
/// `stdin_is_body`: standard input holds the body, so `--secret-file -` cannot read it too.
pub(crate) fn signer(key: &KeyArgs, stdin_is_body: bool) -> Result<Signer, CliError> {
    let secrets = secrets(key, stdin_is_body)?;
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
pub(crate) fn verifier(key: &KeyArgs, stdin_is_body: bool) -> Result<Verifier, CliError> {
    let verifier = Verifier::with_secrets(key.scheme, secrets(key, stdin_is_body)?)?;
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

/// The largest secret file read (a few secrets; anything larger is not one).
const MAX_SECRET_FILE_BYTES: u64 = 64 * 1024;

/// `--secret`s and the lines of each `--secret-file`; without either, `WEBHOOK_SECRET` split on
/// commas (as the example receivers read it).
fn secrets(key: &KeyArgs, stdin_is_body: bool) -> Result<Vec<String>, CliError> {
    let mut secrets = key.secret.clone();
    for path in &key.secret_file {
        let text = if path == Path::new("-") {
            if stdin_is_body {
                return Err(CliError::Usage(
                    "--secret-file - and the body both want standard input: give the body with --body-file FILE"
                        .into(),
                ));
            }
            read_secrets(std::io::stdin().lock(), "secrets from standard input")?
        } else {
            let what = format!("secret file {}", path.display());
            read_secrets(body::open(path, &what)?, &what)?
        };
        let before = secrets.len();
        secrets.extend(
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(str::to_owned),
        );
        if secrets.len() == before {
            return Err(CliError::Usage(format!(
                "{} holds no secret",
                path.display()
            )));
        }
    }
    if secrets.is_empty()
        && let Ok(value) = std::env::var("WEBHOOK_SECRET")
    {
        // GitHub's and the timestamped scheme's secrets are free text, which may hold a comma:
        // one secret. The others' alphabets have none, so a comma separates secrets there.
        let free_text = matches!(key.scheme, Scheme::GitHub | Scheme::Timestamped);
        let parts: Vec<&str> = if free_text {
            vec![value.as_str()]
        } else {
            value.split(',').collect()
        };
        secrets.extend(
            parts
                .into_iter()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
        );
    }
    if secrets.is_empty() {
        return Err(CliError::Usage(
            "no secret: pass --secret-file FILE or --secret SECRET, or set WEBHOOK_SECRET".into(),
        ));
    }
    Ok(secrets)
}

fn read_secrets(reader: impl Read, what: &str) -> Result<String, CliError> {
    let bytes = body::read_limited(
        reader,
        what,
        MAX_SECRET_FILE_BYTES,
        ": not a list of secrets",
    )?;
    String::from_utf8(bytes).map_err(|_| CliError::Io {
        what: what.to_owned(),
        source: std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "stream did not contain valid UTF-8",
        ),
    })
}

/// The current Unix time in seconds.
pub(crate) fn now_unix() -> i64 {
    use webhook_core::Clock as _;
    webhook_core::SystemClock.now_unix()
}

/// The header `--event` fills for `scheme`: its unsigned event-type header.
pub(crate) fn event_header(
    scheme: webhook_core::Scheme,
    event: &str,
) -> Result<(&'static str, String), CliError> {
    let name = match scheme {
        webhook_core::Scheme::GitHub => "x-github-event",
        webhook_core::Scheme::Shopify => "x-shopify-topic",
        other => {
            return Err(CliError::Usage(format!(
                "--event: {other} reads the event type from the body, not from a header"
            )));
        }
    };
    if event.trim().is_empty() || event.chars().any(char::is_control) {
        return Err(CliError::Usage(
            "--event is empty or has a control character".into(),
        ));
    }
    Ok((name, event.to_owned()))
}
