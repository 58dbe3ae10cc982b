use crate::helpers::*;
use serde_json::json;
use std::time::{Duration, Instant};
use tripnest_e2e::Stack;
use tripnest_search::cache::ResultCache;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

/// Time each query; `before_each` runs first, untimed (e.g. a change that makes the city stale).
async fn measure<F: Future<Output = ()>>(
    app: &TestApp,
    label: &str,
    queries: impl Iterator<Item = String>,
    want_cache: &str,
    before_each: impl Fn() -> F,
) {
    let mut times = Vec::new();
    let mut total = Duration::ZERO;
    for q in queries {
        before_each().await;
        let t = Instant::now();
        let (status, _, cache) = app.search(&q).await;
        times.push(t.elapsed());
        total += t.elapsed();
        assert_eq!((status.as_u16(), cache.as_str()), (200, want_cache), "{q}");
    }
    times.sort();
    println!(
        "{label}: n={} p50={:?} p99={:?} rps={:.0} (one client, sequential)",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.len() as f64 / total.as_secs_f64()
    );
}

/// Latency of `GET /hotels` straight to the service (no gateway), for a cache hit, a miss on an
/// unchanged city (served from the in-process snapshot) and a miss right after a change to the
/// city (the snapshot reloads from MongoDB). `SEARCH_BENCH_HOTELS` hotels (default 40).
/// `cargo test -p tripnest-search --test api latency -- --ignored --nocapture`
#[tokio::test]
#[ignore = "a measurement, not a check; run on demand"]
async fn search_latency_on_cache_hit_and_miss() {
    let app = spawn_app().await;
    let hotels: u32 = std::env::var("SEARCH_BENCH_HOTELS").ok().and_then(|n| n.parse().ok()).unwrap_or(40);
    for i in 0..hotels {
        let id = format!("bench-{i}");
        app.add_hotel(&id, &hotel("Lisbon", 1 + (i % 5) as u8, &["wifi"], &[("double", 2, 8_000 + i64::from(i) * 100)])).await;
        app.open_rooms(&id, "double", 5, 30, json!({})).await;
    }
    // Every hotel searchable on every night: all catalog and availability events applied (on a
    // dated query with a fresh price floor each time, so never a cached answer).
    let settled = std::sync::atomic::AtomicU32::new(0);
    tripnest_e2e::wait_until("every hotel searchable", Duration::from_secs(300), || async {
        let floor = settled.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let all_nights = format!("city=Lisbon&checkIn={}&checkOut={}&pageSize=1&minPrice={floor}", days_from_now(0), days_from_now(30));
        let (_, page, _) = app.search(&all_nights).await;
        (page["total"] == hotels).then_some(())
    })
    .await;
    let stay = format!("city=Lisbon&checkIn={}&checkOut={}&guests=2&sort=price", days_from_now(3), days_from_now(6));
    let n = 300;
    let unchanged = || async {};
    // Every query distinct (a different price floor that filters nothing out): all misses.
    measure(&app, "miss, dated", (0..n).map(|i| format!("{stay}&minPrice={i}")), "miss", unchanged).await;
    measure(&app, "miss, no dates", (0..n).map(|i| format!("city=Lisbon&sort=price&minPrice={i}")), "miss", unchanged).await;
    // What the consumer does after applying a change in Lisbon: the next search reloads the city.
    let redis = Stack::load().get("REDIS_URL").to_owned();
    let cache = ResultCache::new(Some(&redis), &format!("search:{}", app.mongo.name()), 120).expect("cache");
    let changed = || async { cache.invalidate(&["lisbon".to_owned()]).await };
    measure(&app, "miss after a change, dated", (0..n / 3).map(|i| format!("{stay}&minPrice={i}")), "miss", changed).await;
    app.search(&stay).await;
    measure(&app, "hit, dated", (0..n).map(|_| stay.clone()), "hit", unchanged).await;
}

