//! Rate limits in Redis with GCRA: one Lua script ([`GCRA_SCRIPT`]) reads and advances a
//! caller's theoretical arrival time atomically, so concurrent requests on any number of
//! gateway replicas can never overspend a budget. The script runs by `EVALSHA`, and is loaded
//! again when Redis answers `NOSCRIPT` (after a restart or `SCRIPT FLUSH`).
//!
//! When Redis is unreachable or slow the gateway fails open: the request goes through
//! unlimited, `gateway_rate_limit_unavailable_total` counts it, and a warning is logged (at
//! most every few seconds). Availability of the platform wins over strict limits.

use crate::{
    config::{RateLimit, RateLimits},
    routes::RouteClass,
};
use axum::http::{HeaderMap, HeaderName, HeaderValue, header::RETRY_AFTER};
use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use std::{
    net::IpAddr,
    sync::atomic::{AtomicU64, Ordering},
    time::{Duration, SystemTime, UNIX_EPOCH},
};
use uuid::Uuid;

/// The GCRA script; see the comments inside it.
pub const GCRA_SCRIPT: &str = include_str!("gcra.lua");

/// `RateLimit-Limit`: the burst (requests available from a full budget).
pub const RATELIMIT_LIMIT: HeaderName = HeaderName::from_static("ratelimit-limit");
/// `RateLimit-Remaining`: requests left right now.
pub const RATELIMIT_REMAINING: HeaderName = HeaderName::from_static("ratelimit-remaining");
/// `RateLimit-Reset`: seconds until the budget is full again.
pub const RATELIMIT_RESET: HeaderName = HeaderName::from_static("ratelimit-reset");

/// A budget in the units the script takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gcra {
    /// Microseconds of budget one request costs.
    pub emission_interval_us: u64,
    /// Requests allowed back to back.
    pub burst: u32,
}

impl Gcra {
    /// The GCRA parameters of a configured limit; `None` when the limit is disabled. The script
    /// counts in microseconds, so limits above 60,000,000 per minute are held at one per µs
    /// (an interval of 0 would make Redis refuse the key's expiry and the limiter fail open).
    pub fn of(limit: RateLimit) -> Option<Self> {
        (limit.per_minute > 0 && limit.burst > 0)
            .then(|| Self { emission_interval_us: (60_000_000 / u64::from(limit.per_minute)).max(1), burst: limit.burst })
    }
}

/// Whose budget a request spends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A signed-in user, wherever they connect from.
    User(Uuid),
    /// An anonymous client (or one with an invalid token), by address.
    Ip(Option<IpAddr>),
}

impl Caller {
    fn key_part(&self) -> String {
        match self {
            Self::User(id) => format!("user:{id}"),
            Self::Ip(Some(ip)) => format!("ip:{ip}"),
            Self::Ip(None) => "ip:unknown".to_owned(),
        }
    }
}

/// The state of a caller's budget after a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// The burst.
    pub limit: u32,
    /// Requests left.
    pub remaining: u32,
    /// Time until the budget is full again.
    pub reset: Duration,
}

/// What the limiter decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within budget.
    Allowed(Quota),
    /// Over budget; one request fits again after `retry_after`.
    Limited {
        /// The budget (remaining is 0).
        quota: Quota,
        /// Time until one request is allowed.
        retry_after: Duration,
    },
    /// Not checked: the class is unlimited, or Redis is unavailable (fail open).
    Unchecked,
}

impl Verdict {
    /// Add `RateLimit-*` headers (and `Retry-After` when limited) to a response.
    pub fn write_headers(&self, headers: &mut HeaderMap) {
        let quota = match self {
            Self::Allowed(q) => q,
            Self::Limited { quota, retry_after } => {
                headers.insert(RETRY_AFTER, HeaderValue::from(retry_after_secs(*retry_after)));
                quota
            }
            Self::Unchecked => return,
        };
        headers.insert(RATELIMIT_LIMIT, HeaderValue::from(quota.limit));
        headers.insert(RATELIMIT_REMAINING, HeaderValue::from(quota.remaining));
        headers.insert(RATELIMIT_RESET, HeaderValue::from(ceil_secs(quota.reset)));
    }
}

/// Whole seconds a client must wait: rounded up, and at least 1 so that a client that waits
/// exactly this long is always admitted.
pub fn retry_after_secs(wait: Duration) -> u64 {
    ceil_secs(wait).max(1)
}

fn ceil_secs(d: Duration) -> u64 {
    d.as_micros().div_ceil(1_000_000) as u64
}

/// Checks and spends budgets in Redis.
pub struct RateLimiter {
    redis: ConnectionManager,
    script: redis::Script,
    limits: RateLimits,
    key_prefix: String,
    timeout: Duration,
    last_warning: AtomicU64,
}

impl std::fmt::Debug for RateLimiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RateLimiter").field("limits", &self.limits).field("key_prefix", &self.key_prefix).finish()
    }
}

