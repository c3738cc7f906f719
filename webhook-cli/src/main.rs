//! `webhook`: sign, verify and send webhooks, and inspect a webhook inbox, from a shell.
//!
//! ```text
//! webhook sign   --scheme S --secret K [--id ID] [--timestamp UNIX] [--body-file F]
//! webhook verify --scheme S --secret K --header 'Name: value'... [--body-file F] [--now UNIX] [--tolerance SECS|off]
//! webhook send   --url U --secret K [--scheme S] [--body-file F | --type T] [--count N] [--concurrency C] [--tamper]
//! webhook inbox  --database URL stats | list [--status S] [--type T] [--limit N] | show ID | replay ID | redrive [ID | --all-dead]
//! webhook samples [TYPE]
//! ```
//!
//! Every subcommand uses webhook-core's `Signer` and `Verifier`, so the command agrees with the
//! libraries by construction. Exit codes: 0 success, 1 rejected, 2 usage error, 3 runtime error,
//! 4 not found (see `webhook --help`).
#![forbid(unsafe_code)]
#![deny(missing_docs)]
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

mod body;
mod cli;
mod error;
mod ids;
mod inbox;
mod keys;
mod parse;
mod payload;
mod report;
mod samples;
mod send;
mod sign;
mod terminal;
mod verify;

use std::io::Write as _;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::{Cli, Command};
use crate::error::CliError;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::from(error::code::OK),
        Err(err) => {
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "webhook: {err}");
            err.exit_code()
        }
    }
}

fn run(cli: Cli) -> Result<(), CliError> {
    let stdout = std::io::stdout();
    let mut out = stdout.lock();
    match cli.command {
        Command::Sign(args) => sign::run(&args, &mut out),
        Command::Verify(args) => {
            // A rejection is a summary too: `{"valid":false,...}` on stdout, the reason on stderr.
            let (summary, result) = match verify::run(&args) {
                Ok(summary) => (summary, Ok(())),
                Err(CliError::Rejected(err)) => {
                    (verify::rejected(&err), Err(CliError::Rejected(err)))
                }
                Err(other) => return Err(other),
            };
            CliError::write_out(&mut out, format!("{summary}\n").as_bytes(), "the summary")?;
            result
        }
        Command::Send(args) => send::run(&args, &mut out),
        Command::Inbox(args) => inbox::run(&args, &mut out),
        Command::Samples(args) => samples::run(args.event_type.as_deref(), &mut out),
    }
}
