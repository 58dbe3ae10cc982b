//! The city snapshots seen from a second replica: a `Snapshots` of the test's own, reading the
//! same MongoDB database and Redis namespace the running service's consumer writes.

use crate::{
    filters::{confirmed, rating},
    helpers::*,
};
use mongodb::bson::doc;
use serde_json::json;
use std::{sync::Arc, time::Duration};
use tripnest_e2e::{Stack, fixtures::Popularities};
use tripnest_search::{
    cache::ResultCache,
    snapshot::{CitySnapshot, LoadStats, Snapshots},
    store::{HotelDoc, Store},
};

struct Replica {
    store: Store,
    cache: ResultCache,
    snapshots: Snapshots,
}

impl Replica {
    fn of(app: &TestApp) -> Self {
        let redis = Stack::load().get("REDIS_URL").to_owned();
        let cache = ResultCache::new(Some(&redis), &format!("search:{}", app.mongo.name()), 120).expect("cache");
        Self { store: Store::new(app.mongo.clone()), cache, snapshots: Snapshots::new(Duration::from_secs(120), 5000) }
    }

    async fn generation(&self, city: &str) -> u64 {
        self.cache.generations(&[city.to_owned()]).await.expect("redis")[0]
    }

    /// The city's snapshot at its current generation.
    async fn snapshot(&self, city: &str) -> Arc<CitySnapshot> {
        let generation = self.generation(city).await;
        self.snapshots.city(&self.store, &self.cache, city, Some(generation)).await.expect("snapshot")
    }

    /// Wait up to `within` until the city's generation passes `past`; returns it.
    async fn wait_generation(&self, city: &str, past: u64, within: Duration) -> u64 {
        tripnest_e2e::wait_until(&format!("{city}'s generation to pass {past}"), within, || async {
            let g = self.generation(city).await;
            (g > past).then_some(g)
        })
        .await
    }
}

fn rooms_left(snapshot: &CitySnapshot, hotel: &str, night: chrono::NaiveDate) -> Option<i32> {
    Some(snapshot.hotels.get(hotel)?.calendars.get("double")?.get(&night)?.available)
}

/// Six hotels in `city`, a double each with 3 rooms for 10 nights, all searchable.
async fn city_of_six(app: &TestApp, city: &str) -> Vec<String> {
    let ids: Vec<String> = (0..6).map(|i| format!("{}-{i}", city.to_lowercase())).collect();
    for id in &ids {
        app.add_hotel(id, &hotel(city, 3, &["wifi"], &[("double", 2, 7_000)])).await;
        app.open_rooms(id, "double", 3, 10, json!({})).await;
    }
    let every_night = format!("city={city}&checkIn={}&checkOut={}", days_from_now(0), days_from_now(10));
    let want: Vec<&str> = ids.iter().map(String::as_str).collect();
    app.wait_ids(&every_night, &want).await;
    ids
}

