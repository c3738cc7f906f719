//! Event subscriptions: [`EventPattern`] (one pattern) and [`EventFilter`] (a set of them).
//!
//! A pattern is one of
//! - an exact event type: `user.login`, `orders/create`;
//! - a one-segment name (no `.` or `/`): that type, and the types that add `.` and more to it.
//!   GitHub's event types are the `X-GitHub-Event` header joined with the body's `action`, so
//!   `pull_request` matches `pull_request` and `pull_request.opened`, as octokit's `on("pull_request")`
//!   does; `pull_request.opened` names one action. Slack's (`app_mention`) have no action;
//! - a prefix wildcard, `*` as the last segment after a `.` or `/`: `organization.directory.*`
//!   matches `organization.directory.user_created` and anything deeper
//!   (`organization.directory.x.y`), but **not** `organization.directory` itself, nor
//!   `organization.directory_enabled` (the wildcard stands for at least one more character after
//!   the separator);
//! - `*` alone: every event type.
//!
//! Matching never allocates.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

/// The longest pattern accepted, in bytes.
pub const MAX_PATTERN_LEN: usize = 256;

/// Why an event pattern was refused.
///
/// ```
/// use webhook_core::{EventFilter, EventPattern, FilterError};
///
/// let err = EventPattern::parse("organization.*.created").unwrap_err();
/// assert!(matches!(err, FilterError::MisplacedWildcard { .. }));
/// assert!(matches!(EventPattern::parse("user..login"), Err(FilterError::EmptySegment { .. })));
/// // A comma-separated list from the environment, with one item left empty:
/// let err = "organization.*,,user.login".parse::<EventFilter>().unwrap_err();
/// assert_eq!(err, FilterError::Empty);
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FilterError {
    /// The pattern is empty (or only whitespace).
    #[error("empty event pattern")]
    Empty,
    /// `*` appears somewhere other than alone or as the whole last segment (`a.*`).
    #[error(
        "event pattern `{pattern}`: `*` must be the whole pattern or the whole last segment (`organization.*`)"
    )]
    MisplacedWildcard {
        /// The pattern as given.
        pattern: String,
    },
    /// The pattern has an empty segment: leading, trailing or doubled `.` or `/`.
    #[error(
        "event pattern `{pattern}` has an empty segment (leading, trailing or doubled `.` or `/`)"
    )]
    EmptySegment {
        /// The pattern as given.
        pattern: String,
    },
    /// The pattern contains whitespace, a control character or a comma (which separates
    /// patterns in a filter's text form).
    #[error("event pattern `{pattern}` contains whitespace, a control character or a comma")]
    InvalidCharacter {
        /// The pattern as given.
        pattern: String,
    },
    /// The pattern is longer than [`MAX_PATTERN_LEN`].
    #[error("event pattern is {len} bytes long; the limit is {max}")]
    TooLong {
        /// The pattern's length in bytes.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A filter was built from no pattern at all. It would match nothing, so a layer or route
    /// given it would skip every event: ask for [`EventFilter::none`] if that is what you mean.
    #[error(
        "an event filter needs at least one pattern (`*` for every event; EventFilter::none() matches nothing)"
    )]
    NoPatterns,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Kind {
    /// Matches this exact type.
    Exact(Box<str>),
    /// A one-segment name, kept with a `.` after it (`pull_request.`): matches the name itself
    /// and the name followed by `.` and more (`pull_request.opened`).
    Event(Box<str>),
    /// Matches types that start with this prefix (which ends with its separator) and are longer.
    Prefix(Box<str>),
    /// Matches everything.
    Any,
}

/// One event pattern: an exact type, a prefix wildcard (`organization.*`) or `*`. A one-segment
/// name (`pull_request`) also matches the types that add `.` and more to it
/// (`pull_request.opened`: GitHub's event and action).
///
/// `organization.directory.*` matches `organization.directory.user_created` and deeper types, but
/// not `organization.directory` itself (subscribe to both if you want both). Both `.` and `/` are
/// separators, so `orders/*` works for Shopify topics.
///
/// ```
/// use webhook_core::EventPattern;
///
/// let p: EventPattern = "organization.directory.*".parse()?;
/// assert!(p.matches("organization.directory.user_created"));
/// assert!(!p.matches("organization.directory"));
/// assert!(!p.matches("organization.directory_enabled"));
///
/// // Routers pick the most specific pattern: exact > longer prefix > shorter prefix > `*`.
/// let exact = EventPattern::parse("organization.directory.user_created")?;
/// let any = EventPattern::parse("*")?;
/// assert!(exact.specificity() > p.specificity());
/// assert!(p.specificity() > EventPattern::parse("organization.*")?.specificity());
/// assert!(any.specificity() < EventPattern::parse("organization.*")?.specificity());
/// # Ok::<(), webhook_core::FilterError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct EventPattern {
    kind: Kind,
}

