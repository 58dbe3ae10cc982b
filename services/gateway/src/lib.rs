//! The gateway service: the single public entry point (/api/...): JWT verification, Redis rate limits, request ids, CORS and proxying to the services.
//!
//! Today it is the skeleton every service shares — health, readiness, metrics and graceful
//! shutdown from `tripnest_common::service`; the features arrive with later issues.

use axum::Router;
use tripnest_common::{config::CommonConfig, http::Readiness};

/// Name used in logs, metrics labels and event sources.
pub const NAME: &str = "gateway";

/// Configuration: `APP_…` environment over defaults.
pub type Config = CommonConfig;

/// This service's own routes.
pub fn router() -> Router {
    Router::new()
}

/// Serve until SIGTERM, then drain.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    tripnest_common::service::run(NAME, &cfg, router(), Readiness::default()).await
}