#[tokio::test]
async fn a_change_to_one_hotel_rereads_that_hotel_alone() {
    let app = spawn_app().await;
    let ids = city_of_six(&app, "Coimbra").await;
    let replica = Replica::of(&app);
    let before = replica.snapshot("coimbra").await;
    assert_eq!(before.hotels.len(), 6);
    let loaded = replica.snapshots.stats();
    assert_eq!((loaded.full, loaded.delta), (1, 0));
    assert_eq!(loaded.documents, 12, "each hotel and its calendar, once");

    // A real booking of one room at coimbra-0 for night 4 (its hold is an `availability.changed`)
    // and its `booking.confirmed` (no payment service here to confirm it).
    let night = days_from_now(4);
    let (_, token) = app.issuer.traveller("ada@example.test");
    let body = json!({ "hotelId": "coimbra-0", "roomType": "double", "checkIn": night, "checkOut": days_from_now(5),
                       "guests": 2, "rooms": 1, "paymentMethod": "pm_card_visa" });
    app.book(&token, &body).await;
    app.publish(&confirmed(&mut Popularities::default(), "coimbra-0")).await;
    let dated = format!("city=Coimbra&checkIn={night}&checkOut={}&sort=popularity", days_from_now(5));
    tripnest_e2e::wait_until("the service's own search to show the booking", WAIT, || async {
        let (_, page, _) = app.search(&dated).await;
        let first = &page["items"][0];
        (first["id"] == "coimbra-0" && first["popularity"] == 1 && first["roomTypes"][0]["available"] == 2).then_some(())
    })
    .await;

    // Sixteen searches at once at the new generation: one refresh, shared.
    let generation = replica.generation("coimbra").await;
    let all =
        futures::future::join_all((0..16).map(|_| replica.snapshots.city(&replica.store, &replica.cache, "coimbra", Some(generation))))
            .await;
    let after = all.into_iter().next().expect("one").expect("snapshot");
    let refreshed = replica.snapshots.stats();
    assert_eq!((refreshed.full, refreshed.delta), (1, 1), "one refresh from the change log, shared by all");
    assert!(refreshed.documents - loaded.documents <= 2, "only coimbra-0 and its calendar: {refreshed:?}");
    assert_eq!(rooms_left(&after, "coimbra-0", night), Some(2));
    assert_eq!(after.hotels["coimbra-0"].doc.popularity, 1);
    for id in &ids[1..] {
        assert!(Arc::ptr_eq(&before.hotels[id], &after.hotels[id]), "{id} was not read again");
    }

    // A rating (the hotel document alone) and a hotel new to the city.
    let g = replica.generation("coimbra").await;
    app.publish(&rating("coimbra-3", 4.4, 3)).await;
    app.add_hotel("coimbra-new", &hotel("Coimbra", 5, &["spa"], &[("double", 2, 9_000)])).await;
    app.open_rooms("coimbra-new", "double", 1, 10, json!({})).await;
    let mut want: Vec<&str> = ids.iter().map(String::as_str).collect();
    want.insert(6, "coimbra-new");
    app.wait_ids(&format!("city=Coimbra&checkIn={night}&checkOut={}&sort=price", days_from_now(5)), &want).await;
    // At least two changes: the rating, and the new hotel. Its calendar is a third when it
    // arrives after the hotel; before it (another topic, no order between them), the hotel's
    // own change brings the calendar along.
    replica.wait_generation("coimbra", g + 1, WAIT).await;
    let newer = tripnest_e2e::wait_until("the replica to see the rating and the new hotel", WAIT, || async {
        let s = replica.snapshot("coimbra").await;
        let seen = s.hotels.get("coimbra-3")?.doc.rating == 4.4 && rooms_left(&s, "coimbra-new", night) == Some(1);
        seen.then_some(s)
    })
    .await;
    let stats = replica.snapshots.stats();
    assert_eq!(stats.full, 1, "never reloaded whole: {stats:?}");
    for id in ["coimbra-1", "coimbra-2", "coimbra-4", "coimbra-5"] {
        assert!(Arc::ptr_eq(&after.hotels[id], &newer.hotels[id]), "{id} was not read again");
    }
    assert!(
        Arc::ptr_eq(&after.hotels["coimbra-3"].calendars["double"], &newer.hotels["coimbra-3"].calendars["double"]),
        "a rating re-reads the hotel document, not its calendar"
    );
}

