//! A throwaway PostgreSQL cluster that a test may stop and start (the shared one from
//! `scripts/with-postgres.sh` is never stopped). Same commands as that script.

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Cluster {
    pub port: u16,
    bin: PathBuf,
    dir: tempfile::TempDir,
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| o.stdout.starts_with(b"0\n"))
        .unwrap_or(false)
}

fn pg_bin() -> PathBuf {
    let mut bins: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|dir| {
            dir.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").exists())
                .collect()
        })
        .unwrap_or_default();
    bins.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
    });
    bins.pop().unwrap_or_else(|| {
        panic!(
            "PostgreSQL server binaries (initdb, pg_ctl) not found under /usr/lib/postgresql: run the PostgreSQL tests \
             through scripts/with-postgres.sh, which installs them"
        )
    })
}

/// Runs a PostgreSQL binary, as the `postgres` user when we are root (the server refuses root).
fn as_pg(bin: &Path, args: &[&str]) {
    let status = if is_root() {
        Command::new("runuser")
            .args(["-u", "postgres", "--"])
            .arg(bin)
            .args(args)
            .status()
    } else {
        Command::new(bin).args(args).status()
    }
    .unwrap();
    assert!(
        status.success(),
        "{} {args:?} failed: {status}",
        bin.display()
    );
}

impl Cluster {
    /// initdb + start on a free loopback port.
    pub fn start() -> Cluster {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("webhook-pg-outage")
            .tempdir()
            .unwrap();
        Command::new("chmod")
            .arg("755")
            .arg(dir.path())
            .status()
            .unwrap();
        if is_root() {
            Command::new("chown")
                .arg("postgres:postgres")
                .arg(dir.path())
                .status()
                .unwrap();
        }
        let data = dir.path().join("data");
        as_pg(
            &bin.join("initdb"),
            &[
                "-D",
                data.to_str().unwrap(),
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "-N",
            ],
        );
        let cluster = Cluster {
            port: super::receiver::free_port(),
            bin,
            dir,
        };
        cluster.pg_ctl_start();
        cluster
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn pg_ctl_start(&self) {
        let log = self.dir.path().join("log").display().to_string();
        let opts = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=100 -c fsync=on",
            self.port,
            self.dir.path().display()
        );
        as_pg(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-l", &log, "-w", "-o", &opts, "start"],
        );
    }

    /// `postgres://postgres@127.0.0.1:port/postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    /// Stops the server the hard way (`-m immediate`: no shutdown checkpoint; the restart
    /// recovers from the WAL, as after a crash).
    pub fn stop(&self) {
        as_pg(
            &self.bin.join("pg_ctl"),
            &["-D", &self.data(), "-m", "immediate", "-w", "stop"],
        );
    }

    /// Starts it again on the same port.
    pub fn restart(&self) {
        self.pg_ctl_start();
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let data = self.data();
        let args = ["-D", data.as_str(), "-m", "immediate", "stop"];
        let _ = if is_root() {
            Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(args)
                .output()
        } else {
            Command::new(self.bin.join("pg_ctl")).args(args).output()
        };
    }
}
