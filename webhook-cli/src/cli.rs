//! The command line: subcommands, flags, help texts and examples.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};
use webhook_core::Scheme;

use crate::error::EXIT_CODES_HELP;
use crate::parse::{self, HeaderLine, Tolerance};

/// Sign, verify and send webhooks, and inspect a webhook inbox, from a shell.
#[derive(Debug, Parser)]
#[command(
    name = "webhook",
    version,
    about = "Sign, verify and send webhooks, and inspect a webhook inbox",
    long_about = "Sign, verify and send webhooks, and inspect a webhook inbox.\n\n\
        Uses the same code as the webhook-core library, so what the command accepts, your \
        receiver accepts. Schemes: standard (Standard Webhooks: Scalekit, Svix), stripe, github, \
        slack, shopify, paddle, timestamped.\n\n\
        Secrets are given as the sender shows them (whsec_... for Standard Webhooks, the raw \
        string for the others), with --secret-file, the WEBHOOK_SECRET environment variable \
        (comma-separated for several) or --secret (command-line arguments are visible to other \
        users of the machine).",
    after_help = EXIT_CODES_HELP,
    propagate_version = true
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Print the headers a sender would send for a body.
    #[command(after_help = SIGN_EXAMPLES)]
    Sign(SignArgs),
    /// Check a delivery's signature: exit 0 and a JSON summary, or exit 1 and the reason.
    #[command(after_help = VERIFY_EXAMPLES)]
    Verify(VerifyArgs),
    /// Sign and POST deliveries to a receiver, and summarize its answers.
    #[command(after_help = SEND_EXAMPLES)]
    Send(SendArgs),
    /// Inspect a webhook inbox (SQLite or PostgreSQL): stats, list, show, replay, redrive.
    #[command(after_help = INBOX_EXAMPLES)]
    Inbox(InboxArgs),
    /// List the built-in Scalekit sample events, or print one's body.
    #[command(after_help = SAMPLES_EXAMPLES)]
    Samples(SamplesArgs),
}

const INBOX_EXAMPLES: &str = "\
Examples:
  export WEBHOOK_INBOX_URL=sqlite://webhooks.db
  webhook inbox stats                               # per status, and per event type over 24 h
  webhook inbox list --status dead                  # what is dead, and why
  webhook inbox list --type organization.created --limit 20
  webhook inbox show 42                             # state, headers, body
  webhook inbox show evt_53891546994442300          # by event id, message id or dedupe key
  webhook inbox show 42 --body | jq .               # the exact body bytes
  webhook inbox replay 42                           # process it again, whatever its status
  webhook inbox redrive --all-dead                  # after fixing the handler
  webhook inbox --database sqlite://webhooks.db list --json | jq '.[].id'

IDs are the inbox's numeric ids, or a delivery's event id (evt_...), message id
(msg_...) or dedupe key.

Exit codes: 0 success, 1 the inbox refused the operation (e.g. replaying a
delivery a worker is processing), 2 usage error, 3 database error or missing
database file, 4 no such delivery.";

/// `webhook inbox`.
#[derive(Debug, Args)]
pub(crate) struct InboxArgs {
    /// The inbox database: sqlite://path.db or postgres://user@host/db. Read from
    /// WEBHOOK_INBOX_URL when not given (preferred when the URL holds a password).
    #[arg(
        long,
        short = 'd',
        value_name = "URL",
        env = "WEBHOOK_INBOX_URL",
        hide_env_values = true,
        global = true
    )]
    pub(crate) database: Option<String>,

    /// Print JSON instead of tables.
    #[arg(long, global = true)]
    pub(crate) json: bool,

    #[command(subcommand)]
    pub(crate) command: InboxCommand,
}

