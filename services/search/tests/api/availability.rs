use crate::helpers::*;
use serde_json::json;
use std::time::{Duration, Instant};
use tripnest_common::{
    Event,
    saga::{AvailabilityChanged, NightAvailability},
};

/// The longest a change may take to show in search results.
const VISIBLE_WITHIN: Duration = Duration::from_secs(1);

/// Wait until `query` returns `want`; returns how long that took.
async fn time_until(app: &TestApp, query: &str, want: &[&str]) -> Duration {
    let started = Instant::now();
    tripnest_e2e::wait_until(&format!("search {query} to return {want:?}"), WAIT, || async {
        (app.ids(query).await == want).then_some(())
    })
    .await;
    started.elapsed()
}

#[tokio::test]
async fn taking_the_last_room_hides_the_hotel_and_cancelling_brings_it_back() {
    let app = spawn_app().await;
    for id in ["last-room", "plenty"] {
        app.add_hotel(id, &hotel("Faro", 3, &["wifi"], &[("double", 2, 7_000)])).await;
    }
    app.open_rooms("last-room", "double", 1, 10, json!({})).await;
    app.open_rooms("plenty", "double", 5, 10, json!({})).await;
    let (ci, co) = (days_from_now(3), days_from_now(6));
    let query = format!("city=Faro&checkIn={ci}&checkOut={co}&guests=2&sort=price");
    app.wait_ids(&query, &["last-room", "plenty"]).await;
    let cached = app.wait_cached(&query).await;
    assert_eq!(cached["items"].as_array().expect("items").len(), 2, "the same search again comes from Redis: {cached}");

    // A booking for other dates changes nothing for this stay.
    let (_, token) = app.issuer.traveller("ada@example.test");
    let elsewhere = json!({ "hotelId": "last-room", "roomType": "double", "checkIn": days_from_now(7), "checkOut": days_from_now(8),
                            "guests": 2, "rooms": 1, "paymentMethod": "pm_card_visa" });
    app.book(&token, &elsewhere).await;

    // The booking that takes the last room for two of the three nights.
    let body = json!({ "hotelId": "last-room", "roomType": "double", "checkIn": days_from_now(4), "checkOut": days_from_now(6),
                       "guests": 2, "rooms": 1, "paymentMethod": "pm_card_visa" });
    let booked_at = Instant::now();
    let booking = app.book(&token, &body).await;
    let hidden_after = time_until(&app, &query, &["plenty"]).await;
    // Search counts from our request; the booking had committed before its 202 arrived.
    println!("sold out → hidden from search after {:?} (booking answered in {:?})", hidden_after, booked_at.elapsed() - hidden_after);
    assert!(hidden_after < VISIBLE_WITHIN, "sell-out took {hidden_after:?} to show");
    let cached = app.wait_cached(&query).await;
    assert_eq!(cached["items"].as_array().expect("items").len(), 1, "the cache serves the fresh results: {cached}");
    assert_eq!(cached["items"][0]["id"], "plenty");
    // Other stays still find it.
    let other_stay = format!("city=Faro&checkIn={}&checkOut={}&sort=price", days_from_now(1), days_from_now(3));
    assert_eq!(app.ids(&other_stay).await, ["last-room", "plenty"]);

    app.cancel(&token, booking["id"].as_str().expect("id")).await;
    let back_after = time_until(&app, &query, &["last-room", "plenty"]).await;
    println!("cancelled → back in search after {back_after:?}");
    assert!(back_after < VISIBLE_WITHIN, "cancellation took {back_after:?} to show");
}

#[tokio::test]
async fn a_removed_hotel_leaves_the_results_and_a_returning_one_comes_back() {
    let app = spawn_app().await;
    let spec = hotel("Braga", 4, &["wifi"], &[("double", 2, 7_000)]);
    app.add_hotel("braga-1", &spec).await;
    app.open_rooms("braga-1", "double", 2, 5, json!({})).await;
    let dated = format!("city=Braga&checkIn={}&checkOut={}", days_from_now(1), days_from_now(2));
    app.wait_ids(&dated, &["braga-1"]).await;
    app.remove_hotel("braga-1").await;
    app.wait_ids("city=Braga", &[]).await;
    assert!(app.ids(&dated).await.is_empty());
    let r = app.http.get(format!("{}/hotels/braga-1", app.url)).send().await.expect("get");
    assert_eq!(r.status(), 404);
    // Back on sale with a new name.
    let mut renamed = spec.clone();
    renamed["name"] = json!("Braga Renewed");
    app.add_hotel("braga-1", &renamed).await;
    app.wait_ids(&dated, &["braga-1"]).await;
    let (_, page, _) = app.search("city=Braga").await;
    assert_eq!(page["items"][0]["name"], "Braga Renewed");
}