/// One search miss right after one availability change in the searched city, three ways:
/// - `before`: what a miss did before issue 14 — scan `hotels` for the city, then `calendars`
///   with `hotelId: {$in}` (FerretDB reads every document of both);
/// - `delta`: now — re-read the changed calendar by `_id` into the held snapshot;
/// - `full`: now, on a cold replica or a gap in the change log — the city by keys.
///
/// `SEARCH_BENCH_CITIES` cities (default 4) × `SEARCH_BENCH_PER_CITY` hotels (default 50),
/// each with two room types of 365 nights, written straight into a fresh read model with the
/// consumer's own store functions (no booking service needed).
/// `cargo test -p tripnest-search --test api miss_after_an_availability_change -- --ignored --nocapture`
#[tokio::test]
#[ignore = "a measurement, not a check; run on demand"]
async fn search_miss_after_an_availability_change() {
    use chrono::{Days, Utc};
    use futures::{StreamExt, TryStreamExt};
    use mongodb::bson::doc;
    use std::{collections::HashMap, sync::Arc};
    use tripnest_common::saga::NightAvailability;
    use tripnest_search::{
        cache::Change,
        query::{RawSearch, SearchQuery},
        results,
        snapshot::{HotelEntry, Snapshots},
        store::{CalendarDoc, HotelDoc, Store},
    };

    let env = |name: &str, default: usize| std::env::var(name).ok().and_then(|n| n.parse().ok()).unwrap_or(default);
    let (cities, per_city) = (env("SEARCH_BENCH_CITIES", 4), env("SEARCH_BENCH_PER_CITY", 50));
    let (db, cache, _database) = fresh_read_model().await;
    let store = Store::new(db.clone()).with_locks(cache.clone());
    let today = Utc::now().date_naive();
    let night = |n: u64| today.checked_add_days(Days::new(n)).expect("date");
    let year: Vec<NightAvailability> =
        (0..365).map(|n| NightAvailability { night: night(n), available: 5, price_cents: 9_000 + n as i64 }).collect();

    let seeding = Instant::now();
    let hotels: Vec<(String, String)> =
        (0..cities).flat_map(|c| (0..per_city).map(move |h| (format!("city-{c}"), format!("h-{c}-{h}")))).collect();
    futures::stream::iter(&hotels)
        .map(|(city, id)| {
            let (store, year) = (&store, &year);
            async move {
                let h = catalog(id, city, &[("double", 2), ("suite", 4)]);
                store.upsert_hotel(&h, 1).await.expect("hotel");
                for rt in ["double", "suite"] {
                    store.replace_nights(id, rt, Some((night(0), night(365))), year, today).await.expect("nights");
                }
            }
        })
        .buffer_unordered(8)
        .collect::<Vec<()>>()
        .await;
    println!("seeded {} hotels, {} calendars of 365 nights in {:?}", hotels.len(), hotels.len() * 2, seeding.elapsed());
    assert_eq!(store.city_hotel_ids("city-0").await.expect("index").len(), per_city, "concurrent upserts all indexed");

    let uri: axum::http::Uri =
        format!("/hotels?city=city-0&checkIn={}&checkOut={}&guests=2&sort=price", night(3), night(6)).parse().expect("uri");
    let q = SearchQuery::parse(axum::extract::Query::<RawSearch>::try_from_uri(&uri).expect("query").0, today).expect("valid");
    let (hotel_docs, calendar_docs) = (db.collection::<HotelDoc>("hotels"), db.collection::<CalendarDoc>("calendars"));
    let before = || async {
        let hotels: Vec<HotelDoc> = hotel_docs
            .find(doc! { "onSale": true, "cityKey": "city-0" })
            .sort(doc! { "_id": 1 })
            .limit(5000)
            .await
            .expect("find")
            .try_collect()
            .await
            .expect("hotels");
        let ids: Vec<&String> = hotels.iter().map(|h| &h.id).collect();
        let cals: Vec<CalendarDoc> =
            calendar_docs.find(doc! { "hotelId": { "$in": ids } }).await.expect("find").try_collect().await.expect("calendars");
        let mut by_hotel: HashMap<String, HashMap<String, Arc<_>>> = HashMap::new();
        for c in cals {
            by_hotel.entry(c.hotel_id).or_default().insert(c.room_type, Arc::new(c.nights));
        }
        let entries: Vec<HotelEntry> =
            hotels.into_iter().map(|doc| HotelEntry { calendars: by_hotel.remove(&doc.id).unwrap_or_default(), doc }).collect();
        results::search(entries.iter(), &q).total
    };
    let warm = Snapshots::new(Duration::from_secs(3600), 5000);
    let current = || async { cache.generations(&["city-0".to_owned()]).await.expect("redis")[0] };
    warm.city(&store, &cache, "city-0", Some(current().await)).await.expect("warm up");

    let (mut old, mut delta, mut full) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..60_u64 {
        // One availability change, as the consumer applies it.
        let id = format!("h-0-{}", i as usize % per_city);
        let changed = [NightAvailability { night: night(4), available: (i % 4) as i32 + 1, price_cents: 9_004 }];
        store.replace_nights(&id, "double", None, &changed, today).await.expect("change");
        cache.record(&["city-0".to_owned()], &Change { hotel: id, room_type: Some("double".into()) }).await;

        let t = Instant::now();
        let snapshot = warm.city(&store, &cache, "city-0", Some(current().await)).await.expect("delta");
        let found = results::search(snapshot.entries(), &q).total;
        delta.push(t.elapsed());

        let t = Instant::now();
        assert_eq!(before().await, found);
        old.push(t.elapsed());

        let t = Instant::now();
        let cold = Snapshots::new(Duration::from_secs(3600), 5000);
        let snapshot = cold.city(&store, &cache, "city-0", Some(current().await)).await.expect("full");
        assert_eq!(results::search(snapshot.entries(), &q).total, found);
        full.push(t.elapsed());
    }
    let stats = warm.stats();
    assert_eq!((stats.full, stats.delta), (1, 60), "every change refreshed from the log");
    for (label, mut times) in [("before (two scans)", old), ("now, delta", delta), ("now, full by keys", full)] {
        times.sort();
        println!("{label}: n={} p50={:?} p99={:?}", times.len(), percentile(&times, 0.5), percentile(&times, 0.99));
    }
}
