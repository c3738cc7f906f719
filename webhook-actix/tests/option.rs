//! Pins what the READMEs and the extractor docs warn about: actix-web's blanket
//! `impl<T: FromRequest> FromRequest for Option<T>` turns every rejection into `None`, so an
//! `Option<VerifiedEvent<T>>` or `Option<VerifiedDelivery>` handler runs, and answers 200, for a
//! forged signature (401) or missing headers (400). `Result<_, actix_web::Error>` keeps the
//! rejection.

mod common;

use actix_web::http::StatusCode;
use actix_web::{App, HttpResponse, test, web};
use common::*;
use webhook_actix::testing::Tamper;
use webhook_actix::{VerifiedDelivery, VerifiedEvent, WebhookConfig};

async fn optional_event(event: Option<VerifiedEvent<serde_json::Value>>) -> HttpResponse {
    HttpResponse::Ok().body(if event.is_some() { "some" } else { "none" })
}

async fn optional_delivery(delivery: Option<VerifiedDelivery>) -> HttpResponse {
    HttpResponse::Ok().body(if delivery.is_some() { "some" } else { "none" })
}

async fn result_event(
    event: Result<VerifiedEvent<serde_json::Value>, actix_web::Error>,
) -> Result<HttpResponse, actix_web::Error> {
    event?;
    Ok(HttpResponse::Ok().body("some"))
}

macro_rules! app {
    () => {
        test::init_service(
            App::new()
                .app_data(WebhookConfig::secret(SECRET).unwrap())
                .route("/option-event", web::post().to(optional_event))
                .route("/option-delivery", web::post().to(optional_delivery))
                .route("/result-event", web::post().to(result_event)),
        )
        .await
    };
}

#[actix_web::test]
async fn option_extractors_hide_a_forged_signature_and_missing_headers() {
    let app = app!();
    for uri in ["/option-event", "/option-delivery"] {
        let valid = signed(ORG_CREATED).uri(uri);
        assert_eq!(
            send(&app, valid.to_request()).await,
            (StatusCode::OK, serde_json::json!("some"))
        );

        // A forged signature: 401 without `Option`, here `None` and the handler's 200.
        let forged = signed(ORG_CREATED).uri(uri).tamper(Tamper::Signature);
        assert_eq!(
            send(&app, forged.to_request()).await,
            (StatusCode::OK, serde_json::json!("none")),
            "{uri}: a forged signature reaches an Option handler as None"
        );

        // Missing headers: 400 without `Option`, here `None` and 200 again.
        let unsigned = signed(ORG_CREATED)
            .uri(uri)
            .without_header("webhook-signature");
        assert_eq!(
            send(&app, unsigned.to_request()).await,
            (StatusCode::OK, serde_json::json!("none")),
            "{uri}: a missing signature header reaches an Option handler as None"
        );
    }
}

#[actix_web::test]
async fn result_extractor_keeps_the_rejection() {
    let app = app!();
    let forged = signed(ORG_CREATED)
        .uri("/result-event")
        .tamper(Tamper::Signature);
    let got = send(&app, forged.to_request()).await;
    assert_rejected(&got, 401, "signature_mismatch", "signature");

    let unsigned = signed(ORG_CREATED)
        .uri("/result-event")
        .without_header("webhook-signature");
    let got = send(&app, unsigned.to_request()).await;
    assert_rejected(&got, 400, "missing_header", "webhook-signature");
}
