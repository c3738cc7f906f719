//! Property tests for the event pattern matcher and filter.

use proptest::prelude::*;
use webhook_core::{EventFilter, EventPattern};

/// An event-type segment: what real senders use, plus a few awkward characters.
fn segment() -> impl Strategy<Value = String> {
    "[a-z0-9_\\-]{1,8}"
}

/// A well-formed event type of 1–4 segments joined with `.` (or `/`).
fn event_type() -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 1..5), prop::bool::ANY)
        .prop_map(|(segs, slash)| segs.join(if slash { "/" } else { "." }))
}

/// An event type of 2–4 segments: an exact pattern (a one-segment name also takes its
/// subtypes).
fn dotted_type() -> impl Strategy<Value = String> {
    (prop::collection::vec(segment(), 2..5), prop::bool::ANY)
        .prop_map(|(segs, slash)| segs.join(if slash { "/" } else { "." }))
}

/// Any string at all, including ones no sender would use.
fn any_string() -> impl Strategy<Value = String> {
    prop_oneof![event_type(), ".{0,24}", "[a-z.*/]{0,12}"]
}

/// A valid pattern, with the way it should match.
fn pattern() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => Just("*".to_owned()),
        3 => event_type(),
        3 => event_type().prop_map(|t| format!("{t}.*")),
    ]
}

