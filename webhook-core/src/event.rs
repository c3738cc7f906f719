//! [`Event<T>`]: the **Scalekit** event envelope, generic over its `data` only, and
//! [`from_slice`], the typed parse of a verified body that reports the failing field.
//!
//! `Event<T>` is not a generic webhook envelope: other senders' bodies (Svix, Clerk, Resend,
//! Stripe, GitHub, …) do not fit it; type them with your own struct or `serde_json::Value`.

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::EventError;

/// A Scalekit event envelope:
/// `{"spec_version":"1","id":"evt_…","type":"…","occurred_at":"…","environment_id":"env_…",
/// "organization_id":"org_…","display_name":"…","object":"DirectoryUser","data":{…}}`.
///
/// **Scalekit's envelope only**, whatever crate re-exports it (`webhook_axum::Event`, …): it
/// requires `spec_version`, `id`, `type`, `occurred_at` (RFC 3339), `environment_id`, `object`
/// and `data`. A body from another sender, even a Standard Webhooks one such as Svix or Clerk
/// (`{"type":"user.created","object":"event","data":{…},"timestamp":…}`), does not fit: the
/// extractors answer it 422 `unprocessable_event`, `` missing field `spec_version` ``.
/// Deserialize such bodies into your own type or `serde_json::Value` instead.
///
/// `T` is the type of `data`: one of the [`scalekit`](crate::scalekit) structs when you know the
/// event type, [`ScalekitEvent`](crate::scalekit::ScalekitEvent) to type any Scalekit event by
/// its `type` (dispatched once, while parsing), `serde_json::Value`, or a borrowed
/// `&serde_json::value::RawValue` to defer or skip parsing `data`. Unknown envelope fields are
/// ignored.
///
/// ```
/// use webhook_core::event::{from_slice, Event};
/// use webhook_core::scalekit::{samples, DirectoryUser, ScalekitEvent};
///
/// let body = samples::sample("organization.directory.user_created").unwrap();
///
/// // Typed by its `type`, whatever it is:
/// let event: Event<ScalekitEvent> = from_slice(body.as_bytes())?;
/// match &event.data {
///     ScalekitEvent::DirectoryUserCreated(user) => assert_eq!(user.email.as_deref(), Some("dayton.jaquelin@acmecorp.com")),
///     ScalekitEvent::Unknown { event_type, .. } => println!("new event type {event_type}"),
///     _ => {}
/// }
///
/// // Or straight into the struct you expect:
/// let event: Event<DirectoryUser> = from_slice(body.as_bytes())?;
/// assert_eq!(event.occurred_at.nanosecond(), 153_954_000);
///
/// // Another sender's body (here Clerk's, sent through Svix) does not fit Scalekit's envelope:
/// let clerk = br#"{"data":{"id":"user_1"},"object":"event","type":"user.created","timestamp":1654012591835}"#;
/// let err = from_slice::<Event<serde_json::Value>>(clerk).unwrap_err();
/// assert!(err.to_string().contains("missing field `spec_version`"));
/// // Type it with your own struct, or `serde_json::Value`:
/// let body: serde_json::Value = from_slice(clerk)?;
/// assert_eq!(body["type"], "user.created");
/// # Ok::<(), webhook_core::EventError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Event<T> {
    /// The envelope's version, currently `"1"`.
    pub spec_version: String,
    /// The event's id, `evt_…`: the same on every retry, so a good deduplication key.
    pub id: String,
    /// The event type, e.g. `organization.directory.user_created`.
    #[serde(rename = "type")]
    pub event_type: String,
    /// When the event occurred (RFC 3339, nanosecond precision).
    #[serde(with = "time::serde::rfc3339")]
    pub occurred_at: OffsetDateTime,
    /// The Scalekit environment, `env_…`.
    pub environment_id: String,
    /// The organization concerned, `org_…`, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_id: Option<String>,
    /// A human-readable name for the event type, e.g. `Directory User Created`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The kind of object in `data`, e.g. `DirectoryUser`.
    pub object: String,
    /// The event's payload.
    pub data: T,
}

