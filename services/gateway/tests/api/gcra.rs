//! The GCRA script itself, on the real Redis, with a clock the test controls (the script takes
//! `now` as an argument), so every step is exact.

use std::time::Duration;
use tripnest_e2e::{Stack, unique};
use tripnest_gateway::{
    config::RateLimits,
    rate_limit::{Gcra, Quota, RateLimiter, Verdict},
};

const SECOND: u64 = 1_000_000;
/// A fixed start time, in microseconds since the epoch.
const T0: u64 = 1_900_000_000 * SECOND;

fn limiter() -> RateLimiter {
    RateLimiter::new(Stack::load().get("REDIS_URL"), RateLimits::default(), "unused:", Duration::from_secs(2)).expect("limiter")
}

/// One request per second, bursts of three.
const ONE_PER_SECOND_BURST_3: Gcra = Gcra { emission_interval_us: SECOND, burst: 3 };

fn allowed(remaining: u32, reset_us: u64) -> Verdict {
    Verdict::Allowed(Quota { limit: 3, remaining, reset: Duration::from_micros(reset_us) })
}

#[tokio::test]
async fn a_full_budget_allows_exactly_the_burst_at_one_instant() {
    let (rl, key) = (limiter(), unique("gcra"));
    assert_eq!(rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0)).await, allowed(2, SECOND));
    assert_eq!(rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0)).await, allowed(1, 2 * SECOND));
    assert_eq!(rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0)).await, allowed(0, 3 * SECOND));
    let refused = rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0)).await;
    assert_eq!(
        refused,
        Verdict::Limited { quota: Quota { limit: 3, remaining: 0, reset: Duration::from_secs(3) }, retry_after: Duration::from_secs(1) }
    );
    // A refusal spends nothing: asking again at the same instant gives the same answer.
    assert_eq!(rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0)).await, refused);
}

#[tokio::test]
async fn the_budget_refills_one_request_per_emission_interval() {
    let (rl, key) = (limiter(), unique("gcra"));
    for _ in 0..3 {
        rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0)).await;
    }
    let half = rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0 + SECOND / 2)).await;
    assert!(matches!(half, Verdict::Limited { retry_after, .. } if retry_after == Duration::from_millis(500)), "{half:?}");
    assert_eq!(rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0 + SECOND)).await, allowed(0, 3 * SECOND));
    assert!(matches!(rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0 + SECOND)).await, Verdict::Limited { .. }));
    // After a long pause the budget is full again, never more than full.
    assert_eq!(rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0 + 60 * SECOND)).await, allowed(2, SECOND));
}

#[tokio::test]
async fn a_steady_caller_at_the_sustained_rate_is_never_refused() {
    let (rl, key) = (limiter(), unique("gcra"));
    let tight = Gcra { emission_interval_us: 200_000, burst: 1 };
    for i in 0..20 {
        let verdict = rl.spend(&key, tight, Some(T0 + i * 200_000)).await;
        assert!(matches!(verdict, Verdict::Allowed(_)), "request {i}: {verdict:?}");
    }
    assert!(matches!(rl.spend(&key, tight, Some(T0 + 19 * 200_000 + 1)).await, Verdict::Limited { .. }), "one faster is refused");
}

#[tokio::test]
async fn concurrent_requests_never_overspend_the_budget() {
    let (rl, key) = (limiter(), unique("gcra"));
    let slow = Gcra { emission_interval_us: 60 * SECOND, burst: 10 };
    // The server's clock this time, as in production.
    let verdicts = futures::future::join_all((0..60).map(|_| rl.spend(&key, slow, None))).await;
    let admitted = verdicts.iter().filter(|v| matches!(v, Verdict::Allowed(_))).count();
    assert_eq!(admitted, 10, "{verdicts:?}");
}

#[tokio::test]
async fn keys_expire_once_the_budget_is_full_again() {
    let (rl, key) = (limiter(), unique("gcra"));
    rl.spend(&key, Gcra { emission_interval_us: 30 * SECOND, burst: 5 }, None).await;
    let client = redis::Client::open(Stack::load().get("REDIS_URL")).expect("client");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connect");
    let ttl_ms: i64 = redis::cmd("PTTL").arg(&key).query_async(&mut conn).await.expect("pttl");
    assert!((29_000..=30_000).contains(&ttl_ms), "the key lives exactly as long as the debt: {ttl_ms} ms");
}

#[tokio::test]
async fn the_script_is_loaded_again_after_redis_forgets_it() {
    let (rl, key) = (limiter(), unique("gcra"));
    assert!(matches!(rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0)).await, Verdict::Allowed(_)));
    let client = redis::Client::open(Stack::load().get("REDIS_URL")).expect("client");
    let mut conn = client.get_multiplexed_async_connection().await.expect("connect");
    // What a Redis restart does to loaded scripts; the next EVALSHA gets NOSCRIPT.
    // (Other tests running in parallel may load it again at once, so its absence is not asserted.)
    let _: () = redis::cmd("SCRIPT").arg("FLUSH").query_async(&mut conn).await.expect("flush");
    assert_eq!(rl.spend(&key, ONE_PER_SECOND_BURST_3, Some(T0)).await, allowed(1, 2 * SECOND), "NOSCRIPT fell back to loading it");
}
