//! The read side through the gateway, on real processes of every service: search follows
//! bookings and reviews, and recommendations follow confirmed stays.

use chrono::{Days, Utc};
use serde_json::{Value, json};
use std::time::Instant;
use tripnest_e2e::{WAIT, platform::Platform, unique, wait_until};

fn day(n: u64) -> String {
    Utc::now().date_naive().checked_add_days(Days::new(n)).expect("date").to_string()
}

async fn get(p: &Platform, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut req = p.http.get(format!("{}{path}", p.api()));
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let r = req.send().await.expect("get");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

async fn post(p: &Platform, path: &str, token: &str, key: Option<&str>, body: &Value) -> (u16, Value) {
    let mut req = p.http.post(format!("{}{path}", p.api())).bearer_auth(token).json(body);
    if let Some(k) = key {
        req = req.header("Idempotency-Key", k);
    }
    let r = req.send().await.expect("post");
    (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
}

/// Hotel ids search returns for Lisbon on the given night, with availability filtering.
async fn available_in_lisbon(p: &Platform, from: u64) -> Vec<String> {
    let (s, body) = get(p, &format!("/hotels?city=Lisbon&checkIn={}&checkOut={}&guests=1&rooms=1", day(from), day(from + 1)), None).await;
    assert_eq!(s, 200, "{body}");
    body["items"].as_array().expect("items").iter().map(|h| h["id"].as_str().expect("id").to_owned()).collect()
}

#[tokio::test]
async fn the_last_room_leaves_search_results_and_a_cancellation_brings_it_back() {
    let p = Platform::start_full().await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 1).await;
    wait_until("the hotel to be searchable", WAIT, || async { available_in_lisbon(&p, 6).await.contains(&hotel).then_some(()) }).await;
    let token = p.traveller(&format!("{}@example.test", unique("ana"))).await;
    let body = json!({ "hotelId": hotel, "roomType": "double", "checkIn": day(6), "checkOut": day(7), "guests": 2, "rooms": 1, "paymentMethod": "pm_card_visa" });
    let (s, booking) = post(&p, "/bookings", &token, Some("last-room"), &body).await;
    assert_eq!(s, 202, "{booking}");
    let booked_at = Instant::now();
    wait_until("the sold-out hotel to leave the results", WAIT, || async {
        (!available_in_lisbon(&p, 6).await.contains(&hotel)).then_some(())
    })
    .await;
    println!("sold out visible in search after {:?}", booked_at.elapsed());
    assert!(available_in_lisbon(&p, 8).await.contains(&hotel), "other nights are unaffected");

    let id = booking["id"].as_str().expect("id");
    p.wait_status(&token, id, "CONFIRMED").await;
    let (s, _) = post(&p, &format!("/bookings/{id}/cancel"), &token, None, &json!({})).await;
    assert_eq!(s, 200);
    let cancelled_at = Instant::now();
    wait_until("the hotel to come back", WAIT, || async { available_in_lisbon(&p, 6).await.contains(&hotel).then_some(()) }).await;
    println!("cancellation visible in search after {:?}", cancelled_at.elapsed());
}

#[tokio::test]
async fn a_review_moves_the_rating_in_search() {
    let p = Platform::start_full().await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 3).await;
    let token = p.traveller(&format!("{}@example.test", unique("rui"))).await;
    // A stay that starts today can be reviewed once confirmed.
    let body = json!({ "hotelId": hotel, "roomType": "double", "checkIn": day(0), "checkOut": day(2), "guests": 2, "rooms": 1, "paymentMethod": "pm_card_visa" });
    let (_, booking) = post(&p, "/bookings", &token, Some("stay"), &body).await;
    let id = booking["id"].as_str().expect("id").to_owned();
    p.wait_status(&token, &id, "CONFIRMED").await;
    let review = json!({ "bookingId": id, "rating": 4, "title": "Lovely", "text": "Quiet room, great breakfast." });
    // Review learns about the stay from booking.confirmed; until then the booking is unknown to it.
    let posted = wait_until("review to accept the confirmed stay", WAIT, || async {
        let (s, b) = post(&p, &format!("/hotels/{hotel}/reviews"), &token, None, &review).await;
        (s == 201).then_some(b)
    })
    .await;
    assert_eq!(posted["rating"], 4, "{posted}");
    let (s, again) = post(&p, &format!("/hotels/{hotel}/reviews"), &token, None, &review).await;
    assert_eq!((s, again["error"]["code"].as_str()), (409, Some("already_reviewed")));
    let detail = wait_until("search to show the rating", WAIT, || async {
        let (_, h) = get(&p, &format!("/hotels/{hotel}"), None).await;
        (h["reviewCount"] == 1).then_some(h)
    })
    .await;
    assert_eq!(detail["rating"], 4.0);
    let (s, reviews) = get(&p, &format!("/hotels/{hotel}/reviews"), None).await;
    assert_eq!((s, reviews["total"].as_i64()), (200, Some(1)));
}

#[tokio::test]
async fn recommendations_change_after_a_confirmed_stay() {
    let p = Platform::start_full().await;
    let hotel = unique("hotel");
    p.seed_hotel(&hotel, 3).await;
    let token = p.traveller(&format!("{}@example.test", unique("eva"))).await;
    let (s, before) = get(&p, "/recommendations?city=Lisbon", Some(&token)).await;
    assert_eq!((s, before["basis"].as_str()), (200, Some("popular")), "{before}");
    let body = json!({ "hotelId": hotel, "roomType": "double", "checkIn": day(3), "checkOut": day(5), "guests": 2, "rooms": 1, "paymentMethod": "pm_card_visa" });
    let (_, booking) = post(&p, "/bookings", &token, Some("stay"), &body).await;
    p.wait_status(&token, booking["id"].as_str().expect("id"), "CONFIRMED").await;
    // The stay and its hotel reach the read model on two topics, in either order: wait for both.
    let after = wait_until("a personal recommendation of the booked city", WAIT, || async {
        let (_, r) = get(&p, "/recommendations?city=Lisbon", Some(&token)).await;
        (r["basis"] == "personal" && r["items"].as_array().is_some_and(|i| !i.is_empty())).then_some(r)
    })
    .await;
    let first = &after["items"][0];
    assert!(first["reasons"].as_array().is_some_and(|r| !r.is_empty()), "each suggestion says why: {after}");
    // Anonymous visitors still get the popular list, now led by the booked hotel.
    let (s, anonymous) = get(&p, "/recommendations?city=Lisbon", None).await;
    assert_eq!((s, anonymous["basis"].as_str()), (200, Some("popular")));
    assert_eq!(anonymous["items"][0]["id"], hotel.as_str());
}
