//! The recommendation service: a per-user taste profile from confirmed stays and reviews, and
//! hotels ranked by a score a guest can read, with popular choices for anonymous users.
//!
//! - [`consumer`]: the consumer group `recommendation` reads `hotel.upserted`,
//!   `hotel.removed`, `hotel.rating.updated`, `booking.confirmed`, `booking.cancelled` and
//!   `review.created` into MongoDB, idempotently.
//! - [`store`]: the collections (`hotels`, `stays`, `reviews`) and their writes and reads.
//! - [`profile`]: the profile (cities, usual nightly price, amenities; reviewed stays weighted
//!   by their rating) and the score (city 35, price 25, amenities 25, rating 15 points), each
//!   factor with a reason in words.
//! - [`api`]: `GET /recommendations` with optional sign-in; excludes hotels the guest already
//!   booked for overlapping dates; anonymous callers get the most booked hotels.
//!
//! The profile is derived on each request from the stored stays and reviews rather than kept
//! as a running document: that makes it immune to event order and redelivery, always reflects
//! the latest hotel data, and costs three small indexed finds per request.

pub mod api;
pub mod consumer;
pub mod profile;
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
    service::{self, Running},
};

/// Name used in logs, metrics labels and event sources.
pub const NAME: &str = "recommendation";

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
}

impl Default for Config {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            mongodb_uri: None,
            mongodb_database: "recommendation".into(),
            jwks_url: "http://127.0.0.1:8081/.well-known/jwks.json".into(),
            max_candidates: 2000,
        }
    }
}

/// Connect to MongoDB and create the indexes.
/// This service's part of the public API (paths without the gateway's `/api`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

pub async fn connect(cfg: &Config) -> anyhow::Result<store::Store> {
    let uri = cfg.mongodb_uri.as_ref().context("the recommendation service needs MongoDB: set APP_MONGODB_URI")?;
    let mut options =
        mongodb::options::ClientOptions::parse(uri.expose_secret()).await.context("APP_MONGODB_URI is not a valid MongoDB URI")?;
    options.app_name = Some(NAME.into());
    options.server_selection_timeout = Some(Duration::from_secs(5));
    let store = store::Store::new(mongodb::Client::with_options(options)?.database(&cfg.mongodb_database));
    store.create_indexes().await.context("cannot create the recommendation indexes in MongoDB")?;
    Ok(store)
}

/// Start the consumer and the HTTP server; returns once serving.
pub async fn start(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let store = connect(&cfg).await?;
    let producer = Producer::new(&cfg.common.kafka).context("cannot create the Kafka producer")?;
    let (ping, kafka_check) = (store.clone(), producer.clone());
    let readiness = Readiness::default()
        .with_check("mongodb", move || {
            let store = ping.clone();
            async move { store.ping().await }
        })
        .with_check("kafka", move || {
            let producer = kafka_check.clone();
            async move { producer.check().await }
        });
    let state =
        api::AppState { store: store.clone(), verifier: Arc::new(JwksVerifier::new(&cfg.jwks_url)), max_candidates: cfg.max_candidates };
    let running =
        service::start(NAME, &cfg.common, axum::Router::from(api::router()).with_state(state), readiness, shutdown.clone()).await?;

    let group = if cfg.common.kafka.group_id.is_empty() { NAME.to_owned() } else { cfg.common.kafka.group_id.clone() };
    let consumer = tokio::spawn(consumer::run(cfg.common.kafka.clone(), group, producer.clone(), store, shutdown));
    Ok(running.with_worker(consumer).with_cleanup(async move { producer.flush(Duration::from_secs(5)) }))
}

/// Serve until SIGTERM, then drain.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    tripnest_common::telemetry::init(NAME, &cfg.common.log);
    let running = start(cfg, tripnest_common::shutdown::on_signal()).await?;
    running.stopped().await?;
    tracing::info!(service = NAME, "stopped");
    Ok(())
}
