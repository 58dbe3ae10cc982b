use crate::helpers::*;
use serde_json::json;
use tripnest_common::events::topics;
use tripnest_e2e::WAIT;

#[tokio::test]
async fn upserting_the_same_hotel_twice_changes_and_publishes_once() {
    let app = spawn_app().await;
    let path = format!("/internal/hotels/{}", app.hotel);
    let (s, first) = app.internal_put(&path, &hotel_spec()).await;
    assert_eq!((s.as_u16(), first["changed"].as_bool()), (200, Some(true)));
    let (_, second) = app.internal_put(&path, &hotel_spec()).await;
    assert_eq!(second["changed"], false);

    let event = app.tap.wait_for(topics::HOTEL_UPSERTED, &app.hotel, WAIT).await;
    assert_eq!(event["data"]["roomTypes"][0]["name"], "double");
    let mut changed = hotel_spec();
    changed["stars"] = json!(5);
    let (_, third) = app.internal_put(&path, &changed).await;
    assert_eq!(third["changed"], true);
    tripnest_e2e::wait_until("two hotel.upserted events", WAIT, || async {
        (app.tap.about(topics::HOTEL_UPSERTED, &app.hotel).len() == 2).then_some(())
    })
    .await;

    let (s, hotel) = app.get("", &format!("/hotels/{}", app.hotel)).await;
    assert_eq!((s.as_u16(), hotel["stars"].as_i64()), (200, Some(5)));
}

#[tokio::test]
async fn the_internal_api_needs_the_service_token_and_valid_specs() {
    let app = spawn_app().await;
    let url = format!("{}/internal/hotels/{}", app.url, app.hotel);
    let r = app.http.put(&url).bearer_auth("wrong").json(&hotel_spec()).send().await.expect("put");
    assert_eq!(r.status(), 401);
    let mut bad = hotel_spec();
    bad["stars"] = json!(7);
    bad["roomTypes"][1]["capacity"] = json!(0);
    let (s, body) = app.internal_put(&format!("/internal/hotels/{}", app.hotel), &bad).await;
    assert_eq!(s, 422);
    let fields: Vec<&str> =
        body["error"]["details"].as_array().expect("details").iter().map(|f| f["field"].as_str().expect("field")).collect();
    assert_eq!(fields, ["stars", "roomTypes[1].capacity"]);
}

#[tokio::test]
async fn removing_a_hotel_takes_it_off_sale_but_keeps_bookings() {
    let app = spawn_app().await;
    app.seed_hotel(3).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let (s, b) = app.book(&token, "k1", &booking(&app.hotel, 5, 2, 1)).await;
    assert_eq!(s, 202, "{b}");
    let r = app.http.delete(format!("{}/internal/hotels/{}", app.url, app.hotel)).bearer_auth(INTERNAL_TOKEN).send().await.expect("delete");
    assert_eq!(r.status(), 204);
    app.tap.wait_for(topics::HOTEL_REMOVED, &app.hotel, WAIT).await;
    assert_eq!(app.get("", &format!("/hotels/{}", app.hotel)).await.0, 404);
    let (s, body) = app.book(&token, "k2", &booking(&app.hotel, 9, 2, 1)).await;
    assert_eq!((s.as_u16(), body["error"]["code"].as_str()), (404, Some("not_found")));
    let (s, kept) = app.get(&token, &format!("/bookings/{}", b["id"].as_str().expect("id"))).await;
    assert_eq!((s.as_u16(), kept["status"].as_str()), (200, Some("PENDING")));
}
