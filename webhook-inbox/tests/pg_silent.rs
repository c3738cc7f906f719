//! A PostgreSQL server that goes silent: the connection stays open but nothing comes back (a
//! host that died without a reset, a failover behind a virtual IP). A call the inbox gives up on
//! must not keep its pool slot: sqlx pings a connection it takes back, with no time limit.
//!
//! Needs `DATABASE_URL`: run through `scripts/with-postgres.sh`.

mod pg_support;

use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use webhook_inbox::Durability;
use webhook_inbox::SchemaSetup;
use webhook_inbox::backend::Backend;
use webhook_inbox::backend::postgres::{PgConnectOptions, PgPoolOptions, PostgresBackend};

/// An open connection: the task forwarding it, and its two sockets (client side, server side).
type Forwarded = (JoinHandle<()>, Arc<(TcpStream, TcpStream)>);

/// A TCP proxy to the server whose open connections can be made silent: their forwarding
/// stops, but their sockets stay open. Connections made afterwards work.
struct Proxy {
    port: u16,
    open: Arc<Mutex<Vec<Forwarded>>>,
}

impl Proxy {
    async fn start(target: (String, u16)) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let open: Arc<Mutex<Vec<Forwarded>>> = Arc::default();
        let registry = open.clone();
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let server = TcpStream::connect((target.0.as_str(), target.1))
                    .await
                    .unwrap();
                let pair = Arc::new((client, server));
                let forwarding = pair.clone();
                let task = tokio::spawn(async move {
                    let (client, server) = (&forwarding.0, &forwarding.1);
                    let _ = tokio::join!(copy(client, server), copy(server, client));
                });
                registry.lock().unwrap().push((task, pair));
            }
        });
        Proxy { port, open }
    }

    /// Stops forwarding on every open connection, leaving the sockets open.
    fn silence(&self) {
        for (task, _) in self.open.lock().unwrap().iter() {
            task.abort();
        }
    }
}

/// Copies `from` to `to` through shared references (both sockets stay owned by the proxy).
async fn copy(from: &TcpStream, to: &TcpStream) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        if from.readable().await.is_err() {
            return;
        }
        let n = match from.try_read(&mut buf) {
            Ok(0) => return,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
            Err(_) => return,
        };
        let mut sent = 0;
        while sent < n {
            if to.writable().await.is_err() {
                return;
            }
            match to.try_write(&buf[sent..n]) {
                Ok(k) => sent += k,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(_) => return,
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_given_up_on_a_silent_server_does_not_keep_its_pool_slot() {
    let url = pg_support::fresh_url("silent");
    // Create the schema over a direct connection.
    PostgresBackend::connect(&url, Durability::Full)
        .await
        .unwrap()
        .close()
        .await;
    // Plain, as a URL without `sslmode` connects (over TLS, sqlx's close waits for the silent
    // server: see `PostgresBackend::open`).
    let direct = PgConnectOptions::from_str(&url)
        .unwrap()
        .ssl_mode(sqlx::postgres::PgSslMode::Disable);
    let proxy = Proxy::start((direct.get_host().to_owned(), direct.get_port())).await;
    let through_proxy = direct.clone().host("127.0.0.1").port(proxy.port);
    // One connection: a slot held by a dead connection leaves none. The acquire timeout leaves
    // ample room for the 2 s release ping and a new connection; without the bounded ping the
    // slot stays taken for about 15 minutes.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(25));
    let backend =
        PostgresBackend::open_with(through_proxy, pool, Durability::Full, SchemaSetup::Existing)
            .await
            .unwrap();
    backend.counts().await.unwrap();

    proxy.silence();
    // The inbox gives up on a call that does not answer (as its workers do).
    let given_up = tokio::time::timeout(Duration::from_millis(300), backend.counts()).await;
    assert!(
        given_up.is_err(),
        "the silent server answered: {given_up:?}"
    );

    // The server is reachable again for new connections: the pool must open one, not wait on
    // the slot of the silent one.
    let started = Instant::now();
    let counts = tokio::time::timeout(Duration::from_secs(30), backend.counts()).await;
    assert!(
        matches!(counts, Ok(Ok(_))),
        "{counts:?} after {:?}",
        started.elapsed()
    );
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "{:?}",
        started.elapsed()
    );
}
