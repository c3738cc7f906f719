//! What can go wrong, and the exit code each failure maps to.

use std::process::ExitCode;

use webhook_core::{SecretError, VerifyError};

/// Exit codes, stable and documented in `--help` and the README.
pub(crate) mod code {
    /// Success: the signature verifies, the deliveries were answered as expected.
    pub(crate) const OK: u8 = 0;
    /// A check said no: the signature does not verify, a receiver answered `send` unexpectedly,
    /// or the inbox refused an operation.
    pub(crate) const REJECTED: u8 = 1;
    /// The command line is wrong (clap uses 2 for its own usage errors too).
    pub(crate) const USAGE: u8 = 2;
    /// Something outside the command failed: a file, the network, the database.
    pub(crate) const RUNTIME: u8 = 3;
    /// `inbox show/replay/redrive ID`: no such delivery.
    pub(crate) const NOT_FOUND: u8 = 4;
    /// `send` was stopped by Ctrl-C (128 + SIGINT, as shells report it).
    pub(crate) const INTERRUPTED: u8 = 130;
}

/// The text appended to every `--help`, listing the exit codes.
pub(crate) const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  success
  1  rejected: the signature does not verify (verify), a receiver answered
     unexpectedly (send: a non-2xx status, or a 2xx to a --tamper delivery), or
     the inbox refused the operation (e.g. re-driving a delivery that is not dead)
  2  usage error: bad flag, unknown scheme, unusable secret, malformed --header,
     a --cacert file without a usable certificate or over 16 MiB
  3  runtime error: unreadable file, network or database failure
  4  not found (inbox show / replay / redrive ID)
  130  interrupted: send was stopped by Ctrl-C (the summary covers what was answered)";

/// A failure of a `webhook` subcommand.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub(crate) enum CliError {
    /// The invocation is wrong in a way clap cannot see (a secret that does not parse...).
    #[error("{0}")]
    Usage(String),
    /// A secret was refused by webhook-core.
    #[error("unusable secret: {0}")]
    Secret(SecretError),
    /// The delivery does not verify.
    #[error("rejected ({code}, HTTP {status}): {err}", code = .0.code(), status = .0.status(), err = .0)]
    Rejected(VerifyError),
    /// A check failed for a reason that is not a [`VerifyError`] (e.g. `send` outcomes).
    #[error("{0}")]
    Failed(String),
    /// Reading a file or standard input failed.
    #[error("cannot read {what}: {source}")]
    Io {
        /// What was being read.
        what: String,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Writing to standard output failed.
    #[error("cannot write {what}: {source}")]
    Output {
        /// What was being written.
        what: &'static str,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Any other failure outside the command: network, runtime, database.
    #[error("{0}")]
    Runtime(String),
    /// The requested record does not exist.
    #[error("{0}")]
    NotFound(String),
    /// Ctrl-C stopped the command before it finished.
    #[error("{0}")]
    Interrupted(String),
}

// Not `#[from]`, which would also make it the source: the message already carries it.
impl From<SecretError> for CliError {
    fn from(e: SecretError) -> Self {
        CliError::Secret(e)
    }
}

impl CliError {
    /// Writes `bytes` (`what`, for the error) to standard output. A reader that went away
    /// (`webhook … | head`) is not an error: nothing more is written, as with `cat` and `rg`,
    /// and the command still ends with its own result (a rejected `verify` still exits 1).
    pub(crate) fn write_out(
        out: &mut dyn std::io::Write,
        bytes: &[u8],
        what: &'static str,
    ) -> Result<(), CliError> {
        match out.write_all(bytes).and_then(|()| out.flush()) {
            Err(source) if source.kind() != std::io::ErrorKind::BrokenPipe => {
                Err(CliError::Output { what, source })
            }
            _ => Ok(()),
        }
    }

    /// The process exit code for this error.
    pub(crate) fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            CliError::Usage(_) | CliError::Secret(_) => code::USAGE,
            CliError::Rejected(_) | CliError::Failed(_) => code::REJECTED,
            CliError::Io { .. } | CliError::Output { .. } | CliError::Runtime(_) => code::RUNTIME,
            CliError::NotFound(_) => code::NOT_FOUND,
            CliError::Interrupted(_) => code::INTERRUPTED,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_message_names_code_and_status() {
        let err = CliError::Rejected(VerifyError::SignatureMismatch {
            candidates: 1,
            secrets: 2,
        });
        let text = err.to_string();
        assert!(text.starts_with("rejected (signature_mismatch, HTTP 401): no signature matched"));
        assert_eq!(err.exit_code(), ExitCode::from(code::REJECTED));
        assert_eq!(
            CliError::Secret(SecretError::Empty).exit_code(),
            ExitCode::from(code::USAGE)
        );
    }
}
