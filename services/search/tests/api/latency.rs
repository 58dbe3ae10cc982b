use crate::helpers::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

async fn measure(app: &TestApp, label: &str, queries: impl Iterator<Item = String>, want_cache: &str) {
    let mut times = Vec::new();
    let started = Instant::now();
    for q in queries {
        let t = Instant::now();
        let (status, _, cache) = app.search(&q).await;
        times.push(t.elapsed());
        assert_eq!((status.as_u16(), cache.as_str()), (200, want_cache), "{q}");
    }
    let total = started.elapsed();
    times.sort();
    println!(
        "{label}: n={} p50={:?} p99={:?} rps={:.0} (one client, sequential)",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.len() as f64 / total.as_secs_f64()
    );
}

/// Latency of `GET /hotels` straight to the service (no gateway), for a cache hit and a miss.
/// `cargo test -p tripnest-search --release --test api latency -- --ignored --nocapture`
#[tokio::test]
#[ignore = "a measurement, not a check; run on demand"]
async fn search_latency_on_cache_hit_and_miss() {
    let app = spawn_app().await;
    let hotels: u32 = 40;
    for i in 0..hotels {
        let id = format!("bench-{i}");
        app.add_hotel(&id, &hotel("Lisbon", 1 + (i % 5) as u8, &["wifi"], &[("double", 2, 8_000 + i64::from(i) * 100)])).await;
        app.open_rooms(&id, "double", 5, 30, json!({})).await;
    }
    app.wait_nights(hotels as usize * 30).await;
    let stay = format!("city=Lisbon&checkIn={}&checkOut={}&guests=2&sort=price", days_from_now(3), days_from_now(6));
    let n = 300;
    // Every query distinct (a different price floor that filters nothing out): all misses.
    measure(&app, "miss, dated", (0..n).map(|i| format!("{stay}&minPrice={i}")), "miss").await;
    measure(&app, "miss, no dates", (0..n).map(|i| format!("city=Lisbon&sort=price&minPrice={i}")), "miss").await;
    app.search(&stay).await;
    measure(&app, "hit, dated", (0..n).map(|_| stay.clone()), "hit").await;
}
