//! Parsers for command-line values: schemes, `Name: value` header lines, tolerances.

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use webhook_core::Scheme;

/// The `--scheme` parser: lists the names in `--help` and parses with [`Scheme`]'s `FromStr`.
pub(crate) fn scheme_parser() -> impl TypedValueParser<Value = Scheme> {
    PossibleValuesParser::new([
        PossibleValue::new("standard")
            .alias("svix")
            .alias("scalekit")
            .alias("standard-webhooks")
            .help("Standard Webhooks: Scalekit, Svix (webhook-id/-timestamp/-signature)"),
        PossibleValue::new("stripe").help("Stripe-Signature: t=..,v1=<hex>"),
        PossibleValue::new("github").help("X-Hub-Signature-256: sha256=<hex>"),
        PossibleValue::new("slack").help("X-Slack-Signature: v0=<hex> + X-Slack-Request-Timestamp"),
        PossibleValue::new("shopify").help("X-Shopify-Hmac-Sha256: <base64>"),
        PossibleValue::new("paddle").help("Paddle-Signature: ts=..;h1=<hex>"),
        PossibleValue::new("timestamped")
            .help("webhook-signature: t=..,v1=<hex> (Scalekit's manual scheme)"),
    ])
    .try_map(|name: String| name.parse::<Scheme>())
}

/// One `Name: value` header as given on the command line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct HeaderLine {
    /// The name, lowercased.
    pub(crate) name: String,
    /// The value, without surrounding whitespace.
    pub(crate) value: String,
}

/// Why a header line was refused.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum HeaderLineError {
    /// No `:` separates name and value.
    #[error("expected `Name: value`, found no `:`")]
    NoColon,
    /// The name is empty.
    #[error("the header name is empty")]
    EmptyName,
    /// The name has a character HTTP does not allow in a header name.
    #[error("the header name has a character HTTP does not allow ({0:?})")]
    BadName(char),
    /// The value has a control character.
    #[error("the header value has a control character")]
    BadValue,
}

/// Parses `Name: value` (whitespace around the value is trimmed, the name is lowercased).
pub(crate) fn header_line(line: &str) -> Result<HeaderLine, HeaderLineError> {
    let (name, value) = line.split_once(':').ok_or(HeaderLineError::NoColon)?;
    let name = name.trim();
    if name.is_empty() {
        return Err(HeaderLineError::EmptyName);
    }
    if let Some(c) = name.chars().find(|&c| !is_tchar(c)) {
        return Err(HeaderLineError::BadName(c));
    }
    let value = value.trim_matches(|c| c == ' ' || c == '\t');
    if value.chars().any(|c| c.is_control() && c != '\t') {
        return Err(HeaderLineError::BadValue);
    }
    Ok(HeaderLine {
        name: name.to_ascii_lowercase(),
        value: value.to_owned(),
    })
}

/// Parses a headers file: one `Name: value` per line; blank lines, `#` comments and a leading
/// HTTP request or status line (`POST /hook HTTP/1.1`, `HTTP/1.1 200 OK`) are skipped. A
/// `curl -v` capture (curl's stderr) works too: the request's `> ` lines are read, of the last
/// request when curl sent several (`-L`), and the rest (connection, response, progress meter)
/// is skipped.
pub(crate) fn header_lines(text: &str) -> Result<Vec<HeaderLine>, (usize, HeaderLineError)> {
    // A byte-order mark, as some editors save it.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(index, raw)| (index + 1, raw.trim_end_matches('\r')))
        .collect();
    if lines
        .iter()
        .any(|(_, line)| line.starts_with("> ") || line.starts_with("* "))
    {
        let mut request = Vec::new();
        for (number, line) in lines {
            if let Some(sent) = line.strip_prefix("> ") {
                if is_start_line(sent) {
                    request.clear();
                }
                request.push((number, sent));
            }
        }
        lines = request;
    }
    let mut out = Vec::new();
    let mut first = true;
    for (number, line) in lines {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        // The first line that is not a comment may be a request line (with a path or a full URL)
        // or a status line.
        if std::mem::take(&mut first) && is_start_line(line) {
            continue;
        }
        out.push(header_line(line).map_err(|e| (number, e))?);
    }
    Ok(out)
}