#[tokio::test]
async fn a_snapshot_the_change_log_no_longer_covers_reloads_whole() {
    let app = spawn_app().await;
    city_of_six(&app, "Viseu").await;
    let replica = Replica::of(&app);
    replica.snapshot("viseu").await;
    assert_eq!(replica.snapshots.stats(), LoadStats { full: 1, delta: 0, documents: 12 });

    // More changes than the log keeps: ratings of one hotel, each newer than the last.
    let g = replica.generation("viseu").await;
    let changes = tripnest_search::cache::LOG_LEN + 8;
    let first = rating("viseu-2", 1.0, 1);
    for i in 0..changes {
        let mut event = rating("viseu-2", 1.0 + (i % 40) as f64 / 10.0, i as i64 + 1);
        event.time = first.time + chrono::Duration::milliseconds(i as i64);
        app.publish(&event).await;
    }
    let last = i64::try_from(changes).expect("count");
    // Hundreds of events: a longer deadline for a loaded machine.
    replica.wait_generation("viseu", g + changes - 1, Duration::from_secs(180)).await;
    let reloaded = tripnest_e2e::wait_until("the replica to see the last rating", WAIT, || async {
        let s = replica.snapshot("viseu").await;
        (s.hotels.get("viseu-2")?.doc.review_count == last).then_some(s)
    })
    .await;
    let stats = replica.snapshots.stats();
    assert!(stats.full >= 2, "the log was trimmed past the snapshot: a full reload ({stats:?})");
    assert_eq!(reloaded.hotels.len(), 6);

    // A bump without a log entry (a change nobody named) also reloads the city whole.
    let (full, g) = (replica.snapshots.stats().full, replica.generation("viseu").await);
    replica.snapshot("viseu").await;
    assert_eq!(replica.snapshots.stats().full, full, "nothing changed: reused");
    replica.cache.invalidate(&["viseu".to_owned()]).await;
    replica.wait_generation("viseu", g, WAIT).await;
    replica.snapshot("viseu").await;
    assert_eq!(replica.snapshots.stats().full, full + 1);
}

#[tokio::test]
async fn an_expired_snapshot_is_served_at_once_and_reloaded_whole_behind_the_search() {
    let app = spawn_app().await;
    city_of_six(&app, "Braga").await;
    let mut replica = Replica::of(&app);
    // Every snapshot expires as soon as it is loaded: each search starts a reload (one at a time).
    replica.snapshots = Snapshots::new(Duration::ZERO, 5000);
    let first = replica.snapshot("braga").await;
    assert_eq!(first.hotels["braga-1"].doc.stars, 3);
    tripnest_e2e::wait_until("the background reload of an expired snapshot", WAIT, || async {
        (replica.snapshots.stats().full >= 2).then_some(())
    })
    .await;

    // A change no generation bump names (the case the TTL guards against): the held snapshot is
    // still served at the same generation, without waiting for a load, until a reload shows it.
    let hotels = app.mongo.collection::<mongodb::bson::Document>("hotels");
    hotels.update_one(doc! { "_id": "braga-1" }, doc! { "$set": { "stars": 5 } }).await.expect("update");
    let generation = replica.generation("braga").await;
    let seen = tripnest_e2e::wait_until("a reload to pick up the unnamed change", WAIT, || async {
        let s = replica.snapshots.city(&replica.store, &replica.cache, "braga", Some(generation)).await.expect("snapshot");
        (s.hotels["braga-1"].doc.stars == 5).then_some(s)
    })
    .await;
    assert_eq!(seen.hotels.len(), 6);
    assert_eq!(replica.snapshots.stats().delta, 0, "nothing was named in the change log");
    assert_eq!(replica.generation("braga").await, generation);
}

