//! [`EventError`]: a verified body that cannot be typed (HTTP 422).

use crate::Rejection;

/// Why a **verified** body could not be turned into the event type the receiver asked for.
///
/// It is distinct from verification failures ([`VerifyError`](crate::VerifyError), 400/401):
/// the signature was fine, the content is not what the receiver expects, so the answer is
/// `422 Unprocessable Content` ([`status`](EventError::status)). Messages name the field that
/// failed (`data.organization_id`) and never quote a string value from the body (an object's keys
/// can appear: in the path, and as serde's `unknown field` name).
///
/// ```
/// use webhook_core::event::{from_slice, Event};
/// use webhook_core::scalekit::ScalekitEvent;
///
/// let body = br#"{"spec_version":"1","id":"evt_1","type":"organization.directory.user_created",
///   "occurred_at":"2025-01-06T18:44:25.153954Z","environment_id":"env_1","object":"DirectoryUser",
///   "data":{"id":"diruser_1","organization_id":"org_1","active":"yes"}}"#;
/// let err = from_slice::<Event<ScalekitEvent>>(body).unwrap_err();
/// assert_eq!(err.status(), 422);
/// assert_eq!(err.path(), Some("data.active"));
/// assert!(!err.to_string().contains("yes"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EventError {
    /// The body is not valid JSON (or is truncated).
    #[error("the verified body is not valid JSON: {reason} at line {line} column {column}")]
    InvalidJson {
        /// What the JSON parser found.
        reason: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        column: usize,
    },
    /// The body is JSON, but a field does not fit the expected type (a missing required field,
    /// a wrong type, an unparsable timestamp).
    #[error("{}field `{path}` does not fit: {reason}", match event_type { Some(t) => format!("event `{t}`: "), None => String::new() })]
    InvalidData {
        /// The event type, when known: escaped, and cut to 100 characters.
        event_type: Option<String>,
        /// Where it failed: `data.email`, `occurred_at`, `data.groups[0].id`; `.` for the root.
        path: String,
        /// What is wrong, with string values from the body left out.
        reason: String,
    },
}

/// How the message of a failure in `data` typed after the envelope begins (`in data.x: …`):
/// written by `scalekit`, read back by [`EventError::from_path_error`].
pub(crate) const BUFFERED_DATA: &str = "in data";

impl EventError {
    /// The HTTP status a receiver should answer: `422`.
    pub const fn status(&self) -> u16 {
        422
    }

    /// A short, stable, machine-readable code: `invalid_json` or `invalid_event_data`. (As a
    /// [`Rejection`], both answer `unprocessable_event`.)
    ///
    /// ```
    /// use webhook_core::{EventError, Rejection, event::from_slice};
    ///
    /// let err = from_slice::<serde_json::Value>(br#"{"type":"user.login","#).unwrap_err();
    /// assert_eq!((err.code(), err.path()), ("invalid_json", None));
    /// assert!(matches!(err, EventError::InvalidJson { line: 1, .. }));
    /// assert_eq!(Rejection::from(err).code(), "unprocessable_event");
    /// ```
    pub const fn code(&self) -> &'static str {
        match self {
            EventError::InvalidJson { .. } => "invalid_json",
            EventError::InvalidData { .. } => "invalid_event_data",
        }
    }

    /// The path of the field that failed, for [`EventError::InvalidData`].
    pub fn path(&self) -> Option<&str> {
        match self {
            EventError::InvalidData { path, .. } => Some(path),
            EventError::InvalidJson { .. } => None,
        }
    }

    /// Builds the error from a `serde_path_to_error` failure on a JSON body.
    pub(crate) fn from_path_error(
        err: serde_path_to_error::Error<serde_json::Error>,
        event_type: Option<&str>,
    ) -> Self {
        let path = err.path().to_string();
        match Self::from_json_error(err.into_inner(), path, event_type) {
            // `data` that came before `type` is typed after the envelope: its failure surfaces at
            // the envelope (`.`), naming the field in the message (see `scalekit`). Report it
            // at the field, as when `type` comes first.
            EventError::InvalidData {
                event_type,
                path,
                reason,
            } if path == "." && reason.starts_with(BUFFERED_DATA) => {
                let rest = &reason["in ".len()..];
                match rest.split_once(": ") {
                    Some((field, why)) => EventError::InvalidData {
                        event_type,
                        path: field.to_owned(),
                        reason: why.to_owned(),
                    },
                    None => EventError::InvalidData {
                        event_type,
                        path,
                        reason,
                    },
                }
            }
            other => other,
        }
    }

    /// Names `event_type` in the error when the body did not (GitHub's and Shopify's come from
    /// a header), escaped and cut like one read from the body.
    ///
    /// ```
    /// let err = webhook_core::event::from_slice::<u32>(b"\"x\"").unwrap_err();
    /// let err = err.with_event_type(Some("issues.opened"));
    /// assert!(err.to_string().starts_with("event `issues.opened`"), "{err}");
    /// ```
    pub fn with_event_type(self, event_type: Option<&str>) -> Self {
        match self {
            EventError::InvalidData {
                event_type: None,
                path,
                reason,
            } if event_type.is_some() => EventError::InvalidData {
                event_type: event_type.map(printable_type),
                path,
                reason,
            },
            other => other,
        }
    }

    /// Names the delivery's event type, which the scheme defines (a GitHub or Slack body's own
    /// `type` field is something else); keeps the body's when the delivery has none.
    pub(crate) fn of_event(self, event_type: Option<&str>) -> Self {
        match self {
            EventError::InvalidData { path, reason, .. } if event_type.is_some() => {
                EventError::InvalidData {
                    event_type: event_type.map(printable_type),
                    path,
                    reason,
                }
            }
            other => other,
        }
    }

    pub(crate) fn from_json_error(
        err: serde_json::Error,
        path: String,
        event_type: Option<&str>,
    ) -> Self {
        let (line, column) = (err.line(), err.column());
        let message = err.to_string();
        let reason = strip_position(&message);
        match err.classify() {
            serde_json::error::Category::Data => EventError::InvalidData {
                event_type: event_type.map(printable_type),
                path,
                reason: redact_strings(reason),
            },
            _ => EventError::InvalidJson {
                reason: reason.to_owned(),
                line,
                column,
            },
        }
    }
}

