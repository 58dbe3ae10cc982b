//! The search service: a MongoDB read model of hotels, room types, prices, ratings, popularity
//! and per-night availability, kept current from events, queried with filters, sorting and
//! pagination, and fronted by a Redis cache that events invalidate.
//!
//! - [`consumer`]: the consumer group `search-v2` reads `hotel.upserted`, `hotel.removed`,
//!   `availability.changed`, `hotel.rating.updated`, `booking.confirmed` and
//!   `booking.cancelled`, applies each idempotently and invalidates the cached results it
//!   affects; up to `kafka.read_model_concurrency` hotels at once, one batch at a time per
//!   hotel: the events of a hotel that piled up while the consumer was behind (at most
//!   `kafka.read_model_batch`) are applied together, one calendar write per room type and one
//!   popularity write ([`consumer::handle_batch`]).
//! - [`availability`]: `availability.changed` carries the nights it changed (rooms left,
//!   price), stored in one calendar document per room type; only events from before booking
//!   carried them make search read the range from booking's public availability API.
//! - [`store`]: the collections (`hotels`, `calendars`, `cityIndex`, `bookings`) and how each
//!   event changes them; [`calendar`]: a calendar's nights packed in one string.
//! - [`query`]: the `GET /hotels` parameters, validated (422 naming each bad field).
//! - [`cache`]: generation-keyed Redis cache; an applied event bumps the generations of the
//!   cities it touched, so the next search recomputes, and logs which hotel changed.
//! - [`snapshot`]: on a cache miss, the city's hotels and calendars come from an in-process
//!   snapshot, refreshed from MongoDB by re-reading only the hotels the change log names
//!   (MongoDB stays the data of record; a replica loads every city before it reports ready).
//! - [`results`]: running a query on a snapshot in Rust: filters, the per-night availability
//!   check, prices, sorting and paging, so FerretDB v1 and MongoDB give the same answers.
//! - [`api`]: `GET /hotels` and `GET /hotels/{id}`.
//!
//! Reads at any size: FerretDB v1 answers only `{_id: …}` from an index and decodes every
//! document of a collection for any other filter, so request paths read by `_id` alone. A miss
//! on an unchanged city is computed in memory; after a change, only the changed hotels or
//! calendars are read again; a whole city is read (its index document, then each hotel and
//! calendar by key) on a cold start, after a gap in the change log, or once per cache TTL. The
//! only other query is the one-time build of the city index at startup for older data.

pub mod api;
pub mod availability;
pub mod cache;
pub mod calendar;
pub mod consumer;
pub mod query;
pub mod results;
pub mod snapshot;
pub mod store;

use anyhow::Context;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::{sync::atomic::Ordering, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::CommonConfig,
    http::Readiness,
    kafka::Producer,
    mongo,
    service::{self, Running},
};

/// Name used in logs, metrics labels and event sources.
pub const NAME: &str = "search";

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
    /// Database holding the read model.
    pub mongodb_database: String,
    /// Redis for the results cache (`APP_REDIS_URL`); unset disables the cache.
    #[serde(skip_serializing)]
    pub redis_url: Option<SecretString>,
    /// Prefix of every cache key; defaults to `search:<mongodb_database>`.
    pub cache_namespace: String,
    /// Seconds a cached result lives at most (invalidation normally replaces it sooner).
    pub cache_ttl_secs: u64,
    /// Seconds after which a city's snapshot is loaded whole again in the background, in case
    /// a change's generation bump was lost (Redis failing as it was made): the bound on that
    /// staleness. Changes themselves show at once, through the change log. Every city is
    /// re-read once per interval, so a shorter one costs reads in proportion to the catalog.
    pub snapshot_full_reload_secs: u64,
    /// Booking's base URL, for its public availability API (read only for `availability.changed`
    /// events from before booking carried the nights).
    pub booking_url: String,
    /// Timeout of one availability request to booking, in milliseconds.
    pub booking_timeout_ms: u64,
    /// Most hotels one city's snapshot holds (searches consider at most these).
    pub max_candidates: i64,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            mongodb_uri: None,
            mongodb_database: "search".into(),
            redis_url: None,
            cache_namespace: String::new(),
            cache_ttl_secs: 120,
            snapshot_full_reload_secs: 600,
            booking_url: "http://127.0.0.1:8082".into(),
            booking_timeout_ms: 5000,
            max_candidates: 5000,
        }
    }
}

/// Connect to MongoDB and create the indexes.
/// This service's part of the public API (paths without the gateway's `/api`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

pub async fn connect(cfg: &Config) -> anyhow::Result<store::Store> {
    Ok(store::Store::new(mongo::connect(NAME, cfg.mongodb_uri.as_ref(), &cfg.mongodb_database).await?))
}

/// Start the consumer and the HTTP server; returns once serving.
pub async fn start(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let namespace = if cfg.cache_namespace.is_empty() { format!("search:{}", cfg.mongodb_database) } else { cfg.cache_namespace.clone() };
    let cache = cache::ResultCache::new(cfg.redis_url.as_ref().map(|u| u.expose_secret()), &namespace, cfg.cache_ttl_secs)
        .context("APP_REDIS_URL is not a valid Redis URL")?;
    let store = connect(&cfg).await?.with_locks(cache.clone());
    store.build_city_index().await.context("cannot build the city index in MongoDB")?;
    if cfg.redis_url.is_none() {
        tracing::warn!("APP_REDIS_URL is unset: search results are not cached");
    }
    let booking = availability::BookingClient::new(&cfg.booking_url, Duration::from_millis(cfg.booking_timeout_ms))?;
    let producer = Producer::new(&cfg.common.kafka).context("cannot create the Kafka producer")?;
    // `-v2`: the layout of an earlier version. Popularity is now booking's count, carried by
    // its events (store.rs): the group is kept, and each hotel shows booking's count from its
    // next booking event on (until then, what this group counted before).
    let group = cfg.common.kafka.group_or(format!("{NAME}-v2"));

    let readiness =
        Readiness::default().with_check("mongodb", mongo::readiness(store.db.clone())).with_check("kafka", producer.readiness());
    let snapshots = snapshot::Snapshots::new(Duration::from_secs(cfg.snapshot_full_reload_secs), cfg.max_candidates);
    let warmed = snapshots.warm_up(&store, &cache);
    let readiness = readiness.with_check("snapshots", move || {
        let warmed = warmed.clone();
        async move { if warmed.load(Ordering::Acquire) { Ok(()) } else { Err("loading the city snapshots".to_owned()) } }
    });
    let state = api::AppState { store: store.clone(), cache: cache.clone(), snapshots };
    let running =
        service::start(NAME, &cfg.common, axum::Router::from(api::router()).with_state(state), readiness, shutdown.clone()).await?;

    let indexer = consumer::Indexer { store, cache, booking };
    let consumer = consumer::spawn(&cfg.common.kafka, group, producer.clone(), indexer, shutdown);
    Ok(running.with_worker(consumer).with_cleanup(async move { producer.flush(Duration::from_secs(5)) }))
}
