//! `webhook sign` and `webhook verify` end to end: published vectors, round trips for every
//! scheme, exit codes.

mod common;

use assert_cmd::Command;
use common::{assert_exit_0, webhook};
use predicates::prelude::*;

const STD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const STD_ID: &str = "msg_p5jXN8AQM9LWM0D4loKWxJek";
const STD_TS: &str = "1614265330";
const STD_BODY: &str = r#"{"test": 2432232314}"#;
const STD_SIG: &str = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=";

const GH_SECRET: &str = "It's a Secret to Everybody";
const GH_BODY: &str = "Hello, World!";
const GH_SIG: &str = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";

fn std_vector_verify() -> Command {
    let mut cmd = webhook();
    cmd.args(["verify", "--secret", STD_SECRET])
        .args(["--header", &format!("webhook-id: {STD_ID}")])
        .args(["--header", &format!("Webhook-Timestamp: {STD_TS}")])
        .args(["--header", &format!("webhook-signature: {STD_SIG}")])
        .write_stdin(STD_BODY);
    cmd
}

#[test]
fn sign_reproduces_the_standard_webhooks_vector() {
    webhook()
        .args(["sign", "--scheme", "standard", "--secret", STD_SECRET])
        .args(["--id", STD_ID, "--timestamp", STD_TS])
        .write_stdin(STD_BODY)
        .assert()
        .success()
        .stdout(format!(
            "webhook-id: {STD_ID}\nwebhook-timestamp: {STD_TS}\nwebhook-signature: {STD_SIG}\n"
        ));
}

#[test]
fn sign_reproduces_the_github_vector_from_a_body_file() {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.txt");
    std::fs::write(&body, GH_BODY).unwrap();
    webhook()
        .args([
            "sign", "--scheme", "github", "--secret", GH_SECRET, "--id", "d-1",
        ])
        .arg("--body-file")
        .arg(&body)
        .assert()
        .success()
        .stdout(format!(
            "x-github-delivery: d-1\nx-hub-signature-256: {GH_SIG}\n"
        ));
}

#[test]
fn sign_defaults_to_a_fresh_id_and_now() {
    let out = webhook()
        .args(["sign", "--secret", STD_SECRET, "--format", "json"])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert!(out.status.success());
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = json["webhook-id"].as_str().unwrap();
    assert!(id.starts_with("msg_") && id.len() == 31, "{id}");
    let ts: i64 = json["webhook-timestamp"].as_str().unwrap().parse().unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    assert!((now - ts).abs() < 60, "{ts} vs {now}");
}

#[test]
fn verify_accepts_the_standard_webhooks_vector() {
    let out = std_vector_verify()
        .args(["--now", STD_TS])
        .output()
        .unwrap();
    assert_exit_0(&out, "webhook");
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.lines().count(), 1, "one line: {text}");
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["valid"], true);
    assert_eq!(json["scheme"], "standard");
    assert_eq!(json["id"], STD_ID);
    assert_eq!(json["timestamp"], 1614265330);
    assert_eq!(json["secret_index"], 0);
    assert_eq!(json["dedupe_key"], format!("standard:{STD_ID}"));
}

#[test]
fn verify_accepts_the_github_vector() {
    webhook()
        .args(["verify", "--scheme", "github", "--secret", GH_SECRET])
        .args(["--header", &format!("X-Hub-Signature-256: {GH_SIG}")])
        .write_stdin(GH_BODY)
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""scheme":"github""#));
}

#[test]
fn verify_rejects_the_old_vector_at_the_real_time_with_exit_1() {
    std_vector_verify()
        .assert()
        .code(1)
        .stdout(predicate::str::contains(
            r#""code":"timestamp_too_old","error":"#,
        ))
        .stderr(predicate::str::contains("timestamp_too_old"));
}

#[test]
fn verify_tolerance_off_accepts_the_old_vector() {
    std_vector_verify()
        .args(["--tolerance", "off"])
        .assert()
        .success();
}

