use crate::helpers::*;
use serde_json::json;
use tripnest_common::events::topics;

#[tokio::test]
async fn only_the_guest_of_a_confirmed_started_stay_may_review_it_once() {
    let app = spawn_app().await;
    let (ada, ada_token) = app.issuer.traveller("ada@example.test");
    let (_, eve_token) = app.issuer.traveller("eve@example.test");
    let code = |(status, body): (u16, serde_json::Value)| format!("{status} {}", body["error"]["code"].as_str().unwrap_or("-"));

    let stay = app.confirmed_stay(ada, -2).await;
    // Not their own: as if it did not exist.
    assert_eq!(code(app.review(&eve_token, &stay, json!(1), "").await), "404 not_found");
    // Unknown booking.
    let unknown_stay = stay_of(&app, ada, -2);
    assert_eq!(code(app.review(&ada_token, &unknown_stay, json!(4), "").await), "404 not_found");
    // Another hotel's path.
    let (s, body) = app.post_review(Some(&ada_token), "other-hotel", &json!({ "bookingId": stay.booking_id, "rating": 4 })).await;
    assert_eq!(code((s.as_u16(), body)), "422 wrong_hotel");
    // Bad input, every field named.
    let (s, body) = app
        .post_review(Some(&ada_token), &app.hotel, &json!({ "bookingId": stay.booking_id, "rating": 6, "text": "x".repeat(2001) }))
        .await;
    assert_eq!(s, 422);
    let fields: Vec<&str> =
        body["error"]["details"].as_array().expect("details").iter().map(|f| f["field"].as_str().expect("field")).collect();
    assert_eq!(fields, ["rating", "text"]);
    for bad in [json!(0), json!(4.5), json!("5")] {
        assert_eq!(code(app.review(&ada_token, &stay, bad, "").await), "422 validation_failed");
    }
    assert_eq!(code(app.review(&ada_token, &stay, json!(3), "bell\u{7}").await), "422 validation_failed");
    // No token.
    let (s, _) = app.post_review(None, &app.hotel, &json!({ "bookingId": stay.booking_id, "rating": 4 })).await;
    assert_eq!(s, 401);

    // Once.
    assert_eq!(app.review(&ada_token, &stay, json!(4), "Good").await.0, 201);
    assert_eq!(code(app.review(&ada_token, &stay, json!(5), "Again").await), "409 already_reviewed");

    // Not yet: check-in is tomorrow.
    let future = app.confirmed_stay(ada, 1).await;
    assert_eq!(code(app.review(&ada_token, &future, json!(5), "").await), "422 stay_not_started");

    // Cancelled after confirmation, and cancelled before the confirmation arrived.
    let cancelled_stay = app.confirmed_stay(ada, -3).await;
    app.publish(&cancelled(&cancelled_stay, None)).await;
    app.wait_stay(cancelled_stay.booking_id, "CANCELLED").await;
    assert_eq!(code(app.review(&ada_token, &cancelled_stay, json!(5), "").await), "409 booking_not_confirmed");
    let late = stay_of(&app, ada, -3);
    app.publish(&cancelled(&late, None)).await;
    app.wait_stay(late.booking_id, "CANCELLED").await;
    app.publish(&confirmed(&late, None)).await;
    app.publish(&confirmed(&stay_of(&app, ada, -1), None)).await;
    tripnest_e2e::wait_until("the later events to be consumed", WAIT, || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events").fetch_one(&app.pool).await.ok()?;
        (n == 7).then_some(())
    })
    .await;
    assert_eq!(code(app.review(&ada_token, &late, json!(5), "").await), "409 booking_not_confirmed");

    // A manager is not a guest.
    let mut claims = tripnest_common::auth::Claims {
        sub: ada,
        email: "ada@example.test".into(),
        name: None,
        phone: None,
        roles: vec![tripnest_common::auth::Role::Manager],
        iss: tripnest_common::auth::ISSUER.into(),
        aud: tripnest_common::auth::AUDIENCE.into(),
        iat: chrono::Utc::now().timestamp(),
        exp: chrono::Utc::now().timestamp() + 60,
    };
    let other = app.confirmed_stay(ada, -1).await;
    assert_eq!(code(app.review(&app.issuer.issue(&claims), &other, json!(5), "").await), "403 forbidden");
    claims.roles = vec![tripnest_common::auth::Role::Traveller];
    assert_eq!(app.review(&app.issuer.issue(&claims), &other, json!(5), "").await.0, 201);

    // Only the two accepted reviews were published.
    tripnest_e2e::wait_until("two ratings", WAIT, || async {
        (app.tap.about(topics::HOTEL_RATING_UPDATED, &app.hotel).len() == 2).then_some(())
    })
    .await;
    assert_eq!(app.tap.about(topics::REVIEW_CREATED, &app.hotel).len(), 2);
}

fn stay_of(app: &TestApp, user: uuid::Uuid, check_in: i64) -> tripnest_common::saga::Stay {
    stay(user, &app.hotel, check_in)
}

#[tokio::test]
async fn a_redelivered_stay_event_is_applied_once() {
    let app = spawn_app().await;
    let (ada, _) = app.issuer.traveller("ada@example.test");
    let s = stay(ada, &app.hotel, -1);
    let event = confirmed(&s, None);
    app.publish(&event).await;
    app.publish(&event).await;
    // A marker behind the duplicate on the same (single-partition) topic.
    let marker = stay(ada, &app.hotel, -1);
    app.publish(&confirmed(&marker, None)).await;
    app.wait_stay(marker.booking_id, "CONFIRMED").await;
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events").fetch_one(&app.pool).await.expect("count");
    assert_eq!(processed, 2, "the duplicate was recognised and skipped");
    app.publish(&cancelled(&s, None)).await;
    app.wait_stay(s.booking_id, "CANCELLED").await;
}