impl<T> Event<T> {
    /// Builds an envelope (for tests and senders); `spec_version` is `"1"`.
    ///
    /// ```
    /// use webhook_core::Event;
    /// use webhook_core::time::OffsetDateTime;
    ///
    /// let event = Event::new(
    ///     "evt_55136848097902873",
    ///     "organization.created",
    ///     OffsetDateTime::from_unix_timestamp(1_736_189_065)?,
    ///     "env_27758032200925460",
    ///     "Organization",
    ///     serde_json::json!({ "id": "org_59615193906282635" }),
    /// )
    /// .with_organization_id("org_59615193906282635");
    /// let body = serde_json::to_vec(&event).unwrap();
    /// let back: Event<serde_json::Value> = webhook_core::event::from_slice(&body)?;
    /// assert_eq!(back, event);
    /// assert_eq!(back.spec_version, "1");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new(
        id: impl Into<String>,
        event_type: impl Into<String>,
        occurred_at: OffsetDateTime,
        environment_id: impl Into<String>,
        object: impl Into<String>,
        data: T,
    ) -> Self {
        Event {
            spec_version: "1".to_owned(),
            id: id.into(),
            event_type: event_type.into(),
            occurred_at,
            environment_id: environment_id.into(),
            organization_id: None,
            display_name: None,
            object: object.into(),
            data,
        }
    }

    /// Sets `organization_id`, builder style.
    pub fn with_organization_id(mut self, organization_id: impl Into<String>) -> Self {
        self.organization_id = Some(organization_id.into());
        self
    }

    /// Sets `display_name`, builder style.
    pub fn with_display_name(mut self, display_name: impl Into<String>) -> Self {
        self.display_name = Some(display_name.into());
        self
    }

    /// Replaces `data`, keeping the envelope.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Event<U> {
        Event {
            spec_version: self.spec_version,
            id: self.id,
            event_type: self.event_type,
            occurred_at: self.occurred_at,
            environment_id: self.environment_id,
            organization_id: self.organization_id,
            display_name: self.display_name,
            object: self.object,
            data: f(self.data),
        }
    }
}

/// Parses a (verified) JSON body into `T`, reporting the failing field on error.
///
/// The success path is a plain `serde_json::from_slice`; only when it fails is the body parsed
/// again with `serde_path_to_error` to find the field, so tracking paths costs nothing on
/// valid input. `T` may borrow from `body` (`Event<&RawValue>`, `&str` fields).
pub fn from_slice<'a, T: Deserialize<'a>>(body: &'a [u8]) -> Result<T, EventError> {
    match serde_json::from_slice(body) {
        Ok(value) => Ok(value),
        Err(err) => Err(explain::<T>(body, err)),
    }
}

/// Re-parses with path tracking to say which field failed.
#[cold]
fn explain<'a, T: Deserialize<'a>>(body: &'a [u8], first: serde_json::Error) -> EventError {
    let event_type = crate::top_level::string(body, "type");
    let mut de = serde_json::Deserializer::from_slice(body);
    match serde_path_to_error::deserialize::<_, T>(&mut de) {
        Err(err) => EventError::from_path_error(err, event_type.as_deref()),
        // `from_slice` also rejects trailing characters.
        Ok(_) => match de.end() {
            Err(err) => EventError::from_json_error(err, ".".to_owned(), event_type.as_deref()),
            // Not reproducible with path tracking: report the first error without a path.
            Ok(()) => EventError::from_json_error(first, ".".to_owned(), event_type.as_deref()),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    const BODY: &str = r#"{"spec_version":"1","id":"evt_test_123","type":"organization.directory.user_created","occurred_at":"2024-01-15T10:30:00.123456789Z","environment_id":"env_1","organization_id":"org_1","object":"DirectoryUser","data":{"id":"diruser_1","organization_id":"org_1"},"extra":true}"#;

    #[test]
    fn value_and_borrowed_data() {
        let e: Event<serde_json::Value> = from_slice(BODY.as_bytes()).unwrap();
        assert_eq!(e.data["id"], "diruser_1");
        assert_eq!(e.occurred_at.nanosecond(), 123_456_789);
        assert_eq!(e.display_name, None);
        let e: Event<&RawValue> = from_slice(BODY.as_bytes()).unwrap();
        assert_eq!(
            e.data.get(),
            r#"{"id":"diruser_1","organization_id":"org_1"}"#
        );
    }

    #[test]
    fn errors_name_the_field() {
        let err = from_slice::<Event<serde_json::Value>>(br#"{"spec_version":"1","id":"evt_1","type":"x","occurred_at":"yesterday","environment_id":"e","object":"o","data":{}}"#).unwrap_err();
        assert_eq!(err.path(), Some("occurred_at"));
        assert!(
            err.to_string()
                .starts_with("event `x`: field `occurred_at`"),
            "{err}"
        );
        let err = from_slice::<Event<serde_json::Value>>(b"{\"id\":").unwrap_err();
        assert!(
            matches!(err, EventError::InvalidJson { line: 1, .. }),
            "{err:?}"
        );
        let err = from_slice::<Event<serde_json::Value>>(b"{} x").unwrap_err();
        assert!(
            matches!(
                err,
                EventError::InvalidJson { .. } | EventError::InvalidData { .. }
            ),
            "{err:?}"
        );
    }

    #[test]
    fn round_trips() {
        let e: Event<serde_json::Value> = from_slice(BODY.as_bytes()).unwrap();
        let again: Event<serde_json::Value> =
            serde_json::from_str(&serde_json::to_string(&e).unwrap()).unwrap();
        assert_eq!(again, e);
    }
}
