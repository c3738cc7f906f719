//! Starting an example binary on an ephemeral port and reading what it prints.

#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// A running example server; killed on drop.
pub(crate) struct Server {
    pub(crate) stderr: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
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
    cmd.env_remove("WEBHOOK_SECRET")
        .env_remove("WEBHOOK_INBOX_URL");
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
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let log2 = log.clone();
    std::thread::spawn(move || {
        let mut sent = false;
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("[server] {line}");
            log2.lock().unwrap().push(line.clone());
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
        stderr: log,
        child,
        addr,
        stdout: out_rx,
    }
}

fn find_addr(line: &str) -> Option<String> {
    let line = &line[line.find("listening on")?..];
    let start = line.find("127.0.0.1:")?;
    let rest = &line[start..];
    let end = rest
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == ':'))
        .unwrap_or(rest.len());
    let addr = &rest[..end];
    (addr.len() > "127.0.0.1:".len()).then(|| addr.to_owned())
}

/// The start of a webhook request whose headers pass the check before the body (so the server
/// waits for the body) and whose body stops after its first byte of 100 000.
pub(crate) fn stalled_request() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!(
        "POST /webhooks HTTP/1.1\r\nHost: localhost\r\nwebhook-id: msg_stall\r\n\
         webhook-timestamp: {now}\r\nwebhook-signature: v1,AAAA\r\n\
         content-length: 100000\r\n\r\n{{"
    )
}

impl Server {
    /// Sends SIGTERM and waits (at most 30 s) for the process to exit; returns how it exited.
    pub(crate) fn terminate(&mut self) -> std::process::ExitStatus {
        self.send_sigterm();
        self.exit_within(Duration::from_secs(30))
            .expect("still running 30 s after SIGTERM")
    }

    /// Sends SIGTERM, without waiting.
    pub(crate) fn send_sigterm(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// How the process exited, if it does within `limit`.
    pub(crate) fn exit_within(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return Some(exit);
            }
            if std::time::Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Opens a request whose head never ends and asserts that the server closes the
    /// connection (after a 408 or nothing) within 20 s, rather than hold it open for good.
    pub(crate) fn assert_an_unfinished_head_is_cut_off(&self) {
        let (_, took) = self.send_and_stall(b"POST /webhooks HTTP/1.1\r\nHost: localhost\r\n");
        assert!(took < Duration::from_secs(20), "{took:?}");
    }

    /// A request whose body stops coming is answered 408 within the request timeout (30 s),
    /// and its connection closed: not held open for good.
    pub(crate) fn assert_a_stalled_body_is_answered_408(&self) {
        let (answer, took) = self.send_and_stall(stalled_request().as_bytes());
        assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
        assert!(took < Duration::from_secs(45), "{took:?}");
    }

    /// Sends `bytes` on a new connection, then nothing more: what the server answered before
    /// it closed the connection, and how long that took (a failure past 60 s).
    fn send_and_stall(&self, bytes: &[u8]) -> (String, Duration) {
        use std::io::{Read as _, Write as _};
        let mut stream = std::net::TcpStream::connect(&self.addr).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        stream.write_all(bytes).unwrap();
        let started = std::time::Instant::now();
        let mut answer = Vec::new();
        // The read ends when the server closes the connection; it does not time out.
        let read = stream.read_to_end(&mut answer);
        assert!(read.is_ok(), "{read:?} after {:?}", started.elapsed());
        (
            String::from_utf8_lossy(&answer).into_owned(),
            started.elapsed(),
        )
    }
}

/// Waits for the next stdout line, parsed as JSON.
pub(crate) fn next_line(server: &Server, timeout: Duration) -> Option<serde_json::Value> {
    let line = server.stdout.recv_timeout(timeout).ok()?;
    assert!(
        line.starts_with(r#"{"id":"#) && line.contains(r#","event_id":"#),
        "fields out of order: {line}"
    );
    Some(
        serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("stdout line is not JSON ({e}): {line}")),
    )
}

/// Signed POSTs of Scalekit sample events.
pub(crate) struct Sender {
    pub(crate) client: reqwest::Client,
    pub(crate) url: String,
    pub(crate) signer: webhook_core::Signer,
}

impl Sender {
    pub(crate) fn new(addr: &str, secret: &str) -> Self {
        Sender {
            client: reqwest::Client::new(),
            url: format!("http://{addr}/webhooks"),
            signer: webhook_core::Signer::standard(secret).unwrap(),
        }
    }

    pub(crate) async fn send(&self, id: &str, body: &str) -> reqwest::Response {
        self.send_at(id, body, now()).await
    }

    pub(crate) async fn send_at(&self, id: &str, body: &str, ts: i64) -> reqwest::Response {
        let mut req = self.client.post(&self.url).body(body.to_owned());
        for (k, v) in self.signer.sign(id, ts, body.as_bytes()).iter() {
            req = req.header(k, v);
        }
        req.send().await.unwrap()
    }
}

pub(crate) fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub(crate) fn sample(event_type: &str, event_id: &str) -> String {
    webhook_core::scalekit::samples::sample_with(
        event_type,
        event_id,
        time::OffsetDateTime::now_utc(),
    )
    .unwrap()
}
