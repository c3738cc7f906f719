//! Reading a delivery body, as exact bytes, from a file or standard input.

use std::io::{IsTerminal as _, Read};
use std::path::Path;

use crate::error::CliError;

/// The largest body the command reads (GitHub's own cap is 25 MB).
pub(crate) const MAX_BODY_BYTES: u64 = 64 * 1024 * 1024;

/// Reads the body from `file` (`-` is standard input) or, without one, from standard input.
///
/// Refuses to wait on an interactive terminal: a forgotten `--body-file` would otherwise hang.
pub(crate) fn read(file: Option<&Path>) -> Result<Vec<u8>, CliError> {
    match file {
        Some(path) if path != Path::new("-") => {
            let what = || format!("body file {}", path.display());
            let file = std::fs::File::open(path).map_err(|source| CliError::Io {
                what: what(),
                source,
            })?;
            read_bounded(file, &what())
        }
        _ => {
            let stdin = std::io::stdin();
            if file.is_none() && stdin.is_terminal() {
                return Err(CliError::Usage(
                    "no body: pass --body-file FILE, or pipe the body on standard input \
                     (--body-file /dev/null for an empty body)"
                        .into(),
                ));
            }
            read_bounded(stdin.lock(), "the body from standard input")
        }
    }
}

/// Whether [`read`] takes the body from standard input.
pub(crate) fn reads_stdin(file: Option<&Path>) -> bool {
    file.is_none_or(|path| path == Path::new("-"))
}

fn read_bounded(reader: impl Read, what: &str) -> Result<Vec<u8>, CliError> {
    let mut body = Vec::new();
    reader
        .take(MAX_BODY_BYTES + 1)
        .read_to_end(&mut body)
        .map_err(|source| CliError::Io {
            what: what.to_owned(),
            source,
        })?;
    if body.len() as u64 > MAX_BODY_BYTES {
        return Err(CliError::Usage(format!(
            "{what} is larger than {} MiB",
            MAX_BODY_BYTES / 1024 / 1024
        )));
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_read_keeps_exact_bytes() {
        let body = read_bounded(&b"{\"a\":1}\r\n"[..], "x").unwrap();
        assert_eq!(body, b"{\"a\":1}\r\n");
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let big = std::io::repeat(b'a').take(MAX_BODY_BYTES + 10);
        assert!(matches!(read_bounded(big, "x"), Err(CliError::Usage(_))));
    }
}
