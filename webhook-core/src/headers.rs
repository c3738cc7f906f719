//! Reading request headers without tying the crate to one HTTP library.

/// `webhook-id`: the Standard Webhooks message id (stable across retries).
pub const WEBHOOK_ID: &str = "webhook-id";
/// `webhook-timestamp`: the Standard Webhooks delivery attempt time, in Unix seconds.
pub const WEBHOOK_TIMESTAMP: &str = "webhook-timestamp";
/// `webhook-signature`: the Standard Webhooks space-separated signature list.
pub const WEBHOOK_SIGNATURE: &str = "webhook-signature";
/// `svix-id`: the Svix alias of [`WEBHOOK_ID`].
pub const SVIX_ID: &str = "svix-id";
/// `svix-timestamp`: the Svix alias of [`WEBHOOK_TIMESTAMP`].
pub const SVIX_TIMESTAMP: &str = "svix-timestamp";
/// `svix-signature`: the Svix alias of [`WEBHOOK_SIGNATURE`].
pub const SVIX_SIGNATURE: &str = "svix-signature";

// Shopify's headers, each as [legacy name, Events name]: its Events deliveries send `shopify-*`
// names beside the legacy `x-shopify-*` ones (shopify-app-js `lib/webhooks/header-names.ts`); the
// legacy name is read first.
pub(crate) const SHOPIFY_HMAC: [&str; 2] = ["x-shopify-hmac-sha256", "shopify-hmac-sha256"];
pub(crate) const SHOPIFY_WEBHOOK_ID: [&str; 2] = ["x-shopify-webhook-id", "shopify-webhook-id"];
pub(crate) const SHOPIFY_TOPIC: [&str; 2] = ["x-shopify-topic", "shopify-topic"];
pub(crate) const SHOPIFY_SHOP_DOMAIN: [&str; 2] = ["x-shopify-shop-domain", "shopify-shop-domain"];
pub(crate) const SHOPIFY_EVENT_ID: [&str; 2] = ["x-shopify-event-id", "shopify-event-id"];

/// Read access to a request's headers.
///
/// `name` is always lowercase ASCII. Implemented for `http` 1.x [`HeaderMap`](http::HeaderMap)
/// (feature `http`, on by default), for slices, arrays and vectors of `(name, value)` pairs
/// (names matched case-insensitively), and for `HashMap`s keyed by lowercase names. Frameworks on
/// another `http` version (actix-web) implement it in a few lines.
///
/// ```
/// use webhook_core::Headers;
///
/// let headers = [("Webhook-Id", "msg_1"), ("webhook-timestamp", "1614265330")];
/// assert_eq!(headers.get("webhook-id"), Some(&b"msg_1"[..]));
/// assert_eq!(headers.get("webhook-signature"), None);
/// ```
pub trait Headers {
    /// The value of the first header called `name`, as raw bytes.
    fn get(&self, name: &str) -> Option<&[u8]>;

    /// How many headers called `name` the request carries. A signed header that appears more
    /// than once is rejected as ambiguous.
    fn count(&self, name: &str) -> usize {
        usize::from(self.get(name).is_some())
    }

    /// The value of header `name` if it appears exactly once: `Ok(None)` when absent,
    /// `Err(Duplicated)` when it appears more than once. Implementations can answer this with
    /// one lookup; the default uses [`count`](Headers::count) and [`get`](Headers::get).
    fn get_unique(&self, name: &str) -> Result<Option<&[u8]>, Duplicated> {
        match self.count(name) {
            0 => Ok(None),
            1 => Ok(self.get(name)),
            _ => Err(Duplicated),
        }
    }

