//! `webhook sign`: print the headers a sender would send.

use crate::cli::{SignArgs, SignFormat};
use crate::error::CliError;
use crate::{body, ids, keys};

/// Runs `webhook sign`, writing the headers to `out`.
pub(crate) fn run(args: &SignArgs, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    let signer = keys::signer(&args.key, body::reads_stdin(args.body_file.as_deref()))?;
    if args.timestamp.is_some() && !signer.scheme().has_timestamp() {
        return Err(CliError::Usage(format!(
            "--timestamp: {} signs no timestamp",
            signer.scheme()
        )));
    }
    if args.id.is_some() && signer.scheme().id_header().is_none() {
        return Err(CliError::Usage(format!(
            "--id: {} sends no delivery id",
            signer.scheme()
        )));
    }
    let now = keys::now_unix();
    let timestamp = args.timestamp.unwrap_or(now);
    let id = match &args.id {
        Some(id) => id.clone(),
        None => ids::fresh("msg_", now)?,
    };
    if id.chars().any(char::is_control) {
        return Err(CliError::Usage("--id has a control character".into()));
    }
    if id.trim().is_empty() && signer.scheme() == webhook_core::Scheme::StandardWebhooks {
        return Err(CliError::Usage(
            "--id is empty: Standard Webhooks verifiers refuse an empty webhook-id".into(),
        ));
    }
    if id.trim() != id {
        return Err(CliError::Usage(
            "--id has leading or trailing whitespace: HTTP drops it from the header, so the \
             signature over the id as given would match nowhere"
                .into(),
        ));
    }
    let event = match &args.event {
        Some(event) => Some(keys::event_header(signer.scheme(), event)?),
        None => None,
    };
    let body = body::read(args.body_file.as_deref())?;
    let mut headers = signer.sign(&id, timestamp, &body);
    if let Some((name, value)) = event {
        headers.0.push((name.to_owned(), value));
    }
    let format = if args.json {
        SignFormat::Json
    } else {
        args.format
    };
    let text = match format {
        SignFormat::Headers => headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}\n"))
            .collect::<String>(),
        SignFormat::Json => {
            let map: serde_json::Map<String, serde_json::Value> = headers
                .iter()
                .map(|(name, value)| (name.to_owned(), value.into()))
                .collect();
            format!("{}\n", serde_json::Value::Object(map))
        }
    };
    CliError::write_out(out, text.as_bytes(), "the headers")
}