/// How specific an [`EventPattern`] is. Orders as exact > longer prefix > shorter prefix > `*`;
/// compare with `<`/`>` or `max_by_key`. A one-segment name (`issues`) ranks as a prefix of its
/// own length, just below `issues.*` (which does not take `issues` itself) and above `*`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Specificity {
    /// `*`.
    Any,
    /// A prefix wildcard; the number is the prefix's length in bytes (separator included). For
    /// a one-segment name, the name's length.
    Prefix(usize),
    /// An exact event type.
    Exact,
}

fn is_separator(b: u8) -> bool {
    b == b'.' || b == b'/'
}

impl EventPattern {
    /// The pattern that matches every event type.
    pub const ANY: EventPattern = EventPattern { kind: Kind::Any };

    /// Parses a pattern. Surrounding whitespace is trimmed.
    ///
    /// Refused: empty patterns, `*` anywhere but alone or as the whole last segment (`a*`,
    /// `*.a`, `a.*.b`, `a.**`), empty segments (`.a`, `a.`, `a..b`), whitespace, control
    /// characters or commas inside, and patterns longer than [`MAX_PATTERN_LEN`].
    pub fn parse(pattern: &str) -> Result<EventPattern, FilterError> {
        let p = pattern.trim();
        if p.is_empty() {
            return Err(FilterError::Empty);
        }
        if p.len() > MAX_PATTERN_LEN {
            return Err(FilterError::TooLong {
                len: p.len(),
                max: MAX_PATTERN_LEN,
            });
        }
        if p.chars()
            .any(|c| c.is_whitespace() || c.is_control() || c == ',')
        {
            return Err(FilterError::InvalidCharacter {
                pattern: p.to_owned(),
            });
        }
        if p == "*" {
            return Ok(EventPattern::ANY);
        }
        let bytes = p.as_bytes();
        let (body, wildcard) = match bytes {
            [.., sep, b'*'] if is_separator(*sep) => (&p[..p.len() - 1], true),
            _ => (p, false),
        };
        if body.contains('*') {
            return Err(FilterError::MisplacedWildcard {
                pattern: p.to_owned(),
            });
        }
        // Segments between separators must be non-empty. For a prefix, `body` ends with its
        // separator, which is fine.
        let checked = if wildcard {
            &body[..body.len() - 1]
        } else {
            body
        };
        if checked.split(['.', '/']).any(str::is_empty) {
            return Err(FilterError::EmptySegment {
                pattern: p.to_owned(),
            });
        }
        let kind = if wildcard {
            Kind::Prefix(body.into())
        } else if body.contains(['.', '/']) {
            Kind::Exact(body.into())
        } else {
            Kind::Event(format!("{body}.").into())
        };
        Ok(EventPattern { kind })
    }

    /// Whether `event_type` matches. Never allocates.
    pub fn matches(&self, event_type: &str) -> bool {
        match &self.kind {
            Kind::Exact(name) => **name == *event_type,
            Kind::Event(prefix) => event_type == self.literal() || extends(event_type, prefix),
            Kind::Prefix(prefix) => extends(event_type, prefix),
            Kind::Any => true,
        }
    }

    /// How specific the pattern is, for routing most-specific-first.
    pub fn specificity(&self) -> Specificity {
        match &self.kind {
            Kind::Exact(_) => Specificity::Exact,
            // The length of the name alone: just below `pull_request.*`, which matches fewer types
            // (not `pull_request` itself), and below an exact `pull_request.opened`. No other
            // prefix matches what it matches, so it ties with none.
            Kind::Event(prefix) => Specificity::Prefix(prefix.len() - 1),
            Kind::Prefix(prefix) => Specificity::Prefix(prefix.len()),
            Kind::Any => Specificity::Any,
        }
    }

