//! Starting an example binary on an ephemeral port and reading what it prints.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running example server; killed on drop.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: String,
    pub(crate) stdout: mpsc::Receiver<String>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts `bin` with `args` (plus `--addr 127.0.0.1:0`) and waits until it logs its address on
/// stderr as `listening on <addr>` (or `addr=<addr>`).
pub(crate) fn start(bin: &str, args: &[&str], env: &[(&str, &str)]) -> Server {
    let mut cmd = Command::new(bin);
    cmd.args(["--addr", "127.0.0.1:0"]).args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.env("RUST_LOG", "info").env("NO_COLOR", "1");
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn example");
    let stderr = child.stderr.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (addr_tx, addr_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[server] {line}");
            if !sent && let Some(addr) = find_addr(&line) {
                let _ = addr_tx.send(addr);
                sent = true;
            }
        }
    });
    let (out_tx, out_rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_tx.send(line);
        }
    });
    let addr = addr_rx
        .recv_timeout(Duration::from_secs(60))
        .expect("server address on stderr");
    Server {
        child,
        addr,
        stdout: out_rx,
    }
}

fn find_addr(line: &str) -> Option<String> {
    let start = line.find("127.0.0.1:")?;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    let addr = &rest[..end];
    (addr.len() > "127.0.0.1:".len()).then(|| addr.to_owned())
}
