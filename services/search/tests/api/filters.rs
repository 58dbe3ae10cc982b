use crate::helpers::*;
use serde_json::json;
use tripnest_common::{
    Event,
    saga::{BookingConfirmed, HotelRatingUpdated},
};
use tripnest_e2e::fixtures::Popularities;
use uuid::Uuid;

pub fn rating(hotel: &str, average: f64, count: i64) -> Event<HotelRatingUpdated> {
    Event::new("review", hotel, HotelRatingUpdated { hotel_id: hotel.into(), average, count })
}

/// `booking.confirmed` for a one-night stay at `hotel`, counted in `counts` as booking counts it.
pub fn confirmed(counts: &mut Popularities, hotel: &str) -> Event<BookingConfirmed> {
    counts.confirmed(&tripnest_e2e::fixtures::stay(Uuid::now_v7(), hotel, 40, 1, 100))
}

/// Three hotels in Lisbon and one in Porto, with ratings, popularity and 20 nights each:
/// - `lisbon-a`: 4★ wifi+pool, double (2p, 100.00, 2 rooms) and suite (4p, 250.00, 1 room);
/// - `lisbon-b`: 3★ wifi, double (2p, 80.00, 1 room) closed on day 3;
/// - `lisbon-c`: 5★ wifi+pool+spa, suite (4p, 400.00, 3 rooms);
/// - `porto-d`: 4★ wifi, double (2p, 90.00, 1 room).
async fn seeded() -> TestApp {
    let app = spawn_app().await;
    app.add_hotel("lisbon-a", &hotel("Lisbon", 4, &["wifi", "pool"], &[("double", 2, 10_000), ("suite", 4, 25_000)])).await;
    app.add_hotel("lisbon-b", &hotel("Lisbon", 3, &["WiFi"], &[("double", 2, 8_000)])).await;
    app.add_hotel("lisbon-c", &hotel("Lisbon", 5, &["wifi", "pool", "spa"], &[("suite", 4, 40_000)])).await;
    app.add_hotel("porto-d", &hotel("Porto", 4, &["wifi"], &[("double", 2, 9_000)])).await;
    app.open_rooms("lisbon-a", "double", 2, 20, json!({})).await;
    app.open_rooms("lisbon-a", "suite", 1, 20, json!({})).await;
    app.open_rooms("lisbon-b", "double", 1, 20, json!({ "closedDates": [days_from_now(3)] })).await;
    app.open_rooms("lisbon-c", "suite", 3, 20, json!({})).await;
    app.open_rooms("porto-d", "double", 1, 20, json!({})).await;
    for (hotel, average, count) in [("lisbon-a", 4.5, 10), ("lisbon-b", 3.9, 5), ("lisbon-c", 4.8, 2)] {
        app.publish(&rating(hotel, average, count)).await;
    }
    let mut counts = Popularities::default();
    for hotel in ["lisbon-c", "lisbon-c", "lisbon-a"] {
        app.publish(&confirmed(&mut counts, hotel)).await;
    }
    app.wait_nights(5 * 20).await;
    let settled = vec![("lisbon-c".to_owned(), 2, 4.8), ("lisbon-a".to_owned(), 1, 4.5), ("lisbon-b".to_owned(), 0, 3.9)];
    tripnest_e2e::wait_until("every rating and stay to be applied", WAIT, || async {
        let (_, page, _) = app.search("city=Lisbon").await;
        let seen: Vec<(String, i64, f64)> = page["items"]
            .as_array()?
            .iter()
            .map(|h| {
                (
                    h["id"].as_str().unwrap_or_default().to_owned(),
                    h["popularity"].as_i64().unwrap_or(-1),
                    h["rating"].as_f64().unwrap_or(-1.0),
                )
            })
            .collect();
        (seen == settled).then_some(())
    })
    .await;
    // Porto's hotel arrives on its own lane: a search without a city must see it too.
    app.wait_ids("sort=price", &["lisbon-b", "porto-d", "lisbon-a", "lisbon-c"]).await;
    app
}