#[tokio::test]
async fn hotels_stored_before_the_city_index_are_indexed_once_at_startup() {
    let (db, _, _database) = fresh_read_model().await;
    // Hotel documents as an earlier version wrote them: no `cityIndex` collection at all.
    let hotels = db.collection::<HotelDoc>("hotels");
    let stored = |id: &str, city: &str, on_sale: bool| HotelDoc {
        id: id.into(),
        on_sale,
        city: city.into(),
        city_key: city.to_lowercase(),
        ..HotelDoc::default()
    };
    for h in
        [stored("old-1", "Lagos", true), stored("old-2", "Lagos", true), stored("old-3", "Tavira", true), stored("gone", "Lagos", false)]
    {
        hotels.insert_one(h).await.expect("insert");
    }
    let store = Store::new(db.clone());
    assert!(store.city_hotel_ids("lagos").await.expect("ids").is_empty());
    assert!(store.build_city_index().await.expect("build"), "the first start builds it");
    let mut lagos = store.city_hotel_ids("lagos").await.expect("ids");
    lagos.sort();
    assert_eq!(lagos, ["old-1", "old-2"]);
    let mut cities = store.city_keys().await.expect("cities");
    cities.sort();
    assert_eq!(cities, ["lagos", "tavira"]);
    assert!(!store.build_city_index().await.expect("again"), "later starts do not scan again");

    // Without Redis (no generation) every search loads afresh, by key.
    let no_redis = ResultCache::new(None, "unused", 120).expect("cache");
    let snapshots = Snapshots::new(Duration::from_secs(120), 5000);
    for _ in 0..2 {
        let s = snapshots.city(&store, &no_redis, "lagos", None).await.expect("snapshot");
        assert_eq!(s.hotels.keys().collect::<Vec<_>>(), ["old-1", "old-2"]);
    }
    let all = snapshots.everywhere(&store, &no_redis, None).await.expect("everywhere");
    assert_eq!(all.iter().map(|c| c.hotels.len()).sum::<usize>(), 3);
    assert_eq!(snapshots.stats().full, 4);
    db.collection::<mongodb::bson::Document>("cityIndex").delete_one(doc! { "_id": "built" }).await.expect("delete");
    assert!(store.build_city_index().await.expect("rebuild"), "a missing marker builds again (idempotently)");
    assert_eq!(store.city_hotel_ids("lagos").await.expect("ids").len(), 2);
}

#[tokio::test]
async fn a_starting_replica_loads_every_city_before_its_first_search() {
    let app = spawn_app().await;
    city_of_six(&app, "Faro").await;
    city_of_six(&app, "Evora").await;
    let replica = Replica::of(&app);
    let warmed = replica.snapshots.warm_up(&replica.store, &replica.cache);
    tripnest_e2e::wait_until("the replica to load its cities", WAIT, || async {
        warmed.load(std::sync::atomic::Ordering::Acquire).then_some(())
    })
    .await;
    let loaded = replica.snapshots.stats();
    assert_eq!((loaded.full, loaded.documents), (2, 24), "two cities, six hotels and six calendars each");
    assert_eq!(replica.snapshot("faro").await.hotels.len(), 6);
    assert_eq!(replica.snapshot("evora").await.hotels.len(), 6);
    assert_eq!(replica.snapshots.stats(), loaded, "searches after start load nothing");

    // Without Redis nothing is kept, so nothing is loaded, and the replica is ready at once.
    let no_redis = ResultCache::new(None, "unused", 120).expect("cache");
    let plain = Snapshots::new(Duration::from_secs(120), 5000);
    assert!(plain.warm_up(&replica.store, &no_redis).load(std::sync::atomic::Ordering::Acquire));
    assert_eq!(plain.stats().full, 0);
}

#[tokio::test]
async fn replicas_indexing_hotels_of_one_city_at_once_lose_none() {
    use futures::StreamExt;
    let (db, cache, _database) = fresh_read_model().await;
    // Eight writers at once, as eight replicas consuming different partitions would be.
    let replicas: Vec<Store> = (0..8).map(|_| Store::new(db.clone()).with_locks(cache.clone())).collect();
    let hotel = |i: usize| catalog(&format!("h-{i:02}"), if i.is_multiple_of(2) { "Lagos" } else { "Tavira" }, &[]);
    futures::stream::iter(0..40)
        .map(|i| {
            let (store, hotel) = (&replicas[i % 8], hotel(i));
            async move { store.upsert_hotel(&hotel, 1).await.expect("upsert") }
        })
        .buffer_unordered(8)
        .collect::<Vec<_>>()
        .await;
    let mut lagos = replicas[0].city_hotel_ids("lagos").await.expect("ids");
    lagos.sort();
    let want: Vec<String> = (0..40).step_by(2).map(|i| format!("h-{i:02}")).collect();
    assert_eq!(lagos, want);
    assert_eq!(replicas[0].city_hotel_ids("tavira").await.expect("ids").len(), 20);
    let mut cities = replicas[0].city_keys().await.expect("cities");
    cities.sort();
    assert_eq!(cities, ["lagos", "tavira"]);
}