#[test]
fn verify_tolerance_is_enforced_around_now() {
    // 100 s after the vector's timestamp: fine with the default 300 s, rejected with 60 s.
    std_vector_verify()
        .args(["--now", "1614265430"])
        .assert()
        .success();
    std_vector_verify()
        .args(["--now", "1614265430", "--tolerance", "60"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("timestamp_too_old"));
    std_vector_verify()
        .args(["--now", "1614265230", "--tolerance", "60"])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("timestamp_too_new"));
}

#[test]
fn verify_rejects_a_modified_body_with_exit_1_and_the_reason() {
    webhook()
        .args(["verify", "--scheme", "github", "--secret", GH_SECRET])
        .args(["--header", &format!("X-Hub-Signature-256: {GH_SIG}")])
        .write_stdin("Hello, World!\n")
        .assert()
        .code(1)
        .stderr(predicate::str::contains("signature_mismatch"))
        .stderr(predicate::str::contains("HTTP 401"));
    // The same, machine-readable on stdout.
    let out = webhook()
        .args(["verify", "--scheme", "github", "--secret", GH_SECRET])
        .args(["--header", &format!("X-Hub-Signature-256: {GH_SIG}")])
        .write_stdin("Hello, World!\n")
        .output()
        .unwrap();
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["valid"], false);
    assert_eq!(summary["code"], "signature_mismatch");
    assert_eq!(summary["status"], 401);
    assert!(
        summary["error"]
            .as_str()
            .unwrap()
            .contains("no signature matched")
    );
    assert!(!String::from_utf8_lossy(&out.stdout).contains("757107ea"));
}

#[test]
fn verify_rejects_a_wrong_secret_but_accepts_it_among_rotated_ones() {
    webhook()
        .args(["verify", "--scheme", "github", "--secret", "wrong"])
        .args(["--header", &format!("X-Hub-Signature-256: {GH_SIG}")])
        .write_stdin(GH_BODY)
        .assert()
        .code(1);
    webhook()
        .args([
            "verify", "--scheme", "github", "--secret", "wrong", "--secret", GH_SECRET,
        ])
        .args(["--header", &format!("X-Hub-Signature-256: {GH_SIG}")])
        .write_stdin(GH_BODY)
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""secret_index":1"#));
}

#[test]
fn verify_missing_header_is_a_rejection_with_exit_1() {
    webhook()
        .args([
            "verify",
            "--secret",
            STD_SECRET,
            "--header",
            "webhook-id: msg_1",
        ])
        .write_stdin(STD_BODY)
        .assert()
        .code(1)
        .stderr(predicate::str::contains(
            "missing `webhook-timestamp` header",
        ));
}

#[test]
fn verify_reads_the_secret_from_webhook_secret() {
    webhook()
        .env("WEBHOOK_SECRET", STD_SECRET)
        .args(["verify", "--now", STD_TS])
        .args(["--header", &format!("webhook-id: {STD_ID}")])
        .args(["--header", &format!("webhook-timestamp: {STD_TS}")])
        .args(["--header", &format!("webhook-signature: {STD_SIG}")])
        .write_stdin(STD_BODY)
        .assert()
        .success();
}

#[test]
fn usage_errors_exit_2() {
    // Unknown scheme (clap).
    webhook()
        .args([
            "verify", "--scheme", "hmac", "--secret", "x", "--header", "a: b",
        ])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("hmac"));
    // No secret at all (clap, with WEBHOOK_SECRET unset).
    webhook()
        .args(["verify", "--header", "a: b"])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--secret"));
    // Malformed --header (clap).
    webhook()
        .args(["verify", "--secret", "x", "--header", "no-colon"])
        .write_stdin("")
        .assert()
        .code(2);
    // Bad --tolerance (clap).
    webhook()
        .args([
            "verify",
            "--secret",
            "x",
            "--header",
            "a: b",
            "--tolerance",
            "soon",
        ])
        .write_stdin("")
        .assert()
        .code(2);
    // A Standard Webhooks secret that is not base64 (ours).
    webhook()
        .args([
            "verify",
            "--secret",
            "whsec_not base64!",
            "--header",
            "a: b",
        ])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a Standard Webhooks secret"))
        .stderr(predicate::str::contains("not base64!").not());
    // No headers (ours).
    webhook()
        .args(["verify", "--secret", STD_SECRET])
        .write_stdin("")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no headers"));
}