#[tokio::test]
async fn calendars_stored_by_earlier_versions_are_still_searched() {
    let app = spawn_app().await;
    // A calendar as earlier versions stored it: a document per night under `nights`.
    let (night, next) = (days_from_now(2), days_from_now(3));
    let legacy = mongodb::bson::doc! { "_id": "legacy-1|double", "hotelId": "legacy-1", "roomType": "double",
    "nights": { night.to_string(): { "available": 2, "priceCents": 7_000_i64 } } };
    app.mongo.collection::<mongodb::bson::Document>("calendars").insert_one(legacy).await.expect("insert");
    app.add_hotel("legacy-1", &hotel("Evora", 3, &["wifi"], &[("double", 2, 7_000)])).await;
    let dated = format!("city=Evora&checkIn={night}&checkOut={next}");
    app.wait_ids(&dated, &["legacy-1"]).await;
    let (_, page, _) = app.search(&dated).await;
    assert_eq!(page["items"][0]["totalCents"], 7_000, "{page}");
}

#[tokio::test]
async fn the_nights_an_event_carries_are_stored_as_they_are_without_asking_booking() {
    let app = spawn_app().await;
    app.add_hotel("carried-1", &hotel("Viseu", 3, &["wifi"], &[("double", 2, 7_000)])).await;
    app.open_rooms("carried-1", "double", 2, 10, json!({})).await;
    let (night, next) = (days_from_now(4), days_from_now(5));
    let dated = format!("city=Viseu&checkIn={night}&checkOut={next}");
    app.wait_ids(&dated, &["carried-1"]).await;
    // Booking still sells two rooms that night; the event says none are left at a new price.
    let nights = vec![NightAvailability { night, available: 0, price_cents: 8_000 }];
    let change =
        AvailabilityChanged { hotel_id: "carried-1".into(), room_type: "double".into(), from: night, to: next, nights: Some(nights) };
    app.publish(&Event::new("booking", "carried-1", change)).await;
    app.wait_ids(&dated, &[]).await;
    // The nights it did not list keep what they had.
    let (_, page, _) = app.search(&format!("city=Viseu&checkIn={next}&checkOut={}", days_from_now(6))).await;
    assert_eq!(page["items"][0]["totalCents"], 7_000, "an unlisted night is unchanged: {page}");
    assert_eq!(page["items"][0]["roomTypes"][0]["available"], 2, "{page}");
}

#[tokio::test]
async fn an_event_from_before_booking_carried_its_nights_is_read_from_booking() {
    let app = spawn_app().await;
    app.add_hotel("legacy-2", &hotel("Tomar", 3, &["wifi"], &[("double", 2, 7_000)])).await;
    app.open_rooms("legacy-2", "double", 2, 10, json!({})).await;
    let (night, next) = (days_from_now(3), days_from_now(4));
    let dated = format!("city=Tomar&checkIn={night}&checkOut={next}");
    app.wait_ids(&dated, &["legacy-2"]).await;
    // A change booking made whose event names only the range (as events did before they
    // carried the nights): search learns the night is closed only by asking booking.
    let mut db = <sqlx::PgConnection as sqlx::Connection>::connect(&app.booking_db.url).await.expect("booking's database");
    sqlx::query("UPDATE availability SET closed = true WHERE hotel_id = 'legacy-2' AND night = $1")
        .bind(night)
        .execute(&mut db)
        .await
        .expect("close the night");
    let change = AvailabilityChanged { hotel_id: "legacy-2".into(), room_type: "double".into(), from: night, to: next, nights: None };
    app.publish(&Event::new("booking", "legacy-2", change)).await;
    app.wait_ids(&dated, &[]).await;
}
