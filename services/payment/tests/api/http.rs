//! The internal payment API and the operational routes.

use crate::helpers::{booking, spawn_app};
use tripnest_common::{events::topics, saga::PaymentSucceeded};
use uuid::Uuid;

#[tokio::test(flavor = "multi_thread")]
async fn the_payment_api_needs_the_service_token_and_a_booking_uuid() {
    let app = spawn_app().await;
    let url = format!("{}/payments/{}", app.running().url(), Uuid::now_v7());

    let anonymous = app.http.get(&url).send().await.expect("request");
    assert_eq!(anonymous.status(), 401);
    let body: serde_json::Value = anonymous.json().await.expect("json");
    assert_eq!(body["error"]["code"], "unauthorized");
    let wrong = app.http.get(&url).bearer_auth("not-the-token").send().await.expect("request");
    assert_eq!(wrong.status(), 401);

    let (status, body) = app.get_payment("not-a-uuid").await;
    assert_eq!((status, body["error"]["code"].as_str()), (422, Some("validation_failed")));
    assert_eq!(body["error"]["details"][0]["field"], "bookingId");
    let (status, body) = app.get_payment(&Uuid::now_v7().to_string()).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
}

#[tokio::test(flavor = "multi_thread")]
async fn readiness_and_payment_metrics_are_served() {
    let app = spawn_app().await;
    let created = booking("pm_card_visa");
    app.create_booking(&created).await;
    app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, created.stay.booking_id).await;

    let ready = app.http.get(format!("{}/readyz", app.running().url())).send().await.expect("readyz");
    assert_eq!(ready.status(), 200);
    let metrics = app.http.get(format!("{}/metrics", app.running().ops_url())).send().await.expect("metrics").text().await.expect("text");
    let line = metrics.lines().find(|l| l.starts_with("payments_total{") && l.contains(r#"outcome="success""#));
    assert!(line.is_some(), "payments_total{{outcome=\"success\"}} missing from:\n{metrics}");
}