#[test]
fn an_unreadable_body_file_exits_3() {
    webhook()
        .args(["verify", "--secret", STD_SECRET, "--header", "a: b"])
        .args(["--body-file", "/nonexistent/body.json"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("/nonexistent/body.json"));
}

#[test]
fn help_documents_every_subcommand_with_examples_and_exit_codes() {
    for sub in [
        &["sign"][..],
        &["verify"],
        &["send"],
        &["samples"],
        &["inbox"],
        &["inbox", "stats"],
        &["inbox", "list"],
        &["inbox", "show"],
        &["inbox", "replay"],
        &["inbox", "redrive"],
    ] {
        let out = webhook().args(sub).arg("--help").output().unwrap();
        assert!(out.status.success(), "{sub:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(text.contains("Examples:"), "{sub:?}: {text}");
    }
    for sub in ["sign", "verify", "send", "inbox"] {
        webhook()
            .args([sub, "--help"])
            .assert()
            .success()
            .stdout(predicate::str::contains("Exit codes:"));
    }
    webhook()
        .arg("--help")
        .assert()
        .success()
        .stdout(predicate::str::contains("Exit codes:"));
}

#[test]
fn help_never_prints_the_database_url_from_the_environment() {
    webhook()
        .env("WEBHOOK_INBOX_URL", "postgres://app:hunter2@db/inbox")
        .args(["inbox", "list", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("WEBHOOK_INBOX_URL"))
        .stdout(predicate::str::contains("hunter2").not());
}

#[test]
fn help_never_prints_the_secret_from_the_environment() {
    webhook()
        .env("WEBHOOK_SECRET", "super-secret-value")
        .args(["verify", "--help"])
        .assert()
        .success()
        .stdout(predicate::str::contains("WEBHOOK_SECRET"))
        .stdout(predicate::str::contains("super-secret-value").not());
}

/// Signs `body` with `scheme`, then verifies the printed headers through a headers file, and
/// checks that one changed byte is rejected.
fn round_trip(scheme: &str, secret: &str) {
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    let payload = b"{\"id\":\"evt_1\",\"type\":\"organization.created\",\"data\":{}}\n";
    std::fs::write(&body, payload).unwrap();
    let out = webhook()
        .args(["sign", "--scheme", scheme, "--secret", secret])
        .arg("--body-file")
        .arg(&body)
        .output()
        .unwrap();
    assert_exit_0(&out, scheme);
    let headers = dir.path().join("headers.txt");
    std::fs::write(&headers, &out.stdout).unwrap();

    let out = webhook()
        .args(["verify", "--scheme", scheme])
        .env("WEBHOOK_SECRET", secret)
        .arg("--headers-file")
        .arg(&headers)
        .arg("--body-file")
        .arg(&body)
        .output()
        .unwrap();
    assert_exit_0(&out, scheme);
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(json["scheme"], scheme);
    assert_eq!(json["valid"], true);
    // Slack and Paddle name the event id `event_id`; GitHub has none in the body, and a
    // Shopify body's `id` is the resource's (its event id is a header); the others `id`.
    let event_id = match scheme {
        "slack" | "paddle" | "github" | "shopify" => serde_json::Value::Null,
        _ => "evt_1".into(),
    };
    assert_eq!(json["event_id"], event_id, "{scheme}: {json}");

    // The same headers with the body on stdin, without its trailing newline: rejected.
    webhook()
        .args(["verify", "--scheme", scheme, "--secret", secret])
        .arg("--headers-file")
        .arg(&headers)
        .write_stdin(&payload[..payload.len() - 1])
        .assert()
        .code(1)
        .stderr(predicate::str::contains("signature_mismatch"));
}

/// GitHub and Shopify sign no timestamp: a `--timestamp` would be silently ignored.
#[test]
fn a_timestamp_for_a_scheme_without_one_is_refused() {
    for scheme in ["github", "shopify"] {
        webhook()
            .args([
                "sign",
                "--scheme",
                scheme,
                "--secret",
                "s",
                "--timestamp",
                "5",
            ])
            .write_stdin("{}")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("signs no timestamp"));
    }
}

#[test]
fn sign_verify_round_trips_for_every_scheme() {
    round_trip("standard", STD_SECRET);
    round_trip("stripe", "whsec_stripe_test_secret");
    round_trip("github", GH_SECRET);
    round_trip("slack", "8f742231b10e8888abcd99yyyzzz85a5");
    round_trip("shopify", "shpss_0123456789abcdef");
    round_trip(
        "paddle",
        "pdl_ntfset_01gkpjp8bkm3tm53kdgkx6sms7_6h3qd3uFSi9YCD3OLYAShQI90XTI5vEI",
    );
    round_trip("timestamped", "scalekit-manual-secret");
}

#[test]
fn sign_with_two_secrets_verifies_with_either() {
    let out = webhook()
        .args([
            "sign", "--scheme", "stripe", "--secret", "new", "--secret", "old",
        ])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert!(out.status.success());
    let headers = String::from_utf8(out.stdout).unwrap();
    let line = headers.trim_end();
    assert_eq!(line.matches("v1=").count(), 2, "{line}");
    for secret in ["old", "new"] {
        webhook()
            .args([
                "verify", "--scheme", "stripe", "--secret", secret, "--header", line,
            ])
            .write_stdin("{}")
            .assert()
            .success();
    }
}

/// GitHub carries one signature, and Paddle's SDKs read one: two secrets to sign with are
/// refused, not one dropped; verifying still accepts either.
#[test]
fn two_secrets_for_a_one_signature_scheme_are_refused_when_signing() {
    for scheme in ["github", "paddle"] {
        webhook()
            .args([
                "sign", "--scheme", scheme, "--secret", "new", "--secret", "old",
            ])
            .write_stdin("{}")
            .assert()
            .code(2)
            .stderr(predicate::str::contains(format!(
                "{scheme} carries one signature"
            )));
    }
    let out = webhook()
        .args(["sign", "--scheme", "github", "--secret", "old"])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert_exit_0(&out, "github");
    let headers = String::from_utf8(out.stdout).unwrap();
    let mut verify = webhook();
    verify.args([
        "verify", "--scheme", "github", "--secret", "new", "--secret", "old",
    ]);
    for line in headers.lines() {
        verify.args(["--header", line]);
    }
    verify.write_stdin("{}").assert().success();
}

#[test]
fn ed25519_keys_sign_v1a_and_verify_with_the_public_key() {
    let signing = "whsk_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
    let public = webhook_core::ed25519_public_key(signing).unwrap();
    let out = webhook()
        .args([
            "sign",
            "--secret",
            signing,
            "--id",
            "msg_1",
            "--timestamp",
            "1700000000",
        ])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert_exit_0(&out, "webhook");
    let headers = String::from_utf8(out.stdout).unwrap();
    assert!(headers.contains("webhook-signature: v1a,"), "{headers}");
    let mut verify = webhook();
    verify.args(["verify", "--secret", &public, "--now", "1700000000"]);
    for line in headers.lines() {
        verify.args(["--header", line]);
    }
    verify.write_stdin("{}").assert().success();
}

/// A headers file past 1 MiB is refused as a usage error, not cut off into a mismatch.
#[test]
fn an_oversized_headers_file_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("headers.txt");
    let mut text = String::from("webhook-id: msg_1\n");
    text.push_str(&format!("x-padding: {}\n", "p".repeat(1024 * 1024)));
    std::fs::write(&headers, text).unwrap();
    webhook()
        .args(["verify", "--secret", STD_SECRET, "--headers-file"])
        .arg(&headers)
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("larger than 1 MiB"));
}