/// `METHOD target HTTP/x.y` or `HTTP/x.y status reason`, as a proxy or `curl -v` shows them.
fn is_start_line(line: &str) -> bool {
    if line.starts_with("HTTP/") {
        return true;
    }
    let mut parts = line.split_whitespace();
    let (Some(method), Some(_target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return false;
    };
    method.chars().all(|c| c.is_ascii_uppercase()) && version.starts_with("HTTP/")
}

fn is_tchar(c: char) -> bool {
    c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c)
}

/// `--tolerance SECS|off`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tolerance {
    /// Reject timestamps further than this many seconds from now.
    Secs(u64),
    /// Accept any timestamp.
    Off,
}

/// Parses `--tolerance`: a number of seconds, or `off`.
pub(crate) fn tolerance(text: &str) -> Result<Tolerance, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text.eq_ignore_ascii_case("none") {
        return Ok(Tolerance::Off);
    }
    let secs = text.strip_suffix('s').unwrap_or(text);
    secs.parse::<u64>()
        .map(Tolerance::Secs)
        .map_err(|_| format!("expected a number of seconds or `off`, found `{text}`"))
}

/// Parses a duration: a number with an optional unit `s`, `m`, `h` or `d` (seconds without).
pub(crate) fn duration(text: &str) -> Result<std::time::Duration, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("expected a duration such as 90s, 30m, 24h or 7d, found `{text}`"))?;
    let factor = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(format!("unknown unit `{unit}`: use s, m, h or d")),
    };
    number
        .checked_mul(factor)
        .map(std::time::Duration::from_secs)
        .ok_or_else(|| format!("`{text}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_byte_order_mark_is_skipped() {
        let lines = header_lines("\u{feff}webhook-id: msg_1\r\nwebhook-timestamp: 1\r\n").unwrap();
        assert_eq!(lines[0].name, "webhook-id");
        assert_eq!(lines.len(), 2);
    }

    #[test]
    fn header_lines_parse() {
        let h = header_line("Webhook-Id:  msg_1 ").unwrap();
        assert_eq!(h.name, "webhook-id");
        assert_eq!(h.value, "msg_1");
        let h = header_line("stripe-signature: t=1,v1=ab:cd").unwrap();
        assert_eq!(h.value, "t=1,v1=ab:cd");
        assert_eq!(header_line("x-empty:").unwrap().value, "");
        assert_eq!(header_line("no colon"), Err(HeaderLineError::NoColon));
        assert_eq!(header_line(": v"), Err(HeaderLineError::EmptyName));
        assert_eq!(header_line("a b: v"), Err(HeaderLineError::BadName(' ')));
        assert_eq!(header_line("a: v\u{0}"), Err(HeaderLineError::BadValue));
    }

    #[test]
    fn request_lines_with_a_full_url_or_after_a_comment_are_skipped() {
        let text = "# captured\nPOST http://localhost:3000/hooks HTTP/1.1\nwebhook-id: msg_1\n";
        let lines = header_lines(text).unwrap();
        assert_eq!(lines.len(), 1);
        assert_eq!(lines[0].name, "webhook-id");
        let text = "HTTP/1.1 200 OK\nwebhook-id: msg_1\n";
        assert_eq!(header_lines(text).unwrap().len(), 1);
        // Only the first line can be one: later, it is a malformed header.
        assert!(header_lines("webhook-id: m\nPOST /x HTTP/1.1\n").is_err());
    }

    #[test]
    fn header_files_skip_request_lines_comments_and_blanks() {
        let text =
            "POST /hooks HTTP/1.1\r\n# note\r\nwebhook-id: msg_1\r\n\r\nwebhook-timestamp: 5\n";
        let lines = header_lines(text).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(lines[1].value, "5");
        assert_eq!(header_lines("a: 1\nbroken\n").unwrap_err().0, 2);
        // A `curl -v` capture: the request headers sent, nothing of the connection or response.
        let curl = "*   Trying 127.0.0.1:3000...\n* Connected to 127.0.0.1 (127.0.0.1) port 3000\n\
                    > POST /webhooks HTTP/1.1\n> Host: 127.0.0.1:3000\n> webhook-id: msg_1\n\
                    > webhook-timestamp: 1700000000\n>\n} [12 bytes data]\n\
                    < HTTP/1.1 201 Created\n< content-length: 0\n<\n* Connection #0 left intact\n";
        let names: Vec<String> = header_lines(curl)
            .unwrap()
            .into_iter()
            .map(|h| h.name)
            .collect();
        assert_eq!(names, ["host", "webhook-id", "webhook-timestamp"]);
        // Plain `curl -v` (the progress meter) following a redirect (`-L`): the last request.
        let curl = "  % Total    % Received % Xferd  Average Speed   Time\n\
                    \r  0     0    0     0    0     0      0      0 --:--:--\n\
                    * Connected to a (127.0.0.1) port 1\n> POST /old HTTP/1.1\n> webhook-id: m1\n>\n\
                    < HTTP/1.1 307 Temporary Redirect\n< location: /new\n\
                    * Issue another request to this URL: 'http://a/new'\n\
                    > POST /new HTTP/1.1\n> webhook-id: m2\n> webhook-timestamp: 1\n>\n\
                    \r100    12    0     0  100    12      0    600 --:--:--\n";
        let kept: Vec<(String, String)> = header_lines(curl)
            .unwrap()
            .into_iter()
            .map(|h| (h.name, h.value))
            .collect();
        assert_eq!(
            kept,
            [
                ("webhook-id".to_owned(), "m2".to_owned()),
                ("webhook-timestamp".to_owned(), "1".to_owned())
            ]
        );
    }

    #[test]
    fn tolerances() {
        assert_eq!(tolerance("off"), Ok(Tolerance::Off));
        assert_eq!(tolerance("OFF"), Ok(Tolerance::Off));
        assert_eq!(tolerance("300"), Ok(Tolerance::Secs(300)));
        assert_eq!(tolerance("30s"), Ok(Tolerance::Secs(30)));
        assert!(tolerance("-1").is_err());
        assert!(tolerance("five").is_err());
    }

    #[test]
    fn durations() {
        use std::time::Duration;
        assert_eq!(duration("90"), Ok(Duration::from_secs(90)));
        assert_eq!(duration("30m"), Ok(Duration::from_secs(1800)));
        assert_eq!(duration("24h"), Ok(Duration::from_secs(86_400)));
        assert_eq!(duration("7d"), Ok(Duration::from_secs(604_800)));
        assert!(duration("1w").is_err());
        assert!(duration("h").is_err());
        assert!(duration("99999999999999999999d").is_err());
    }

    proptest! {
        #[test]
        fn header_line_never_panics_and_round_trips(name in "[A-Za-z0-9-]{1,20}", value in "[ -~]{0,40}") {
            let parsed = header_line(&format!("{name}: {value}")).unwrap();
            prop_assert_eq!(parsed.name, name.to_ascii_lowercase());
            prop_assert_eq!(parsed.value, value.trim_matches(|c| c == ' ' || c == '\t'));
        }

        #[test]
        fn arbitrary_lines_never_panic(line in "\\PC{0,64}") {
            // Whatever parses is a usable header: a non-empty lowercase name.
            if let Ok(h) = header_line(&line) {
                prop_assert!(!h.name.is_empty() && h.name == h.name.to_ascii_lowercase(), "{:?}", h.name);
            }
            let _ = header_lines(&line);
            let _ = tolerance(&line);
            let _ = duration(&line);
        }
    }
}