    /// Whether the pattern is an event type without a wildcard (a one-segment name also
    /// matches its actions: see [`subtypes_prefix`](EventPattern::subtypes_prefix)).
    pub fn is_exact(&self) -> bool {
        matches!(self.kind, Kind::Exact(_) | Kind::Event(_))
    }

    /// For a one-segment name (`pull_request`), the prefix of the longer types it also matches
    /// (`pull_request.`); `None` for every other pattern.
    ///
    /// ```
    /// use webhook_core::EventPattern;
    ///
    /// assert_eq!(EventPattern::parse("pull_request")?.subtypes_prefix(), Some("pull_request."));
    /// assert_eq!(EventPattern::parse("user.login")?.subtypes_prefix(), None);
    /// # Ok::<(), webhook_core::FilterError>(())
    /// ```
    pub fn subtypes_prefix(&self) -> Option<&str> {
        match &self.kind {
            Kind::Event(prefix) => Some(prefix),
            _ => None,
        }
    }

    /// Whether the pattern is `*`.
    pub fn is_any(&self) -> bool {
        matches!(self.kind, Kind::Any)
    }

    /// For an exact pattern, the event type; for a prefix wildcard, the prefix including its
    /// separator (`organization.`); for `*`, `""`.
    ///
    /// ```
    /// use webhook_core::EventPattern;
    ///
    /// let prefix = EventPattern::parse("orders/*")?;
    /// assert_eq!((prefix.literal(), prefix.is_exact()), ("orders/", false));
    /// let name = EventPattern::parse("pull_request")?;
    /// assert_eq!((name.literal(), name.is_exact()), ("pull_request", true));
    /// assert!(EventPattern::parse("*")?.is_any());
    /// assert_eq!(prefix.to_string(), "orders/*"); // `Display` gives the pattern back
    /// # Ok::<(), webhook_core::FilterError>(())
    /// ```
    pub fn literal(&self) -> &str {
        match &self.kind {
            Kind::Exact(s) | Kind::Prefix(s) => s,
            Kind::Event(prefix) => &prefix[..prefix.len() - 1],
            Kind::Any => "",
        }
    }
}

impl fmt::Display for EventPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            Kind::Exact(name) => f.write_str(name),
            Kind::Event(_) => f.write_str(self.literal()),
            Kind::Prefix(prefix) => write!(f, "{prefix}*"),
            Kind::Any => f.write_str("*"),
        }
    }
}

impl FromStr for EventPattern {
    type Err = FilterError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventPattern::parse(s)
    }
}

impl TryFrom<&str> for EventPattern {
    type Error = FilterError;

    fn try_from(s: &str) -> Result<Self, Self::Error> {
        EventPattern::parse(s)
    }
}

impl serde::Serialize for EventPattern {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for EventPattern {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        EventPattern::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A set of [`EventPattern`]s: an event matches the filter when it matches any of them.
///
/// Exact types are looked up in a hash set by `&str`, prefixes are checked with `starts_with`:
/// [`matches`](EventFilter::matches) never allocates. A filter with no pattern matches nothing
/// ([`EventFilter::none`]); [`EventFilter::all`] matches everything.
///
/// ```
/// use webhook_core::EventFilter;
///
/// let filter = EventFilter::new(["organization.directory.*", "user.login"])?;
/// assert!(filter.matches("organization.directory.user_created"));
/// assert!(filter.matches("user.login"));
/// assert!(!filter.matches("user.logout"));
/// assert!(EventFilter::all().matches("anything.at.all"));
/// # Ok::<(), webhook_core::FilterError>(())
/// ```
#[derive(Clone, Debug, Default)]
pub struct EventFilter {
    /// The patterns as given (deduplicated, in order), for display and iteration.
    patterns: Vec<EventPattern>,
    any: bool,
    exact: HashSet<Box<str>>,
    prefixes: Vec<Box<str>>,
}

impl EventFilter {
    /// A filter that matches every event type (`*`).
    pub fn all() -> EventFilter {
        let mut filter = EventFilter::none();
        filter.insert(EventPattern::ANY);
        filter
    }