    /// Calls `visit` with every header, name in lowercase and value as raw bytes, and returns
    /// `true`; or returns `false` without calling it. A verifier that reads several headers
    /// uses it to read them in one pass instead of a lookup each, so an implementation should
    /// offer it only when one pass is the cheaper: the `HeaderMap` one does for maps of up to
    /// [`ONE_PASS_MAX`] values. The default returns `false`.
    ///
    /// ```
    /// use webhook_core::Headers;
    ///
    /// # #[cfg(feature = "http")] {
    /// let mut map = http::HeaderMap::new();
    /// map.insert("Webhook-Id", "msg_1".parse()?);
    /// let mut seen = Vec::new();
    /// assert!(map.visit_all(&mut |name, value| seen.push((name.to_owned(), value.to_vec()))));
    /// assert_eq!(seen, [("webhook-id".to_owned(), b"msg_1".to_vec())]);
    /// # }
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn visit_all<'a>(&'a self, visit: &mut dyn FnMut(&str, &'a [u8])) -> bool {
        let _ = visit;
        false
    }
}

/// Up to how many header values [`Headers::visit_all`] pays off for a hashed header map: a pass
/// over 12 values (a typical webhook request) takes about 29 ns, the three lookups it replaces 48
/// (and six when the sender uses the `svix-` names).
pub const ONE_PASS_MAX: usize = 16;

/// A header that must appear once appears several times.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Duplicated;

