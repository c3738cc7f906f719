//! `webhook send` to an https receiver whose certificate a private CA signed: refused with a
//! hint by default, sent with `--cacert` (that CA) or `--insecure`.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

mod common;

use common::{assert_exit_0, webhook};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/tls");

/// An https receiver on 127.0.0.1:0 with the certificate `name`.pem (key `name`.key) of
/// `tests/fixtures/tls`, answering every complete request 204 and counting them.
struct Receiver {
    url: String,
    answered: Arc<AtomicUsize>,
}

fn start(name: &str) -> Receiver {
    start_on(name, "127.0.0.1")
}

fn start_on(name: &str, ip: &str) -> Receiver {
    let cert = CertificateDer::from_pem_file(format!("{TLS}/{name}.pem")).unwrap();
    let key = PrivateKeyDer::from_pem_file(format!("{TLS}/{name}.key")).unwrap();
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert], key)
        .unwrap();
    let config = Arc::new(config);
    let listener = TcpListener::bind((ip, 0)).unwrap();
    let url = format!("https://{}/webhooks", listener.local_addr().unwrap());
    let answered = Arc::new(AtomicUsize::new(0));
    let count = answered.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut tcp) = stream else { continue };
            let Ok(mut conn) = rustls::ServerConnection::new(config.clone()) else {
                continue;
            };
            let mut tls = rustls::Stream::new(&mut conn, &mut tcp);
            let _ = answer(&mut tls, &count);
        }
    });
    Receiver { url, answered }
}

