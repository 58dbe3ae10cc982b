//! The in-memory catalog and profiles follow the consumer's change logs: the catalog re-reads
//! only the hotels its log names, the profile cache drops only the travellers its log names, and
//! both start over when a log cannot say what changed.

use crate::helpers::*;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tripnest_e2e::{Stack, TestMongo, fixtures::Popularities, wait_until};
use tripnest_recommendation::{
    catalog::{self, CatalogCache, CatalogLog, Refresh},
    profiles::ProfileCache,
    store::Store,
};
use uuid::Uuid;

async fn shows(cache: &CatalogCache, hotel: &str, city: &str) -> bool {
    cache.current().on_sale(Some(city)).any(|h| h.id == hotel)
}

/// A fresh store logging its changes under `<database>:catalog` (returned), the same collections
/// written without the log (a change whose record was lost), hotel `a` in Porto, and the
/// database's guard.
async fn logged_store() -> (Stack, String, Store, Store, TestMongo) {
    let stack = Stack::load();
    let database = fresh_database();
    let prefix = format!("{}:catalog", &*database);
    let store = fresh_store(&database).await.with_log(CatalogLog::new(stack.get("REDIS_URL"), &prefix).expect("log"));
    let unlogged = fresh_store(&database).await;
    store.upsert_hotel(&hotel("a", "Porto", &[], 10_000).data, 1).await.expect("hotel a");
    (stack, prefix, store, unlogged, database)
}

#[tokio::test]
async fn the_catalog_rereads_what_its_change_log_names_and_loads_whole_when_the_log_cannot_say() {
    let (stack, prefix, store, unlogged, _database) = logged_store().await;

    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let refresh = Refresh { every: Duration::from_millis(50), full_every: Duration::from_secs(3600) };
    let cache = catalog::start(store.clone(), refresh, ProfileCache::new(0, Duration::ZERO), shutdown).await.expect("catalog");
    assert!(shows(&cache, "a", "porto").await, "the first load holds hotel a");

    // Logged changes show: a stay makes hotel a popular, hotel b goes on sale.
    let popularity = Popularities::default().count("a", 1);
    store.record_stay(&stay(Uuid::now_v7(), "a", 5, 2, 10_000), true, false, Some(popularity)).await.expect("stay");
    store.upsert_hotel(&hotel("b", "Porto", &[], 12_000).data, 1).await.expect("hotel b");
    wait_until("hotel b and hotel a's stay in the catalog", WAIT, || async {
        let now = cache.current();
        (now.hotel("a").map(|h| h.popularity) == Some(1) && shows(&cache, "b", "porto").await).then_some(())
    })
    .await;

    // Hotel c is written unlogged, then hotel d logged: following the log re-reads d only.
    unlogged.upsert_hotel(&hotel("c", "Porto", &[], 9_000).data, 1).await.expect("hotel c");
    store.upsert_hotel(&hotel("d", "Porto", &[], 9_500).data, 1).await.expect("hotel d");
    wait_until("hotel d in the catalog", WAIT, || async { shows(&cache, "d", "porto").await.then_some(()) }).await;
    assert!(!shows(&cache, "c", "porto").await, "an unlogged change is not read by following the log");
    assert_eq!(cache.current().hotel("a").map(|h| h.popularity), Some(1), "re-reading d kept a's popularity");

    // The log trimmed past the reader (a generation with no entry): it loads everything.
    let mut redis = tripnest_common::changelog::connect(stack.get("REDIS_URL")).expect("redis");
    redis::pipe().del(format!("{prefix}:log")).incr(format!("{prefix}:gen"), 1).query_async::<()>(&mut redis).await.expect("trim");
    wait_until("hotel c after a full load", WAIT, || async { shows(&cache, "c", "porto").await.then_some(()) }).await;
    assert_eq!(cache.current().hotel("a").map(|h| h.popularity), Some(1), "the full load reads popularity too");
}

#[tokio::test]
async fn profiles_are_served_from_memory_until_their_change_log_names_them() {
    let (stack, prefix, store, unlogged, _database) = logged_store().await;
    let (ada, bob) = (Uuid::now_v7(), Uuid::now_v7());
    let (ada_id, bob_id) = (ada.to_string(), bob.to_string());
    store.record_stay(&stay(ada, "a", 5, 2, 10_000), true, false, None).await.expect("ada's first stay");

    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let refresh = Refresh { every: Duration::from_millis(50), full_every: Duration::from_secs(3600) };
    let profiles = ProfileCache::new(100, Duration::from_secs(3600));
    catalog::start(store.clone(), refresh, profiles.clone(), shutdown).await.expect("catalog");
    assert_eq!(profiles.get(&store, &ada_id).await.expect("read").stays.len(), 1);
    assert_eq!(profiles.get(&store, &bob_id).await.expect("read").stays.len(), 0);
    assert_eq!(profiles.len(), 2, "both kept");

    // A change whose record was lost is not seen: the profile is answered from memory.
    unlogged.record_stay(&stay(ada, "a", 20, 1, 10_000), true, false, None).await.expect("unlogged stay");
    assert_eq!(profiles.get(&store, &ada_id).await.expect("read").stays.len(), 1, "served from memory");

    // A logged change to bob drops bob alone.
    store.record_stay(&stay(bob, "a", 9, 1, 10_000), true, false, None).await.expect("bob's stay");
    wait_until("bob's stay to show", WAIT, || async { (profiles.get(&store, &bob_id).await.ok()?.stays.len() == 1).then_some(()) }).await;
    assert_eq!(profiles.get(&store, &ada_id).await.expect("read").stays.len(), 1, "ada was not read again");

    // The log trimmed past the cache (a generation with no entry): it starts over, and ada's
    // unlogged stay shows.
    let mut redis = tripnest_common::changelog::connect(stack.get("REDIS_URL")).expect("redis");
    let log = format!("{prefix}:profiles");
    redis::pipe().del(format!("{log}:log")).incr(format!("{log}:gen"), 1).query_async::<()>(&mut redis).await.expect("trim");
    wait_until("ada's unlogged stay after the cache starts over", WAIT, || async {
        (profiles.get(&store, &ada_id).await.ok()?.stays.len() == 2).then_some(())
    })
    .await;

    // A profile older than its bound is read again, logged or not.
    let young = ProfileCache::new(100, Duration::ZERO);
    young.follow(store.log().expect("log")).await;
    assert_eq!(young.get(&store, &ada_id).await.expect("read").stays.len(), 2);
    unlogged.record_stay(&stay(ada, "a", 30, 1, 10_000), true, false, None).await.expect("another unlogged stay");
    assert_eq!(young.get(&store, &ada_id).await.expect("read").stays.len(), 3, "expired at once: read again");

    // Without a change log nothing is cached: every read goes to MongoDB.
    let plain = ProfileCache::new(100, Duration::from_secs(3600));
    plain.follow(store.log().expect("log")).await;
    let no_log = ProfileCache::new(100, Duration::from_secs(3600));
    assert_eq!(no_log.get(&unlogged, &ada_id).await.expect("read").stays.len(), 3);
    assert!(no_log.is_empty(), "a cache that never followed a log keeps nothing");
    assert_eq!(plain.get(&store, &ada_id).await.expect("read").stays.len(), 3);
    assert_eq!(plain.len(), 1);
}
