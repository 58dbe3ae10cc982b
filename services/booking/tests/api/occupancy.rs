use crate::helpers::*;
use serde_json::{Value, json};
use tripnest_common::auth::Role;
use tripnest_e2e::unique;

/// A hotel managed by `managers`, 3 doubles and 3 suites open for 60 nights.
async fn managed_hotel(app: &TestApp, id: &str, managers: &[&str]) {
    let mut spec = hotel_spec();
    spec["managers"] = json!(managers);
    let (s, body) = app.internal_put(&format!("/internal/hotels/{id}"), &spec).await;
    assert_eq!(s, 200, "{body}");
    for rt in ["double", "suite"] {
        let (s, body) = app.internal_put(&format!("/internal/inventory/{id}/{rt}"), &json!({ "rooms": 3, "horizonDays": 60 })).await;
        assert_eq!(s, 200, "{body}");
    }
}

fn hotel_ids(body: &Value) -> Vec<&str> {
    body["hotels"].as_array().expect("hotels").iter().map(|h| h["id"].as_str().expect("id")).collect()
}

#[tokio::test]
async fn a_manager_sees_the_occupancy_of_their_hotels_only_and_bookings_show_up_in_it() {
    let app = spawn_app().await;
    let (mine, theirs) = (unique("mine"), unique("theirs"));
    managed_hotel(&app, &mine, &["  Mona.Manager@Example.test "]).await;
    managed_hotel(&app, &theirs, &["other@example.test"]).await;
    let (_, manager) = app.issuer.user("mona.manager@example.test", Role::Manager);
    let (_, traveller) = app.issuer.traveller("tess@example.test");

    let (s, b) = app
        .book(
            &traveller,
            "k1",
            &json!({
                "hotelId": mine, "roomType": "double", "checkIn": days_from_now(3), "checkOut": days_from_now(5),
                "guests": 2, "rooms": 2, "paymentMethod": "pm_card_visa"
            }),
        )
        .await;
    assert_eq!(s, 202, "{b}");

    let (s, body) = app.get(&manager, "/manager/occupancy").await;
    assert_eq!(s, 200, "{body}");
    assert_eq!(hotel_ids(&body), [mine.as_str()]);
    assert_eq!(body["days"], 30);
    let hotel = &body["hotels"][0];
    // 2 room types × 3 rooms × 30 nights; 2 rooms booked for 2 nights.
    assert_eq!((hotel["roomNights"].as_i64(), hotel["bookedRoomNights"].as_i64()), (Some(180), Some(4)));
    let double = &hotel["roomTypes"][0];
    assert_eq!(double["name"], "double");
    let nights = double["nights"].as_array().expect("nights");
    assert_eq!(nights.len(), 30);
    let booked: Vec<(i64, i64)> = nights[2..6].iter().map(|n| (n["booked"].as_i64().unwrap(), n["available"].as_i64().unwrap())).collect();
    assert_eq!(booked, [(0, 3), (2, 1), (2, 1), (0, 3)], "nights 2..6 around the stay on nights 3 and 4");

    let (_, admin) = app.issuer.user("root@example.test", Role::Admin);
    let (s, all) = app.get(&admin, &format!("/manager/occupancy?from={}&days=7", days_from_now(1))).await;
    assert_eq!(s, 200, "{all}");
    let ids = hotel_ids(&all);
    assert!(ids.contains(&mine.as_str()) && ids.contains(&theirs.as_str()), "admin sees every hotel: {ids:?}");
    assert_eq!(all["hotels"][0]["roomTypes"][0]["nights"].as_array().map(Vec::len), Some(7));
}

#[tokio::test]
async fn occupancy_comes_a_page_of_hotels_at_a_time_by_name() {
    let app = spawn_app().await;
    let manager_email = format!("{}@example.test", unique("pages"));
    let ids: Vec<String> = (0..3).map(|i| unique(&format!("paged-{i}"))).collect();
    for id in &ids {
        managed_hotel(&app, id, &[manager_email.as_str()]).await;
    }
    let (_, manager) = app.issuer.user(&manager_email, Role::Manager);

    let (s, first) = app.get(&manager, "/manager/occupancy?days=3&pageSize=2").await;
    assert_eq!(s, 200, "{first}");
    assert_eq!((first["page"].as_u64(), first["pageSize"].as_u64(), first["nextPage"].as_u64()), (Some(1), Some(2), Some(2)), "{first}");
    let (s, second) = app.get(&manager, "/manager/occupancy?days=3&pageSize=2&page=2").await;
    assert_eq!(s, 200, "{second}");
    assert!(second["nextPage"].is_null(), "the last page has no next: {second}");
    let mut seen: Vec<&str> = hotel_ids(&first).into_iter().chain(hotel_ids(&second)).collect();
    assert_eq!(seen.len(), 3, "every hotel exactly once over the pages: {seen:?}");
    seen.sort_unstable();
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.sort_unstable();
    assert_eq!(seen, want);
    assert_eq!(second["hotels"][0]["roomTypes"][0]["nights"].as_array().map(Vec::len), Some(3));

    let (s, body) = app.get(&manager, "/manager/occupancy?pageSize=0").await;
    assert_eq!((s.as_u16(), body["error"]["details"][0]["field"].as_str()), (422, Some("pageSize")), "{body}");
}

#[tokio::test]
async fn occupancy_is_refused_to_travellers_and_strangers_and_checks_its_window() {
    let app = spawn_app().await;
    let (_, traveller) = app.issuer.traveller("tess@example.test");
    let (s, body) = app.get(&traveller, "/manager/occupancy").await;
    assert_eq!((s.as_u16(), body["error"]["code"].as_str()), (403, Some("forbidden")));
    let r = app.http.get(format!("{}/manager/occupancy", app.url)).send().await.expect("get");
    assert_eq!(r.status(), 401);

    let (_, manager) = app.issuer.user("mona@example.test", Role::Manager);
    let (s, body) = app.get(&manager, "/manager/occupancy?days=91").await;
    assert_eq!((s.as_u16(), body["error"]["details"][0]["field"].as_str()), (422, Some("days")), "{body}");
    let (s, body) = app.get(&manager, "/manager/occupancy?from=tomorrow").await;
    assert_eq!((s.as_u16(), body["error"]["code"].as_str()), (400, Some("invalid_query")), "{body}");
    let (s, body) = app.get(&manager, "/manager/occupancy").await;
    assert_eq!((s.as_u16(), body["hotels"].as_array().map(Vec::len)), (200, Some(0)), "a manager of nothing sees nothing");
}

#[tokio::test]
async fn a_manager_that_is_not_an_email_is_refused_with_the_field() {
    let app = spawn_app().await;
    let mut spec = hotel_spec();
    spec["managers"] = json!(["ok@example.test", "not-an-email"]);
    let (s, body) = app.internal_put(&format!("/internal/hotels/{}", app.hotel), &spec).await;
    assert_eq!((s.as_u16(), body["error"]["details"][0]["field"].as_str()), (422, Some("managers[1]")), "{body}");
}