impl From<EventError> for Rejection {
    fn from(err: EventError) -> Self {
        Rejection::UnprocessableEvent(err.to_string())
    }
}

/// serde_json appends ` at line L column C`; the variants carry that apart or do not need it.
fn strip_position(message: &str) -> &str {
    match message.rfind(" at line ") {
        Some(i) if message[i..].contains(" column ") => &message[..i],
        _ => message,
    }
}

/// Drops the values that serde quotes in its messages (`invalid type: string "a@b.c",
/// expected a boolean` becomes `invalid type: string, expected a boolean`; `unknown variant
/// `a@b.c`, expected `admin`` becomes `unknown variant, expected `admin``; `invalid value:
/// integer `4111111111111111`, expected u16` becomes `invalid value: integer, expected u16`):
/// a 422 body or a log line must not echo the sender's data.
fn redact_strings(reason: &str) -> String {
    redact_scalars(&redact_variant(&redact_quoted(reason)))
}

/// serde writes numbers, booleans and chars as `integer `…``, `floating point `…``, `boolean
/// `…`` and `character `…``; the backquoted value ends at the next backquote.
fn redact_scalars(reason: &str) -> String {
    const KINDS: [&str; 4] = ["integer `", "floating point `", "boolean `", "character `"];
    let mut out = String::with_capacity(reason.len());
    let mut rest = reason;
    while let Some((start, kind)) = KINDS
        .iter()
        .filter_map(|kind| rest.find(kind).map(|i| (i, kind)))
        .min()
    {
        out.push_str(&rest[..start + kind.len() - 2]);
        let value = &rest[start + kind.len()..];
        match value.find('`') {
            Some(end) => rest = &value[end + 1..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// serde writes `unknown variant `{value}`, expected …` (or `…, there are no variants`) with the
/// value unescaped, so its end is the last of those tails; the expected names come from the type.
fn redact_variant(reason: &str) -> String {
    const START: &str = "unknown variant `";
    let Some(start) = reason.find(START) else {
        return reason.to_owned();
    };
    let value = &reason[start + START.len()..];
    let end = ["`, expected ", "`, there are no variants"]
        .iter()
        .filter_map(|tail| value.rfind(tail).map(|i| i + 1))
        .max();
    let rest = end.map_or("", |end| &value[end..]);
    format!("{}unknown variant{rest}", &reason[..start])
}

fn redact_quoted(reason: &str) -> String {
    let mut out = String::with_capacity(reason.len());
    let mut rest = reason;
    while let Some(start) = rest.find("string \"") {
        out.push_str(&rest[..start + "string".len()]);
        let quoted = &rest[start + "string \"".len()..];
        let mut escaped = false;
        let mut end = None;
        for (i, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    end = Some(i + 1);
                    break;
                }
                _ => {}
            }
        }
        match end {
            Some(end) => rest = &quoted[end..],
            None => return out,
        }
    }
    out.push_str(rest);
    out
}

/// The body's event type as an error may quote it: escaped (no line breaks or control
/// characters reach a log line) and cut to 100 characters.
fn printable_type(event_type: &str) -> String {
    let mut shown: String = event_type
        .chars()
        .take(100)
        .flat_map(char::escape_debug)
        .collect();
    if event_type.chars().count() > 100 {
        shown.push('…');
    }
    shown
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_quoted_event_type_is_escaped_and_bounded() {
        assert_eq!(printable_type("user.login"), "user.login");
        assert_eq!(printable_type("a\nlevel=ERROR"), "a\\nlevel=ERROR");
        let long = printable_type(&"x".repeat(500));
        assert_eq!(long.chars().count(), 101);
    }

    #[test]
    fn redacts_quoted_strings() {
        assert_eq!(
            redact_strings(r#"invalid type: string "a@b.c", expected a boolean"#),
            "invalid type: string, expected a boolean"
        );
        assert_eq!(
            redact_strings(r#"invalid value: string "x\"y, expected z", expected RFC 3339"#),
            "invalid value: string, expected RFC 3339"
        );
        assert_eq!(redact_strings("missing field `id`"), "missing field `id`");
        assert_eq!(
            redact_strings("invalid value: integer `4111111111111111`, expected u16"),
            "invalid value: integer, expected u16"
        );
        assert_eq!(
            redact_strings("invalid type: floating point `1234.5678`, expected a string"),
            "invalid type: floating point, expected a string"
        );
        assert_eq!(
            redact_strings("invalid type: boolean `true`, expected i64"),
            "invalid type: boolean, expected i64"
        );
        assert_eq!(
            redact_strings("invalid value: character `x`, expected a digit"),
            "invalid value: character, expected a digit"
        );
        assert_eq!(redact_strings("integer `12"), "integer");
        assert_eq!(redact_strings(r#"string "unterminated"#), "string");
        assert_eq!(
            redact_strings("unknown variant `a@b.c`, expected `admin` or `member`"),
            "unknown variant, expected `admin` or `member`"
        );
        assert_eq!(
            redact_strings("unknown variant `x`, expected y`, expected `admin`"),
            "unknown variant, expected `admin`"
        );
        assert_eq!(
            redact_strings("unknown variant `secret`, there are no variants"),
            "unknown variant, there are no variants"
        );
        assert_eq!(
            redact_strings("unknown variant `unterminated"),
            "unknown variant"
        );
    }

    #[test]
    fn an_unknown_variant_from_the_body_is_not_quoted() {
        #[derive(Debug, serde::Deserialize)]
        #[serde(rename_all = "lowercase")]
        #[allow(dead_code)]
        enum Role {
            Admin,
            Member,
        }
        #[derive(Debug, serde::Deserialize)]
        #[allow(dead_code)]
        struct User {
            role: Role,
        }
        let err = crate::event::from_slice::<User>(br#"{"role":"jane@corp.example"}"#).unwrap_err();
        assert_eq!(err.path(), Some("role"));
        let shown = err.to_string();
        assert!(!shown.contains("jane"), "{shown}");
        assert!(
            shown.contains("unknown variant, expected `admin` or `member`"),
            "{shown}"
        );
    }

    #[test]
    fn strips_position() {
        assert_eq!(
            strip_position("missing field `id` at line 1 column 5"),
            "missing field `id`"
        );
        assert_eq!(strip_position("no position"), "no position");
    }

    #[test]
    fn maps_to_422_rejection() {
        let err = EventError::InvalidData {
            event_type: Some("user.login".into()),
            path: "data.user".into(),
            reason: "missing field `id`".into(),
        };
        assert_eq!(err.status(), 422);
        assert_eq!(
            err.to_string(),
            "event `user.login`: field `data.user` does not fit: missing field `id`"
        );
        let rejection = Rejection::from(err);
        assert_eq!(rejection.status(), 422);
        assert_eq!(rejection.code(), "unprocessable_event");
    }
}
