//! Serving HTTP/1.1 the way a receiver on the internet needs: a bound on how long a client may
//! take to send its request, accept errors that do not end the server, and a graceful shutdown
//! on Ctrl-C or SIGTERM with a bounded drain.

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::{Service, service_fn};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;

/// How long a client may take to send a request's head: a slow-loris client is cut off.
pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a request may take, body included, before it is answered 408.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// How long open connections may finish after the shutdown signal.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// The most connections served at once; more wait in the listen backlog until one closes.
/// With the layer's 2 MiB body limit this bounds the bodies buffered at once (1 GiB at worst,
/// from clients that each send 2 MiB and stall) and the file descriptors in use.
pub const MAX_CONNECTIONS: usize = 512;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A future that resolves on Ctrl-C, or on SIGTERM (what `docker stop` and Kubernetes send)
/// on Unix. The handlers are installed when this is called, not when the future is first
/// polled: call it before announcing the server, so that no signal falls in between and kills
/// the process the default way. Must run inside a tokio runtime.
///
/// A second signal during the graceful stop exits at once, as an operator pressing Ctrl-C
/// again expects, with the shell's status for that signal (130 for SIGINT, 143 for SIGTERM):
/// deliveries being handled then run again once their lease ends, none is lost.
#[cfg(unix)]
pub fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{Signal, SignalKind, signal};
    let interrupt = signal(SignalKind::interrupt()).ok();
    let terminate = signal(SignalKind::terminate()).ok();
    async fn wait(stream: &mut Option<Signal>) {
        match stream {
            Some(stream) => {
                stream.recv().await;
            }
            None => std::future::pending().await,
        }
    }
    /// Waits for either signal; returns the exit status a shell gives a process it ended.
    async fn either(interrupt: &mut Option<Signal>, terminate: &mut Option<Signal>) -> i32 {
        tokio::select! {
            () = wait(interrupt) => 128 + 2,
            () = wait(terminate) => 128 + 15,
        }
    }
    async move {
        let (mut interrupt, mut terminate) = (interrupt, terminate);
        either(&mut interrupt, &mut terminate).await;
        tokio::spawn(async move {
            let status = either(&mut interrupt, &mut terminate).await;
            tracing::warn!(
                "second signal: exiting now; deliveries being handled run again after their lease"
            );
            std::process::exit(status);
        });
    }
}

/// A future that resolves on Ctrl-C.
#[cfg(not(unix))]
pub fn shutdown_signal() -> impl Future<Output = ()> {
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Binds `addr`, with an error that names it.
pub async fn bind(addr: SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}"))
}

/// Serves HTTP/1.1 on `listener` with the service `make` builds for each connection (given the
/// client's address), until `shutdown` resolves; then stops accepting and lets open connections
/// finish for at most [`DRAIN_TIMEOUT`]. Each request head must arrive within
/// [`HEADER_TIMEOUT`], each request is answered within [`REQUEST_TIMEOUT`] (408 past it), and at
/// most `max_connections` ([`MAX_CONNECTIONS`] for the receivers; at least 1) are served at once.
pub async fn serve_http1<M, S, B>(
    listener: TcpListener,
    make: M,
    shutdown: impl Future<Output = ()>,
    max_connections: usize,
) where
    M: Fn(SocketAddr) -> S,
    S: Service<Request<Incoming>, Response = Response<B>> + Clone + Send + Sync + 'static,
    S::Future: Send + 'static,
    S::Error: Into<BoxError>,
    B: http_body::Body + From<Bytes> + Send + 'static,
    B::Data: Send,
    B::Error: Into<BoxError>,
{
    let graceful = GracefulShutdown::new();
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(max_connections.max(1)));
    tokio::pin!(shutdown);
    loop {
        // A free slot first: at the cap, new connections wait in the kernel's backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(err) => {
                // Out of file descriptors, a connection reset before it was accepted: the
                // server goes on (after a pause, so that a persistent error does not spin).
                tracing::warn!(%err, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let inner = make(peer);
        let service = service_fn(move |req: Request<Incoming>| {
            let call = inner.call(req);
            async move {
                match tokio::time::timeout(REQUEST_TIMEOUT, call).await {
                    Ok(result) => result,
                    Err(_) => {
                        let mut res = Response::new(B::from(Bytes::from_static(
                            b"request not completed in time",
                        )));
                        *res.status_mut() = StatusCode::REQUEST_TIMEOUT;
                        Ok(res)
                    }
                }
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(HEADER_TIMEOUT)
            .serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(%err, "connection closed");
            }
            drop(slot);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => {}
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!("connections still open {DRAIN_TIMEOUT:?} after the shutdown signal; stopping without them");
        }
    }
}