/// Standard Webhooks names its signature header: moving it is refused (except to the svix-*
/// names), and a header name HTTP cannot carry is refused for the schemes that allow moving it.
#[test]
fn signature_header_is_checked() {
    webhook()
        .args([
            "sign",
            "--secret",
            STD_SECRET,
            "--signature-header",
            "x-sig",
        ])
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains(
            "takes only webhook-signature or svix-signature",
        ));
    // svix-signature writes the svix-* names Svix sends, and verify reads them.
    let dir = tempfile::tempdir().unwrap();
    let headers = dir.path().join("headers.txt");
    let out = webhook()
        .args([
            "sign",
            "--secret",
            STD_SECRET,
            "--signature-header",
            "svix-signature",
        ])
        .write_stdin("{}")
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let names: Vec<&str> = text.lines().filter_map(|l| l.split(':').next()).collect();
    assert_eq!(
        names,
        ["svix-id", "svix-timestamp", "svix-signature"],
        "{text}"
    );
    std::fs::write(&headers, &text).unwrap();
    webhook()
        .args(["verify", "--secret", STD_SECRET, "--headers-file"])
        .arg(&headers)
        .write_stdin("{}")
        .assert()
        .success();
    // Naming the header Standard Webhooks uses anyway is harmless.
    webhook()
        .args([
            "sign",
            "--secret",
            STD_SECRET,
            "--signature-header",
            "Webhook-Signature",
        ])
        .write_stdin("{}")
        .assert()
        .success();
    webhook()
        .args([
            "sign",
            "--scheme",
            "timestamped",
            "--secret",
            "s",
            "--signature-header",
            "X Sig",
        ])
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("not a valid header name"));
}

