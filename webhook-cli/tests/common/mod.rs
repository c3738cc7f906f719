//! Helpers shared by the `sign`/`verify` and `send` test binaries.

use std::fmt::Display;
use std::process::Output;

use assert_cmd::Command;

/// The `webhook` binary, without a `WEBHOOK_SECRET` inherited from the environment.
pub(crate) fn webhook() -> Command {
    let mut cmd = Command::cargo_bin("webhook").unwrap();
    cmd.env_remove("WEBHOOK_SECRET");
    cmd
}

/// Asserts that the command exited 0, showing `what` and its stderr when it did not.
#[track_caller]
pub(crate) fn assert_exit_0(out: &Output, what: impl Display) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
