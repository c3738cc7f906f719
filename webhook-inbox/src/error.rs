//! [`InboxError`]: everything the inbox can fail with.

use std::sync::Arc;

use crate::{DeliveryId, DeliveryStatus};

/// An inbox error.
///
/// Each message is complete on its own, the database's own error included, so `{}` in a log says
/// everything; for that reason [`source`](std::error::Error::source) returns nothing (a chain
/// printer such as anyhow's `{:#}` would print the cause twice). The database error itself is
/// in the [`Store`](InboxError::Store) and [`Migrate`](InboxError::Migrate) variants.
///
/// What a caller does with each: `Store`, `Timeout`, `Closed` and `FileChanged` mean the
/// store cannot take or give deliveries now (answer 503, as [`AcceptAnswer`](crate::AcceptAnswer)
/// does, and let the sender retry; `FileChanged` needs a restart); `Unstorable` is the
/// delivery's fault (422: sending it again cannot help); `NotFound` and `InvalidState` answer
/// an operator's [`replay`](crate::Inbox::replay) or [`redrive`](crate::Inbox::redrive);
/// `UnsupportedUrl`, `NoInbox`, `Migrate` and `Config` come at start-up, from a setting to fix.
///
/// ```
/// # fn delivery(id: &str, event_type: &str) -> webhook_core::Delivery {
/// #     use webhook_core::{Signer, Verifier};
/// #     let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// #     let body = format!(r#"{{"type":"{event_type}","data":{{}}}}"#);
/// #     let headers = Signer::standard(secret).unwrap().sign(id, 1_700_000_000, body.as_ref());
/// #     let verifier = Verifier::standard(secret).unwrap().without_timestamp_check();
/// #     verifier.verify_delivery(&headers, body.into()).unwrap()
/// # }
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// use webhook_inbox::{AcceptMeta, DeliveryId, DeliveryStatus, Inbox, InboxError};
///
/// // What an `/admin/redrive/{id}` endpoint answers.
/// fn status_of(err: &InboxError) -> u16 {
///     match err {
///         InboxError::NotFound(_) => 404,
///         InboxError::InvalidState { .. } => 409,
///         InboxError::Store(_) | InboxError::Timeout(_) | InboxError::Closed => 503,
///         _ => 500,
///     }
/// }
/// let inbox = Inbox::connect("sqlite::memory:").await?;
/// assert_eq!(status_of(&inbox.redrive(DeliveryId(404)).await.unwrap_err()), 404);
///
/// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
/// let err = inbox.redrive(id).await.unwrap_err();
/// assert!(matches!(err, InboxError::InvalidState { status: DeliveryStatus::Pending, .. }));
/// assert_eq!(err.to_string(), format!("delivery {id} is pending; redrive needs dead"));
/// assert_eq!(status_of(&err), 409);
/// # inbox.close().await;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InboxError {
    /// The database refused or failed a statement (disk full, locked past the busy timeout,
    /// connection lost). Accepts that fail this way are answered with 503 and `Retry-After`, so
    /// the sender retries later.
    #[error("the inbox store failed: {0}")]
    Store(Arc<sqlx::Error>),
    /// Applying the embedded schema migrations failed.
    #[error("migrating the inbox schema failed: {0}")]
    Migrate(Arc<sqlx::migrate::MigrateError>),
    /// The connection string names a backend this build does not have.
    #[error(
        "unsupported inbox URL `{0}`: expected `sqlite://path.db` (feature `sqlite`) or `postgres://user@host/db` (feature `postgres`)"
    )]
    UnsupportedUrl(String),
    /// The delivery is verified but no backend can store it as it is: a NUL character in an id,
    /// the event type, the user agent or the client address (PostgreSQL's `TEXT` refuses them,
    /// and a JSON body can carry one as `\u0000`), or an id, dedupe key or event type longer
    /// than [`MAX_STORED_ID_LEN`](crate::MAX_STORED_ID_LEN). Checked
    /// before the group commit on every backend, so one such delivery fails alone; the service
    /// answers it with 422, since sending it again cannot help.
    #[error("the delivery cannot be stored: {0}")]
    Unstorable(String),
    /// The store did not finish a commit, or a worker's call, within
    /// [`InboxBuilder::commit_timeout`](crate::InboxBuilder::commit_timeout) (a server that
    /// stopped answering). Answered with 503 like a store failure: the delivery may or may not
    /// be stored, and the sender's retry tells (a stored one is then a duplicate).
    #[error("the inbox store did not answer within {0:?}")]
    Timeout(std::time::Duration),
    /// The URL holds no webhook inbox, and it was opened with
    /// [`SchemaSetup::Existing`](crate::backend::SchemaSetup::Existing), which creates none.
    #[error(
        "no webhook inbox at this URL (no such SQLite file, or no inbox_deliveries table): check the path, the database name and the search_path, and that this role may use the inbox's schema"
    )]
    NoInbox,
    /// The inbox was closed; nothing more is accepted.
    #[error("the inbox is closed")]
    Closed,
    /// No delivery has this id (it may have been pruned).
    #[error("no delivery with id {0}")]
    NotFound(DeliveryId),
    /// The delivery is not in a state that allows the operation (e.g. replaying one that a
    /// worker is processing right now, or re-driving one that is not dead).
    #[error("delivery {id} is {status}; {operation} needs {expected}")]
    InvalidState {
        /// The delivery.
        id: DeliveryId,
        /// Its current status.
        status: DeliveryStatus,
        /// What was attempted.
        operation: &'static str,
        /// Which statuses allow it.
        expected: &'static str,
    },
    /// A worker or inbox setting is invalid (e.g. an event pattern that does not parse).
    #[error("invalid inbox configuration: {0}")]
    Config(String),
    /// The SQLite file was deleted or replaced while the inbox had it open: a commit would go to
    /// the old file, and be lost. Accepts are answered 503 and health is red until the receiver
    /// is restarted.
    #[error(
        "the inbox file {0} was deleted or replaced while open; restart the receiver (accepts are refused until then)"
    )]
    FileChanged(std::path::PathBuf),
    /// A stored row could not be read back (a value outside what this crate writes).
    #[error("corrupt inbox row: {0}")]
    Corrupt(String),
}