/// `sign` refuses what every verifier would refuse: a negative timestamp, an empty id, an id
/// with surrounding whitespace (HTTP drops it, verifiers trim it).
#[test]
fn sign_refuses_unverifiable_ids_and_timestamps() {
    webhook()
        .args(["sign", "--secret", STD_SECRET, "--timestamp", "-5"])
        .write_stdin("{}")
        .assert()
        .code(2);
    webhook()
        .args(["sign", "--secret", STD_SECRET, "--id", ""])
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--id is empty"));
    for id in [" msg_1", "msg_1 ", "  msg_1  "] {
        webhook()
            .args(["sign", "--secret", STD_SECRET, "--id", id])
            .write_stdin("{}")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("whitespace"));
    }
}

/// Secrets from a file (one per line), from standard input, or from `WEBHOOK_SECRET` as a
/// comma-separated list (as the example receivers read it): a rotation without secrets on the
/// command line.
#[test]
fn secrets_come_from_a_file_stdin_or_a_comma_separated_variable() {
    const OTHER: &str = "whsec_C2FVsBQIhrscChlQIMV+b5sSYspob7oD";
    let dir = tempfile::tempdir().unwrap();
    let body = dir.path().join("body.json");
    std::fs::write(&body, STD_BODY).unwrap();
    let secrets = dir.path().join("secrets.txt");
    std::fs::write(&secrets, format!("\n  {OTHER}  \r\n{STD_SECRET}\n\n")).unwrap();
    let verify = || {
        let mut cmd = webhook();
        cmd.env_remove("WEBHOOK_SECRET")
            .args(["verify", "--now", STD_TS, "--body-file"])
            .arg(&body)
            .args(["--header", &format!("webhook-id: {STD_ID}")])
            .args(["--header", &format!("webhook-timestamp: {STD_TS}")])
            .args(["--header", &format!("webhook-signature: {STD_SIG}")]);
        cmd
    };
    // The published vector's secret is the second line.
    verify()
        .arg("--secret-file")
        .arg(&secrets)
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""secret_index":1"#));
    verify()
        .args(["--secret-file", "-"])
        .write_stdin(format!("{STD_SECRET}\n"))
        .assert()
        .success();
    verify()
        .env("WEBHOOK_SECRET", format!("{OTHER}, {STD_SECRET}"))
        .assert()
        .success()
        .stdout(predicate::str::contains(r#""secret_index":1"#));
    // A GitHub secret is free text: a comma in the variable is part of it.
    let signed = webhook()
        .env("WEBHOOK_SECRET", "ab,cd")
        .args(["sign", "--scheme", "github"])
        .write_stdin(GH_BODY)
        .output()
        .unwrap();
    assert_exit_0(&signed, "github secret with a comma");
    let expected = webhook()
        .env_remove("WEBHOOK_SECRET")
        .args(["sign", "--scheme", "github", "--secret", "ab,cd"])
        .write_stdin(GH_BODY)
        .output()
        .unwrap();
    let signature = |out: &std::process::Output| {
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find(|l| l.starts_with("x-hub-signature-256"))
            .map(str::to_owned)
    };
    assert!(signature(&signed).is_some());
    assert_eq!(signature(&signed), signature(&expected));
    // Only the other secret: the signature does not match.
    verify().env("WEBHOOK_SECRET", OTHER).assert().code(1);

    // Standard input cannot hold both the secrets and the body.
    webhook()
        .env_remove("WEBHOOK_SECRET")
        .args(["sign", "--secret-file", "-"])
        .write_stdin(STD_BODY)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("both want standard input"));
    // An empty file, or one that is missing, is an error, not "no secret" fallback.
    let empty = dir.path().join("empty.txt");
    std::fs::write(&empty, "\n \n").unwrap();
    verify()
        .env("WEBHOOK_SECRET", STD_SECRET)
        .arg("--secret-file")
        .arg(&empty)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("holds no secret"));
    verify()
        .arg("--secret-file")
        .arg(dir.path().join("missing.txt"))
        .assert()
        .code(3)
        .stderr(predicate::str::contains("cannot read secret file"));
}

