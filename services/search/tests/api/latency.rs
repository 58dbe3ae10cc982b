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
