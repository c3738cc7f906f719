//! [`VerifiedEvent<T>`]: the verified body, typed.

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use serde::de::DeserializeOwned;
use webhook_core::Delivery;

use crate::VerifiedEventRejection;

/// The verified body of a webhook, deserialized into `T`.
///
/// Use it on a route behind [`WebhookVerify`](crate::WebhookVerify). It reads the
/// [`Delivery`] the layer put in the request extensions and deserializes `T` from the exact bytes
/// that were verified; the request body itself is left for other extractors.
///
/// `T` is whatever the sender sends: [`Event<…>`](crate::Event) is Scalekit's envelope (as
/// below); for another sender take your own type or `serde_json::Value` (a Svix- or
/// Clerk-shaped body in an `Event` is a 422 `` missing field `spec_version` ``).
///
/// - A body that does not fit `T` is answered 422 with the failing field
///   (`{"error":"event `user.login`: field `data.user.email` does not fit: …","code":"unprocessable_event"}`).
///   The layer counts it as a rejection and answers it with its rejection handler
///   ([`WebhookVerify::on_rejection`](crate::WebhookVerify::on_rejection)) like its own.
/// - Without the layer it is answered 500, naming the missing layer.
/// - `Option<VerifiedEvent<T>>` is `None` without the layer (the 422 still applies).
/// - To answer the rejection yourself, take `Result<VerifiedEvent<T>, VerifiedEventRejection>`
///   (axum wants the extractor's own rejection type; the layer's
///   [`Rejection`](crate::Rejection) is inside it: [`VerifiedEventRejection::rejection`]). An
///   answer with another status than the rejection's stands; one with the same status is
///   answered by the layer's rejection handler.
///
/// ```
/// # use tower::ServiceExt;
/// # use webhook_axum::testing::SignedRequest;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::post};
/// use webhook_axum::{Event, VerifiedEvent, WebhookVerify};
/// use webhook_axum::scalekit::DirectoryUser;
///
/// async fn user_created(VerifiedEvent(event): VerifiedEvent<Event<DirectoryUser>>) -> String {
///     format!("{} joined {}", event.data.id, event.data.organization_id)
/// }
///
/// const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// // `route_layer`: the layer on this route only, not on the router's other routes.
/// let app: Router = Router::new().route("/users", post(user_created).route_layer(WebhookVerify::new(SECRET)));
/// let created = SignedRequest::scalekit(SECRET, "organization.directory.user_created").uri("/users");
/// assert_eq!(app.clone().oneshot(created.build()).await?.status(), 200);
/// // Authentic, but not a directory user: 422, naming the field.
/// let login = SignedRequest::scalekit(SECRET, "user.login").uri("/users");
/// assert_eq!(app.oneshot(login.build()).await?.status(), 422);
/// # Ok(()) }
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[must_use]
pub struct VerifiedEvent<T>(pub T);

impl<T> VerifiedEvent<T> {
    /// The event.
    pub fn into_inner(self) -> T {
        self.0
    }
}

impl<T> std::ops::Deref for VerifiedEvent<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

impl<T> std::ops::DerefMut for VerifiedEvent<T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

fn parse<T: DeserializeOwned>(
    delivery: &Delivery,
) -> Result<VerifiedEvent<T>, VerifiedEventRejection> {
    delivery
        .json::<T>()
        .map(VerifiedEvent)
        .map_err(VerifiedEventRejection::InvalidEvent)
}

impl<T, S> FromRequestParts<S> for VerifiedEvent<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = VerifiedEventRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let delivery = parts
            .extensions
            .get::<Delivery>()
            .ok_or_else(crate::rejection::missing_layer)?;
        parse(delivery)
    }
}

impl<T, S> OptionalFromRequestParts<S> for VerifiedEvent<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = VerifiedEventRejection;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        match parts.extensions.get::<Delivery>() {
            Some(delivery) => parse(delivery).map(Some),
            None => Ok(None),
        }
    }
}
