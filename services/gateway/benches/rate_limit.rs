//! The rate-limit call every gateway request makes: the GCRA script by `EVALSHA` against the
//! local stack's real Redis (`make up`), within budget, on a warm connection.

use criterion::{Criterion, criterion_group, criterion_main};
use std::{hint::black_box, time::Duration};
use tripnest_gateway::{
    config::{RateLimit, RateLimits},
    rate_limit::{Gcra, RateLimiter, Verdict},
};

fn rate_limit(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    // The connection manager spawns its driver task on the current runtime.
    let _inside = rt.enter();
    let redis_url = tripnest_e2e::Stack::load().get("REDIS_URL").to_owned();
    let prefix = format!("{}:", tripnest_e2e::unique("bench"));
    let limiter = RateLimiter::new(&redis_url, RateLimits::default(), &prefix, Duration::from_secs(2)).expect("limiter");
    // A budget this loop cannot exhaust, so every call takes the "allowed" path.
    let gcra = Gcra::of(RateLimit { per_minute: 60_000_000, burst: 1_000_000_000 }).expect("enabled");
    let key = format!("{prefix}rl:default:user:bench");
    // The lazy connection comes up on the first calls; until then the limiter fails open.
    let ready = (0..50).any(|_| {
        let verdict = rt.block_on(limiter.spend(&key, gcra, None));
        std::thread::sleep(Duration::from_millis(100));
        matches!(verdict, Verdict::Allowed(_))
    });
    assert!(ready, "the limiter cannot reach Redis at {redis_url} (make up)");
    c.bench_function("rate_limit_gcra_redis", |b| b.iter(|| rt.block_on(limiter.spend(black_box(&key), gcra, None))));
}

criterion_group!(benches, rate_limit);
criterion_main!(benches);
