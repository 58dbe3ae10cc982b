use crate::helpers::*;

fn reasons(item: &serde_json::Value) -> Vec<(String, String)> {
    item["reasons"]
        .as_array()
        .expect("reasons")
        .iter()
        .map(|r| (r["factor"].as_str().expect("factor").to_owned(), r["text"].as_str().expect("text").to_owned()))
        .collect()
}

#[tokio::test]
async fn recommendations_change_after_a_confirmed_stay() {
    let app = spawn_app().await;
    for event in [
        hotel("porto-pool", "Porto", &["wifi", "pool"], 10_000),
        hotel("porto-spa", "Porto", &["spa"], 40_000),
        hotel("lisbon-pool", "Lisbon", &["wifi", "pool"], 11_000),
        hotel("lisbon-lux", "Lisbon", &["spa", "gym"], 35_000),
    ] {
        app.publish(&event).await;
    }
    app.publish(&rating("lisbon-lux", 4.9, 20)).await;
    let (someone, _) = app.issuer.traveller("someone@example.test");
    let mut counts = Popularities::default();
    app.publish(&counts.confirmed(&stay(someone, "lisbon-lux", 30, 2, 35_000))).await;
    let (ada, token) = app.issuer.traveller("ada@example.test");

    // No stays yet: the popular choice leads.
    let before = app
        .wait_ids(Some(&token), "", "popular", &["lisbon-lux", "lisbon-pool", "porto-pool", "porto-spa"], |b| {
            b["items"][0]["reviewCount"] == 20
        })
        .await;
    assert!(before["profile"].is_null());

    // Ada stays at a 100 € Porto hotel with wifi and a pool.
    let porto = stay(ada, "porto-pool", 10, 3, 10_000);
    app.publish(&counts.confirmed(&porto)).await;
    let after = app.wait_ids(Some(&token), "", "personal", &["porto-pool", "lisbon-pool", "porto-spa", "lisbon-lux"], |_| true).await;
    assert_eq!(after["profile"]["stays"], 1);
    assert_eq!(after["profile"]["nightlyCents"], 10_000);
    let twin = &after["items"][1];
    assert_eq!(
        reasons(twin),
        [
            ("price".to_owned(), "From 110.00 EUR a night, close to your usual 100.00 EUR".to_owned()),
            ("amenities".to_owned(), "Has pool, wifi, like the hotels you booked".to_owned())
        ]
    );
    assert_eq!(twin["score"], 46.6);
    assert_eq!(reasons(&after["items"][2])[0], ("city".to_owned(), "You stayed in Porto before".to_owned()));
    assert_eq!(reasons(&after["items"][3]), [("rating".to_owned(), "Rated 4.9/5 by 20 guests".to_owned())]);

    // Searching for dates that overlap her stay leaves out the hotel she already booked.
    let overlapping = format!("checkIn={}&checkOut={}", day(11), day(15));
    assert_eq!(app.ids(Some(&token), &overlapping).await.1, ["lisbon-pool", "porto-spa", "lisbon-lux"]);
    let later = format!("checkIn={}&checkOut={}", day(13), day(15));
    assert_eq!(app.ids(Some(&token), &later).await.1[0], "porto-pool");
    assert_eq!(app.ids(Some(&token), "city=lisbon").await.1, ["lisbon-pool", "lisbon-lux"]);

    // A loved stay in Lisbon and a disliked one in Porto: Lisbon becomes her city.
    let lisbon = stay(ada, "lisbon-lux", 20, 2, 35_000);
    app.publish(&counts.confirmed(&lisbon)).await;
    app.publish(&reviewed(&lisbon, 5)).await;
    app.publish(&reviewed(&porto, 1)).await;
    let loved = tripnest_e2e::wait_until("the reviews to shape the profile", WAIT, || async {
        let (_, body) = app.recommend(Some(&token), "").await;
        (body["profile"]["cities"][0][0] == "Lisbon" && body["profile"]["stays"] == 2).then_some(body)
    })
    .await;
    assert_eq!(loved["items"][0]["id"], "lisbon-lux");
    // A cancelled stay no longer counts.
    app.publish(&counts.cancelled(&lisbon)).await;
    tripnest_e2e::wait_until("the cancellation to drop the Lisbon stay", WAIT, || async {
        let (_, body) = app.recommend(Some(&token), "").await;
        (body["profile"]["stays"] == 1).then_some(())
    })
    .await;
}