impl InboxError {
    /// A statement gave up waiting for a lock (PostgreSQL's `lock_not_available`, SQLSTATE
    /// 55P03): in an accept, a dedupe key another transaction holds.
    pub(crate) fn is_lock_timeout(&self) -> bool {
        match self {
            InboxError::Store(e) => match &**e {
                sqlx::Error::Database(db) => db.code().as_deref() == Some("55P03"),
                _ => false,
            },
            _ => false,
        }
    }
}

impl From<sqlx::Error> for InboxError {
    fn from(e: sqlx::Error) -> Self {
        InboxError::Store(Arc::new(e))
    }
}

impl From<sqlx::migrate::MigrateError> for InboxError {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        InboxError::Migrate(Arc::new(e))
    }
}

/// A store call bounded by `limit`, [`InboxError::Timeout`] past it: on a connection whose
/// server went silent, a query never returns, and whoever waits on it (a worker, the group
/// commit, a health probe) would wait for good.
pub(crate) async fn bounded<T>(
    limit: std::time::Duration,
    call: impl std::future::Future<Output = Result<T, InboxError>>,
) -> Result<T, InboxError> {
    tokio::time::timeout(limit, call)
        .await
        .unwrap_or(Err(InboxError::Timeout(limit)))
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::InboxError;

    /// A chain printer (anyhow's `{:#}`, tracing's error chains) shows the database's message
    /// once: in the message, not again as a source.
    #[test]
    fn the_cause_is_printed_once() {
        let cause = sqlx::Error::PoolTimedOut.to_string();
        for err in [
            InboxError::from(sqlx::Error::PoolTimedOut),
            InboxError::from(sqlx::migrate::MigrateError::VersionMissing(3)),
        ] {
            let mut chain = err.to_string();
            let mut source = err.source();
            while let Some(cause) = source {
                chain.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            let inner = match &err {
                InboxError::Migrate(e) => e.to_string(),
                _ => cause.clone(),
            };
            assert_eq!(chain.matches(&inner).count(), 1, "{chain}");
        }
    }
}