    /// A filter that matches nothing; add patterns with [`insert`](EventFilter::insert) or
    /// [`with`](EventFilter::with).
    ///
    /// ```
    /// use webhook_core::{EventFilter, EventPattern};
    ///
    /// let mut filter = EventFilter::none();
    /// assert!(filter.is_empty() && !filter.matches("user.login"));
    /// filter.insert(EventPattern::parse("user.login")?);
    /// let filter = filter.with(EventPattern::parse("organization.*")?);
    /// assert!(filter.matches("organization.created"));
    /// assert_eq!(filter.to_string(), "user.login,organization.*");
    /// # Ok::<(), webhook_core::FilterError>(())
    /// ```
    pub fn none() -> EventFilter {
        EventFilter::default()
    }

    /// Parses every pattern; fails on the first invalid one, and on an empty list
    /// ([`FilterError::NoPatterns`]: a filter from an empty configuration would skip every event;
    /// [`EventFilter::none`] is the filter that matches nothing).
    ///
    /// ```
    /// use webhook_core::{EventFilter, FilterError};
    ///
    /// let filter = EventFilter::new(["issues", "pull_request.opened"])?;
    /// assert!(filter.matches("issues.closed")); // a one-segment name takes its actions
    /// assert!(!filter.matches("pull_request.closed"));
    /// assert_eq!(filter.patterns().len(), 2);
    ///
    /// let configured: Vec<String> = Vec::new(); // e.g. an empty setting
    /// assert_eq!(EventFilter::new(configured).unwrap_err(), FilterError::NoPatterns);
    /// // Also parsed from a comma-separated list:
    /// let filter: EventFilter = "organization.*, user.login".parse()?;
    /// assert!(filter.matches("user.login"));
    /// # Ok::<(), FilterError>(())
    /// ```
    pub fn new<I, S>(patterns: I) -> Result<EventFilter, FilterError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut filter = EventFilter::none();
        for pattern in patterns {
            filter.insert(EventPattern::parse(pattern.as_ref())?);
        }
        if filter.patterns.is_empty() {
            return Err(FilterError::NoPatterns);
        }
        Ok(filter)
    }

    /// Adds a pattern (a no-op if it is already there).
    pub fn insert(&mut self, pattern: EventPattern) {
        if self.patterns.contains(&pattern) {
            return;
        }
        match &pattern.kind {
            Kind::Exact(name) => {
                self.exact.insert(name.clone());
            }
            Kind::Event(prefix) => {
                self.exact.insert(pattern.literal().into());
                self.prefixes.push(prefix.clone());
                self.prefixes.sort_by_key(|p| p.len());
            }
            Kind::Prefix(prefix) => {
                self.prefixes.push(prefix.clone());
                // Shorter prefixes first: they match more, so a hit comes sooner on average.
                self.prefixes.sort_by_key(|p| p.len());
            }
            Kind::Any => self.any = true,
        }
        self.patterns.push(pattern);
    }

    /// Adds a pattern, builder style.
    pub fn with(mut self, pattern: EventPattern) -> EventFilter {
        self.insert(pattern);
        self
    }

    /// Whether `event_type` matches any pattern. Never allocates.
    pub fn matches(&self, event_type: &str) -> bool {
        self.any
            || self.exact.contains(event_type)
            || self.prefixes.iter().any(|p| extends(event_type, p))
    }

    /// Whether the filter matches every event type.
    pub fn matches_all(&self) -> bool {
        self.any
    }

    /// Whether the filter has no pattern (and so matches nothing).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The patterns, in the order they were added, without duplicates.
    pub fn patterns(&self) -> impl ExactSizeIterator<Item = &EventPattern> + '_ {
        self.patterns.iter()
    }

    /// The most specific pattern that matches `event_type`, if any (see
    /// [`EventPattern::specificity`]): what a router dispatching on patterns picks.
    ///
    /// ```
    /// use webhook_core::EventFilter;
    ///
    /// let filter = EventFilter::new(["*", "organization.*", "organization.directory.*"])?;
    /// let best = filter.best_match("organization.directory.user_created");
    /// assert_eq!(best.map(|p| p.to_string()).as_deref(), Some("organization.directory.*"));
    /// assert_eq!(filter.best_match("user.login").map(|p| p.is_any()), Some(true));
    /// # Ok::<(), webhook_core::FilterError>(())
    /// ```
    pub fn best_match(&self, event_type: &str) -> Option<&EventPattern> {
        self.patterns
            .iter()
            .filter(|p| p.matches(event_type))
            .max_by_key(|p| p.specificity())
    }
}

