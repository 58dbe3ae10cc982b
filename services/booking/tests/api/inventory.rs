use crate::helpers::*;
use serde_json::json;
use tripnest_common::outbox::Outbox;

#[tokio::test]
async fn applying_the_same_spec_twice_changes_nothing() {
    let app = spawn_app().await;
    app.internal_put(&format!("/internal/hotels/{}", app.hotel), &hotel_spec()).await;
    let path = format!("/internal/inventory/{}/double", app.hotel);
    let spec = json!({ "rooms": 4, "horizonDays": 30, "pricing": { "weekendMultiplier": 1.5 }, "closedDates": [days_from_now(3)],
                       "overrides": [{ "date": days_from_now(4), "priceCents": 777 }] });
    let (s, first) = app.internal_put(&path, &spec).await;
    assert_eq!((s.as_u16(), first["changedNights"].as_u64()), (200, Some(30)), "{first}");
    assert_eq!(first["generatedThrough"], json!(days_from_now(29)));
    let (_, second) = app.internal_put(&path, &spec).await;
    assert_eq!(second["changedNights"], 0);
    let (price, closed): (i64, bool) =
        sqlx::query_as("SELECT price_cents, closed FROM availability WHERE hotel_id = $1 AND room_type = 'double' AND night = $2")
            .bind(&app.hotel)
            .bind(days_from_now(4))
            .fetch_one(&app.pool)
            .await
            .expect("row");
    assert_eq!((price, closed), (777, false));
    let closed: bool = sqlx::query_scalar("SELECT closed FROM availability WHERE hotel_id = $1 AND room_type = 'double' AND night = $2")
        .bind(&app.hotel)
        .bind(days_from_now(3))
        .fetch_one(&app.pool)
        .await
        .expect("row");
    assert!(closed);
    // Rolling stored specs (what the CronJob does) on the same day changes nothing either.
    let rolled =
        tripnest_booking::inventory::roll_stored(&Outbox::new(app.pool.clone()), Some(&app.hotel), None, chrono::Utc::now().date_naive())
            .await
            .expect("roll");
    assert_eq!(rolled.len(), 1);
    assert_eq!(rolled[0].2.changed_nights, 0);
    // The next day the window moves forward by exactly one night.
    let tomorrow = days_from_now(1);
    let rolled = tripnest_booking::inventory::roll_stored(&Outbox::new(app.pool.clone()), Some(&app.hotel), Some("double"), tomorrow)
        .await
        .expect("roll");
    assert_eq!(rolled[0].2.changed_nights, 1);
    assert_eq!(rolled[0].2.generated_through, Some(days_from_now(30)));
}

#[tokio::test]
async fn lowering_rooms_below_bookings_reports_overbooked_nights_and_never_goes_negative() {
    let app = spawn_app().await;
    app.seed_hotel(3).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let (s, _) = app.book(&token, "k1", &booking(&app.hotel, 10, 2, 2)).await;
    assert_eq!(s, 202);
    let (s, report) =
        app.internal_put(&format!("/internal/inventory/{}/double", app.hotel), &json!({ "rooms": 1, "horizonDays": 60 })).await;
    assert_eq!(s, 200);
    let over = report["overbookedNights"].as_array().expect("list");
    assert_eq!(over.len(), 2, "{report}");
    assert_eq!(over[0], json!({ "night": days_from_now(10), "booked": 2, "total": 1 }));
    let (min_available, max_booked) = app.nights("double", days_from_now(0), days_from_now(60)).await;
    assert_eq!((min_available, max_booked), (0, 2));
    // Raising rooms again gives back exactly the difference.
    app.internal_put(&format!("/internal/inventory/{}/double", app.hotel), &json!({ "rooms": 5, "horizonDays": 60 })).await;
    assert_eq!(app.nights("double", days_from_now(10), days_from_now(12)).await, (3, 2));
}

#[tokio::test]
async fn an_inventory_for_an_unknown_room_type_is_refused_clearly() {
    let app = spawn_app().await;
    app.internal_put(&format!("/internal/hotels/{}", app.hotel), &hotel_spec()).await;
    let (s, body) =
        app.internal_put(&format!("/internal/inventory/{}/penthouse", app.hotel), &json!({ "rooms": 1, "horizonDays": 5 })).await;
    assert_eq!((s.as_u16(), body["error"]["code"].as_str()), (422, Some("unknown_room_type")));
    let (s, body) =
        app.internal_put(&format!("/internal/inventory/{}/double", app.hotel), &json!({ "rooms": -1, "horizonDays": 5000 })).await;
    assert_eq!(s, 422);
    assert_eq!(body["error"]["details"][1]["field"], "horizonDays");
}

#[tokio::test]
async fn rolling_365_days_for_100_room_types() {
    let app = spawn_app().await;
    let mut spec = hotel_spec();
    spec["roomTypes"] =
        json!((0..100).map(|i| json!({ "name": format!("rt{i:03}"), "capacity": 2, "baseRateCents": 8000 + i * 10 })).collect::<Vec<_>>());
    app.internal_put(&format!("/internal/hotels/{}", app.hotel), &spec).await;
    let inventory: tripnest_booking::inventory::CatalogInventory = serde_json::from_value(json!({
        "rooms": 10, "horizonDays": 365, "pricing": { "weekendMultiplier": 1.2, "seasons": [{ "from": days_from_now(100), "to": days_from_now(160), "multiplier": 1.4 }] }
    }))
    .expect("spec");
    let today = chrono::Utc::now().date_naive();
    let timed = |label: &'static str| {
        let (outbox, hotel, inventory) = (Outbox::new(app.pool.clone()), app.hotel.clone(), inventory.clone());
        async move {
            let started = std::time::Instant::now();
            let mut changed = 0;
            for i in 0..100 {
                changed += tripnest_booking::inventory::roll_inventory(&outbox, &hotel, &format!("rt{i:03}"), &inventory, today)
                    .await
                    .expect("roll")
                    .changed_nights;
            }
            let elapsed = started.elapsed();
            println!(
                "roll {label}: 100 room types x 365 days in {elapsed:?} ({:.0} rows/s), {changed} nights changed",
                36_500.0 / elapsed.as_secs_f64()
            );
            changed
        }
    };
    assert_eq!(timed("first").await, 36_500);
    assert_eq!(timed("again (no-op)").await, 0);
    assert_eq!(app.count("SELECT count(*) FROM availability").await, 36_500);
}
