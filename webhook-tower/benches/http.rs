//! Real HTTP on loopback: server CPU per request and throughput of the layer vs the bare router
//! vs the svix crate, and the server's peak memory under oversized streamed bodies.
//!
//! `cargo bench -p webhook-tower --bench http` (options: `--rounds N`, `--secs S`, `--conns C`,
//! `--spin` for a load generator that polls non-blocking sockets instead of sleeping in tokio).
//! The server runs in a child process (this binary with `--serve`) on a single-threaded tokio
//! runtime, pinned to CPU 0 when `taskset` exists; the load generator runs here, pinned to CPU 1.
//! Server CPU is read from `/proc/<pid>/stat` (utime + stime), peak memory from `VmHWM`.
//! Every request is a distinct, freshly signed delivery.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use webhook_axum::{Signer, WebhookVerify};

const ROUTES: [&str; 4] = ["bare", "layer", "layer-nodedupe", "svix"];
const SIZES: [usize; 2] = [1024, 64 * 1024];

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.iter().any(|a| a == "--serve") {
        serve();
        return;
    }
    let opt = |name: &str, default: u64| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let rounds = opt("--rounds", 3) as usize;
    let secs = opt("--secs", 3);
    let conns = opt("--conns", 32) as usize;
    if args.iter().any(|a| a == "--list") {
        return;
    }
    let pinned = pin_self();
    let spin = args.iter().any(|a| a == "--spin");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();

    if !args.iter().any(|a| a == "--memory-only") {
        throughput(&rt, rounds, secs, conns, pinned, spin);
    }
    memory(&rt);
}

// ---------------------------------------------------------------------------------------------
// Server

fn serve() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut app = axum::Router::new();
        for (name, router) in common::routers() {
            app = app.nest(&format!("/{name}"), router);
        }
        app = app.nest(
            "/limited",
            common::layer(WebhookVerify::new(common::SECRET).body_limit(1024 * 1024)),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        println!("{}", listener.local_addr().unwrap().port());
        axum::serve(listener, app).await.unwrap();
    });
}

struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(pinned: bool) -> Server {
        let exe = std::env::current_exe().unwrap();
        let mut cmd = if pinned {
            let mut c = Command::new("taskset");
            c.arg("-c").arg("0").arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        let mut child = cmd.arg("--serve").stdout(Stdio::piped()).spawn().unwrap();
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        Server {
            port: line.trim().parse().unwrap(),
            child,
        }
    }

    fn stat(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        let line = status.lines().find(|l| l.starts_with(field)).unwrap();
        line.split_whitespace().nth(1).unwrap().parse().unwrap()
    }

    /// utime + stime, in clock ticks.
    fn cpu_ticks(&self) -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.child.id())).unwrap();
        let after_comm = &stat[stat.rfind(')').unwrap() + 2..];
        let fields: Vec<&str> = after_comm.split_whitespace().collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn pin_self() -> bool {
    let ok = Command::new("taskset")
        .args(["-a", "-cp", "1", &std::process::id().to_string()])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        eprintln!("taskset not available: server and load generator are not pinned");
    }
    ok
}

fn clock_ticks_per_sec() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}

// ---------------------------------------------------------------------------------------------
// Throughput and CPU per request