#[tokio::test]
async fn filters_and_sorts_return_the_right_hotels() {
    let app = seeded().await;
    // Default: most popular first (c: 2 stays, a: 1, b: 0); the city matches in any case.
    let (status, page, _) = app.search("city=lisbon").await;
    assert_eq!(status, 200);
    assert_eq!((page["total"].as_u64(), page["page"].as_u64(), page["pageSize"].as_u64()), (Some(3), Some(1), Some(20)));
    let a = &page["items"][1];
    assert_eq!(
        (a["id"].as_str(), a["rating"].as_f64(), a["reviewCount"].as_i64(), a["popularity"].as_i64()),
        (Some("lisbon-a"), Some(4.5), Some(10), Some(1))
    );
    assert_eq!((a["stars"].as_i64(), a["fromPriceCents"].as_i64(), a["currency"].as_str()), (Some(4), Some(10_000), Some("EUR")));
    assert_eq!(a["roomTypes"].as_array().map(Vec::len), Some(2));

    assert_eq!(app.ids("city=Lisbon&sort=price").await, ["lisbon-b", "lisbon-a", "lisbon-c"]);
    assert_eq!(app.ids("city=Lisbon&sort=-price").await, ["lisbon-c", "lisbon-a", "lisbon-b"]);
    assert_eq!(app.ids("city=Lisbon&sort=price&order=desc").await, ["lisbon-c", "lisbon-a", "lisbon-b"]);
    assert_eq!(app.ids("city=Lisbon&sort=rating").await, ["lisbon-c", "lisbon-a", "lisbon-b"]);
    assert_eq!(app.ids("city=Lisbon&sort=%2Brating").await, ["lisbon-b", "lisbon-a", "lisbon-c"]);
    assert_eq!(app.ids("sort=price").await, ["lisbon-b", "porto-d", "lisbon-a", "lisbon-c"], "no city: everywhere");

    assert_eq!(app.ids("city=Lisbon&amenities=pool,WIFI&sort=price").await, ["lisbon-a", "lisbon-c"], "all amenities, any case");
    assert_eq!(app.ids("city=Lisbon&amenities=spa").await, ["lisbon-c"]);
    assert_eq!(app.ids("amenities=wifi&sort=price").await, ["lisbon-b", "porto-d", "lisbon-a", "lisbon-c"]);
    assert_eq!(app.ids("city=Lisbon&stars=4,5&sort=price").await, ["lisbon-a", "lisbon-c"]);
    assert_eq!(app.ids("stars=4&sort=price").await, ["porto-d", "lisbon-a"]);
    assert_eq!(app.ids("city=Lisbon&minRating=4.6").await, ["lisbon-c"]);
    assert_eq!(app.ids("city=Lisbon&minPrice=9000&maxPrice=30000&sort=price").await, ["lisbon-a"], "nightly base rate without dates");
    assert_eq!(app.ids("city=Lisbon&guests=3&sort=price").await, ["lisbon-a", "lisbon-c"], "only hotels with a room for 3");

    // Pagination with a total.
    let (_, page, _) = app.search("city=Lisbon&sort=price&pageSize=2&page=2").await;
    assert_eq!((page["total"].as_u64(), page["items"].as_array().map(Vec::len)), (Some(3), Some(1)));
    assert_eq!(page["items"][0]["id"], "lisbon-c");
    let (_, page, _) = app.search("city=Lisbon&page=9").await;
    assert_eq!((page["total"].as_u64(), page["items"].as_array().map(Vec::len)), (Some(3), Some(0)));
}

