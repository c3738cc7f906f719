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
    /// A failure worth retrying. The message is the error's alternate form (`{:#}`), which
    /// for an `anyhow::Error` includes its causes. `?` on any error that implements `Display`
    /// does the same.
    ///
    /// ```
    /// use webhook_inbox::HandlerError;
    ///
    /// let err = HandlerError::new(format_args!("CRM answered {}", 503));
    /// assert_eq!(err.message(), "CRM answered 503");
    /// assert!(!err.is_permanent()); // retried on the policy's schedule, then dead
    /// ```
    pub fn new(message: impl fmt::Display) -> Self {
        HandlerError {
            message: format!("{message:#}"),
            permanent: false,
        }
    }

    /// A failure retrying cannot fix: the delivery becomes dead at once (it can still be
    /// re-driven after a fix). It does not count against the handler's circuit breaker: the
    /// delivery is bad, not the handler.
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
    /// # async fn settled(
    /// #     inbox: &webhook_inbox::Inbox,
    /// #     id: webhook_inbox::DeliveryId,
    /// # ) -> webhook_inbox::StoredDelivery {
    /// #     use webhook_inbox::DeliveryStatus::{Pending, Processing};
    /// #     for _ in 0..2000 {
    /// #         let d = inbox.get(id).await.unwrap().unwrap();
    /// #         if !matches!(d.status, Pending | Processing) { return d; }
    /// #         tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    /// #     }
    /// #     panic!("delivery {id} was not handled");
    /// # }
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// use webhook_inbox::{AcceptMeta, DeliveryStatus, HandlerError, Inbox, StoredDelivery};
    ///
    /// let inbox = Inbox::connect("sqlite::memory:").await?;
    /// let worker = inbox
    ///     .worker()
    ///     .on_raw("invoice.*", |d: StoredDelivery| async move {
    ///         let body: serde_json::Value = d.json()?; // retryable, should it fail
    ///         match body["data"]["customer"].as_str() {
    ///             Some(_customer) => Ok(()),
    ///             None => Err(HandlerError::permanent("invoice without a customer")),
    ///         }
    ///     })
    ///     .spawn()?;
    /// let id = inbox.accept(&delivery("msg_1", "invoice.paid"), AcceptMeta::new()).await?.id();
    /// let dead = settled(&inbox, id).await;
    /// assert_eq!((dead.status, dead.attempts), (DeliveryStatus::Dead, 1)); // no retries
    /// assert_eq!(dead.last_error.as_deref(), Some("invoice without a customer"));
    /// # worker.shutdown().await;
    /// # inbox.close().await;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// # }).unwrap();
    /// ```
    pub fn permanent(message: impl fmt::Display) -> Self {
        HandlerError {
            message: format!("{message:#}"),
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
/// `Fn(T) -> impl Future<Output = HandlerResult>` closure that is `Send + Sync + 'static` and
/// whose future is `Send + 'static`, and so for plain `async fn`s.
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
        // webhook-core's parse names the failing field without quoting the body's values, which
        // a dead letter would otherwise keep (`invalid type: string "alice@…"`).
        move |d: StoredDelivery| match webhook_core::event::from_slice::<T>(&d.body) {
            Ok(value) => handler.call(value),
            Err(e) => {
                let error = HandlerError::permanent(format!(
                    "body does not match {}: {e}",
                    short_type_name(std::any::type_name::<T>())
                ));
                Box::pin(async move { Err(error) })
            }
        },
    )
}

/// A type's name without module paths: `Event<DirectoryUser>`.
fn short_type_name(full: &str) -> String {
    let mut short = String::with_capacity(full.len());
    let mut segment_start = 0;
    for (i, c) in full.char_indices() {
        if matches!(c, '<' | '>' | ',' | ' ' | '(' | ')' | '[' | ']' | ';' | '&') {
            short.push_str(path_tail(&full[segment_start..i]));
            short.push(c);
            segment_start = i + c.len_utf8();
        }
    }
    short.push_str(path_tail(&full[segment_start..]));
    short
}

fn path_tail(path: &str) -> &str {
    path.rsplit("::").next().unwrap_or(path)
}

pub(crate) fn batch<H: Handler<Vec<StoredDelivery>>>(handler: H) -> ErasedBatchHandler {
    Arc::new(move |d| handler.call(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn type_names_lose_their_module_paths() {
        assert_eq!(
            short_type_name("webhook_core::event::Event<webhook_core::scalekit::DirectoryUser>"),
            "Event<DirectoryUser>"
        );
        assert_eq!(
            short_type_name("alloc::vec::Vec<(u8, alloc::string::String)>"),
            "Vec<(u8, String)>"
        );
        assert_eq!(short_type_name("u64"), "u64");
    }

    /// An error whose alternate form adds its cause, as `anyhow::Error`'s does.
    struct WithCause;
    impl fmt::Display for WithCause {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            if f.alternate() {
                f.write_str("sending the email: connection refused")
            } else {
                f.write_str("sending the email")
            }
        }
    }

    #[test]
    fn messages_keep_the_cause() {
        let err: HandlerError = WithCause.into();
        assert_eq!(err.message(), "sending the email: connection refused");
        assert_eq!(
            HandlerError::permanent(WithCause).message(),
            "sending the email: connection refused"
        );
    }

    #[derive(serde::Deserialize)]
    struct User {
        #[allow(dead_code)]
        age: u32,
    }

    #[tokio::test]
    async fn a_body_of_the_wrong_shape_names_the_field_but_not_its_value() {
        let handler =
            typed::<webhook_core::Event<User>, _>(|_: webhook_core::Event<User>| async { Ok(()) });
        let body = r#"{"id":"evt_1","type":"user.created","data":{"age":"alice@example.com"}}"#;
        let delivery = crate::StoredDelivery {
            id: crate::DeliveryId(1),
            dedupe_key: "k".into(),
            scheme: "standard".into(),
            message_id: None,
            event_id: None,
            event_type: None,
            body: body.into(),
            headers: Vec::new(),
            client_addr: None,
            user_agent: None,
            received_at_ms: 0,
            status: crate::DeliveryStatus::Processing,
            attempts: 1,
            next_attempt_at_ms: 0,
            last_error: None,
            processing_ms: None,
            finished_at_ms: None,
        };
        let err = handler(delivery).await.unwrap_err();
        assert!(err.is_permanent());
        let message = err.message();
        assert!(
            message.starts_with("body does not match Event<User>: "),
            "{message}"
        );
        assert!(message.contains("data.age"), "{message}");
        assert!(!message.contains("alice"), "{message}");
    }
}