impl PartialEq for EventFilter {
    /// Two filters are equal when they hold the same set of patterns.
    fn eq(&self, other: &Self) -> bool {
        self.patterns.len() == other.patterns.len()
            && self.patterns.iter().all(|p| other.patterns.contains(p))
    }
}

impl Eq for EventFilter {}

impl From<EventPattern> for EventFilter {
    fn from(pattern: EventPattern) -> Self {
        EventFilter::none().with(pattern)
    }
}

impl FromIterator<EventPattern> for EventFilter {
    fn from_iter<T: IntoIterator<Item = EventPattern>>(iter: T) -> Self {
        let mut filter = EventFilter::none();
        iter.into_iter().for_each(|p| filter.insert(p));
        filter
    }
}

impl Extend<EventPattern> for EventFilter {
    fn extend<T: IntoIterator<Item = EventPattern>>(&mut self, iter: T) {
        iter.into_iter().for_each(|p| self.insert(p));
    }
}

impl fmt::Display for EventFilter {
    /// The patterns separated by commas: `organization.*,user.login`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, p) in self.patterns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            fmt::Display::fmt(p, f)?;
        }
        Ok(())
    }
}

impl FromStr for EventFilter {
    type Err = FilterError;

    /// Parses a comma-separated list (`organization.*, user.login`), as from an environment
    /// variable or a CLI flag. Empty items are refused.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        EventFilter::new(s.split(','))
    }
}

impl serde::Serialize for EventFilter {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(&self.patterns)
    }
}

impl<'de> serde::Deserialize<'de> for EventFilter {
    /// From a non-empty list of patterns: `["organization.*", "user.login"]`. An empty list is
    /// refused ([`FilterError::NoPatterns`]), so [`EventFilter::none`], which serializes as `[]`,
    /// does not read back: store "no filter" as a missing field (`Option<EventFilter>`).
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let patterns = Vec::<EventPattern>::deserialize(deserializer)?;
        if patterns.is_empty() {
            return Err(serde::de::Error::custom(FilterError::NoPatterns));
        }
        Ok(patterns.into_iter().collect())
    }
}

