//! [`ActixHeaders`]: actix-web's `HeaderMap` seen through [`webhook_core::Headers`].

use actix_web::http::header::HeaderMap;
use webhook_core::Headers;

/// Lets [`webhook_core::Verifier`] read an actix-web [`HeaderMap`].
///
/// actix-web 4 is built on `http` 0.2, so webhook-core's implementation for the `http` 1.x
/// `HeaderMap` does not apply; this newtype bridges the two. Repeated headers are counted, so a
/// signed header sent twice is rejected as ambiguous.
///
/// ```
/// use actix_web::test::TestRequest;
/// use webhook_actix::ActixHeaders;
/// use webhook_core::Headers;
///
/// let req = TestRequest::default()
///     .insert_header(("Webhook-Id", "msg_1"))
///     .to_http_request();
/// let headers = ActixHeaders(req.headers());
/// assert_eq!(headers.get("webhook-id"), Some(&b"msg_1"[..]));
/// assert_eq!(headers.count("webhook-signature"), 0);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ActixHeaders<'a>(pub &'a HeaderMap);

impl Headers for ActixHeaders<'_> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(|value| value.as_bytes())
    }

    fn count(&self, name: &str) -> usize {
        self.0.get_all(name).count()
    }

    fn visit_all<'a>(&'a self, visit: &mut dyn FnMut(&str, &'a [u8])) -> bool {
        if self.0.len() > webhook_core::headers::ONE_PASS_MAX {
            return false;
        }
        for (name, value) in self.0.iter() {
            visit(name.as_str(), value.as_bytes());
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use actix_web::http::header::{HeaderName, HeaderValue};

    use super::*;

    #[test]
    fn reads_and_counts_repeated_headers() {
        let mut map = HeaderMap::new();
        let name = HeaderName::from_static("webhook-signature");
        map.append(name.clone(), HeaderValue::from_static("v1,a"));
        map.append(name, HeaderValue::from_static("v1,b"));
        let headers = ActixHeaders(&map);
        assert_eq!(headers.get("webhook-signature"), Some(&b"v1,a"[..]));
        assert_eq!(headers.count("webhook-signature"), 2);
        assert_eq!(headers.get("webhook-id"), None);
        assert_eq!(headers.count("webhook-id"), 0);
    }

    #[test]
    fn a_small_map_is_visited_whole_a_large_one_not_at_all() {
        let mut map = HeaderMap::new();
        map.append(
            HeaderName::from_static("webhook-id"),
            HeaderValue::from_static("m"),
        );
        for v in ["v1,a", "v1,b"] {
            map.append(
                HeaderName::from_static("webhook-signature"),
                HeaderValue::from_static(v),
            );
        }
        let mut seen = Vec::new();
        assert!(ActixHeaders(&map).visit_all(&mut |n, v| seen.push((n.to_owned(), v.to_vec()))));
        seen.sort();
        assert_eq!(
            seen,
            [
                ("webhook-id".to_owned(), b"m".to_vec()),
                ("webhook-signature".to_owned(), b"v1,a".to_vec()),
                ("webhook-signature".to_owned(), b"v1,b".to_vec()),
            ]
        );
        for _ in map.len()..=webhook_core::headers::ONE_PASS_MAX {
            map.append(
                HeaderName::from_static("x-filler"),
                HeaderValue::from_static("x"),
            );
        }
        assert!(!ActixHeaders(&map).visit_all(&mut |_, _| panic!("visited past the limit")));
    }

    #[test]
    fn verifier_rejects_a_duplicated_signature_header() {
        let mut map = HeaderMap::new();
        for (k, v) in [
            ("webhook-id", "m"),
            ("webhook-timestamp", "1"),
            ("webhook-signature", "v1,a"),
        ] {
            map.append(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        map.append(
            HeaderName::from_static("webhook-signature"),
            HeaderValue::from_static("v1,b"),
        );
        let verifier = webhook_core::Verifier::standard("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .unwrap()
            .without_timestamp_check();
        let err = verifier.verify(&ActixHeaders(&map), b"{}").unwrap_err();
        assert_eq!(err.code(), "malformed_header");
    }
}
