//! Receiver processes (`inbox-pg-receiver`) on loopback ports.

use std::net::{SocketAddr, TcpListener};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use tokio::process::{Child, Command};

/// A free loopback port (bound and released; the receiver binds it right after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running `inbox-pg-receiver`.
pub struct Receiver {
    pub name: String,
    pub addr: SocketAddr,
    pub child: Child,
}

impl Receiver {
    /// Starts a receiver on `port` with `args` (`--worker`, `--handler-ms`, …) and waits until
    /// it accepts connections. Its stderr goes to `<log_dir>/<name>.log`.
    pub async fn start(
        name: &str,
        port: u16,
        database_url: &str,
        log_dir: &Path,
        args: &[&str],
    ) -> Receiver {
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log_dir.join(format!("{name}.log")))
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_inbox-pg-receiver"))
            .args([
                "--addr",
                &addr.to_string(),
                "--database-url",
                database_url,
                "--instance",
                name,
            ])
            .args(args)
            .env_remove("DATABASE_URL")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let mut receiver = Receiver {
            name: name.to_owned(),
            addr,
            child,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while tokio::net::TcpStream::connect(addr).await.is_err() {
            if let Ok(Some(status)) = receiver.child.try_wait() {
                panic!(
                    "receiver {name} exited with {status}; see {}",
                    log_dir.join(format!("{name}.log")).display()
                );
            }
            assert!(
                Instant::now() < deadline,
                "receiver {name} did not start listening"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        receiver
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id().unwrap()
    }

    /// `http://addr/webhook`.
    pub fn url(&self) -> String {
        format!("http://{}/webhook", self.addr)
    }

    /// SIGKILL, and wait for the process to be gone.
    pub async fn kill(&mut self) {
        self.child.start_kill().unwrap();
        let _ = self.child.wait().await;
    }
}
