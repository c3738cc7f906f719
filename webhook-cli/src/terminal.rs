//! Text from the network or a stored delivery, made safe to print on a terminal.

/// The invisible characters that reorder the text around them (Unicode bidirectional
/// formatting): printed raw, a body could make a table say something it does not.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` for a terminal: control characters other than those in `keep`, and bidirectional
/// formatting characters, are escaped (`\u{1b}`, `\u{202e}`), so a sender's bytes cannot move
/// the cursor, recolour or retitle the operator's terminal, or reorder what it shows.
pub(crate) fn printable(text: &str, keep: &str) -> String {
    text.chars()
        .flat_map(|c| {
            let escape = (c.is_control() || is_bidi_control(c)) && !keep.contains(c);
            let (escaped, plain) = if escape {
                (Some(c.escape_default()), None)
            } else {
                (None, Some(c))
            };
            escaped.into_iter().flatten().chain(plain)
        })
        .collect()
}