/// Stripe, Slack and Paddle send no delivery id: an `--id` would be silently dropped.
#[test]
fn an_id_for_a_scheme_without_one_is_refused() {
    for scheme in ["stripe", "slack", "paddle"] {
        webhook()
            .args(["sign", "--scheme", scheme, "--secret", "s", "--id", "foo"])
            .write_stdin("{}")
            .assert()
            .code(2)
            .stderr(predicate::str::contains("sends no delivery id"));
    }
    webhook()
        .args(["sign", "--scheme", "github", "--secret", "s", "--id", "d-9"])
        .write_stdin("{}")
        .assert()
        .success()
        .stdout(predicate::str::contains("x-github-delivery: d-9"));
}

/// `sign --json` is `sign --format json`, as `send --json` and `inbox --json` are spelled.
#[test]
fn sign_json_is_format_json() {
    let run = |flags: &[&str]| {
        let out = webhook()
            .args([
                "sign",
                "--secret",
                STD_SECRET,
                "--id",
                "msg_j",
                "-t",
                "1700000000",
            ])
            .args(flags)
            .write_stdin("{}")
            .output()
            .unwrap();
        assert_exit_0(&out, "webhook");
        out.stdout
    };
    let json: serde_json::Value = serde_json::from_slice(&run(&["--json"])).unwrap();
    assert_eq!(json["webhook-id"], "msg_j");
    assert_eq!(run(&["--json"]), run(&["--format", "json"]));
    webhook()
        .args([
            "sign", "--secret", STD_SECRET, "--json", "--format", "headers",
        ])
        .write_stdin("{}")
        .assert()
        .code(2);
}

