use crate::helpers::*;
use futures::future::join_all;
use serde_json::json;
use std::time::Instant;

#[tokio::test]
async fn two_hundred_concurrent_bookings_for_five_rooms_hold_exactly_five() {
    let app = spawn_app().await;
    app.seed_hotel(5).await;
    let body = booking(&app.hotel, 7, 3, 1);
    let requests = (0..200).map(|i| {
        let (_, token) = app.issuer.traveller(&format!("guest{i}@example.test"));
        let (app, body) = (&app, body.clone());
        async move { app.book(&token, &format!("key-{i}"), &body).await }
    });
    let started = Instant::now();
    let results = join_all(requests).await;
    let elapsed = started.elapsed();
    let held = results.iter().filter(|(s, _)| *s == 202).count();
    let sold_out = results.iter().filter(|(s, b)| *s == 409 && b["error"]["code"] == "sold_out").count();
    println!("contention: 200 requests in {elapsed:?} = {:.0} req/s", 200.0 / elapsed.as_secs_f64());
    assert_eq!((held, sold_out), (5, 195), "every request is either held or sold_out");
    let (min_available, max_booked) = app.nights("double", days_from_now(7), days_from_now(10)).await;
    assert_eq!((min_available, max_booked), (0, 5));
    let live = app.count("SELECT count(*) FROM bookings WHERE status IN ('PENDING', 'CONFIRMED')").await;
    assert_eq!(live, 5, "held + confirmed never exceeds the rooms");
    let negative = app.count("SELECT count(*) FROM availability WHERE available < 0 OR booked > total").await;
    assert_eq!(negative, 0);
    let keys = app.count("SELECT count(*) FROM idempotency_keys").await;
    assert_eq!(keys, 5, "sold-out requests leave no idempotency record");
}

#[tokio::test]
async fn the_same_key_and_body_twenty_times_at_once_make_one_booking() {
    let app = spawn_app().await;
    app.seed_hotel(5).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let body = booking(&app.hotel, 7, 2, 1);
    let results = join_all((0..20).map(|_| app.book(&token, "double-click", &body))).await;
    let ids: std::collections::HashSet<String> =
        results.iter().filter(|(s, _)| *s == 202).map(|(_, b)| b["id"].as_str().expect("id").to_owned()).collect();
    assert_eq!(ids.len(), 1, "every accepted answer names the same booking");
    for (s, b) in &results {
        assert!(*s == 202 || (*s == 409 && b["error"]["code"] == "request_in_flight"), "{s} {b}");
    }
    assert_eq!(app.count("SELECT count(*) FROM bookings").await, 1);
    // After the first finished, a retry replays its answer.
    let (s, replay) = app.book(&token, "double-click", &body).await;
    assert_eq!((s.as_u16(), replay["id"].as_str()), (202, ids.iter().next().map(String::as_str)));
    let created = app
        .tap
        .wait_for(tripnest_common::events::topics::BOOKING_CREATED, ids.iter().next().expect("id"), std::time::Duration::from_secs(20))
        .await;
    assert_eq!(created["data"]["amountCents"], replay["amountCents"]);

    let mut other = body.clone();
    other["rooms"] = json!(2);
    let (s, err) = app.book(&token, "double-click", &other).await;
    assert_eq!((s.as_u16(), err["error"]["code"].as_str()), (422, Some("idempotency_key_reused")));
    // The same key from another user is a different key.
    let (_, token2) = app.issuer.traveller("bob@example.test");
    assert_eq!(app.book(&token2, "double-click", &body).await.0, 202);
}

#[tokio::test]
async fn the_price_comes_from_the_calendar() {
    let app = spawn_app().await;
    app.seed_hotel(5).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let mut body = booking(&app.hotel, 14, 3, 2);
    body["amountCents"] = json!(1); // ignored: clients do not set prices
    let (s, b) = app.book(&token, "k", &body).await;
    assert_eq!(s, 202, "{b}");
    let expected: i64 = sqlx::query_scalar(
        "SELECT sum(price_cents)::bigint * 2 FROM availability WHERE hotel_id = $1 AND room_type = 'double' AND night >= $2 AND night < $3",
    )
    .bind(&app.hotel)
    .bind(days_from_now(14))
    .bind(days_from_now(17))
    .fetch_one(&app.pool)
    .await
    .expect("sum");
    assert_eq!(b["amountCents"].as_i64(), Some(expected));
    assert_eq!((b["status"].as_str(), b["currency"].as_str()), (Some("PENDING"), Some("EUR")));
}

