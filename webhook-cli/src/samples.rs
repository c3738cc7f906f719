//! `webhook samples`: the built-in Scalekit events that `send --type` delivers.

use webhook_core::scalekit::{ScalekitEvent, samples};

use crate::error::CliError;
use crate::payload;

/// Runs `webhook samples [TYPE]`: the catalog as a table, or one sample body.
pub(crate) fn run(event_type: Option<&str>, out: &mut dyn std::io::Write) -> Result<(), CliError> {
    let text = match event_type {
        Some(event_type) => {
            let event_type = payload::known_type(event_type)?;
            let body = samples::sample(event_type)
                .ok_or_else(|| CliError::Runtime(format!("no sample body for {event_type}")))?;
            format!("{body}\n")
        }
        None => {
            let width = ScalekitEvent::CATALOG
                .iter()
                .map(|e| e.event_type.len())
                .max()
                .unwrap_or(0);
            ScalekitEvent::CATALOG
                .iter()
                .map(|e| {
                    format!(
                        "{:<width$}  {:<17} {}\n",
                        e.event_type, e.object, e.display_name
                    )
                })
                .collect()
        }
    };
    CliError::write_out(out, text.as_bytes(), "the samples")
}
