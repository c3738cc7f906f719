//! Realistic Scalekit deliveries (`webhook_core::scalekit::samples`) through the typed extractor.

mod common;

use actix_web::{App, HttpResponse, test, web};
use common::*;
use webhook_actix::testing::SignedRequest;
use webhook_actix::{VerifiedEvent, WebhookConfig};
use webhook_core::scalekit::{ScalekitEvent, samples};
use webhook_core::{Event, EventFilter};

async fn typed(event: VerifiedEvent<Event<ScalekitEvent>>) -> HttpResponse {
    assert_eq!(event.id, event.delivery().event_id().unwrap_or_default());
    HttpResponse::Ok().body(format!("{} {}", event.event_type, event.data.is_unknown()))
}

#[actix_web::test]
async fn every_sample_verifies_and_types() {
    let app = test::init_service(
        App::new()
            .app_data(WebhookConfig::secret(SECRET).unwrap())
            .route("/webhooks", web::post().to(typed)),
    )
    .await;
    let mut seen = 0;
    for (event_type, body) in samples::all() {
        let req = SignedRequest::new(SECRET, body).uri("/webhooks");
        let (status, got) = send(&app, req.to_request()).await;
        assert_eq!(status, 200, "{event_type}: {got}");
        assert_eq!(got, format!("{event_type} false"));
        seen += 1;
    }
    assert!(seen > 10, "only {seen} samples");
}

#[actix_web::test]
async fn a_filter_over_samples_acknowledges_the_rest() {
    let calls = Calls::default();
    let c = calls.clone();
    let config = WebhookConfig::secret(SECRET)
        .unwrap()
        .events(EventFilter::new(["organization.directory.*"]).unwrap());
    let app = test::init_service(App::new().app_data(config).route(
        "/webhooks",
        web::post().to(move |_e: VerifiedEvent<Event<ScalekitEvent>>| {
            c.hit();
            async { HttpResponse::NoContent().finish() }
        }),
    ))
    .await;
    let mut expected = 0;
    for (event_type, body) in samples::all() {
        let subscribed = event_type.starts_with("organization.directory.");
        expected += usize::from(subscribed);
        let req = SignedRequest::new(SECRET, body).uri("/webhooks");
        let (status, got) = send(&app, req.to_request()).await;
        if subscribed {
            assert_eq!(status, 204, "{event_type}: {got}");
        } else {
            assert_eq!(
                (status.as_u16(), got["status"].as_str()),
                (200, Some("unsubscribed")),
                "{event_type}"
            );
        }
    }
    assert!(expected > 0);
    assert_eq!(calls.count(), expected);
}
