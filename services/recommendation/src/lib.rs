//! The recommendation service: a per-user taste profile from confirmed stays and reviews, and
//! hotels ranked by a score a guest can read, with popular choices for anonymous users.
//!
//! - [`consumer`]: the consumer group [`GROUP`] reads `hotel.upserted`, `hotel.removed`,
//!   `hotel.rating.updated`, `booking.confirmed`, `booking.cancelled` and `review.created`
//!   into MongoDB, idempotently, with O(1) work per event.
//! - [`store`]: the collections (`hotels` with the popularity booking counts, `bookings`,
//!   `profiles`), every read and write keyed by `_id`.
//! - [`catalog`]: the catalog with popularity in memory, kept current in the background by
//!   re-reading only what the consumer's change log in Redis names.
//! - [`profile`]: the profile (cities, usual nightly price, amenities; reviewed stays weighted
//!   by their rating) and the score (city 35, price 25, amenities 25, rating 15 points), each
//!   factor with a reason in words.
//! - [`api`]: `GET /recommendations` with optional sign-in; excludes hotels the guest already
//!   booked for overlapping dates; anonymous callers get the most booked hotels.
//!
//! A request costs at most one lookup by `_id` (the traveller's profile document, kept current
//! by the consumer, and held in memory until the consumer's profile log names it: [`profiles`])
//! plus bounded work on the in-memory catalog (at most `max_candidates` hotels
//! scored), whatever the number of hotels, travellers and stays. The profile is computed from
//! the stays and ratings on each request, so it always reflects the latest hotel data.
//!
//! Upgrading a deployment that ran the earlier layout (stays and reviews as separate
//! documents, popularity recounted per event): the group name carries a layout version, so a
//! new version starts a new group that rebuilds `bookings`, `popularity` and `profiles` from
//! the beginning of the topics (their retention must cover the history); the old collections
//! `stays` and `reviews` are no longer read and can be dropped. Popularity is booking's count,
//! carried by its events since the group `-v2`'s layout: the group is kept, each hotel shows
//! booking's count from its next booking event on (0 until then), and the `popularity`
//! collection the group counted in before is no longer read.

pub mod api;
pub mod catalog;
pub mod consumer;
pub mod profile;
pub mod profiles;
pub mod store;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    auth::JwksVerifier,
    config::CommonConfig,
    http::Readiness,
    kafka::Producer,
    mongo,
    service::{self, Running},
};

/// Name used in logs, metrics labels and event sources.
pub const NAME: &str = "recommendation";
/// The consumer group: the name and the version of the stored layout (see the module docs).
pub const GROUP: &str = "recommendation-v2";

/// Configuration: `APP_…` environment over these defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Shared settings (http, log, kafka).
    #[serde(flatten)]
    pub common: CommonConfig,
    /// MongoDB (or FerretDB) connection string (`APP_MONGODB_URI`).
    #[serde(skip_serializing)]
    pub mongodb_uri: Option<SecretString>,
    /// Database of this service.
    pub mongodb_database: String,
    /// The user service's JWKS, for verifying access tokens.
    pub jwks_url: String,
    /// Most hotels scored per request.
    pub max_candidates: i64,
    /// How often the in-memory catalog looks for changes, milliseconds ([`catalog`]).
    pub catalog_refresh_ms: u64,
    /// How often the in-memory catalog is loaded whole anyway, seconds (with Redis).
    pub catalog_full_reload_secs: u64,
    /// Redis, for the catalog's change log (`APP_REDIS_URL`); without it the catalog is
    /// loaded whole every `catalog_refresh_ms`.
    #[serde(skip_serializing)]
    pub redis_url: Option<SecretString>,
    /// Key prefix of the catalog's change log; empty: `<mongodb_database>:catalog`.
    pub catalog_log_prefix: String,
    /// Most travellers' profiles held in memory (with Redis; 0: none) ([`profiles`]).
    pub profile_cache_entries: usize,
    /// Longest a profile is served from memory, seconds (the bound when a change's log record
    /// was lost).
    pub profile_cache_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            mongodb_uri: None,
            mongodb_database: "recommendation".into(),
            jwks_url: "http://127.0.0.1:8081/.well-known/jwks.json".into(),
            max_candidates: 2000,
            catalog_refresh_ms: 2000,
            catalog_full_reload_secs: 600,
            redis_url: None,
            catalog_log_prefix: String::new(),
            profile_cache_entries: 20_000,
            profile_cache_secs: 60,
        }
    }
}

/// This service's part of the public API (paths without the gateway's `/api`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

/// Connect to MongoDB.
pub async fn connect(cfg: &Config) -> anyhow::Result<store::Store> {
    let store = store::Store::new(mongo::connect(NAME, cfg.mongodb_uri.as_ref(), &cfg.mongodb_database).await?);
    let Some(redis) = &cfg.redis_url else { return Ok(store) };
    let prefix =
        if cfg.catalog_log_prefix.is_empty() { format!("{}:catalog", cfg.mongodb_database) } else { cfg.catalog_log_prefix.clone() };
    Ok(store.with_log(catalog::CatalogLog::new(redis.expose_secret(), &prefix).context("APP_REDIS_URL is not a valid Redis URL")?))
}

/// Start the consumer and the HTTP server; returns once serving.
pub async fn start(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let store = connect(&cfg).await?;
    let producer = Producer::new(&cfg.common.kafka).context("cannot create the Kafka producer")?;
    let readiness =
        Readiness::default().with_check("mongodb", mongo::readiness(store.database())).with_check("kafka", producer.readiness());
    let refresh = catalog::Refresh {
        every: Duration::from_millis(cfg.catalog_refresh_ms.max(1)),
        full_every: Duration::from_secs(cfg.catalog_full_reload_secs.max(1)),
    };
    let profiles = profiles::ProfileCache::new(cfg.profile_cache_entries, Duration::from_secs(cfg.profile_cache_secs));
    let catalog = catalog::start(store.clone(), refresh, profiles.clone(), shutdown.clone())
        .await
        .context("cannot load the hotel catalog from MongoDB")?;
    let state = api::AppState {
        store: store.clone(),
        catalog,
        profiles,
        verifier: Arc::new(JwksVerifier::new(&cfg.jwks_url)),
        max_candidates: usize::try_from(cfg.max_candidates).unwrap_or(0),
    };
    let running =
        service::start(NAME, &cfg.common, axum::Router::from(api::router()).with_state(state), readiness, shutdown.clone()).await?;

    let consumer = consumer::spawn(&cfg.common.kafka, cfg.common.kafka.group_or(GROUP), producer.clone(), store, shutdown);
    Ok(running.with_worker(consumer).with_cleanup(async move { producer.flush(Duration::from_secs(5)) }))
}