static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn request_bytes(signer: &Signer, path: &str, body: &[u8]) -> Vec<u8> {
    let id = format!("msg_http_{}", NEXT_ID.fetch_add(1, Ordering::Relaxed));
    let headers = signer.sign(&id, common::now(), body);
    let mut out = format!(
        "POST {path} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (k, v) in headers.iter() {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body);
    bytes
}

/// Reads one response; returns its status.
async fn read_response(stream: &mut TcpStream, buf: &mut Vec<u8>) -> Option<u16> {
    buf.clear();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let (status, len) = status_and_length(&buf[..head_end])?;
    while buf.len() < head_end + len {
        let n = stream.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Some(status)
}

/// The load generator of `--spin`: one thread that never sleeps, going round its connections
/// with non-blocking reads and writes. The server's answers then find no sleeping client to
/// wake, so the server's CPU no longer includes the wake-up (`sock_def_readable`, an
/// inter-processor interrupt on a VM) that a sleeping client costs on loopback.
fn load_spinning(server: &Server, path: &str, size: usize, secs: u64, conns: usize) -> Run {
    use std::io::{ErrorKind, Read, Write};
    enum State {
        Writing(Vec<u8>, usize),
        Reading,
    }
    let body = common::body(size);
    let signer = Signer::standard(common::SECRET).unwrap();
    let mut streams: Vec<(std::net::TcpStream, State, Vec<u8>)> = (0..conns)
        .map(|_| {
            let s = std::net::TcpStream::connect(("127.0.0.1", server.port)).unwrap();
            s.set_nonblocking(true).unwrap();
            let req = request_bytes(&signer, path, &body);
            (s, State::Writing(req, 0), Vec::with_capacity(8192))
        })
        .collect();
    let ticks = clock_ticks_per_sec();
    let (mut ok, mut bad) = (0u64, 0u64);
    let mut chunk = [0u8; 16384];
    let before = server.cpu_ticks();
    let started = Instant::now();
    let deadline = started + Duration::from_secs(secs);
    let mut spins = 0u32;
    loop {
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1024) && Instant::now() >= deadline {
            break;
        }
        for (stream, state, buf) in streams.iter_mut() {
            match state {
                State::Writing(req, off) => match stream.write(&req[*off..]) {
                    Ok(n) => {
                        *off += n;
                        if *off == req.len() {
                            buf.clear();
                            *state = State::Reading;
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("write: {e}"),
                },
                State::Reading => match stream.read(&mut chunk) {
                    Ok(0) => panic!("server closed a connection"),
                    Ok(n) => {
                        buf.extend_from_slice(&chunk[..n]);
                        if let Some(status) = complete_response(buf) {
                            if status == 204 {
                                ok += 1
                            } else {
                                bad += 1
                            }
                            *state = State::Writing(request_bytes(&signer, path, &body), 0);
                        }
                    }
                    Err(e) if e.kind() == ErrorKind::WouldBlock => {}
                    Err(e) => panic!("read: {e}"),
                },
            }
        }
    }
    let wall = started.elapsed();
    let after = server.cpu_ticks();
    // the server finishes the requests in flight before the next run reads its CPU time
    drop(streams);
    std::thread::sleep(Duration::from_millis(50));
    Run {
        ok,
        bad,
        cpu_secs: (after - before) as f64 / ticks,
        wall,
    }
}

/// The status of the response in `buf` once it is complete (head and `Content-Length` body).
fn complete_response(buf: &[u8]) -> Option<u16> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let (status, len) = status_and_length(&buf[..head_end])?;
    (buf.len() >= head_end + len).then_some(status)
}

/// A response head's status and `Content-Length` (0 when absent).
fn status_and_length(head: &[u8]) -> Option<(u16, usize)> {
    let head = std::str::from_utf8(head).ok()?;
    let status: u16 = head.get(9..12)?.parse().ok()?;
    let len: usize = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse().unwrap_or(0))
        })
        .unwrap_or(0);
    Some((status, len))
}

struct Run {
    ok: u64,
    bad: u64,
    cpu_secs: f64,
    wall: Duration,
}

