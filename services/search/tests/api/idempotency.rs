use crate::{
    filters::{confirmed, rating},
    helpers::*,
};
use chrono::Duration as Span;
use tripnest_e2e::fixtures::Popularities;

#[tokio::test]
async fn duplicate_and_stale_events_change_nothing() {
    let app = spawn_app().await;
    app.add_hotel("evora-1", &hotel("Evora", 4, &["wifi"], &[("double", 2, 7_000)])).await;
    app.wait_ids("city=Evora", &["evora-1"]).await;

    // A rating, delivered twice, then an older one that arrives late.
    let newer = rating("evora-1", 4.2, 7);
    let mut older = rating("evora-1", 3.0, 6);
    older.time = newer.time - Span::seconds(10);
    app.publish(&newer).await;
    app.publish(&newer).await;
    app.publish(&older).await;
    // Booking's counts: a confirmation delivered twice, another confirmation and its
    // cancellation, then that confirmation again, late (its count is older than the
    // cancellation's).
    let mut counts = Popularities::default();
    let stay = confirmed(&mut counts, "evora-1");
    app.publish(&stay).await;
    app.publish(&stay).await;
    let other = confirmed(&mut counts, "evora-1");
    app.publish(&other).await;
    app.publish(&counts.cancelled(&other.data.stay)).await;
    app.publish(&other).await;
    // One marker per topic after them (each test topic has one partition, so order holds):
    // once all three markers are applied, everything before them was consumed.
    let marker_confirmed = confirmed(&mut counts, "marker-c");
    app.publish(&rating("marker-r", 1.0, 1)).await;
    app.publish(&marker_confirmed).await;
    let marker_x = confirmed(&mut counts, "marker-x");
    app.publish(&counts.cancelled(&marker_x.data.stay)).await;
    let hotels = app.mongo.collection::<mongodb::bson::Document>("hotels");
    tripnest_e2e::wait_until("the markers to be applied", WAIT, || async {
        let n = hotels.count_documents(mongodb::bson::doc! { "_id": { "$in": ["marker-r", "marker-c", "marker-x"] } }).await.ok()?;
        (n == 3).then_some(())
    })
    .await;

    let (_, page, _) = app.search("city=Evora").await;
    let h = &page["items"][0];
    assert_eq!((h["rating"].as_f64(), h["reviewCount"].as_i64()), (Some(4.2), Some(7)), "the older rating lost: {h}");
    assert_eq!(h["popularity"], 1, "booking's latest count: the late confirmation did not roll it back");
    // Hotels known only from ratings or bookings are not for sale.
    assert_eq!(app.ids("sort=price").await, ["evora-1"]);
}
