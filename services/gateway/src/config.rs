//! The gateway's settings: `APP_…` environment over these defaults (the dev ports of the
//! local stack, all on loopback). For example `APP_UPSTREAMS__SEARCH=http://search:8080`,
//! `APP_RATE_LIMITS__AUTH__PER_MINUTE=20`, `APP_RATE_LIMITS__AUTH__BURST=10`,
//! `APP_CORS__ALLOWED_ORIGINS=[https://tripnest.example, http://localhost:3000]`.

use serde::{Deserialize, Serialize};
use std::time::Duration;
use tripnest_common::config::CommonConfig;

/// Configuration: `APP_…` environment over these defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Shared settings (http, log); the listen port comes from `APP_HTTP__PORT` (8080 in dev).
    #[serde(flatten)]
    pub common: CommonConfig,
    /// Base URLs of the services behind the gateway (`APP_UPSTREAMS__BOOKING=http://…`).
    pub upstreams: Upstreams,
    /// The user service's JWKS; defaults to `{upstreams.user}/.well-known/jwks.json`.
    pub jwks_url: Option<String>,
    /// Redis holding the rate-limit state (`APP_REDIS_URL`).
    pub redis_url: String,
    /// Prepended to every rate-limit key, so environments (or tests) can share one Redis.
    pub redis_key_prefix: String,
    /// Longest wait for Redis before a request is let through unlimited (fail open).
    pub redis_timeout_ms: u64,
    /// Request budgets per route class.
    pub rate_limits: RateLimits,
    /// How many reverse proxies in front of the gateway append to `X-Forwarded-For`; 0 means
    /// the peer address is the client (the header cannot be trusted).
    pub trusted_proxy_hops: usize,
    /// Longest wait for an upstream's response head before answering 504.
    pub upstream_timeout_ms: u64,
    /// Longest wait to open a connection to an upstream before answering 502.
    pub upstream_connect_timeout_ms: u64,
    /// Browser origins the web UI is served from.
    pub cors: CorsConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            upstreams: Upstreams::default(),
            jwks_url: None,
            redis_url: "redis://127.0.0.1:16379".into(),
            redis_key_prefix: "gateway:".into(),
            redis_timeout_ms: 250,
            rate_limits: RateLimits::default(),
            trusted_proxy_hops: 0,
            upstream_timeout_ms: 10_000,
            upstream_connect_timeout_ms: 1_000,
            cors: CorsConfig::default(),
        }
    }
}

impl Config {
    /// Where the access-token keys are published.
    pub fn jwks_url(&self) -> String {
        self.jwks_url.clone().unwrap_or_else(|| format!("{}/.well-known/jwks.json", self.upstreams.user.trim_end_matches('/')))
    }
    /// [`Self::upstream_timeout_ms`] as a duration.
    pub fn upstream_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_timeout_ms)
    }
    /// [`Self::upstream_connect_timeout_ms`] as a duration.
    pub fn upstream_connect_timeout(&self) -> Duration {
        Duration::from_millis(self.upstream_connect_timeout_ms)
    }
    /// [`Self::redis_timeout_ms`] as a duration.
    pub fn redis_timeout(&self) -> Duration {
        Duration::from_millis(self.redis_timeout_ms)
    }
}

/// Base URLs of the public services. Payment is internal only and has no entry.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Upstreams {
    /// Accounts, login, `/me`.
    pub user: String,
    /// Bookings and availability.
    pub booking: String,
    /// The signed-in user's notifications.
    pub notification: String,
    /// Hotel search and hotel detail.
    pub search: String,
    /// Base URL of the recommendation service.
    pub recommendation: String,
    /// Base URL of the review service.
    pub review: String,
}

impl Default for Upstreams {
    fn default() -> Self {
        let local = |port: u16| format!("http://127.0.0.1:{port}");
        Self {
            user: local(8081),
            booking: local(8082),
            notification: local(8084),
            search: local(8085),
            recommendation: local(8086),
            review: local(8087),
        }
    }
}

/// A GCRA budget: a sustained rate plus a burst that may be spent at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimit {
    /// Sustained requests per minute (the burst refills at this rate). 0 disables the limit.
    pub per_minute: u32,
    /// Requests allowed back to back from a full budget.
    pub burst: u32,
}

impl Default for RateLimit {
    fn default() -> Self {
        Self { per_minute: 600, burst: 100 }
    }
}

/// Budgets per route class, each applied per user (when signed in) or per client IP; the
/// `auth` budget always per client IP.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RateLimits {
    /// Everything not in another class (search, hotel pages, reviews, `/me`…).
    pub default: RateLimit,
    /// `/api/auth/*`: login and registration, kept tight against password guessing; always
    /// spent by the client IP, whatever token the request carries.
    pub auth: RateLimit,
    /// `/api/bookings*`: creating, listing and cancelling bookings.
    pub bookings: RateLimit,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self {
            default: RateLimit::default(),
            auth: RateLimit { per_minute: 20, burst: 10 },
            bookings: RateLimit { per_minute: 120, burst: 30 },
        }
    }
}

/// Cross-origin settings for the web UI.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CorsConfig {
    /// Exact origins allowed to call the API from a browser.
    pub allowed_origins: Vec<String>,
    /// How long a browser may cache a preflight answer.
    pub max_age_secs: u64,
}

impl Default for CorsConfig {
    fn default() -> Self {
        Self { allowed_origins: vec!["http://127.0.0.1:3000".into(), "http://localhost:3000".into()], max_age_secs: 600 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jwks_url_follows_the_user_upstream_unless_set() {
        let mut cfg = Config::default();
        cfg.upstreams.user = "http://user:8080/".into();
        assert_eq!(cfg.jwks_url(), "http://user:8080/.well-known/jwks.json");
        cfg.jwks_url = Some("http://keys/jwks".into());
        assert_eq!(cfg.jwks_url(), "http://keys/jwks");
    }

    #[test]
    fn defaults_are_the_local_dev_ports() {
        let cfg = Config::default();
        assert_eq!(cfg.upstreams.booking, "http://127.0.0.1:8082");
        assert_eq!(cfg.upstreams.review, "http://127.0.0.1:8087");
        assert!(cfg.cors.allowed_origins.contains(&"http://localhost:3000".to_owned()));
    }
}
