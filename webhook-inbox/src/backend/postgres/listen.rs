//! The `LISTEN` task: turns `NOTIFY`s from any instance into wake-ups of this process's
//! workers, and reconnects with backoff while the server is away.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};
use tokio::sync::Notify;
use tokio::task::JoinHandle;

const MIN_BACKOFF: Duration = Duration::from_millis(100);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

pub(super) fn spawn(
    options: PgConnectOptions,
    channel: String,
    wake: Arc<Notify>,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut backoff = MIN_BACKOFF;
        loop {
            let error = listen(&options, &channel, &wake, &mut backoff).await;
            tracing::debug!(error = %error, retry_in_ms = backoff.as_millis() as u64, "webhook inbox LISTEN connection lost");
            tokio::time::sleep(backoff).await;
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    })
}

/// Listens until the connection fails; returns why.
async fn listen(
    options: &PgConnectOptions,
    channel: &str,
    wake: &Notify,
    backoff: &mut Duration,
) -> sqlx::Error {
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(Duration::from_secs(5))
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_lazy_with(options.clone());
    let mut listener = match PgListener::connect_with(&pool).await {
        Ok(listener) => listener,
        Err(e) => return e,
    };
    listener.ignore_pool_close_event(true);
    if let Err(e) = listener.listen(channel).await {
        return e;
    }
    *backoff = MIN_BACKOFF;
    // Work may have arrived while nobody listened.
    wake.notify_waiters();
    loop {
        match listener.try_recv().await {
            // `None`: the connection dropped and was re-established (and re-subscribed);
            // notifications sent meanwhile are lost, so wake the workers to look.
            Ok(_) => wake.notify_waiters(),
            Err(e) => return e,
        }
    }
}