/// The `inbox` subcommands.
#[derive(Debug, Subcommand)]
pub(crate) enum InboxCommand {
    /// Deliveries per status, and per event type over a window.
    #[command(
        after_help = "Examples:\n  webhook inbox stats\n  webhook inbox stats --window 7d --json | jq .counts"
    )]
    Stats {
        /// The window for the per event type figures: 90s, 30m, 24h, 7d.
        #[arg(long, value_name = "DURATION", default_value = "24h", value_parser = parse::duration)]
        window: std::time::Duration,
    },
    /// Stored deliveries, newest first.
    #[command(
        after_help = "Examples:\n  webhook inbox list --status dead\n  webhook inbox list --type organization.created --limit 20\n  webhook inbox list --limit 100 --before 4200      # the next page\n  webhook inbox list --status retrying --json | jq -r '.[].last_error'"
    )]
    List {
        /// Only this status.
        #[arg(long, value_enum)]
        status: Option<StatusArg>,
        /// Only this exact event type.
        #[arg(long = "type", short = 'T', value_name = "TYPE")]
        event_type: Option<String>,
        /// At most this many.
        #[arg(long, short = 'n', default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=1000))]
        limit: u32,
        /// Only deliveries with a smaller id (the next page).
        #[arg(long, value_name = "ID")]
        before: Option<i64>,
    },
    /// One delivery: its state, the headers kept for re-verification, and its body.
    #[command(
        after_help = "Examples:\n  webhook inbox show 42\n  webhook inbox show evt_53891546994442300\n  webhook inbox show msg_2o3NaedIm6pL62OQ544VzM1cIYo --body | jq .data"
    )]
    Show {
        /// Numeric id, event id, message id or dedupe key.
        id: String,
        /// Print only the body, exactly as received (for jq, or for `webhook verify`).
        #[arg(long, conflicts_with = "json")]
        body: bool,
    },
    /// Queue a delivery again, whatever its status (not while a worker holds it), with a
    /// fresh attempt count.
    #[command(after_help = "Examples:\n  webhook inbox replay 42\n  webhook inbox replay evt_123")]
    Replay {
        /// Numeric id, event id, message id or dedupe key.
        id: String,
    },
    /// Queue dead deliveries again.
    #[command(
        after_help = "Examples:\n  webhook inbox redrive 42\n  webhook inbox redrive --all-dead"
    )]
    Redrive {
        /// The dead delivery: numeric id, event id, message id or dedupe key.
        #[arg(required_unless_present = "all_dead")]
        id: Option<String>,
        /// Every dead delivery.
        #[arg(long, conflicts_with = "id")]
        all_dead: bool,
    },
}

/// A delivery status, for `inbox list --status`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum StatusArg {
    /// Stored, waiting for a worker.
    Pending,
    /// Claimed by a worker.
    Processing,
    /// Handled.
    Done,
    /// Failed, another attempt is scheduled.
    Retrying,
    /// Every attempt failed.
    Dead,
}

const SAMPLES_EXAMPLES: &str = "\
Examples:
  webhook samples                                   # every type, its object and display name
  webhook samples organization.directory.user_created > user.json
  webhook samples user.login | webhook sign --secret whsec_...

Exit codes: 0 success, 2 unknown type.";

/// `webhook samples`.
#[derive(Debug, Args)]
pub(crate) struct SamplesArgs {
    /// Print the sample body of this event type (default: list the types).
    #[arg(value_name = "TYPE")]
    pub(crate) event_type: Option<String>,
}

const SIGN_EXAMPLES: &str = "\
Examples:
  # Standard Webhooks (Scalekit, Svix): webhook-id, webhook-timestamp, webhook-signature
  echo -n '{\"test\": 2432232314}' | webhook sign --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw \\
      --id msg_p5jXN8AQM9LWM0D4loKWxJek --timestamp 1614265330

  # GitHub, body from a file
  webhook sign --scheme github --secret \"It's a Secret to Everybody\" --body-file payload.json

  # Sign, then verify what was signed
  export WEBHOOK_SECRET=whsec_test_secret
  webhook sign --scheme stripe --body-file event.json > headers.txt
  webhook verify --scheme stripe --headers-file headers.txt --body-file event.json

Exit codes: 0 success, 2 usage error (also a body over 64 MiB), 3 unreadable body.";

const VERIFY_EXAMPLES: &str = "\
Examples:
  # The Standard Webhooks published vector (its timestamp is old: pin --now or turn the check off)
  echo -n '{\"test\": 2432232314}' | webhook verify \\
      --secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw \\
      --header 'webhook-id: msg_p5jXN8AQM9LWM0D4loKWxJek' \\
      --header 'webhook-timestamp: 1614265330' \\
      --header 'webhook-signature: v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=' \\
      --now 1614265330

  # GitHub, during a secret rotation (either secret is accepted; one secret per line)
  webhook verify --scheme github --secret-file secrets.txt \\
      --header 'X-Hub-Signature-256: sha256=757107ea...' --body-file body.bin

  # In a script
  if webhook verify --headers-file captured-headers.txt --body-file captured-body.bin; then ...

Exit codes: 0 verified, 1 rejected (a JSON summary on stdout either way; the reason on stderr),
2 usage error (also a body over 64 MiB, or a headers file over 1 MiB or not UTF-8),
3 unreadable body or headers file.";

