use crate::helpers::*;
use tripnest_common::{
    Event,
    events::topics,
    saga::{PaymentFailed, PaymentFailure, PaymentSucceeded},
};
use uuid::Uuid;

use tripnest_e2e::WAIT;

async fn pending(app: &TestApp) -> (String, String) {
    app.seed_hotel(2).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let (s, b) = app.book(&token, &tripnest_e2e::unique("k"), &booking(&app.hotel, 5, 2, 1)).await;
    assert_eq!(s, 202, "{b}");
    (b["id"].as_str().expect("id").to_owned(), token)
}

fn success(id: &str) -> Event<PaymentSucceeded> {
    let data =
        PaymentSucceeded { booking_id: id.parse().expect("uuid"), payment_id: Uuid::now_v7(), amount_cents: 1, currency: "EUR".into() };
    Event::new("payment", id, data)
}

#[tokio::test]
async fn payment_success_confirms_once_even_when_delivered_twice() {
    let app = spawn_app().await;
    let (id, token) = pending(&app).await;
    app.tap.wait_for(topics::BOOKING_CREATED, &id, WAIT).await;
    let paid = success(&id);
    app.publish(&paid).await;
    app.publish(&paid).await;
    app.wait_status(&id, "CONFIRMED").await;
    let confirmed = app.tap.wait_for(topics::BOOKING_CONFIRMED, &id, WAIT).await;
    assert_eq!(confirmed["data"]["paymentId"], paid.data.payment_id.to_string());
    assert_eq!(confirmed["data"]["contact"]["email"], "ada@example.test");
    // Both copies were consumed (offset moves past them) before we count.
    tripnest_e2e::wait_until("the duplicate to be consumed", WAIT, || async {
        (app.count("SELECT count(*) FROM processed_events").await == 1).then_some(())
    })
    .await;
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE event_id = $1")
        .bind(paid.id)
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!(processed, 1);
    assert_eq!(app.tap.about(topics::BOOKING_CONFIRMED, &id).len(), 1, "no second booking.confirmed");
    assert_eq!(app.get(&token, &format!("/bookings/{id}")).await.1["status"], "CONFIRMED");
}

#[tokio::test]
async fn payment_failed_cancels_and_releases_the_rooms() {
    let app = spawn_app().await;
    let (id, _) = pending(&app).await;
    assert_eq!(app.nights("double", days_from_now(5), days_from_now(7)).await, (1, 1));
    let failed = PaymentFailed { booking_id: id.parse().expect("uuid"), reason: PaymentFailure::Declined, message: "declined".into() };
    app.publish(&Event::new("payment", &id, failed)).await;
    app.wait_status(&id, "CANCELLED").await;
    let cancelled = app.tap.wait_for(topics::BOOKING_CANCELLED, &id, WAIT).await;
    assert_eq!((cancelled["data"]["reason"].as_str(), cancelled["data"]["refundDue"].as_bool()), (Some("payment_failed"), Some(false)));
    assert_eq!(cancelled["data"]["paymentFailure"], "declined");
    assert!(cancelled["data"].get("popularity").is_none(), "a booking that never counted changes no popularity: {cancelled}");
    assert_eq!(app.nights("double", days_from_now(5), days_from_now(7)).await, (2, 0), "rooms are back");
    // A late success for a cancelled booking is refused, and a refund is requested.
    app.publish(&success(&id)).await;
    tripnest_e2e::wait_until("a refund request", WAIT, || async {
        (app.tap.about(topics::BOOKING_CANCELLED, &id).len() == 2).then_some(())
    })
    .await;
    let refund = &app.tap.about(topics::BOOKING_CANCELLED, &id)[1];
    assert_eq!(refund["data"]["refundDue"], true);
    assert_eq!(app.status_of(&id).await, "CANCELLED");
}