proptest! {
    #[test]
    fn exact_pattern_matches_only_itself(t in dotted_type(), other in any_string()) {
        let p = EventPattern::parse(&t).unwrap();
        prop_assert!(p.matches(&t));
        prop_assert_eq!(p.matches(&other), other == t);
        prop_assert!(p.is_exact());
        prop_assert_eq!(p.subtypes_prefix(), None);
    }

    /// A one-segment name (GitHub's `issues`) matches itself and every `name.` subtype (its
    /// actions), nothing else; `name.*` ranks above it, an exact subtype above both.
    #[test]
    fn one_segment_name_matches_itself_and_its_subtypes(name in segment(), rest in event_type(), other in any_string()) {
        let p = EventPattern::parse(&name).unwrap();
        let child = format!("{name}.{rest}");
        let sibling = format!("{name}_{rest}");
        let star = format!("{name}.*");
        let dotted = format!("{name}.");
        prop_assert!(p.matches(&name));
        prop_assert!(p.matches(&child));
        prop_assert!(!p.matches(&sibling));
        let expected = other == name || (other.starts_with(&dotted) && other.len() > dotted.len());
        prop_assert_eq!(p.matches(&other), expected);
        prop_assert!(p.is_exact());
        let wildcard = EventPattern::parse(&star).unwrap();
        prop_assert!(wildcard.specificity() > p.specificity());
        prop_assert!(p.specificity() > EventPattern::ANY.specificity());
        let filter = EventFilter::new([name.as_str(), star.as_str()]).unwrap();
        prop_assert_eq!(filter.best_match(&child), Some(&wildcard));
        let filter = EventFilter::new([star.clone(), name.clone()]).unwrap();
        prop_assert_eq!(filter.best_match(&child), Some(&wildcard));
        prop_assert_eq!(filter.best_match(&name), Some(&p));
    }

    #[test]
    fn prefix_matches_every_child_and_nothing_else(prefix in event_type(), rest in event_type(), other in any_string()) {
        let p = EventPattern::parse(&format!("{prefix}.*")).unwrap();
        let child = format!("{prefix}.{rest}");
        prop_assert!(p.matches(&child));
        // Never the parent itself, never a sibling that merely shares characters.
        prop_assert!(!p.matches(&prefix));
        let sibling = format!("{prefix}_{rest}");
        prop_assert!(!p.matches(&sibling));
        let expected = other.starts_with(&format!("{prefix}.")) && other.len() > prefix.len() + 1;
        prop_assert_eq!(p.matches(&other), expected);
    }

    #[test]
    fn star_matches_everything(t in any_string()) {
        prop_assert!(EventPattern::parse("*").unwrap().matches(&t));
        prop_assert!(EventFilter::all().matches(&t));
    }

    #[test]
    fn filter_is_the_or_of_its_patterns(patterns in prop::collection::vec(pattern(), 1..6), t in any_string()) {
        let parsed: Vec<EventPattern> = patterns.iter().map(|p| EventPattern::parse(p).unwrap()).collect();
        let filter = EventFilter::new(&patterns).unwrap();
        prop_assert_eq!(filter.matches(&t), parsed.iter().any(|p| p.matches(&t)));
        // The best match, when there is one, matches and is at least as specific as any other.
        match filter.best_match(&t) {
            Some(best) => {
                prop_assert!(best.matches(&t));
                for p in parsed.iter().filter(|p| p.matches(&t)) {
                    prop_assert!(best.specificity() >= p.specificity());
                }
            }
            None => prop_assert!(!filter.matches(&t)),
        }
    }

    /// Several patterns that all match one event type: `*`, its prefixes at every depth, the
    /// type itself, in any order. The best match is the type if listed, else the longest
    /// listed prefix, else `*`.
    #[test]
    fn best_match_is_the_most_specific_of_nested_patterns(
        segs in prop::collection::vec(segment(), 2..6),
        picks in prop::collection::vec(any::<bool>(), 7),
        order in any::<prop::sample::Index>(),
    ) {
        let t = segs.join(".");
        let mut patterns: Vec<String> = vec!["*".to_owned()];
        patterns.extend((1..segs.len()).map(|depth| format!("{}.*", segs[..depth].join("."))));
        patterns.push(t.clone());
        // Keep a subset (the first pattern when the picks drop them all), then rotate it.
        let mut kept: Vec<String> = patterns
            .iter()
            .zip(picks.iter().chain(std::iter::repeat(&true)))
            .filter(|(_, keep)| **keep)
            .map(|(p, _)| p.clone())
            .collect();
        if kept.is_empty() {
            kept.push(patterns[0].clone());
        }
        let most_specific = kept.last().unwrap().clone();
        let by = order.index(kept.len());
        kept.rotate_left(by);
        let filter = EventFilter::new(&kept).unwrap();
        let best = filter.best_match(&t).unwrap();
        prop_assert_eq!(best.to_string(), most_specific);
    }

    #[test]
    fn display_round_trips(p in pattern()) {
        let parsed = EventPattern::parse(&p).unwrap();
        prop_assert_eq!(parsed.to_string(), p.clone());
        prop_assert_eq!(EventPattern::parse(&parsed.to_string()).unwrap(), parsed);
    }

    #[test]
    fn parse_never_panics_and_accepted_patterns_round_trip(s in ".{0,40}") {
        if let Ok(p) = EventPattern::parse(&s) {
            prop_assert_eq!(p.to_string(), s.trim());
            // A star appears only alone or as the whole last segment.
            let shown = p.to_string();
            let stars = shown.matches('*').count();
            prop_assert!(stars == 0 || shown == "*" || ((shown.ends_with(".*") || shown.ends_with("/*")) && stars == 1));
        }
    }

    #[test]
    fn stars_in_the_middle_are_refused(a in segment(), b in segment()) {
        let refused = [
            format!("{a}.*.{b}"),
            format!("{a}*"),
            format!("*{a}"),
            format!("*.{a}"),
            format!("{a}.*{b}"),
            format!("{a}.**"),
        ];
        for s in refused {
            prop_assert!(EventPattern::parse(&s).is_err(), "{} should be refused", s);
        }
    }

    #[test]
    fn more_specific_patterns_order_first(prefix in event_type(), rest in event_type()) {
        let shorter = EventPattern::parse(&format!("{prefix}.*")).unwrap();
        let longer = EventPattern::parse(&format!("{prefix}.{rest}.*")).unwrap();
        let exact = EventPattern::parse(&format!("{prefix}.{rest}.x")).unwrap();
        let any = EventPattern::parse("*").unwrap();
        prop_assert!(exact.specificity() > longer.specificity());
        prop_assert!(longer.specificity() > shorter.specificity());
        prop_assert!(shorter.specificity() > any.specificity());
    }
}
