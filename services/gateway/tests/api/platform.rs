//! Through the gateway against the real services: user, booking, payment and notification run
//! as processes on the real stack (`Platform`); the gateway verifies tokens against the real
//! user service's JWKS.

use crate::helpers::{client, header, parts, tampered, test_config};
use chrono::{Days, Utc};
use reqwest::StatusCode;
use serde_json::{Value, json};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tripnest_common::auth::Signer;
use tripnest_e2e::{platform::Platform, raw_http::expect_error, unique, wait_until};
use tripnest_gateway::config::Upstreams;

fn day(n: u64) -> String {
    Utc::now().date_naive().checked_add_days(Days::new(n)).expect("date").to_string()
}

/// Requests the booking process served on `route`, from its own Prometheus metrics.
async fn booking_requests(p: &Platform, route: &str) -> f64 {
    let text = p.http.get(format!("{}/metrics", p.booking.ops_url)).send().await.expect("metrics").text().await.expect("text");
    let label = format!("route=\"{route}\"");
    text.lines()
        .filter(|l| l.starts_with("http_requests_total{") && l.contains(&label))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

#[tokio::test]
async fn a_traveller_registers_books_and_cannot_see_another_users_booking() {
    let p = Platform::start(&[]).await;
    let cfg = test_config(
        None,
        Upstreams {
            user: p.user.url.clone(),
            booking: p.booking.url.clone(),
            notification: p.notification.url.clone(),
            ..Upstreams::default()
        },
    );
    let running = tripnest_gateway::start(cfg, CancellationToken::new()).await.expect("gateway starts");
    let (gw, http) = (running.url(), client());
    let api = |path: &str| format!("{gw}/api{path}");

    // Register and sign in through the gateway.
    let email = format!("{}@example.test", unique("ada"));
    let password = "correct horse battery staple";
    let r = http
        .post(api("/auth/register"))
        .json(&json!({ "email": email, "password": password, "name": "Ada" }))
        .send()
        .await
        .expect("register");
    assert_eq!(r.status(), StatusCode::CREATED);
    let (status, _, session) =
        parts(http.post(api("/auth/login")).json(&json!({ "email": email, "password": password })).send().await.expect("login")).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    let token = session["accessToken"].as_str().expect("token").to_owned();
    let (status, _, me) = parts(http.get(api("/me")).bearer_auth(&token).send().await.expect("me")).await;
    assert_eq!((status, me["email"].as_str()), (StatusCode::OK, Some(email.as_str())));

    // Availability and booking go to the booking service.
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 2).await;
    let (check_in, check_out) = (day(20), day(22));
    let url = api(&format!("/hotels/{hotel}/availability?checkIn={check_in}&checkOut={check_out}&guests=2&rooms=1"));
    let (status, _, availability) = parts(http.get(url).send().await.expect("availability")).await;
    assert_eq!((status, availability["roomTypes"][0]["available"].as_i64()), (StatusCode::OK, Some(2)), "{availability}");

    let stay = json!({ "hotelId": hotel, "roomType": "double", "checkIn": check_in, "checkOut": check_out, "guests": 2, "rooms": 1, "paymentMethod": "pm_card_visa" });
    let book = || http.post(api("/bookings")).bearer_auth(&token).header("Idempotency-Key", "gateway-trip-1").json(&stay);
    let (status, headers, booking) = parts(book().send().await.expect("book")).await;
    assert_eq!((status, booking["status"].as_str()), (StatusCode::ACCEPTED, Some("PENDING")), "{booking}");
    assert!(header(&headers, "ratelimit-remaining").is_some());
    let id = booking["id"].as_str().expect("id").to_owned();
    let (status, headers, replay) = parts(book().send().await.expect("replay")).await;
    assert_eq!(
        (status, replay["id"].as_str(), header(&headers, "idempotent-replayed")),
        (StatusCode::ACCEPTED, Some(id.as_str()), Some("true"))
    );

    let confirmed = wait_until("the booking to be confirmed through the gateway", Duration::from_secs(60), || async {
        let b: Value = http.get(api(&format!("/bookings/{id}"))).bearer_auth(&token).send().await.ok()?.json().await.ok()?;
        (b["status"] == "CONFIRMED").then_some(b)
    })
    .await;
    assert_eq!(confirmed["amountCents"], 20_000);
    let (status, _, mine) = parts(http.get(api("/bookings")).bearer_auth(&token).send().await.expect("list")).await;
    assert_eq!((status, mine["items"][0]["id"].as_str()), (StatusCode::OK, Some(id.as_str())));
    let (status, _, _) = parts(http.get(api("/notifications")).bearer_auth(&token).send().await.expect("notifications")).await;
    assert_eq!(status, StatusCode::OK);

    // The services' refusals come through in the error shape, 405 with its `Allow`.
    expect_error(http.get(api("/bookings/not-a-uuid")).bearer_auth(&token).send().await.expect("bad id"), 400, "invalid_path").await;
    let nul = json!({ "hotelId": format!("{hotel}\u{0}"), "roomType": "double", "checkIn": check_in, "checkOut": check_out, "guests": 2, "rooms": 1, "paymentMethod": "pm_card_visa" });
    let resp = http.post(api("/bookings")).bearer_auth(&token).header("Idempotency-Key", "nul").json(&nul).send().await.expect("nul");
    assert_eq!(expect_error(resp, 422, "validation_failed").await["error"]["details"][0]["field"], "hotelId");
    let resp = http.delete(api("/bookings")).bearer_auth(&token).send().await.expect("delete");
    assert!(header(resp.headers(), "allow").is_some_and(|a| a.contains("POST")));
    expect_error(resp, 405, "method_not_allowed").await;

    // Someone else's booking is a 404, exactly like a missing one.
    let bob = p.traveller(&format!("{}@example.test", unique("bob"))).await;
    let (status, _, body) = parts(http.get(api(&format!("/bookings/{id}"))).bearer_auth(&bob).send().await.expect("bob")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{body}");
    let (status, _, body) =
        parts(http.post(api(&format!("/bookings/{id}/cancel"))).bearer_auth(&bob).send().await.expect("bob cancels")).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");

    // Bad tokens, checked against the real JWKS, never reach the real booking service.
    let before = booking_requests(&p, "/bookings").await;
    let forged_identity = tampered(&token, |claims| claims["sub"] = json!("0193e5b0-0000-7000-8000-000000000666"));
    let foreign_key = Signer::generate("kid-not-in-the-jwks").issue(&serde_json::from_value(claims_of(&token)).expect("claims"));
    for bad in [forged_identity, foreign_key, "garbage".to_owned()] {
        let (status, _, _) = parts(http.get(api("/bookings")).bearer_auth(&bad).send().await.expect("bad")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }
    let (status, _, _) = parts(http.get(api("/bookings")).send().await.expect("anonymous")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(booking_requests(&p, "/bookings").await, before, "booking served none of the refused requests");

    // The catalog API stays internal.
    let (status, _, _) = parts(
        http.put(api(&format!("/internal/hotels/{hotel}"))).bearer_auth(&p.internal_token).json(&json!({})).send().await.expect("internal"),
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    running.shutdown.cancel();
}

/// The claims inside a token (unverified), to re-sign them with another key.
fn claims_of(token: &str) -> Value {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let payload = token.split('.').nth(1).expect("payload");
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("json")
}
