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
    let redis_url = tripnest_e2e::Stack::load().get("REDIS_URL").to_owned();
    let prefix = format!("{}:", tripnest_e2e::unique("bench"));
    let limiter = RateLimiter::new(&redis_url, RateLimits::default(), &prefix, Duration::from_secs(2)).expect("limiter");
    // A budget this loop cannot exhaust, so every call takes the "allowed" path.
    let gcra = Gcra::of(RateLimit { per_minute: 600_000_000, burst: 1_000_000_000 }).expect("enabled");
    let key = format!("{prefix}rl:default:user:bench");
    let first = rt.block_on(limiter.spend(&key, gcra, None));
    assert!(matches!(first, Verdict::Allowed(_)), "Redis must be up (make up): {first:?}");
    c.bench_function("rate_limit_gcra_redis", |b| b.iter(|| rt.block_on(limiter.spend(black_box(&key), gcra, None))));
}

criterion_group!(benches, rate_limit);
criterion_main!(benches);
