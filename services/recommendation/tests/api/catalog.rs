//! The in-memory catalog follows the consumer's change log: it re-reads only the hotels the
//! log names, and loads everything when the log cannot say what changed.

use crate::helpers::*;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tripnest_e2e::{Stack, wait_until};
use tripnest_recommendation::catalog::{self, CatalogCache, CatalogLog, Refresh};
use uuid::Uuid;

async fn shows(cache: &CatalogCache, hotel: &str, city: &str) -> bool {
    cache.current().on_sale(Some(city)).any(|h| h.id == hotel)
}

#[tokio::test]
async fn the_catalog_rereads_what_its_change_log_names_and_loads_whole_when_the_log_cannot_say() {
    let stack = Stack::load();
    let database = fresh_database();
    let prefix = format!("{database}:catalog");
    let store = fresh_store(&database).await.with_log(CatalogLog::new(stack.get("REDIS_URL"), &prefix).expect("log"));
    // The same collections, written without the log: a change whose record was lost.
    let unlogged = fresh_store(&database).await;
    store.upsert_hotel(&hotel("a", "Porto", &[], 10_000).data, 1).await.expect("hotel a");

    let shutdown = CancellationToken::new();
    let _stop = shutdown.clone().drop_guard();
    let refresh = Refresh { every: Duration::from_millis(50), full_every: Duration::from_secs(3600) };
    let cache = catalog::start(store.clone(), refresh, shutdown).await.expect("catalog");
    assert!(shows(&cache, "a", "porto").await, "the first load holds hotel a");

    // Logged changes show: a stay makes hotel a popular, hotel b goes on sale.
    store.record_stay(&stay(Uuid::now_v7(), "a", 5, 2, 10_000), true, false).await.expect("stay");
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