/// Whether `event_type` is `prefix` followed by at least one more character: a prefix pattern
/// (`name.*` stored as `name.`) never matches its bare prefix.
fn extends(event_type: &str, prefix: &str) -> bool {
    event_type.len() > prefix.len() && event_type.starts_with(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(
            EventPattern::parse("user.login").unwrap().specificity(),
            Specificity::Exact
        );
        assert_eq!(EventPattern::parse(" * ").unwrap(), EventPattern::ANY);
        assert_eq!(
            EventPattern::parse("a.b.*").unwrap().specificity(),
            Specificity::Prefix(4)
        );
        assert_eq!(
            EventPattern::parse("orders/*").unwrap().literal(),
            "orders/"
        );
        for bad in [
            "", "  ", "a*", "*.a", "a.*.b", "a.**", "**", "*a", "a.b*", ".a", "a.", "a..b",
            "a.*.*", "a b", "a.\n", "a,b",
        ] {
            assert!(
                EventPattern::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
        assert!(matches!(
            EventPattern::parse("a.*.b"),
            Err(FilterError::MisplacedWildcard { .. })
        ));
        assert!(matches!(
            EventPattern::parse("a..b"),
            Err(FilterError::EmptySegment { .. })
        ));
        assert!(matches!(EventPattern::parse(""), Err(FilterError::Empty)));
        // A comma separates patterns in the text form: inside one, the filter would not read
        // back as itself.
        assert!(matches!(
            EventFilter::new(["a,b"]),
            Err(FilterError::InvalidCharacter { .. })
        ));
        let long = "a".repeat(MAX_PATTERN_LEN + 1);
        assert!(matches!(
            EventPattern::parse(&long),
            Err(FilterError::TooLong { .. })
        ));
    }

    #[test]
    fn display_round_trips() {
        for s in [
            "*",
            "user.login",
            "organization.directory.*",
            "orders/*",
            "orders/create",
        ] {
            assert_eq!(EventPattern::parse(s).unwrap().to_string(), s);
        }
        let f: EventFilter = "organization.*, user.login".parse().unwrap();
        assert_eq!(f.to_string(), "organization.*,user.login");
        assert!("a,,b".parse::<EventFilter>().is_err());
    }

    /// GitHub's types are `event.action`: a one-segment name takes every action of its event,
    /// as octokit's `on("issues")` does, and ranks below an exact `issues.opened`.
    #[test]
    fn a_one_segment_name_matches_its_actions() {
        let p = EventPattern::parse("pull_request").unwrap();
        assert!(p.matches("pull_request"));
        assert!(p.matches("pull_request.opened"));
        assert!(!p.matches("pull_request."));
        assert!(!p.matches("pull_request_review.submitted"));
        assert!(!p.matches("pull_requests"));
        assert!(!p.matches("pull/x"));
        assert_eq!(p.to_string(), "pull_request");
        assert_eq!(p.literal(), "pull_request");
        assert!(p.is_exact());
        let exact = EventPattern::parse("pull_request.opened").unwrap();
        assert!(exact.specificity() > p.specificity());
        assert!(p.specificity() > EventPattern::ANY.specificity());
        assert_eq!(exact.subtypes_prefix(), None);
        // Shopify topics use `/`: `orders` does not take `orders/create`.
        assert!(
            !EventPattern::parse("orders")
                .unwrap()
                .matches("orders/create")
        );

        let f = EventFilter::new(["push", "issues.opened"]).unwrap();
        assert!(f.matches("push"));
        assert!(f.matches("push.anything"));
        assert!(f.matches("issues.opened"));
        assert!(!f.matches("issues.closed"));
        assert!(!f.matches("issues"));
        assert!(!f.matches("pushed"));
        assert_eq!(
            f.best_match("issues.opened").map(ToString::to_string),
            Some("issues.opened".to_owned())
        );
    }

    #[test]
    fn prefix_boundaries() {
        let p = EventPattern::parse("organization.directory.*").unwrap();
        assert!(p.matches("organization.directory.user_created"));
        assert!(p.matches("organization.directory.user.deep"));
        assert!(!p.matches("organization.directory"));
        assert!(!p.matches("organization.directory."));
        assert!(!p.matches("organization.directory_enabled"));
        assert!(!p.matches("organization.created"));
    }

    #[test]
    fn filter_matches_and_best_match() {
        let f = EventFilter::new([
            "organization.*",
            "organization.directory.*",
            "user.login",
            "user.login",
        ])
        .unwrap();
        assert_eq!(f.patterns().len(), 3);
        assert!(f.matches("organization.created"));
        assert!(f.matches("user.login"));
        assert!(!f.matches("user.logout"));
        assert!(!f.matches("organization"));
        assert_eq!(
            f.best_match("organization.directory.user_created")
                .unwrap()
                .to_string(),
            "organization.directory.*"
        );
        assert_eq!(
            f.best_match("organization.created").unwrap().to_string(),
            "organization.*"
        );
        assert!(f.best_match("role.created").is_none());
        assert!(!EventFilter::none().matches("x"));
        assert!(EventFilter::all().matches(""));
        assert!(EventFilter::all().matches_all());
    }

    #[test]
    fn serde_round_trip() {
        let f = EventFilter::new(["organization.*", "user.login"]).unwrap();
        let json = serde_json::to_string(&f).unwrap();
        assert_eq!(json, r#"["organization.*","user.login"]"#);
        let back: EventFilter = serde_json::from_str(&json).unwrap();
        assert_eq!(back, f);
        assert!(serde_json::from_str::<EventFilter>(r#"["a.*.b"]"#).is_err());
    }

    /// A filter from an empty configuration would skip every event (answered 200, never
    /// handled): refused, with the explicit `none()` left for that.
    #[test]
    fn an_empty_list_is_refused() {
        let empty: [&str; 0] = [];
        assert_eq!(EventFilter::new(empty), Err(FilterError::NoPatterns));
        let err = serde_json::from_str::<EventFilter>("[]").unwrap_err();
        assert!(err.to_string().contains("at least one pattern"), "{err}");
        assert_eq!("".parse::<EventFilter>(), Err(FilterError::Empty));
        assert!(EventFilter::none().is_empty());
    }

    #[test]
    fn is_send_sync() {
        fn check<T: Send + Sync + Clone + std::fmt::Debug>() {}
        check::<EventFilter>();
        check::<EventPattern>();
    }
}
