//! `webhook verify`: check a delivery's signature with webhook-core's verifier.

use std::time::Duration;

use bytes::Bytes;
use serde_json::json;

use crate::cli::VerifyArgs;
use crate::error::CliError;
use crate::parse::{self, Tolerance};
use crate::{body, keys};

/// The most a headers file may hold.
const MAX_HEADERS_FILE_BYTES: u64 = 1024 * 1024;

/// Runs `webhook verify`; on success returns the one-line JSON summary.
pub(crate) fn run(args: &VerifyArgs) -> Result<String, CliError> {
    let mut verifier = keys::verifier(&args.key, body::reads_stdin(args.body_file.as_deref()))?;
    verifier = match args.tolerance {
        Tolerance::Secs(secs) => verifier.tolerance(Duration::from_secs(secs)),
        Tolerance::Off => verifier.without_timestamp_check(),
    };
    let mut headers: Vec<(String, String)> = Vec::new();
    if let Some(path) = &args.headers_file {
        let what = format!("headers file {}", path.display());
        let text = read_text(path, &what)?;
        let lines = parse::header_lines(&text)
            .map_err(|(line, e)| CliError::Usage(format!("{what}, line {line}: {e}")))?;
        headers.extend(lines.into_iter().map(|h| (h.name, h.value)));
    }
    // `--header` replaces the file's lines of the same name (to try another value), as `send
    // --header` replaces what the signer set; repeated `--header`s of one name are all kept.
    headers.retain(|(name, _)| !args.headers.iter().any(|h| h.name == *name));
    headers.extend(
        args.headers
            .iter()
            .map(|h| (h.name.clone(), h.value.clone())),
    );
    if headers.is_empty() {
        return Err(CliError::Usage(
            "no headers: pass the delivery's headers with --header 'Name: value' or --headers-file FILE"
                .into(),
        ));
    }
    let body = Bytes::from(body::read(args.body_file.as_deref())?);
    let now = args.now.unwrap_or_else(keys::now_unix);
    let delivery = verifier
        .verify_delivery_at(&headers, body, now)
        .map_err(CliError::Rejected)?;
    let verified = delivery.verified();
    Ok(json!({
        "valid": true,
        "scheme": delivery.scheme().as_str(),
        "id": delivery.id(),
        "timestamp": verified.timestamp(),
        "secret_index": verified.secret_index(),
        "event_type": delivery.event_type(),
        "event_id": delivery.event_id(),
        "dedupe_key": delivery.dedupe_key(),
        "body_bytes": delivery.body().len(),
    })
    .to_string())
}

/// The one-line JSON summary of a rejection: `valid` false, the rejection's code, the HTTP
/// status a receiver answers, and the message (which never holds a secret or an expected MAC).
pub(crate) fn rejected(err: &webhook_core::VerifyError) -> String {
    json!({
        "valid": false,
        "code": err.code(),
        "status": err.status(),
        "error": err.to_string(),
    })
    .to_string()
}

fn read_text(path: &std::path::Path, what: &str) -> Result<String, CliError> {
    let bytes = body::read_limited(
        body::open(path, what)?,
        what,
        MAX_HEADERS_FILE_BYTES,
        ": not a header block",
    )?;
    String::from_utf8(bytes).map_err(|_| CliError::Usage(format!("{what} is not UTF-8 text")))
}
