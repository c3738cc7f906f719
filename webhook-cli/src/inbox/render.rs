//! Tables for people and JSON for scripts, for every `inbox` subcommand.

use crate::terminal::printable;
use std::fmt::Write as _;
use std::time::Duration;

use base64::Engine as _;
use comfy_table::{LineStyle, Table, TableStyle, presets};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::format_description;
use webhook_inbox::{EventTypeStats, StatusCounts, StoredDelivery};

/// The longest error shown in a `list` table cell.
const ERROR_CELL_CHARS: usize = 60;

/// `inbox stats`.
pub(super) fn stats(
    counts: &StatusCounts,
    stats: &[EventTypeStats],
    window: Duration,
    json: bool,
) -> String {
    if json {
        return line(&json!({
            "counts": counts,
            "queue_depth": counts.queue_depth(),
            "window_secs": window.as_secs(),
            "event_types": stats,
        }));
    }
    let mut by_status = table();
    by_status.set_header([
        "PENDING",
        "PROCESSING",
        "RETRYING",
        "DONE",
        "DEAD",
        "QUEUE DEPTH",
    ]);
    by_status.add_row([
        counts.pending,
        counts.processing,
        counts.retrying,
        counts.done,
        counts.dead,
        counts.queue_depth(),
    ]);
    let mut by_type = table();
    by_type.set_header([
        "EVENT TYPE",
        "TOTAL",
        "SUCCEEDED",
        "FAILED RUNS",
        "DEAD",
        "IN QUEUE",
        "AVG MS",
        "MAX MS",
    ]);
    for s in stats {
        by_type.add_row([
            if s.event_type.is_empty() {
                "(none)".to_owned()
            } else {
                printable(&s.event_type, "")
            },
            s.total.to_string(),
            s.succeeded.to_string(),
            s.failed.to_string(),
            s.dead.to_string(),
            s.in_queue.to_string(),
            s.avg_ms.map(|ms| format!("{ms:.1}")).unwrap_or_default(),
            s.max_ms.map(|ms| ms.to_string()).unwrap_or_default(),
        ]);
    }
    let window_text = human_duration(window);
    if stats.is_empty() {
        format!(
            "Deliveries by status\n{}\n\nNo deliveries received in the last {window_text}.\n",
            by_status.trim_fmt()
        )
    } else {
        format!(
            "Deliveries by status\n{}\n\nLast {window_text}, by event type\n{}\n",
            by_status.trim_fmt(),
            by_type.trim_fmt()
        )
    }
}

/// `inbox list`.
pub(super) fn list(rows: &[StoredDelivery], limit: u32, json: bool) -> String {
    if json {
        return line(&serde_json::Value::Array(
            rows.iter().map(delivery_json).collect(),
        ));
    }
    if rows.is_empty() {
        return "No deliveries match.\n".to_owned();
    }
    let mut t = table();
    t.set_header([
        "ID",
        "STATUS",
        "EVENT TYPE",
        "EVENT / MESSAGE ID",
        "ATTEMPTS",
        "RECEIVED (UTC)",
        "LAST ERROR",
    ]);
    for d in rows {
        t.add_row([
            d.id.to_string(),
            d.status.to_string(),
            printable(d.event_type_str(), ""),
            printable(
                d.event_id
                    .as_deref()
                    .or(d.message_id.as_deref())
                    .unwrap_or_default(),
                "",
            ),
            d.attempts.to_string(),
            timestamp(d.received_at_ms),
            d.last_error
                .as_deref()
                .map(|e| printable(&shorten(e), ""))
                .unwrap_or_default(),
        ]);
    }
    let more = match rows.last() {
        Some(last) if rows.len() >= limit as usize => {
            format!(
                "{} shown; the next page: --before {}\n",
                rows.len(),
                last.id
            )
        }
        _ => String::new(),
    };
    format!("{}\n{more}", t.trim_fmt())
}

/// `inbox show --body`: the exact body bytes.
pub(super) fn body(d: &StoredDelivery) -> Vec<u8> {
    d.body.to_vec()
}

/// `inbox show`.
pub(super) fn show(d: &StoredDelivery, json: bool) -> String {
    if json {
        return line(&delivery_json(d));
    }
    let mut t = Table::new();
    t.load_style(presets::NOTHING);
    let mut field = |name: &str, value: String| {
        if !value.is_empty() {
            t.add_row([name.to_owned(), printable(&value, "")]);
        }
    };
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    field("id", d.id.to_string());
    field("status", d.status.to_string());
    field("event type", d.event_type_str().to_owned());
    field("event id", opt(&d.event_id));
    field("message id", opt(&d.message_id));
    field("dedupe key", d.dedupe_key.clone());
    field("scheme", d.scheme.clone());
    field("attempts", d.attempts.to_string());
    // Times say their zone: the operator reading them may be in another.
    let utc = |ms: i64| format!("{} UTC", timestamp(ms));
    field("received", utc(d.received_at_ms));
    match d.status.as_str() {
        "done" | "dead" => {}
        // While processing, the time is the end of the worker's lease, not an attempt.
        "processing" => field("lease until", utc(d.next_attempt_at_ms)),
        _ => field("next attempt", utc(d.next_attempt_at_ms)),
    }
    field("finished", d.finished_at_ms.map(utc).unwrap_or_default());
    field(
        "processing",
        d.processing_ms
            .map(|ms| format!("{ms} ms"))
            .unwrap_or_default(),
    );
    field("last error", opt(&d.last_error));
    field("client", opt(&d.client_addr));
    field("user agent", opt(&d.user_agent));
    let mut text = format!("{}\n\nheaders\n", t.trim_fmt());
    for (name, value) in &d.headers {
        let _ = writeln!(text, "  {}: {}", printable(name, ""), printable(value, ""));
    }
    let _ = write!(text, "\nbody ({} bytes)\n", d.body.len());
    text.push_str(&body_text(&d.body));
    text.push('\n');
    text
}