/// Reads one request (head, then a `Content-Length` body), counts it, and answers 204. Counted
/// before the answer is written: the client may exit as soon as it has the answer.
fn answer(tls: &mut impl ReadWrite, count: &AtomicUsize) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(0, |v| v.trim().parse().unwrap_or(0));
    while buf.len() < head_end + len {
        let n = tls.read(&mut chunk)?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    count.fetch_add(1, Ordering::SeqCst);
    tls.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")?;
    tls.flush()
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

fn send(url: &str, extra: &[&str]) -> std::process::Output {
    webhook()
        .args(["send", "--url", url, "--secret", SECRET, "--timeout", "5"])
        .args(extra)
        .output()
        .unwrap()
}

#[test]
fn a_certificate_from_an_unknown_ca_is_refused_with_a_hint() {
    let receiver = start("localhost");
    let out = send(&receiver.url, &[]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.contains("UnknownIssuer"), "{stdout}\n{stderr}");
    assert!(stdout.contains("--cacert FILE"), "{stdout}\n{stderr}");
    assert_eq!(receiver.answered.load(Ordering::SeqCst), 0);
}

#[test]
fn cacert_trusts_the_ca_that_signed_the_receivers_certificate() {
    let receiver = start("localhost");
    let out = send(&receiver.url, &["--cacert", &format!("{TLS}/ca.pem")]);
    assert_exit_0(&out, "send --cacert");
    assert_eq!(receiver.answered.load(Ordering::SeqCst), 1);
    // The receiver's certificate itself is no trust anchor when a CA signed it.
    let out = send(
        &receiver.url,
        &["--cacert", &format!("{TLS}/localhost.pem")],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
}

#[test]
fn cacert_trusts_a_self_signed_certificate_that_is_not_a_ca() {
    let receiver = start("self-signed");
    let out = send(
        &receiver.url,
        &["--cacert", &format!("{TLS}/self-signed.pem")],
    );
    assert_exit_0(&out, "send --cacert self-signed.pem");
    assert_eq!(receiver.answered.load(Ordering::SeqCst), 1);
}

/// `openssl req -x509` marks a self-signed certificate as a CA, which rustls refuses as a
/// server's certificate even when trusted: the hint says how to make one it takes.
#[test]
fn a_self_signed_ca_certificate_is_refused_with_how_to_make_one_that_works() {
    let receiver = start("self-signed-ca");
    let out = send(
        &receiver.url,
        &["--cacert", &format!("{TLS}/self-signed-ca.pem")],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("CA:FALSE"), "{stdout}");
    assert_eq!(receiver.answered.load(Ordering::SeqCst), 0);
    let out = send(&receiver.url, &["--insecure"]);
    assert_exit_0(&out, "send --insecure");
}

#[test]
fn insecure_accepts_any_certificate() {
    let receiver = start("localhost");
    let out = send(&receiver.url, &["--insecure"]);
    assert_exit_0(&out, "send --insecure");
    assert_eq!(receiver.answered.load(Ordering::SeqCst), 1);
}

#[test]
fn a_cacert_file_without_certificates_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("empty.pem");
    std::fs::write(&path, "not a certificate\n").unwrap();
    let out = send(
        "https://127.0.0.1:9/",
        &["--cacert", path.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("no PEM certificate"));
    // Not read without end.
    let out = send("https://127.0.0.1:9/", &["--cacert", "/dev/zero"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("larger than 16 MiB"));
    let out = send("https://127.0.0.1:9/", &["--cacert", "/nonexistent/ca.pem"]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("--cacert /nonexistent/ca.pem"));
}

/// A trusted certificate that names another host is refused with a hint about the name, not
/// the one for an untrusted issuer (which would say to do what was done).
#[test]
fn a_certificate_for_another_name_says_so() {
    // self-signed.pem names localhost and 127.0.0.1 only; 127.0.0.2 is loopback too.
    let receiver = start_on("self-signed", "127.0.0.2");
    let out = send(
        &receiver.url,
        &["--cacert", &format!("{TLS}/self-signed.pem")],
    );
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("not valid for name"), "{stdout}");
    assert!(
        !stdout.contains("not signed by a CA this machine trusts"),
        "misleading hint: {stdout}"
    );
    assert!(stdout.contains("does not name the host"), "{stdout}");
}

/// A --cacert file whose certificate is damaged (a line lost in a copy) is a usage error naming
/// the file, not an HTTP client failure blaming the "peer certificate".
#[test]
fn a_damaged_cacert_is_a_usage_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("damaged.pem");
    let pem = std::fs::read_to_string(format!("{TLS}/ca.pem")).unwrap();
    let damaged: Vec<&str> = pem
        .lines()
        .enumerate()
        .filter(|&(i, _)| i != 2)
        .map(|(_, l)| l)
        .collect();
    std::fs::write(&path, damaged.join("\n") + "\n").unwrap();
    let out = send(
        "https://127.0.0.1:9/",
        &["--cacert", path.to_str().unwrap()],
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("damaged.pem"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{out:?}");
}

/// A machine without system CA certificates (a minimal container): an http URL needs none and
/// is sent; an https one with its CA given by --cacert is sent too; without it, the error says
/// what is missing.
#[test]
fn without_system_ca_certificates_http_and_cacert_still_work() {
    let no_system_cas = |url: &str, extra: &[&str]| {
        webhook()
            .env("SSL_CERT_FILE", "/nonexistent/cert.pem")
            .env("SSL_CERT_DIR", "/nonexistent")
            .args(["send", "--url", url, "--secret", SECRET, "--timeout", "5"])
            .args(extra)
            .output()
            .unwrap()
    };
    let plain = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/webhooks", plain.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in plain.incoming() {
            let Ok(mut tcp) = stream else { continue };
            let _ = answer(&mut tcp, &AtomicUsize::new(0));
        }
    });
    assert_exit_0(&no_system_cas(&url, &[]), "http without system CAs");

    let receiver = start("localhost");
    let out = no_system_cas(&receiver.url, &["--cacert", &format!("{TLS}/ca.pem")]);
    assert_exit_0(&out, "https --cacert without system CAs");
    let out = no_system_cas(&receiver.url, &[]);
    assert_eq!(out.status.code(), Some(3), "{out:?}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--cacert FILE"), "{stderr}");
}
