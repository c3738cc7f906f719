//! [`VerifiedDelivery`]: the raw verified bytes and metadata.

use std::convert::Infallible;

use axum_core::extract::{FromRequestParts, OptionalFromRequestParts};
use http::request::Parts;
use webhook_core::Delivery;

use crate::VerifiedEventRejection;

/// The verified delivery: raw body bytes, id, timestamp, scheme and event type.
///
/// It derefs to [`Delivery`]. Use it to store the raw body (an inbox), to forward it, or to
/// parse it yourself; use [`VerifiedEvent`](crate::VerifiedEvent) for a typed event.
/// `Option<VerifiedDelivery>` is `None` on routes without the layer.
///
/// ```
/// # use http_body_util::BodyExt;
/// # use tower::ServiceExt;
/// # use webhook_axum::testing::SignedRequest;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use axum::{Router, routing::post};
/// use webhook_axum::{VerifiedDelivery, WebhookVerify};
///
/// async fn store(delivery: VerifiedDelivery) -> String {
///     let id = delivery.id().unwrap_or("-");
///     format!("{} {id} {:?}: {} bytes", delivery.scheme(), delivery.event_type(), delivery.body().len())
/// }
///
/// const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
/// let app: Router = Router::new().route(
///     "/webhooks",
///     // `route_layer`: the layer on this route only, not on the router's other routes.
///     post(store).route_layer(WebhookVerify::new(SECRET)),
/// );
/// let req = SignedRequest::new(SECRET, r#"{"type":"user.login"}"#).id("msg_1").uri("/webhooks");
/// let res = app.oneshot(req.build()).await?;
/// assert_eq!(res.into_body().collect().await?.to_bytes(), r#"standard msg_1 Some("user.login"): 21 bytes"#);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedDelivery(pub Delivery);

impl VerifiedDelivery {
    /// The delivery.
    pub fn into_inner(self) -> Delivery {
        self.0
    }
}

impl std::ops::Deref for VerifiedDelivery {
    type Target = Delivery;
    fn deref(&self) -> &Delivery {
        &self.0
    }
}

impl<S: Send + Sync> FromRequestParts<S> for VerifiedDelivery {
    type Rejection = VerifiedEventRejection;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Delivery>()
            .cloned()
            .map(VerifiedDelivery)
            .ok_or_else(crate::rejection::missing_layer)
    }
}

impl<S: Send + Sync> OptionalFromRequestParts<S> for VerifiedDelivery {
    type Rejection = Infallible;

    async fn from_request_parts(
        parts: &mut Parts,
        _state: &S,
    ) -> Result<Option<Self>, Self::Rejection> {
        Ok(parts
            .extensions
            .get::<Delivery>()
            .cloned()
            .map(VerifiedDelivery))
    }
}