/// `inbox replay` and `inbox redrive ID`.
pub(super) fn requeued(verb: &str, deliveries: &[StoredDelivery], json: bool) -> String {
    if json {
        let key = if verb == "replayed" {
            "replayed"
        } else {
            "redriven"
        };
        let ids: Vec<i64> = deliveries.iter().map(|d| d.id.0).collect();
        return line(&json!({ key: ids }));
    }
    deliveries
        .iter()
        .map(|d| {
            format!(
                "{verb} delivery {} ({}, was {}): queued again with a fresh attempt count\n",
                d.id,
                if d.event_type_str().is_empty() {
                    "no event type".to_owned()
                } else {
                    printable(d.event_type_str(), "")
                },
                d.status
            )
        })
        .collect()
}

/// `inbox redrive --all-dead`.
pub(super) fn redrove_all(n: u64, json: bool) -> String {
    if json {
        return line(&json!({ "redriven_count": n }));
    }
    format!(
        "re-drove {n} dead deliver{}\n",
        if n == 1 { "y" } else { "ies" }
    )
}

fn delivery_json(d: &StoredDelivery) -> serde_json::Value {
    let mut value = serde_json::to_value(d).unwrap_or_else(|_| json!({ "id": d.id.0 }));
    if let Some(map) = value.as_object_mut() {
        match std::str::from_utf8(&d.body) {
            Ok(text) => map.insert("body".into(), text.into()),
            Err(_) => map.insert(
                "body_base64".into(),
                base64::engine::general_purpose::STANDARD
                    .encode(&d.body)
                    .into(),
            ),
        };
    }
    value
}

/// The body as received (re-serializing JSON would reorder its keys), with control characters
/// escaped, or a note for binary.
fn body_text(body: &[u8]) -> String {
    match std::str::from_utf8(body) {
        Ok(text) => printable(text, "\n\t"),
        Err(_) => format!("(binary, {} bytes; --json shows it as base64)", body.len()),
    }
}

/// Columns separated by spaces, a rule under the header: easy to read and to `grep`.
const PLAIN: TableStyle =
    TableStyle::new().header_separator(LineStyle::none().fill('─').junction(' '));

fn table() -> Table {
    let mut t = Table::new();
    t.load_style(PLAIN);
    t
}

fn line(value: &serde_json::Value) -> String {
    format!("{value}\n")
}

fn shorten(text: &str) -> String {
    let first_line = text.lines().next().unwrap_or("");
    if first_line.chars().count() > ERROR_CELL_CHARS || first_line.len() < text.len() {
        let cut: String = first_line.chars().take(ERROR_CELL_CHARS - 1).collect();
        format!("{cut}…")
    } else {
        first_line.to_owned()
    }
}

/// Milliseconds since the epoch as `YYYY-MM-DD HH:MM:SS` UTC.
pub(super) fn timestamp(ms: i64) -> String {
    let format = format_description!("[year]-[month]-[day] [hour]:[minute]:[second]");
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| ms.to_string())
}

fn human_duration(d: Duration) -> String {
    let secs = d.as_secs();
    match secs {
        s if s % 86_400 == 0 && s > 86_400 => format!("{} d", s / 86_400),
        s if s % 3600 == 0 && s > 0 => format!("{} h", s / 3600),
        s if s % 60 == 0 && s > 0 => format!("{} min", s / 60),
        s => format!("{s} s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_utc_seconds() {
        assert_eq!(timestamp(1_736_189_065_153), "2025-01-06 18:44:25");
        assert_eq!(timestamp(0), "1970-01-01 00:00:00");
    }

    #[test]
    fn errors_are_shortened_to_one_line() {
        assert_eq!(shorten("boom"), "boom");
        assert_eq!(shorten("boom\nstack"), "boom…");
        assert_eq!(shorten(&"x".repeat(100)).chars().count(), ERROR_CELL_CHARS);
    }

    #[test]
    fn bodies_are_shown_as_received_or_as_a_binary_note() {
        assert_eq!(body_text(br#"{"b":1,"a":2}"#), r#"{"b":1,"a":2}"#);
        assert_eq!(body_text(b"a=1&b=2"), "a=1&b=2");
        assert!(body_text(&[0xff, 0xfe]).starts_with("(binary, 2 bytes"));
        assert_eq!(
            body_text(b"{\"a\":\"\x1b]0;owned\x07\"}\n\tb\r"),
            "{\"a\":\"\\u{1b}]0;owned\\u{7}\"}\n\tb\\r"
        );
        assert_eq!(printable("user.\x1b[31mred", ""), "user.\\u{1b}[31mred");
        assert_eq!(printable("a\nb", ""), "a\\nb");
        // A right-to-left override would reorder the rest of the line.
        assert_eq!(printable("paid\u{202e}dias", ""), "paid\\u{202e}dias");
        assert_eq!(printable("naïve ✓", ""), "naïve ✓");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(human_duration(Duration::from_secs(86_400)), "24 h");
        assert_eq!(human_duration(Duration::from_secs(7 * 86_400)), "7 d");
        assert_eq!(human_duration(Duration::from_secs(7200)), "2 h");
        assert_eq!(human_duration(Duration::from_secs(90)), "90 s");
    }
}