impl<H: Headers + ?Sized> Headers for &H {
    fn get(&self, name: &str) -> Option<&[u8]> {
        (**self).get(name)
    }
    fn visit_all<'a>(&'a self, visit: &mut dyn FnMut(&str, &'a [u8])) -> bool {
        (**self).visit_all(visit)
    }
    fn count(&self, name: &str) -> usize {
        (**self).count(name)
    }
    fn get_unique(&self, name: &str) -> Result<Option<&[u8]>, Duplicated> {
        (**self).get_unique(name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for [(K, V)] {
    fn get(&self, name: &str) -> Option<&[u8]> {
        self.iter()
            .find(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_ref())
    }
    fn count(&self, name: &str) -> usize {
        self.iter()
            .filter(|(k, _)| k.as_ref().eq_ignore_ascii_case(name))
            .count()
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>, const N: usize> Headers for [(K, V); N] {
    fn get(&self, name: &str) -> Option<&[u8]> {
        Headers::get(self.as_slice(), name)
    }
    fn count(&self, name: &str) -> usize {
        Headers::count(self.as_slice(), name)
    }
}

impl<K: AsRef<str>, V: AsRef<[u8]>> Headers for Vec<(K, V)> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        Headers::get(self.as_slice(), name)
    }
    fn count(&self, name: &str) -> usize {
        Headers::count(self.as_slice(), name)
    }
}

/// Maps whose keys are lowercase header names, e.g. a `HashMap<String, String>` built by a
/// custom server.
///
/// ```
/// use std::collections::HashMap;
/// use webhook_core::Headers;
///
/// let map: HashMap<String, String> = [("webhook-id".into(), "msg_1".into())].into();
/// assert_eq!(Headers::get(&map, "webhook-id"), Some(&b"msg_1"[..]));
/// ```
impl<K, V, S> Headers for std::collections::HashMap<K, V, S>
where
    K: std::borrow::Borrow<str> + std::hash::Hash + Eq,
    V: AsRef<[u8]>,
    S: std::hash::BuildHasher,
{
    fn get(&self, name: &str) -> Option<&[u8]> {
        std::collections::HashMap::get(self, name).map(AsRef::as_ref)
    }
}

/// The header names the verifiers read, pre-parsed: a `HeaderMap` lookup by `HeaderName` skips
/// parsing and lowercasing the `&str` on every request (about 30 ns of the 40 per lookup).
#[cfg(feature = "http")]
fn known_name(name: &str) -> Option<&'static http::HeaderName> {
    use http::HeaderName;
    macro_rules! known {
        ($($name:literal),* $(,)?) => {
            match name {
                $($name => {
                    static NAME: HeaderName = HeaderName::from_static($name);
                    Some(&NAME)
                })*
                _ => None,
            }
        };
    }
    known!(
        "webhook-id",
        "webhook-timestamp",
        "webhook-signature",
        "svix-id",
        "svix-timestamp",
        "svix-signature",
        "stripe-signature",
        "x-hub-signature-256",
        "x-github-delivery",
        "x-github-event",
        "x-github-hook-id",
        "x-slack-signature",
        "x-slack-request-timestamp",
        "x-slack-retry-num",
        "x-shopify-hmac-sha256",
        "x-shopify-webhook-id",
        "x-shopify-topic",
        "x-shopify-shop-domain",
        "x-shopify-event-id",
        "paddle-signature",
    )
}

#[cfg(feature = "http")]
impl Headers for http::HeaderMap {
    fn get(&self, name: &str) -> Option<&[u8]> {
        match known_name(name) {
            Some(known) => http::HeaderMap::get(self, known),
            None => http::HeaderMap::get(self, name),
        }
        .map(http::HeaderValue::as_bytes)
    }
    fn count(&self, name: &str) -> usize {
        match known_name(name) {
            Some(known) => self.get_all(known).iter().count(),
            None => self.get_all(name).iter().count(),
        }
    }
    fn get_unique(&self, name: &str) -> Result<Option<&[u8]>, Duplicated> {
        let all = match known_name(name) {
            Some(known) => self.get_all(known),
            None => self.get_all(name),
        };
        let mut values = all.iter();
        let first = values.next().map(http::HeaderValue::as_bytes);
        if values.next().is_some() {
            return Err(Duplicated);
        }
        Ok(first)
    }
    fn visit_all<'a>(&'a self, visit: &mut dyn FnMut(&str, &'a [u8])) -> bool {
        if self.len() > ONE_PASS_MAX {
            return false;
        }
        for (name, value) in self {
            visit(name.as_str(), value.as_bytes());
        }
        true
    }
}

#[cfg(feature = "http")]
impl<B> Headers for http::Request<B> {
    fn get(&self, name: &str) -> Option<&[u8]> {
        Headers::get(self.headers(), name)
    }
    fn count(&self, name: &str) -> usize {
        Headers::count(self.headers(), name)
    }
    fn get_unique(&self, name: &str) -> Result<Option<&[u8]>, Duplicated> {
        Headers::get_unique(self.headers(), name)
    }
    fn visit_all<'a>(&'a self, visit: &mut dyn FnMut(&str, &'a [u8])) -> bool {
        Headers::visit_all(self.headers(), visit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(feature = "http")]
    #[test]
    fn a_small_header_map_is_visited_whole_a_large_one_not_at_all() {
        let mut map = http::HeaderMap::new();
        map.insert("Webhook-Id", http::HeaderValue::from_static("msg_1"));
        map.append("webhook-signature", http::HeaderValue::from_static("v1,a"));
        map.append("webhook-signature", http::HeaderValue::from_static("v1,b"));
        let mut seen = Vec::new();
        assert!(map.visit_all(&mut |name, value| seen.push((name.to_owned(), value.to_vec()))));
        assert_eq!(
            seen,
            [
                ("webhook-id".to_owned(), b"msg_1".to_vec()),
                ("webhook-signature".to_owned(), b"v1,a".to_vec()),
                ("webhook-signature".to_owned(), b"v1,b".to_vec()),
            ]
        );
        for i in map.len()..=ONE_PASS_MAX {
            map.append("x-filler", http::HeaderValue::from(i));
        }
        assert!(!map.visit_all(&mut |_, _| panic!("visited a map past the limit")));
        assert!(!vec![("webhook-id", "msg_1")].visit_all(&mut |_, _| panic!("no one pass")));
    }

    #[test]
    fn pairs_are_case_insensitive_and_counted() {
        let h = vec![("X-A", "1"), ("x-a", "2"), ("b", "3")];
        assert_eq!(h.get("x-a"), Some(&b"1"[..]));
        assert_eq!(h.count("x-a"), 2);
        assert_eq!(h.count("c"), 0);
    }

    #[cfg(feature = "http")]
    #[test]
    fn header_map() {
        let mut h = http::HeaderMap::new();
        h.append("webhook-id", "a".parse().unwrap());
        h.append("webhook-id", "b".parse().unwrap());
        assert_eq!(Headers::get(&h, "webhook-id"), Some(&b"a"[..]));
        assert_eq!(Headers::count(&h, "webhook-id"), 2);
    }
}