const SEND_EXAMPLES: &str = "\
Examples:
  # One realistic Scalekit event to a local receiver; prints the status and the response body
  WEBHOOK_SECRET=whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw \\
      webhook send --url http://localhost:3000/webhooks --type organization.created

  # A body of your own, GitHub-signed
  webhook send --url http://localhost:8080/github --scheme github --secret s3cret --body-file push.json

  # Load: 1000 deliveries, 16 at a time, progress bar and latency summary
  webhook send --url http://localhost:3000/webhooks --secret whsec_... --count 1000 --concurrency 16

  # Check that the receiver rejects bad signatures (expects 400, 401 or 403 for every delivery)
  webhook send --url http://localhost:3000/webhooks --secret whsec_... --tamper --count 10

  # An https receiver whose certificate a private CA (mkcert) signed
  webhook send --url https://localhost:3443/webhooks --secret whsec_... --cacert rootCA.pem

Exit codes: 0 every delivery answered as expected (2xx, or 400/401/403 with --tamper),
1 some were not, 2 usage error, 3 network failure (connection refused, timeout, a refused
certificate).";

/// The scheme and secret(s) shared by `sign`, `verify` and `send`.
#[derive(Debug, Args)]
pub(crate) struct KeyArgs {
    /// The signature scheme.
    #[arg(long, short = 's', value_name = "SCHEME", default_value = "standard", value_parser = parse::scheme_parser())]
    pub(crate) scheme: Scheme,

    /// The signing secret, as the sender shows it (repeat for a rotation).
    ///
    /// `whsec_...` (base64) for Standard Webhooks; the exact string for the other schemes
    /// (Stripe's whsec_... string is used as is, as Stripe does; whitespace around a Stripe,
    /// Slack, Shopify or Paddle secret is refused). Secrets from --secret-file lines and
    /// WEBHOOK_SECRET are trimmed, in every scheme. Without --secret or
    /// --secret-file, read from WEBHOOK_SECRET: one secret, or several separated by commas, as
    /// the example receivers read it (for github and timestamped, whose secrets are free text,
    /// always one).
    #[arg(long, short = 'k', value_name = "SECRET")]
    pub(crate) secret: Vec<String>,

    /// Read secrets from this file, one per line (blank lines are skipped, each line is
    /// trimmed); `-` reads them from standard input. Repeatable. Keeps secrets out of the
    /// command line, which other users of the machine can see.
    #[arg(long, value_name = "FILE")]
    pub(crate) secret_file: Vec<PathBuf>,

    /// Another header for the signature (the timestamped scheme's header differs between
    /// integrations; default: the scheme's own). For the standard scheme, `svix-signature`
    /// signs with the svix-* header names Svix sends.
    #[arg(long, value_name = "NAME")]
    pub(crate) signature_header: Option<String>,
}

/// `webhook sign`.
#[derive(Debug, Args)]
pub(crate) struct SignArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,

    /// The delivery id (webhook-id, X-GitHub-Delivery, X-Shopify-Webhook-Id). Default: a fresh
    /// msg_... id.
    #[arg(long, value_name = "ID")]
    pub(crate) id: Option<String>,

    /// The signed timestamp, in Unix seconds (not negative: verifiers refuse it). Default: now.
    #[arg(long, short = 't', value_name = "UNIX", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i64).range(0..))]
    pub(crate) timestamp: Option<i64>,

    /// Read the body from this file (`-` for standard input). Default: standard input.
    #[arg(long, short = 'b', value_name = "FILE")]
    pub(crate) body_file: Option<PathBuf>,

    /// The event type, for the schemes that send it in a header (unsigned): GitHub's
    /// X-GitHub-Event (`push`), Shopify's X-Shopify-Topic (`orders/create`).
    #[arg(long, value_name = "NAME")]
    pub(crate) event: Option<String>,

    /// Output format.
    #[arg(long, value_enum, default_value_t = SignFormat::Headers)]
    pub(crate) format: SignFormat,

    /// Print JSON: the same as `--format json` (the flag `send` and `inbox` take).
    #[arg(long, conflicts_with = "format")]
    pub(crate) json: bool,
}

/// How `sign` prints the headers.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum SignFormat {
    /// One `Name: value` per line.
    Headers,
    /// One JSON object of name to value.
    Json,
}

/// `webhook verify`.
#[derive(Debug, Args)]
pub(crate) struct VerifyArgs {
    #[command(flatten)]
    pub(crate) key: KeyArgs,

