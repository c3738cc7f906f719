//! The system clock under valgrind, which gives a program its own auxiliary vector: rustix once
//! read the kernel's instead and crashed on the first clock read.
#![cfg(target_os = "linux")]

use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use webhook_core::{Clock, SystemClock};

const CHILD: &str = "WEBHOOK_CORE_UNDER_VALGRIND";

#[test]
fn system_clock_reads_under_valgrind() {
    if std::env::var_os(CHILD).is_some() {
        let precise = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap()
            .as_secs() as i64;
        let coarse = SystemClock.now_unix();
        assert!((coarse - precise).abs() <= 1, "{coarse} vs {precise}");
        return;
    }
    if Command::new("valgrind").arg("--version").output().is_err() {
        // `.ci/run` installs valgrind, so this check runs in CI.
        eprintln!("skipped: valgrind is not installed");
        return;
    }
    let out = Command::new("valgrind")
        .args(["--tool=none", "--error-exitcode=1", "-q"])
        .arg(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "system_clock_reads_under_valgrind",
            "--test-threads=1",
        ])
        .env(CHILD, "1")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "under valgrind: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 passed"));
}