#[tokio::test]
async fn an_unpaid_hold_expires_and_its_rooms_come_back() {
    let app = spawn_app_with(|c| c.hold_seconds = 1).await;
    let (id, _) = pending(&app).await;
    app.wait_status(&id, "EXPIRED").await;
    let cancelled = app.tap.wait_for(topics::BOOKING_CANCELLED, &id, WAIT).await;
    assert_eq!(cancelled["data"]["reason"], "expired");
    assert_eq!(app.nights("double", days_from_now(5), days_from_now(7)).await, (2, 0));
}

#[tokio::test]
async fn a_guest_cancels_a_confirmed_booking_and_a_refund_follows() {
    let app = spawn_app().await;
    let (id, token) = pending(&app).await;
    app.publish(&success(&id)).await;
    app.wait_status(&id, "CONFIRMED").await;
    let r = app.http.post(format!("{}/bookings/{id}/cancel", app.url)).bearer_auth(&token).send().await.expect("cancel");
    assert_eq!(r.status(), 200);
    let body: serde_json::Value = r.json().await.expect("json");
    assert_eq!((body["status"].as_str(), body["cancelReason"].as_str()), (Some("CANCELLED"), Some("guest")));
    let cancelled = app.tap.wait_for(topics::BOOKING_CANCELLED, &id, WAIT).await;
    assert_eq!(cancelled["data"]["refundDue"], true);
    assert_eq!(app.nights("double", days_from_now(5), days_from_now(7)).await, (2, 0));
    // The hotel's popularity counted the stay and no longer does, at a later version.
    let confirmed = app.tap.wait_for(topics::BOOKING_CONFIRMED, &id, WAIT).await;
    let (counted, uncounted) = (&confirmed["data"]["popularity"], &cancelled["data"]["popularity"]);
    assert_eq!((counted["stays"].as_i64(), uncounted["stays"].as_i64()), (Some(1), Some(0)), "{counted} {uncounted}");
    assert!(uncounted["version"].as_i64() > counted["version"].as_i64(), "{counted} {uncounted}");
    // Cancelling again is an illegal transition, refused with a clear code.
    let r = app.http.post(format!("{}/bookings/{id}/cancel", app.url)).bearer_auth(&token).send().await.expect("cancel");
    let err: serde_json::Value = r.json().await.expect("json");
    assert_eq!(err["error"]["code"], "cannot_cancel");
}

#[tokio::test]
async fn a_poison_payment_event_is_parked_and_the_next_one_still_applies() {
    let app = spawn_app().await;
    let (id, _) = pending(&app).await;
    app.producer.send(topics::PAYMENT_SUCCESS, id.as_bytes(), b"{garbage", &[]).await.expect("send");
    app.publish(&success(&id)).await;
    app.wait_status(&id, "CONFIRMED").await;
}

/// The popularity a booking event carries: (stays, version).
fn popularity_of(event: &serde_json::Value) -> (i64, i64) {
    let p = &event["data"]["popularity"];
    (p["stays"].as_i64().expect("stays"), p["version"].as_i64().expect("version"))
}