/// A reader that went away (`webhook … | head`) stops the command quietly with 0, as `cat`
/// and `rg` do, instead of an error on stderr and exit 3.
#[test]
fn a_closed_output_pipe_is_not_an_error() {
    for args in [&["samples"][..], &["samples", "user.login"][..]] {
        let (reader, writer) = std::io::pipe().unwrap();
        drop(reader);
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_webhook"))
            .args(args)
            .stdout(writer)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        assert!(
            out.stderr.is_empty(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    // The command's own result still decides: a rejected delivery exits 1, saying why.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_webhook"))
        .args(["verify", "--secret", STD_SECRET, "--tolerance", "off"])
        .args(["--header", &format!("webhook-id: {STD_ID}")])
        .args(["--header", &format!("webhook-timestamp: {STD_TS}")])
        .args(["--header", &format!("webhook-signature: {STD_SIG}")])
        .arg("--body-file")
        .arg(write_temp("tampered body"))
        .stdout(writer)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("signature_mismatch"));
}

/// A file holding `text`, kept for the rest of the process.
fn write_temp(text: &str) -> std::path::PathBuf {
    let dir = tempfile::tempdir().unwrap().keep();
    let path = dir.join("body");
    std::fs::write(&path, text).unwrap();
    path
}

/// `--header` replaces a header of the same name from `--headers-file` (to try another value),
/// instead of making it a duplicate that fails as malformed.
#[test]
fn a_header_flag_replaces_the_files_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("headers.txt");
    std::fs::write(
        &file,
        format!(
            "webhook-id: msg_other\nwebhook-timestamp: {STD_TS}\nwebhook-signature: {STD_SIG}\n"
        ),
    )
    .unwrap();
    let verify = |header: Option<String>| {
        let mut cmd = webhook();
        cmd.args(["verify", "--secret", STD_SECRET, "--tolerance", "off"])
            .arg("--headers-file")
            .arg(&file);
        if let Some(header) = header {
            cmd.args(["--header", &header]);
        }
        cmd.write_stdin(STD_BODY).output().unwrap()
    };
    // The file's id is wrong: the signature does not match.
    assert_eq!(verify(None).status.code(), Some(1));
    let out = verify(Some(format!("Webhook-Id: {STD_ID}")));
    assert_exit_0(&out, "--header replacing the file's webhook-id");
}

/// `--event` adds the event-type header of the schemes that send it in a header, and
/// `verify` reads the event type from it; other schemes refuse it.
#[test]
fn sign_event_sets_the_github_and_shopify_event_headers() {
    for (scheme, secret, header, event) in [
        (
            "github",
            "It's a Secret to Everybody",
            "x-github-event",
            "push",
        ),
        ("shopify", "shpss_test", "x-shopify-topic", "orders/create"),
    ] {
        let out = webhook()
            .args([
                "sign", "--scheme", scheme, "--secret", secret, "--event", event,
            ])
            .write_stdin("{}")
            .output()
            .unwrap();
        assert_exit_0(&out, scheme);
        let headers = String::from_utf8(out.stdout).unwrap();
        assert!(
            headers.contains(&format!("{header}: {event}\n")),
            "{headers}"
        );
        let mut verify = webhook();
        verify.args(["verify", "--scheme", scheme, "--secret", secret]);
        for line in headers.lines() {
            verify.args(["--header", line]);
        }
        let out = verify.write_stdin("{}").output().unwrap();
        assert_exit_0(&out, format!("{scheme} verify"));
        let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(summary["event_type"], event, "{summary}");
    }
    webhook()
        .args(["sign", "--secret", STD_SECRET, "--event", "push"])
        .write_stdin("{}")
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "reads the event type from the body",
        ));
}
