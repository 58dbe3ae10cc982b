use crate::helpers::*;

#[tokio::test]
async fn anonymous_callers_get_the_popular_hotels_of_a_city() {
    let app = spawn_app().await;
    for event in [
        hotel("faro-1", "Faro", &["pool"], 9_000),
        hotel("faro-2", "Faro", &[], 7_000),
        hotel("faro-3", "Faro", &[], 8_000),
        hotel("porto-1", "Porto", &[], 9_000),
    ] {
        app.publish(&event).await;
    }
    let (guest, _) = app.issuer.traveller("guest@example.test");
    let (mut stays, mut counts) = (Vec::new(), Popularities::default());
    for (hotel, n) in [("faro-1", 2), ("faro-2", 3), ("porto-1", 5)] {
        for i in 0..n {
            let s = stay(guest, hotel, 5 + i, 1, 9_000);
            app.publish(&counts.confirmed(&s)).await;
            stays.push(s);
        }
    }
    let body = app.wait_ids(None, "city=Faro", "popular", &["faro-2", "faro-1", "faro-3"], |b| scores(b) == [3.0, 2.0, 0.0]).await;
    assert_eq!(body["items"][0]["reasons"][0]["text"], "Booked 3 times by other travellers");
    assert_eq!(body["items"][2]["reasons"].as_array().map(Vec::len), Some(0));
    app.wait_ids(None, "limit=2", "popular", &["porto-1", "faro-2"], |b| scores(b) == [5.0, 3.0]).await;

    // A cancellation and a rating reorder them: equal stays, the better rated first.
    let faro2 = stays.iter().find(|s| s.hotel_id == "faro-2").expect("faro-2 stay");
    app.publish(&counts.cancelled(faro2)).await;
    app.publish(&rating("faro-1", 4.5, 2)).await;
    let body = app.wait_ids(None, "city=faro", "popular", &["faro-1", "faro-2", "faro-3"], |b| b["items"][0]["reviewCount"] == 2).await;
    assert_eq!(scores(&body), [2.0, 2.0, 0.0]);
    assert_eq!(body["items"][0]["reasons"][1]["text"], "Rated 4.5/5 by 2 guests");

    // Bad input and bad tokens are refused, not silently treated as anonymous.
    let (status, body) = app.recommend(None, "limit=0&checkIn=someday").await;
    assert_eq!(status, 422);
    let fields: Vec<&str> =
        body["error"]["details"].as_array().expect("details").iter().map(|f| f["field"].as_str().expect("field")).collect();
    assert_eq!(fields, ["checkIn", "checkOut", "limit"], "checkOut is missing too");
    let (status, _) = app.recommend(Some("not-a-token"), "city=Faro").await;
    assert_eq!(status, 401);
}