fn load(
    rt: &tokio::runtime::Runtime,
    server: &Server,
    path: &str,
    size: usize,
    secs: u64,
    conns: usize,
) -> Run {
    let body = Arc::new(common::body(size));
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicU64::new(0));
    let bad = Arc::new(AtomicU64::new(0));
    let port = server.port;
    let ticks = clock_ticks_per_sec();
    rt.block_on(async {
        let mut tasks = Vec::new();
        // connect and warm up
        let mut streams = Vec::new();
        for _ in 0..conns {
            streams.push(TcpStream::connect(("127.0.0.1", port)).await.unwrap());
        }
        let before = server.cpu_ticks();
        let started = Instant::now();
        for mut stream in streams {
            let (body, stop, ok, bad) = (body.clone(), stop.clone(), ok.clone(), bad.clone());
            let path = path.to_owned();
            tasks.push(tokio::spawn(async move {
                let signer = Signer::standard(common::SECRET).unwrap();
                let mut buf = Vec::with_capacity(8192);
                while !stop.load(Ordering::Relaxed) {
                    let req = request_bytes(&signer, &path, &body);
                    if stream.write_all(&req).await.is_err() {
                        break;
                    }
                    match read_response(&mut stream, &mut buf).await {
                        Some(204) => ok.fetch_add(1, Ordering::Relaxed),
                        Some(_) => bad.fetch_add(1, Ordering::Relaxed),
                        None => break,
                    };
                }
            }));
        }
        tokio::time::sleep(Duration::from_secs(secs)).await;
        stop.store(true, Ordering::Relaxed);
        for t in tasks {
            let _ = t.await;
        }
        let wall = started.elapsed();
        let after = server.cpu_ticks();
        Run {
            ok: ok.load(Ordering::Relaxed),
            bad: bad.load(Ordering::Relaxed),
            cpu_secs: (after - before) as f64 / ticks,
            wall,
        }
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn throughput(
    rt: &tokio::runtime::Runtime,
    rounds: usize,
    secs: u64,
    conns: usize,
    pinned: bool,
    spin: bool,
) {
    let server = Server::start(pinned);
    std::thread::sleep(Duration::from_millis(200));
    // per (size, route): (cpu µs/req, rps) per round
    let mut results: Vec<(usize, &str, Vec<f64>, Vec<f64>)> = Vec::new();
    for size in SIZES {
        for route in ROUTES {
            results.push((size, route, Vec::new(), Vec::new()));
        }
    }
    for round in 0..rounds {
        for size in SIZES {
            let only = std::env::var("WEBHOOK_BENCH_ONLY").ok();
            let mut order: Vec<&str> = ROUTES
                .iter()
                .copied()
                .filter(|r| only.as_deref().is_none_or(|o| o == *r))
                .collect();
            let mid = round % order.len().max(1);
            order.rotate_left(mid);
            for route in order {
                let path = format!("/{route}");
                let run = if spin {
                    load_spinning(&server, &path, size, secs, conns)
                } else {
                    load(rt, &server, &path, size, secs, conns)
                };
                assert_eq!(run.bad, 0, "{route}: non-204 answers");
                let cpu_us = run.cpu_secs * 1e6 / run.ok as f64;
                let rps = run.ok as f64 / run.wall.as_secs_f64();
                eprintln!(
                    "round {round} {size:>6} B {route:<15} {rps:>9.0} req/s  {cpu_us:>8.2} µs CPU/req"
                );
                let entry = results
                    .iter_mut()
                    .find(|(s, r, _, _)| *s == size && *r == route)
                    .unwrap();
                entry.2.push(cpu_us);
                entry.3.push(rps);
            }
        }
    }
    println!(
        "\n### HTTP/1.1 on loopback: {rounds} rounds × {secs} s, {conns} connections, server on 1 thread\n"
    );
    println!(
        "| body | handler | req/s (median) | server CPU µs/req (median) | CPU vs bare | throughput vs bare |"
    );
    println!("|---|---|---|---|---|---|");
    if std::env::var("WEBHOOK_BENCH_ONLY").is_ok() {
        return;
    }
    for size in SIZES {
        let get = |route: &str| {
            let e = results
                .iter()
                .find(|(s, r, _, _)| *s == size && *r == route)
                .unwrap();
            (median(e.2.clone()), median(e.3.clone()))
        };
        let (bare_cpu, bare_rps) = get("bare");
        for route in ROUTES {
            let (cpu, rps) = get(route);
            println!(
                "| {} KiB | {route} | {rps:.0} | {cpu:.2} | {:.3}× | {:.3}× |",
                size / 1024,
                cpu / bare_cpu,
                rps / bare_rps
            );
        }
        let (layer_cpu, _) = get("layer");
        let (svix_cpu, _) = get("svix");
        println!(
            "| {} KiB | added CPU: layer / svix | | {:.2} / {:.2} | {:.2} of svix's | |",
            size / 1024,
            layer_cpu - bare_cpu,
            svix_cpu - bare_cpu,
            (layer_cpu - bare_cpu) / (svix_cpu - bare_cpu)
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Peak memory under oversized streamed bodies

const CLIENTS: usize = 64;
const STREAM_BYTES: usize = 50 * 1024 * 1024;

async fn stream_oversized(port: u16, signer: Arc<Signer>) -> (Option<u16>, usize) {
    let stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    let headers = signer.sign(
        &format!("msg_big_{}", NEXT_ID.fetch_add(1, Ordering::Relaxed)),
        common::now(),
        b"{}",
    );
    let mut head =
        String::from("POST /limited HTTP/1.1\r\nhost: 127.0.0.1\r\ntransfer-encoding: chunked\r\n");
    for (k, v) in headers.iter() {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let (mut read, mut write) = stream.into_split();
    let writer = tokio::spawn(async move {
        let mut sent = 0;
        if write.write_all(head.as_bytes()).await.is_err() {
            return sent;
        }
        let chunk_len = 64 * 1024;
        let mut chunk = format!("{chunk_len:x}\r\n").into_bytes();
        chunk.extend(std::iter::repeat_n(b'a', chunk_len));
        chunk.extend_from_slice(b"\r\n");
        while sent < STREAM_BYTES {
            if write.write_all(&chunk).await.is_err() {
                return sent;
            }
            sent += chunk_len;
        }
        let _ = write.write_all(b"0\r\n\r\n").await;
        sent
    });
    let mut buf = vec![0u8; 4096];
    let mut got = Vec::new();
    let status = loop {
        match read.read(&mut buf).await {
            Ok(0) | Err(_) => break None,
            Ok(n) => {
                got.extend_from_slice(&buf[..n]);
                if got.len() >= 12 {
                    break std::str::from_utf8(&got[9..12])
                        .ok()
                        .and_then(|s| s.parse().ok());
                }
            }
        }
    };
    drop(read);
    let sent = tokio::time::timeout(Duration::from_secs(30), writer)
        .await
        .ok()
        .and_then(Result::ok)
        .unwrap_or(0);
    (status, sent)
}

fn memory(rt: &tokio::runtime::Runtime) {
    let server = Server::start(false);
    std::thread::sleep(Duration::from_millis(300));
    let baseline = server.stat("VmRSS:");
    let signer = Arc::new(Signer::standard(common::SECRET).unwrap());
    let started = Instant::now();
    let results = rt.block_on(async {
        let tasks: Vec<_> = (0..CLIENTS)
            .map(|_| tokio::spawn(stream_oversized(server.port, signer.clone())))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.unwrap());
        }
        out
    });
    let elapsed = started.elapsed();
    let peak = server.stat("VmHWM:");
    let got_413 = results.iter().filter(|(s, _)| *s == Some(413)).count();
    let max_sent = results.iter().map(|(_, sent)| *sent).max().unwrap_or(0);
    println!(
        "\n### {CLIENTS} clients each streaming up to 50 MiB, chunked, no Content-Length, 1 MiB limit\n"
    );
    println!(
        "| answered 413 | server RSS before | server peak RSS (VmHWM) | most bytes a client got to send | time |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| {got_413} / {CLIENTS} | {:.1} MiB | {:.1} MiB | {:.1} MiB | {:.1} s |",
        baseline as f64 / 1024.0,
        peak as f64 / 1024.0,
        max_sent as f64 / (1024.0 * 1024.0),
        elapsed.as_secs_f64()
    );
    assert_eq!(got_413, CLIENTS, "every client must get 413: {results:?}");
}
