//! One top-level field of a JSON object body, read in a pass that stops at that field: naming a
//! delivery (its event type, its event id) costs a scan of the body's head, not of all of it.

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

/// A field's value, as far as naming a delivery needs it.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Scalar {
    Str(String),
    Int(i64),
    /// A float, a bool, `null`, an object, an array, or an integer beyond `i64`.
    Other,
}

/// The value of the first top-level `key` of `body`, if `body` is a JSON object with that key
/// and is well-formed up to it. What follows the field is not read: a later duplicate of the
/// key, or a syntax error after it, goes unnoticed (the handler's own parse still sees it).
pub(crate) fn field(body: &[u8], key: &str) -> Option<Scalar> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    // Stopping inside the object makes serde_json report it unfinished, so the value comes
    // back through `found`, never through the result.
    let _ = de.deserialize_map(Fields {
        key,
        found: &mut found,
        inner: None,
    });
    found
}

/// The first top-level `key` of `body` if its value is a string.
pub(crate) fn string(body: &[u8], key: &str) -> Option<String> {
    match field(body, key)? {
        Scalar::Str(s) => Some(s),
        _ => None,
    }
}

/// The first `inner` key of the object under the first top-level `outer` key, if a string:
/// Slack's `event.type`. The scan stops there, as [`field`]'s does.
pub(crate) fn nested_string(body: &[u8], outer: &str, inner: &str) -> Option<String> {
    let mut found = None;
    let mut de = serde_json::Deserializer::from_slice(body);
    let _ = de.deserialize_map(Fields {
        key: outer,
        found: &mut found,
        inner: Some(inner),
    });
    match found? {
        Scalar::Str(s) => Some(s),
        _ => None,
    }
}

struct Fields<'a> {
    key: &'a str,
    found: &'a mut Option<Scalar>,
    /// Read `key`'s value as an object and take this key of it instead.
    inner: Option<&'a str>,
}

/// A value read as an object, for the first value of its key `key`.
struct Inner<'a> {
    key: &'a str,
    found: &'a mut Option<Scalar>,
}

impl<'de> DeserializeSeed<'de> for Inner<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_map(Fields {
            key: self.key,
            found: self.found,
            inner: None,
        })
    }
}

impl<'de> Visitor<'de> for Fields<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(wanted) = map.next_key_seed(KeyIs(self.key))? {
            if wanted {
                match self.inner {
                    None => *self.found = Some(map.next_value()?),
                    Some(key) => map.next_value_seed(Inner {
                        key,
                        found: self.found,
                    })?,
                }
                return Ok(());
            }
            map.next_value::<IgnoredAny>()?;
        }
        Ok(())
    }
}

/// Compares a key with the wanted one without allocating (escaped keys are compared unescaped).
struct KeyIs<'a>(&'a str);

impl<'de> DeserializeSeed<'de> for KeyIs<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for KeyIs<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a key")
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<bool, E> {
        Ok(key == self.0)
    }
}

impl<'de> de::Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ScalarVisitor)
    }
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar, E> {
        Ok(Scalar::Str(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar, E> {
        Ok(Scalar::Str(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar, E> {
        Ok(Scalar::Int(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar, E> {
        Ok(i64::try_from(v).map_or(Scalar::Other, Scalar::Int))
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Scalar, E> {
        Ok(Scalar::Other)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Scalar, A::Error> {
        IgnoredAny.visit_map(map).map(|_| Scalar::Other)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Scalar, A::Error> {
        IgnoredAny.visit_seq(seq).map(|_| Scalar::Other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_top_level_field_only() {
        let body = br#"{"data":{"type":"nested"},"list":[{"type":"x"}],"type":"top"}"#;
        assert_eq!(string(body, "type").as_deref(), Some("top"));
        assert_eq!(field(body, "missing"), None);
    }

    #[test]
    fn reads_one_level_down_under_the_first_outer_key() {
        let body = br#"{"type":"event_callback","event":{"user":{"type":"x"},"type":"app_mention"},"event":{"type":"b"}}"#;
        assert_eq!(
            nested_string(body, "event", "type").as_deref(),
            Some("app_mention")
        );
        assert_eq!(nested_string(body, "event", "missing"), None);
        for body in [
            &br#"{"event":"message"}"#[..],
            br#"{"event":[{"type":"a"}]}"#,
            br#"{"event":{"type":1}}"#,
            br#"{"other":{"type":"a"}}"#,
            br#"{"event":{"type""#,
        ] {
            assert_eq!(
                nested_string(body, "event", "type"),
                None,
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn values_other_than_strings_and_integers_are_other() {
        let body =
            br#"{"a":1,"b":-2,"c":18446744073709551615,"d":1.5,"e":null,"f":true,"g":{},"h":[]}"#;
        assert_eq!(field(body, "a"), Some(Scalar::Int(1)));
        assert_eq!(field(body, "b"), Some(Scalar::Int(-2)));
        for key in ["c", "d", "e", "f", "g", "h"] {
            assert_eq!(field(body, key), Some(Scalar::Other), "{key}");
        }
        assert_eq!(string(body, "a"), None);
    }

    #[test]
    fn escaped_keys_and_values_are_compared_unescaped() {
        let body = br#"{"t\u0079pe":"a\/b\u00e9"}"#;
        assert_eq!(string(body, "type").as_deref(), Some("a/bé"));
    }

    /// The scan stops at the field: what comes after it is not read.
    #[test]
    fn stops_at_the_field() {
        assert_eq!(
            string(br#"{"type":"a","type":"b"}"#, "type").as_deref(),
            Some("a")
        );
        assert_eq!(
            string(br#"  {"type":"a", !!!"#, "type").as_deref(),
            Some("a")
        );
        assert_eq!(string(br#"{"x": !!!, "type":"a"}"#, "type"), None);
    }

    #[test]
    fn anything_but_an_object_has_no_fields() {
        for body in [
            &b""[..],
            b"[]",
            b"\"type\"",
            b"null",
            b"{",
            b"{\"type\"",
            b"{\"type\":",
            b"token=x&type=y",
            b"\xff\xfe",
        ] {
            assert_eq!(
                field(body, "type"),
                None,
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    /// Deep nesting before the field is refused by serde_json's recursion limit, not by the
    /// stack.
    #[test]
    fn deep_nesting_is_bounded() {
        let mut body = String::from(r#"{"x":"#);
        body.push_str(&"[".repeat(100_000));
        assert_eq!(field(body.as_bytes(), "type"), None);
    }
}