#[tokio::test]
async fn bad_requests_get_clear_4xx_codes_and_leave_no_trace() {
    let app = spawn_app().await;
    app.seed_hotel(2).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let base = booking(&app.hotel, 7, 2, 1);
    let with = |k: &str, v: serde_json::Value| {
        let mut b = base.clone();
        b[k] = v;
        b
    };
    let cases = [
        ("past dates", with("checkIn", json!(days_from_now(0).pred_opt())), 422, "validation_failed", Some("checkIn")),
        ("check-out before check-in", with("checkOut", json!(days_from_now(6))), 422, "validation_failed", Some("checkOut")),
        ("zero rooms", with("rooms", json!(0)), 422, "validation_failed", Some("rooms")),
        ("negative rooms", with("rooms", json!(-3)), 422, "validation_failed", Some("rooms")),
        ("unknown hotel", with("hotelId", json!("no-such-hotel")), 404, "not_found", None),
        ("unknown room type", with("roomType", json!("penthouse")), 404, "not_found", None),
        ("guests above capacity", with("guests", json!(5)), 422, "validation_failed", Some("guests")),
        ("wrong type", with("guests", json!("two")), 422, "invalid_body", None),
    ];
    for (i, (what, body, status, code, field)) in cases.into_iter().enumerate() {
        let (s, err) = app.book(&token, &format!("bad-{i}"), &body).await;
        assert_eq!((s.as_u16(), err["error"]["code"].as_str()), (status, Some(code)), "{what}: {err}");
        if let Some(field) = field {
            assert_eq!(err["error"]["details"][0]["field"], field, "{what}");
        }
    }
    let r = app.http.post(format!("{}/bookings", app.url)).bearer_auth(&token).json(&base).send().await.expect("post");
    assert_eq!(r.status(), 400, "the Idempotency-Key header is required");
    let r = app.http.post(format!("{}/bookings", app.url)).header("Idempotency-Key", "x").json(&base).send().await.expect("post");
    assert_eq!(r.status(), 401, "a token is required");
    for table in ["bookings", "idempotency_keys", "outbox"] {
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
            "SELECT count(*) FROM {table} WHERE {}",
            if table == "outbox" { "topic LIKE 'booking.%'" } else { "true" }
        )))
        .fetch_one(&app.pool)
        .await
        .expect("count");
        assert_eq!(n, 0, "{table} is untouched by bad requests");
    }
    assert_eq!(app.nights("double", days_from_now(0), days_from_now(60)).await.1, 0, "nothing held");
}

#[tokio::test]
async fn guests_see_only_their_own_bookings() {
    let app = spawn_app().await;
    app.seed_hotel(5).await;
    let (_, ada) = app.issuer.traveller("ada@example.test");
    let (_, bob) = app.issuer.traveller("bob@example.test");
    let (_, b) = app.book(&ada, "k", &booking(&app.hotel, 3, 1, 1)).await;
    let id = b["id"].as_str().expect("id");
    assert_eq!(app.get(&ada, &format!("/bookings/{id}")).await.0, 200);
    assert_eq!(app.get(&bob, &format!("/bookings/{id}")).await.0, 404);
    let (_, list) = app.get(&ada, "/bookings").await;
    assert_eq!(list["total"], 1);
    assert_eq!(app.get(&bob, "/bookings").await.1["total"], 0);
    let r = app.http.post(format!("{}/bookings/{id}/cancel", app.url)).bearer_auth(&bob).send().await.expect("cancel");
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn bookings_per_second_without_contention() {
    let app = spawn_app().await;
    app.seed_hotel(500).await;
    let started = Instant::now();
    let results = join_all((0..200).map(|i| {
        let (_, token) = app.issuer.traveller(&format!("g{i}@example.test"));
        let body = booking(&app.hotel, 1 + (i % 50), 1, 1);
        let app = &app;
        async move { app.book(&token, "k", &body).await.0 }
    }))
    .await;
    let elapsed = started.elapsed();
    println!("no contention: 200 bookings in {elapsed:?} = {:.0} bookings/s", 200.0 / elapsed.as_secs_f64());
    assert!(results.iter().all(|s| *s == 202));
}

#[tokio::test]
async fn every_documented_page_answers_and_pages_past_the_bounds_are_a_422() {
    use tripnest_common::page::{MAX_PAGE, MAX_PAGE_SIZE};
    let app = spawn_app().await;
    app.seed_hotel(5).await;
    let (_, ada) = app.issuer.traveller("ada@example.test");
    assert_eq!(app.book(&ada, "k", &booking(&app.hotel, 3, 1, 1)).await.0, 202);

    // The largest page the document allows (once an overflowing offset, a panic and a 502).
    let (status, last) = app.get(&ada, &format!("/bookings?page={MAX_PAGE}&pageSize={MAX_PAGE_SIZE}")).await;
    assert_eq!(status, 200, "{last}");
    assert_eq!(
        (last["items"].as_array().map(Vec::len), last["total"].as_i64(), last["page"].as_u64()),
        (Some(0), Some(1), Some(MAX_PAGE.into()))
    );

    for query in [
        format!("page={}", u64::from(MAX_PAGE) + 1),
        format!("pageSize={}", MAX_PAGE_SIZE + 1),
        "page=0".into(),
        "page=-1".into(),
        "pageSize=abc".into(),
    ] {
        let (status, body) = app.get(&ada, &format!("/bookings?{query}")).await;
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (422, Some("validation_failed")), "{query}: {body}");
    }
    let (status, first) = app.get(&ada, "/bookings?page=1&pageSize=1").await;
    assert_eq!((status.as_u16(), first["items"].as_array().map(Vec::len), first["pageSize"].as_u64()), (200, Some(1), Some(1)));
}

#[tokio::test]
async fn a_sold_out_attempt_leaves_its_key_free_for_the_next_request() {
    let app = spawn_app().await;
    app.seed_hotel(1).await;
    let (_, ada) = app.issuer.traveller("ada@example.test");
    let (_, bob) = app.issuer.traveller("bob@example.test");
    assert_eq!(app.book(&bob, "bob-1", &booking(&app.hotel, 5, 2, 1)).await.0, 202);
    let (s, err) = app.book(&ada, "retry-me", &booking(&app.hotel, 5, 2, 1)).await;
    assert_eq!((s.as_u16(), err["error"]["code"].as_str()), (409, Some("sold_out")));
    // The same key with another body is a fresh request, not `idempotency_key_reused`.
    let (s, b) = app.book(&ada, "retry-me", &booking(&app.hotel, 9, 2, 1)).await;
    assert_eq!(s, 202, "{b}");
    let (s, replay) = app.book(&ada, "retry-me", &booking(&app.hotel, 9, 2, 1)).await;
    assert_eq!((s.as_u16(), &replay["id"]), (202, &b["id"]));
    assert_eq!(app.count("SELECT count(*) FROM idempotency_keys WHERE status = 'done'").await, 2);
}
