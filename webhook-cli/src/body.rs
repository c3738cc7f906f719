//! Reading a delivery body, as exact bytes, from a file or standard input; and the bounded
//! reads that the command's other inputs (headers file, secrets file) share with it.

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
            let what = format!("body file {}", path.display());
            read_limited(open(path, &what)?, &what, MAX_BODY_BYTES, "")
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
            read_limited(
                stdin.lock(),
                "the body from standard input",
                MAX_BODY_BYTES,
                "",
            )
        }
    }
}

/// Whether [`read`] takes the body from standard input.
pub(crate) fn reads_stdin(file: Option<&Path>) -> bool {
    file.is_none_or(|path| path == Path::new("-"))
}

/// Opens `path` for reading; `what` names it in the error.
pub(crate) fn open(path: &Path, what: &str) -> Result<std::fs::File, CliError> {
    std::fs::File::open(path).map_err(|source| CliError::Io {
        what: what.to_owned(),
        source,
    })
}

/// Reads `reader` to its end, refusing more than `max` bytes with "`what` is larger than
/// `max``why`".
pub(crate) fn read_limited(
    reader: impl Read,
    what: &str,
    max: u64,
    why: &str,
) -> Result<Vec<u8>, CliError> {
    let mut bytes = Vec::new();
    reader
        .take(max + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| CliError::Io {
            what: what.to_owned(),
            source,
        })?;
    if bytes.len() as u64 > max {
        const MIB: u64 = 1024 * 1024;
        let size = if max.is_multiple_of(MIB) {
            format!("{} MiB", max / MIB)
        } else {
            format!("{} KiB", max / 1024)
        };
        return Err(CliError::Usage(format!(
            "{what} is larger than {size}{why}"
        )));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_read_keeps_exact_bytes() {
        let body = read_limited(&b"{\"a\":1}\r\n"[..], "x", MAX_BODY_BYTES, "").unwrap();
        assert_eq!(body, b"{\"a\":1}\r\n");
    }

    #[test]
    fn oversized_bodies_are_refused() {
        let big = std::io::repeat(b'a').take(MAX_BODY_BYTES + 10);
        assert!(matches!(
            read_limited(big, "x", MAX_BODY_BYTES, ""),
            Err(CliError::Usage(_))
        ));
    }
}