#[tokio::test]
async fn the_availability_filter_needs_every_night_and_enough_room() {
    let app = seeded().await;
    let (ci, co) = (days_from_now(2), days_from_now(5));
    let stay = format!("city=Lisbon&checkIn={ci}&checkOut={co}");
    // b is closed on day 3, inside the stay.
    let (_, page, _) = app.search(&format!("{stay}&guests=2&sort=price")).await;
    let hits: Vec<(&str, Option<i64>)> =
        page["items"].as_array().expect("items").iter().map(|h| (h["id"].as_str().expect("id"), h["totalCents"].as_i64())).collect();
    assert_eq!(hits, [("lisbon-a", Some(30_000)), ("lisbon-c", Some(120_000))], "{page}");
    assert_eq!(page["items"][0]["nights"], 3);
    let offers: Vec<(&str, i64, i64)> = page["items"][0]["roomTypes"]
        .as_array()
        .expect("offers")
        .iter()
        .map(|o| (o["name"].as_str().expect("name"), o["totalCents"].as_i64().expect("total"), o["available"].as_i64().expect("left")))
        .collect();
    assert_eq!(offers, [("double", 30_000, 2), ("suite", 75_000, 1)]);

    // A stay after the closed night finds b again.
    let later = format!("city=Lisbon&checkIn={}&checkOut={}&sort=price", days_from_now(4), days_from_now(6));
    assert_eq!(app.ids(&later).await, ["lisbon-b", "lisbon-a", "lisbon-c"]);
    // Party size and rooms: 3 guests need a suite; 5 guests in 2 rooms need two suites (only c has them).
    assert_eq!(app.ids(&format!("{stay}&guests=3&sort=price")).await, ["lisbon-a", "lisbon-c"]);
    assert!(app.ids(&format!("{stay}&guests=5")).await.is_empty());
    assert_eq!(app.ids(&format!("{stay}&guests=5&rooms=2")).await, ["lisbon-c"]);
    let (_, page, _) = app.search(&format!("{stay}&guests=4&rooms=2&sort=price")).await;
    assert_eq!(page["items"][0]["totalCents"], 60_000, "two doubles for three nights");
    // The price range applies to the total for the stay.
    assert_eq!(app.ids(&format!("{stay}&maxPrice=50000")).await, ["lisbon-a"]);
    assert_eq!(app.ids(&format!("{stay}&minPrice=100000")).await, ["lisbon-c"]);
    // Sorting dated results by price, rating and popularity.
    assert_eq!(app.ids(&format!("{stay}&sort=-price")).await, ["lisbon-c", "lisbon-a"]);
    assert_eq!(app.ids(&format!("{stay}&sort=rating&order=asc")).await, ["lisbon-a", "lisbon-c"]);
    // Beyond the 20 generated nights nothing is for sale.
    let beyond = format!("city=Lisbon&checkIn={}&checkOut={}", days_from_now(19), days_from_now(21));
    assert!(app.ids(&beyond).await.is_empty());
    // Pagination of dated results.
    let (_, page, _) = app.search(&format!("{later}&pageSize=2&page=2")).await;
    assert_eq!((page["total"].as_u64(), page["items"][0]["id"].as_str()), (Some(3), Some("lisbon-c")));
}

#[tokio::test]
async fn hotel_detail_and_bad_queries() {
    let app = seeded().await;
    let r = app.http.get(format!("{}/hotels/lisbon-c", app.url)).send().await.expect("get");
    assert_eq!(r.status(), 200);
    let h: serde_json::Value = r.json().await.expect("json");
    assert_eq!((h["name"].as_str(), h["rating"].as_f64(), h["popularity"].as_i64()), (Some("Hotel in Lisbon"), Some(4.8), Some(2)));
    assert_eq!(h["roomTypes"][0]["name"], "suite");
    let r = app.http.get(format!("{}/hotels/nowhere", app.url)).send().await.expect("get");
    assert_eq!(r.status(), 404);

    let (status, body, _) = app.search(&format!("checkIn=tomorrow&guests=0&sort=name&checkOut={}", days_from_now(3))).await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (422, Some("validation_failed")));
    let named: Vec<&str> =
        body["error"]["details"].as_array().expect("details").iter().map(|f| f["field"].as_str().expect("field")).collect();
    assert_eq!(named, ["checkIn", "guests", "sort"]);
}

#[tokio::test]
async fn the_documented_bounds_are_accepted_and_one_past_them_is_a_422() {
    use tripnest_common::page::{MAX_PAGE, MAX_PAGE_SIZE};
    use tripnest_search::query::{MAX_GUESTS, MAX_ROOMS};
    let app = spawn_app().await;
    let (status, body, _) = app.search(&format!("guests={MAX_GUESTS}&rooms={MAX_ROOMS}&page={MAX_PAGE}&pageSize={MAX_PAGE_SIZE}")).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert_eq!((body["items"].as_array().map(Vec::len), body["page"].as_u64()), (Some(0), Some(MAX_PAGE.into())));
    for query in [
        format!("guests={}", MAX_GUESTS + 1),
        format!("rooms={}", MAX_ROOMS + 1),
        format!("page={}", u64::from(MAX_PAGE) + 1),
        "stars=4,6".into(),
    ] {
        let (status, body, _) = app.search(&query).await;
        assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (422, Some("validation_failed")), "{query}: {body}");
    }
    let (status, body, _) = app.search("stars=%204%2C%2B5%2C&sort=%20-price&order=DESC").await;
    assert_eq!(status.as_u16(), 200, "spellings the documented patterns allow: {body}");
}