    /// A header of the delivery, as `Name: value` (repeat for each). It replaces the headers
    /// file's lines of the same name.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = header_line_arg)]
    pub(crate) headers: Vec<HeaderLine>,

    /// Read more headers from a file, one `Name: value` per line (the output of `webhook sign`,
    /// a captured request, or a `curl -v` capture; blank lines, `#` comments and a request line
    /// are skipped).
    #[arg(long, value_name = "FILE")]
    pub(crate) headers_file: Option<PathBuf>,

    /// Read the body from this file (`-` for standard input). Default: standard input. The
    /// bytes are verified exactly as read: a trailing newline matters.
    #[arg(long, short = 'b', value_name = "FILE")]
    pub(crate) body_file: Option<PathBuf>,

    /// Verify as if the time were this (Unix seconds). Default: now.
    #[arg(long, value_name = "UNIX", allow_negative_numbers = true)]
    pub(crate) now: Option<i64>,

    /// How far the signed timestamp may be from now, in seconds, or `off`.
    #[arg(long, value_name = "SECS|off", default_value = "300", value_parser = parse::tolerance)]
    pub(crate) tolerance: Tolerance,
}

/// `webhook send`.
#[derive(Debug, Args)]
pub(crate) struct SendArgs {
    /// The receiver's URL (http or https).
    #[arg(long, short = 'u', value_name = "URL")]
    pub(crate) url: reqwest::Url,

    #[command(flatten)]
    pub(crate) key: KeyArgs,

    /// Send this file as the body (`-` for standard input).
    #[arg(long, short = 'b', value_name = "FILE", conflicts_with = "event_type")]
    pub(crate) body_file: Option<PathBuf>,

    /// Send a built-in realistic Scalekit event of this type (`webhook samples` lists them).
    /// Without --body-file or --type: organization.created.
    #[arg(long = "type", short = 'T', value_name = "TYPE")]
    pub(crate) event_type: Option<String>,

    /// How many deliveries to send; each has its own id and signature. Stripe, Slack and Paddle
    /// send no delivery id, and the timestamped scheme's webhook-id is not signed, so receivers
    /// dedupe them on the body: with
    /// --body-file they are one delivery sent N times (--type makes a fresh event each time).
    #[arg(long, short = 'n', value_name = "N", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub(crate) count: u64,

    /// How many deliveries may be in flight at once.
    #[arg(long, short = 'c', value_name = "C", default_value_t = 1,
          value_parser = clap::value_parser!(u64).range(1..=1024))]
    pub(crate) concurrency: u64,

    /// Send deliveries the receiver must reject: `signature` (a well-formed signature over other
    /// bytes, the default) or `timestamp` (a valid signature over a timestamp an hour old).
    /// Success is then a 400, 401 or 403 (a failed verification) for every delivery.
    #[arg(long, value_name = "HOW", value_enum, num_args = 0..=1, default_missing_value = "signature")]
    pub(crate) tamper: Option<Tamper>,

    /// An extra request header, `Name: value` (repeat for each); overrides Content-Type.
    #[arg(long = "header", short = 'H', value_name = "NAME: VALUE", value_parser = header_line_arg)]
    pub(crate) headers: Vec<HeaderLine>,

    /// The event type, for the schemes that send it in a header (unsigned): GitHub's
    /// X-GitHub-Event (`push`), Shopify's X-Shopify-Topic (`orders/create`).
    #[arg(long, value_name = "NAME")]
    pub(crate) event: Option<String>,

    /// Give up on a delivery after this many seconds (at least 1).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) timeout: u64,

    /// Trust the certificates in this PEM file as well as the system's, for an https receiver
    /// whose certificate a private CA (mkcert, a company CA) signed: that CA's certificate, or a
    /// self-signed certificate itself when it is not marked as a CA.
    #[arg(long, value_name = "FILE")]
    pub(crate) cacert: Option<PathBuf>,

    /// Accept any certificate from an https receiver. For development only: whoever can
    /// intercept the connection then reads the deliveries and answers them.
    #[arg(long)]
    pub(crate) insecure: bool,

    /// Print the summary as JSON.
    #[arg(long)]
    pub(crate) json: bool,

    /// No progress bar.
    #[arg(long, short = 'q')]
    pub(crate) quiet: bool,
}

/// How `send --tamper` breaks deliveries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub(crate) enum Tamper {
    /// A well-formed signature computed over different bytes (expect 401).
    Signature,
    /// A valid signature over a timestamp one hour in the past (expect 401).
    Timestamp,
}

fn header_line_arg(text: &str) -> Result<HeaderLine, String> {
    parse::header_line(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }
}
