//! What `webhook send` delivers: a file's bytes, or a built-in Scalekit sample event.

use std::path::Path;

use bytes::Bytes;
use time::OffsetDateTime;
use webhook_core::scalekit::{ScalekitEvent, samples};

use crate::error::CliError;
use crate::{body, ids};

/// The sample sent when neither `--body-file` nor `--type` is given.
pub(crate) const DEFAULT_TYPE: &str = "organization.created";

/// The body source of `send`.
#[derive(Debug)]
pub(crate) enum Payload {
    /// The same bytes for every delivery, with their content type.
    File(Bytes, &'static str),
    /// A Scalekit sample of this type, with a fresh `evt_…` id and `occurred_at` each time.
    Sample(&'static str),
}

impl Payload {
    /// From `--body-file` / `--type`.
    pub(crate) fn from_args(
        file: Option<&Path>,
        event_type: Option<&str>,
    ) -> Result<Self, CliError> {
        match (file, event_type) {
            (Some(file), _) => {
                let bytes = Bytes::from(body::read(Some(file))?);
                let content_type = sniff(&bytes);
                Ok(Payload::File(bytes, content_type))
            }
            (None, Some(event_type)) => Ok(Payload::Sample(known_type(event_type)?)),
            (None, None) => Ok(Payload::Sample(DEFAULT_TYPE)),
        }
    }

    /// The body of one delivery sent at `now` (Unix seconds).
    pub(crate) fn body(&self, now: i64) -> Result<Bytes, CliError> {
        match self {
            Payload::File(bytes, _) => Ok(bytes.clone()),
            Payload::Sample(event_type) => {
                let event_id = ids::fresh("evt_", now)?;
                let occurred_at = OffsetDateTime::now_utc();
                samples::sample_with(event_type, &event_id, occurred_at)
                    .map(Bytes::from)
                    .ok_or_else(|| CliError::Runtime(format!("no sample body for {event_type}")))
            }
        }
    }

    /// The Content-Type to send (a `--header` overrides it).
    pub(crate) fn content_type(&self) -> &'static str {
        match self {
            Payload::File(_, content_type) => content_type,
            Payload::Sample(_) => "application/json",
        }
    }
}

/// JSON for a body that parses as JSON, a form for `a=1&b=2` (Slack commands), else bytes.
fn sniff(body: &[u8]) -> &'static str {
    if serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok() {
        "application/json"
    } else if !body.is_empty()
        && body.contains(&b'=')
        && body
            .iter()
            .all(|&b| b.is_ascii_graphic() && !matches!(b, b'"' | b'{' | b'<'))
    {
        "application/x-www-form-urlencoded"
    } else {
        "application/octet-stream"
    }
}

/// The catalog's spelling of `event_type`, or a usage error naming the nearest types.
pub(crate) fn known_type(event_type: &str) -> Result<&'static str, CliError> {
    if let Some(entry) = ScalekitEvent::catalog_entry(event_type) {
        return Ok(entry.event_type);
    }
    let needle = event_type.to_ascii_lowercase();
    let close: Vec<&str> = ScalekitEvent::CATALOG
        .iter()
        .map(|e| e.event_type)
        .filter(|t| {
            let stem = needle.split(['.', '_']).find(|s| s.len() > 2);
            stem.is_some_and(|s| t.contains(s))
        })
        .take(6)
        .collect();
    let hint = if close.is_empty() {
        String::new()
    } else {
        format!(" (did you mean {}?)", close.join(", "))
    };
    Err(CliError::Usage(format!(
        "unknown Scalekit event type `{event_type}`{hint}; `webhook samples` lists all {}",
        ScalekitEvent::CATALOG.len()
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn samples_get_fresh_event_ids() {
        let payload = Payload::from_args(None, Some("user.login")).unwrap();
        let a: serde_json::Value =
            serde_json::from_slice(&payload.body(1_700_000_000).unwrap()).unwrap();
        let b: serde_json::Value =
            serde_json::from_slice(&payload.body(1_700_000_000).unwrap()).unwrap();
        assert_eq!(a["type"], "user.login");
        assert!(a["id"].as_str().unwrap().starts_with("evt_"));
        assert_ne!(a["id"], b["id"]);
    }

    #[test]
    fn file_content_types_are_sniffed() {
        assert_eq!(sniff(b"{\"a\":1}\n"), "application/json");
        assert_eq!(
            sniff(b"token=x&command=%2Fdeploy"),
            "application/x-www-form-urlencoded"
        );
        assert_eq!(sniff(b"hello world"), "application/octet-stream");
        assert_eq!(sniff(b""), "application/octet-stream");
    }

    #[test]
    fn the_default_is_organization_created() {
        assert!(matches!(
            Payload::from_args(None, None).unwrap(),
            Payload::Sample(DEFAULT_TYPE)
        ));
    }

    #[test]
    fn unknown_types_suggest_close_ones() {
        let err = known_type("organization.create").unwrap_err().to_string();
        assert!(err.contains("organization.created"), "{err}");
        let err = known_type("zzz").unwrap_err().to_string();
        assert!(err.contains("webhook samples"), "{err}");
    }
}