#[tokio::test]
async fn a_hotels_popularity_is_counted_exactly_when_its_bookings_are_confirmed_and_cancelled_at_once() {
    let app = spawn_app().await;
    app.seed_hotel(8).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let mut ids = Vec::new();
    for _ in 0..8 {
        let (s, b) = app.book(&token, &tripnest_e2e::unique("k"), &booking(&app.hotel, 5, 2, 1)).await;
        assert_eq!(s, 202, "{b}");
        ids.push(b["id"].as_str().expect("id").to_owned());
    }
    // Every payment at once: the confirmations run side by side.
    let shared = &app;
    futures::future::join_all(ids.iter().map(|id| async move { shared.publish(&success(id)).await })).await;
    let mut counts: Vec<(i64, i64)> = Vec::new();
    for id in &ids {
        counts.push(popularity_of(&app.tap.wait_for(topics::BOOKING_CONFIRMED, id, WAIT).await));
    }
    counts.sort_by_key(|(_, version)| *version);
    let stays: Vec<i64> = counts.iter().map(|(stays, _)| *stays).collect();
    assert_eq!(stays, (1..=8).collect::<Vec<_>>(), "each confirmation counted once, in version order: {counts:?}");
    assert!(counts.windows(2).all(|w| w[0].1 < w[1].1), "versions strictly grow: {counts:?}");

    // Three guests cancel at once: 7, 6 and 5 stays, each at a version above every confirmation's.
    let cancels = ids[..3].iter().map(|id| {
        let (app, token) = (&app, &token);
        async move { app.http.post(format!("{}/bookings/{id}/cancel", app.url)).bearer_auth(token).send().await.expect("cancel").status() }
    });
    assert!(futures::future::join_all(cancels).await.iter().all(|s| *s == 200));
    let mut after: Vec<(i64, i64)> = Vec::new();
    for id in &ids[..3] {
        after.push(popularity_of(&app.tap.wait_for(topics::BOOKING_CANCELLED, id, WAIT).await));
    }
    after.sort_by_key(|(_, version)| *version);
    assert_eq!(after.iter().map(|(stays, _)| *stays).collect::<Vec<_>>(), [7, 6, 5], "{after:?}");
    assert!(after[0].1 > counts[7].1, "a cancellation's version follows the confirmations': {after:?} {counts:?}");
}

#[tokio::test]
async fn availability_events_carry_the_nights_each_change_left() {
    let app = spawn_app().await;
    app.seed_hotel(2).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let first = app.book(&token, &tripnest_e2e::unique("k"), &booking(&app.hotel, 5, 2, 1)).await;
    assert_eq!(first.0, 202, "{}", first.1);
    let (s, b) = app.book(&token, &tripnest_e2e::unique("k"), &booking(&app.hotel, 6, 2, 1)).await;
    assert_eq!(s, 202, "{b}");
    let id = first.1["id"].as_str().expect("id");
    let r = app.http.post(format!("{}/bookings/{id}/cancel", app.url)).bearer_auth(&token).send().await.expect("cancel");
    assert_eq!(r.status(), 200);

    let events = tripnest_e2e::wait_until("the rolls', holds' and release's availability events", WAIT, || async {
        let events = app.tap.about(topics::AVAILABILITY_CHANGED, &app.hotel);
        (events.len() == 5).then_some(events)
    })
    .await;
    // (room type, [(days from now, rooms left)]) of each event, in the order published.
    let summary: Vec<(String, Vec<(i64, i64)>)> = events
        .iter()
        .map(|e| {
            let nights = e["data"]["nights"].as_array().expect("the event carries its nights");
            let night = |n: &serde_json::Value| {
                let date: chrono::NaiveDate = n["night"].as_str().expect("night").parse().expect("date");
                ((date - chrono::Utc::now().date_naive()).num_days(), n["available"].as_i64().expect("available"))
            };
            (e["data"]["roomType"].as_str().expect("room type").to_owned(), nights.iter().map(night).collect())
        })
        .collect();
    let rolled: Vec<&(String, Vec<(i64, i64)>)> = summary[..2].iter().collect();
    for (_, nights) in &rolled {
        assert_eq!(nights.len(), 60, "a roll carries every night it opened");
        assert!(nights.iter().all(|(_, left)| *left == 2));
    }
    let changes: Vec<&(String, Vec<(i64, i64)>)> = summary[2..].iter().collect();
    assert_eq!(
        changes,
        [
            &("double".to_owned(), vec![(5, 1), (6, 1)]),
            &("double".to_owned(), vec![(6, 0), (7, 1)]),
            &("double".to_owned(), vec![(5, 2), (6, 1)])
        ],
        "a hold carries what it left, the cancellation what it gave back"
    );
    assert!(events[2]["data"]["nights"][0]["priceCents"].as_i64().is_some_and(|p| p > 0));
}
