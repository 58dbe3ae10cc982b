//! The gateway: TripNest's single public entry point. Browsers and apps call `/api/*`; the
//! gateway checks who is calling and how often, then streams the request to the service that
//! owns the path ([`routes::PUBLIC_ROUTES`]) and streams its answer back.
//!
//! - **Routing** ([`routes`]): `/api/<path>` → `<service>/<path>`. `/internal/*` and payment
//!   are never exposed; dot segments are refused.
//! - **Identity** ([`identity`]): bearer JWTs verified against the user service's JWKS (cached,
//!   refreshed on an unknown key id). A bad token is a 401 that no service sees; a valid one
//!   becomes `x-user-id` / `x-user-roles`, and client copies of those headers are dropped.
//!   `Authorization` is still forwarded, since services verify it too.
//! - **Rate limits** ([`rate_limit`]): GCRA in one Redis Lua script, per user when signed in
//!   and per client IP otherwise (sign-in routes: always per client IP), with a budget per
//!   route class. 429 with `Retry-After`;
//!   `RateLimit-Limit/Remaining/Reset` on every answer. Redis down → fail open, counted in
//!   `gateway_rate_limit_unavailable_total` and logged.
//! - **Proxy** ([`proxy`]): pooled HTTP/1.1, request bodies read whole within the gateway's
//!   limits (a short or stalled body is the client's 408/400, never a 504), responses streamed,
//!   an allowlist of request headers plus `x-request-id` and `x-forwarded-for`; connect
//!   failure → 502, no response head within
//!   `upstream_timeout_ms` → 504 (a body streaming after its head is not cut off); a 5xx keeps
//!   its status but only a body in the error shape.
//! - **CORS** for the web UI's origins (`cors.allowed_origins`), and the **OpenAPI** document
//!   with its browsable page ([`docs`]: `/api/openapi.json`, `/api/docs`).
//! - **Browser hardening** (`tripnest_common::security_headers`, added by the common app):
//!   `nosniff`, `no-referrer`, frame denial and a Content-Security-Policy on every answer,
//!   forwarded ones included (an upstream's own values are replaced).
//! - Nothing internal on the public port: `/metrics` is served on the operations listener
//!   (`APP_OPS__PORT`, see `tripnest_common::service`), which no Service or ingress exposes.

pub mod config;
pub mod docs;
pub mod identity;
pub mod pipeline;
pub mod proxy;
pub mod rate_limit;
pub mod routes;

pub use config::Config;

use anyhow::Context;
use axum::{
    Router,
    http::{HeaderName, HeaderValue, Method, header},
};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tripnest_common::{
    auth::JwksVerifier,
    http::{REQUEST_ID, Readiness},
    service::{self, Running},
};

/// Name used in logs, metrics labels and event sources.
pub const NAME: &str = "gateway";

/// What every request shares; cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// The gateway's configuration (upstreams, budgets, CORS).
    pub cfg: Arc<Config>,
    /// Access-token verifier (JWKS cache).
    pub verifier: Arc<JwksVerifier>,
    /// Redis-backed rate limiter.
    pub limiter: Arc<rate_limit::RateLimiter>,
    /// The services behind the gateway.
    pub upstreams: Arc<proxy::Upstreams>,
}

impl AppState {
    /// Build the state from configuration (no network I/O: Redis and the JWKS load lazily).
    pub fn new(cfg: Config) -> anyhow::Result<Self> {
        let u = &cfg.upstreams;
        let bases = HashMap::from([
            (routes::Service::User, u.user.clone()),
            (routes::Service::Booking, u.booking.clone()),
            (routes::Service::Notification, u.notification.clone()),
            (routes::Service::Search, u.search.clone()),
            (routes::Service::Recommendation, u.recommendation.clone()),
            (routes::Service::Review, u.review.clone()),
        ]);
        let upstreams = proxy::Upstreams::new(bases, cfg.upstream_timeout(), cfg.upstream_connect_timeout())?;
        let limiter = rate_limit::RateLimiter::new(&cfg.redis_url, cfg.rate_limits.clone(), &cfg.redis_key_prefix, cfg.redis_timeout())?;
        let verifier = JwksVerifier::new(cfg.jwks_url());
        Ok(Self { cfg: Arc::new(cfg), verifier: Arc::new(verifier), limiter: Arc::new(limiter), upstreams: Arc::new(upstreams) })
    }
}

/// The gateway's routes: the public API, its documentation, and CORS around both.
pub fn router(state: AppState) -> anyhow::Result<Router> {
    let cors = cors_layer(&state.cfg.cors)?;
    Ok(pipeline::public_routes().with_state(state).merge(docs::router()).layer(cors))
}

/// CORS for the web UI: exact origins, the methods and headers the API uses, and the
/// response headers a browser client needs to read (request id, rate limits).
pub fn cors_layer(cfg: &config::CorsConfig) -> anyhow::Result<CorsLayer> {
    let origins = cfg
        .allowed_origins
        .iter()
        .map(|o| HeaderValue::from_str(o).with_context(|| format!("invalid CORS origin {o:?}")))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let header = HeaderName::from_static;
    Ok(CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
        .allow_headers([
            header::AUTHORIZATION,
            header::CONTENT_TYPE,
            header::ACCEPT,
            header("idempotency-key"),
            header("traceparent"),
            REQUEST_ID,
        ])
        .expose_headers([
            REQUEST_ID,
            header::RETRY_AFTER,
            rate_limit::RATELIMIT_LIMIT,
            rate_limit::RATELIMIT_REMAINING,
            rate_limit::RATELIMIT_RESET,
            header("idempotent-replayed"),
        ])
        .max_age(Duration::from_secs(cfg.max_age_secs)))
}

/// Start serving on `cfg.common.http` (port 0 picks a free port); returns at once.
pub async fn start(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let state = AppState::new(cfg)?;
    let common = state.cfg.common.clone();
    let routes = router(state)?;
    Ok(service::start(NAME, &common, routes, Readiness::default(), shutdown).await?)
}
