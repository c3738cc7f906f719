//! Handlers: what a worker calls for each delivery (or batch), and how they fail.

use std::fmt;
use std::future::Future;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::de::DeserializeOwned;

use crate::StoredDelivery;
use crate::backend::BoxFuture;

/// Why a handler run failed. Any error converts into it with `?` (anything that implements
/// `Display`); [`HandlerError::permanent`] marks a failure that retrying cannot fix (the
/// delivery goes straight to the dead letters).
///
/// It deliberately does not implement `Display` or `std::error::Error` itself, so that the
/// blanket `From<E: Display>` conversion exists; read it with [`message`](HandlerError::message).
///
/// ```
/// use webhook_inbox::HandlerError;
///
/// fn parse(n: &str) -> Result<u32, HandlerError> {
///     Ok(n.parse::<u32>()?)
/// }
/// assert!(parse("x").unwrap_err().message().contains("invalid digit"));
/// assert!(HandlerError::permanent("unknown customer").is_permanent());
/// ```
pub struct HandlerError {
    message: String,
    permanent: bool,
}

impl HandlerError {
    /// A failure worth retrying.
    pub fn new(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
            permanent: false,
        }
    }

    /// A failure retrying cannot fix: the delivery becomes dead at once (it can still be
    /// re-driven after a fix).
    pub fn permanent(message: impl fmt::Display) -> Self {
        HandlerError {
            message: message.to_string(),
            permanent: true,
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Whether retrying is pointless.
    pub fn is_permanent(&self) -> bool {
        self.permanent
    }
}

impl fmt::Debug for HandlerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HandlerError")
            .field("message", &self.message)
            .field("permanent", &self.permanent)
            .finish()
    }
}

impl<E: fmt::Display> From<E> for HandlerError {
    fn from(e: E) -> Self {
        HandlerError::new(e)
    }
}

/// What handlers return.
pub type HandlerResult = Result<(), HandlerError>;

/// An async function from `T` to [`HandlerResult`]: implemented for every
/// `Fn(T) -> impl Future<Output = HandlerResult>` closure that is `Clone + Send + Sync`, and
/// so for plain `async fn`s.
///
/// ```
/// use webhook_core::{event::Event, scalekit::DirectoryUser};
/// use webhook_inbox::{Handler, HandlerError, HandlerResult, StoredDelivery};
///
/// async fn provision(event: Event<DirectoryUser>) -> HandlerResult {
///     if event.data.email.is_none() {
///         // Failures are retried with backoff, then dead-lettered with this message.
///         return Err(HandlerError::new("directory user without an email"));
///     }
///     Ok(())
/// }
///
/// fn is_handler<T, H: Handler<T>>(_: H) {}
/// is_handler::<Event<DirectoryUser>, _>(provision); // for worker.on("organization.directory.user_created", provision)
/// is_handler::<StoredDelivery, _>(|d: StoredDelivery| async move { Ok(()) }); // for on_raw
/// ```
pub trait Handler<T>: Send + Sync + 'static {
    /// Runs the handler.
    fn call(&self, input: T) -> BoxFuture<'static, HandlerResult>;
}

impl<T, F, Fut> Handler<T> for F
where
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = HandlerResult> + Send + 'static,
{
    fn call(&self, input: T) -> BoxFuture<'static, HandlerResult> {
        Box::pin(self(input))
    }
}

/// A handler for one delivery, type-erased.
pub(crate) type ErasedHandler =
    Arc<dyn Fn(StoredDelivery) -> BoxFuture<'static, HandlerResult> + Send + Sync>;
/// A handler for a batch, type-erased.
pub(crate) type ErasedBatchHandler =
    Arc<dyn Fn(Vec<StoredDelivery>) -> BoxFuture<'static, HandlerResult> + Send + Sync>;

pub(crate) fn raw<H: Handler<StoredDelivery>>(handler: H) -> ErasedHandler {
    Arc::new(move |d| handler.call(d))
}

pub(crate) fn typed<T, H>(handler: H) -> ErasedHandler
where
    T: DeserializeOwned + Send + 'static,
    H: Handler<T>,
{
    let _ = PhantomData::<T>;
    Arc::new(
        move |d: StoredDelivery| match serde_json::from_slice::<T>(&d.body) {
            Ok(value) => handler.call(value),
            Err(e) => {
                let error = HandlerError::permanent(format!(
                    "body does not match {}: {e}",
                    std::any::type_name::<T>()
                        .rsplit("::")
                        .next()
                        .unwrap_or("the handler's type")
                ));
                Box::pin(async move { Err(error) })
            }
        },
    )
}

pub(crate) fn batch<H: Handler<Vec<StoredDelivery>>>(handler: H) -> ErasedBatchHandler {
    Arc::new(move |d| handler.call(d))
}