impl RateLimiter {
    /// A limiter on `redis_url`. It connects lazily, so the gateway starts (and fails open)
    /// while Redis is down; only a malformed URL is an error.
    pub fn new(redis_url: &str, limits: RateLimits, key_prefix: &str, timeout: Duration) -> anyhow::Result<Self> {
        let client = redis::Client::open(redis_url).map_err(|e| anyhow::anyhow!("invalid redis_url: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(timeout))
            .set_response_timeout(Some(timeout))
            .set_number_of_retries(1);
        let redis = ConnectionManager::new_lazy_with_config(client, config)?;
        let script = redis::Script::new(GCRA_SCRIPT);
        Ok(Self { redis, script, limits, key_prefix: key_prefix.to_owned(), timeout, last_warning: AtomicU64::new(0) })
    }

    fn limit_of(&self, class: RouteClass) -> RateLimit {
        match class {
            RouteClass::Default => self.limits.default,
            RouteClass::Auth => self.limits.auth,
            RouteClass::Bookings => self.limits.bookings,
        }
    }

    /// Spend one request of `caller`'s budget for `class`.
    pub async fn check(&self, class: RouteClass, caller: &Caller) -> Verdict {
        let Some(gcra) = Gcra::of(self.limit_of(class)) else { return Verdict::Unchecked };
        let key = format!("{}rl:{}:{}", self.key_prefix, class.name(), caller.key_part());
        let verdict = self.spend(&key, gcra, None).await;
        if let Verdict::Limited { .. } = verdict {
            metrics::counter!("gateway_rate_limited_total", "class" => class.name()).increment(1);
        }
        verdict
    }

    /// Spend one request from the budget under `key`, at `now_us` (microseconds since the
    /// epoch) or, when `None`, at the Redis server's clock. Tests pass a clock to replay time.
    pub async fn spend(&self, key: &str, gcra: Gcra, now_us: Option<u64>) -> Verdict {
        let mut invocation = self.script.key(key);
        invocation.arg(gcra.emission_interval_us).arg(gcra.burst).arg(now_us.map(|n| n.to_string()).unwrap_or_default());
        let mut conn = self.redis.clone();
        let outcome = tokio::time::timeout(self.timeout, invocation.invoke_async::<(u8, u64, u64, u64)>(&mut conn)).await;
        let (allowed, remaining, retry_after_us, reset_us) = match outcome {
            Ok(Ok(reply)) => reply,
            Ok(Err(e)) => return self.fail_open(&e.to_string()),
            Err(_) => return self.fail_open("timed out"),
        };
        let quota =
            Quota { limit: gcra.burst, remaining: u32::try_from(remaining).unwrap_or(u32::MAX), reset: Duration::from_micros(reset_us) };
        if allowed == 1 { Verdict::Allowed(quota) } else { Verdict::Limited { quota, retry_after: Duration::from_micros(retry_after_us) } }
    }

    fn fail_open(&self, why: &str) -> Verdict {
        metrics::counter!("gateway_rate_limit_unavailable_total").increment(1);
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        let last = self.last_warning.load(Ordering::Relaxed);
        if now >= last + 10 && self.last_warning.compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed).is_ok() {
            tracing::warn!(error = why, "rate limiting unavailable (Redis); letting requests through unlimited");
        }
        Verdict::Unchecked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limit_becomes_an_emission_interval_and_a_burst() {
        assert_eq!(Gcra::of(RateLimit { per_minute: 60, burst: 5 }), Some(Gcra { emission_interval_us: 1_000_000, burst: 5 }));
        assert_eq!(Gcra::of(RateLimit { per_minute: 600, burst: 1 }).map(|g| g.emission_interval_us), Some(100_000));
        assert_eq!(Gcra::of(RateLimit { per_minute: 0, burst: 5 }), None, "0 per minute disables the limit");
        assert_eq!(Gcra::of(RateLimit { per_minute: 60, burst: 0 }), None);
        assert_eq!(Gcra::of(RateLimit { per_minute: u32::MAX, burst: 1 }).map(|g| g.emission_interval_us), Some(1), "never 0 µs");
    }

    #[test]
    fn retry_after_rounds_up_and_is_never_zero() {
        assert_eq!(retry_after_secs(Duration::from_millis(1)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1000)), 1);
        assert_eq!(retry_after_secs(Duration::from_millis(1001)), 2);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }

    #[test]
    fn headers_carry_the_quota_and_retry_after_only_when_limited() {
        let quota = Quota { limit: 10, remaining: 3, reset: Duration::from_millis(6_500) };
        let mut h = HeaderMap::new();
        Verdict::Allowed(quota).write_headers(&mut h);
        assert_eq!(
            (&h[RATELIMIT_LIMIT], &h[RATELIMIT_REMAINING], &h[RATELIMIT_RESET]),
            (&"10".parse().expect("hv"), &"3".parse().expect("hv"), &"7".parse().expect("hv"))
        );
        assert!(h.get(RETRY_AFTER).is_none());

        let mut h = HeaderMap::new();
        Verdict::Limited { quota: Quota { remaining: 0, ..quota }, retry_after: Duration::from_millis(400) }.write_headers(&mut h);
        assert_eq!((h[RETRY_AFTER].to_str().ok(), h[RATELIMIT_REMAINING].to_str().ok()), (Some("1"), Some("0")));

        let mut h = HeaderMap::new();
        Verdict::Unchecked.write_headers(&mut h);
        assert!(h.is_empty());
    }

    #[test]
    fn keys_separate_users_from_addresses() {
        let id = Uuid::nil();
        assert_eq!(Caller::User(id).key_part(), format!("user:{id}"));
        assert_eq!(Caller::Ip(Some("10.0.0.7".parse().expect("ip"))).key_part(), "ip:10.0.0.7");
        assert_eq!(Caller::Ip(None).key_part(), "ip:unknown");
    }
}
