//! The review service: guests review their own confirmed stays, and each hotel's rating
//! aggregate is published as an event.
//!
//! - [`consumer`]: the consumer group `review` turns `booking.confirmed` / `booking.cancelled`
//!   into a local `stays` table (exactly once per event), so no other database is read.
//! - [`rules`]: what a valid review is (rating 1–5, text ≤ 2000 characters without control
//!   characters, optional title) and who may post it: the booking's own guest, the booking
//!   confirmed (not cancelled), on or after the check-in day, once per booking.
//! - [`api`]: `POST /hotels/{id}/reviews` and `GET /hotels/{id}/reviews` (newest first, with
//!   the aggregate).
//!
//! Posting inserts the review, bumps the hotel's row in `hotel_ratings` (whose row lock orders
//! concurrent reviews of one hotel) and enqueues `review.created` and `hotel.rating.updated`
//! (average rounded to two decimals, count) in one transaction; the outbox relay publishes
//! them, keyed by hotel id. Text is stored as sent (bound parameters, plain text): JSON
//! escaping on output is all a reader needs, and HTML is never interpreted.
//!
//! Refusals: 401 without a valid token, 403 `forbidden` for a caller who is not a traveller,
//! 404 `not_found` for an unknown booking or another guest's, 409 `booking_not_confirmed`,
//! 409 `already_reviewed`, 422 `stay_not_started` before the check-in day, 422 `wrong_hotel`,
//! 422 `validation_failed` naming each bad field.

pub mod api;
pub mod consumer;
pub mod rules;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use sqlx::migrate::Migrator;
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    auth::JwksVerifier,
    config::CommonConfig,
    db,
    http::Readiness,
    kafka::Producer,
    outbox::Outbox,
    service::{self, Running},
};

/// Name used in logs, metrics labels and event sources.
pub const NAME: &str = "review";

/// This service's migrations (numbered from 1000; the shared ones come from common).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Configuration: `APP_…` environment over these defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Shared settings (http, log, kafka, database_url).
    #[serde(flatten)]
    pub common: CommonConfig,
    /// The user service's JWKS, for verifying access tokens.
    pub jwks_url: String,
    /// Database pool size.
    pub max_connections: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self { common: CommonConfig::default(), jwks_url: "http://127.0.0.1:8081/.well-known/jwks.json".into(), max_connections: 10 }
    }
}

/// Connect, migrate, start the outbox relay, the stays consumer and the HTTP server.
/// This service's part of the public API (paths without the gateway's `/api`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

pub async fn start(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let url = cfg.common.database_url.as_ref().context("the review service needs its PostgreSQL database: set APP_DATABASE_URL")?;
    let pool = db::connect(url, cfg.max_connections).await?;
    db::migrate(&pool, &MIGRATOR).await?;
    let producer = Producer::new(&cfg.common.kafka).context("cannot create the Kafka producer")?;
    let readiness = Readiness::default().with_check("postgres", db::readiness(pool.clone())).with_check("kafka", producer.readiness());
    let outbox = Outbox::new(pool.clone());
    let state = api::AppState { pool: pool.clone(), outbox: outbox.clone(), verifier: Arc::new(JwksVerifier::new(&cfg.jwks_url)) };
    let running =
        service::start(NAME, &cfg.common, axum::Router::from(api::router()).with_state(state), readiness, shutdown.clone()).await?;

    let relay = tokio::spawn(outbox.run_relay(producer.clone(), shutdown.clone()));
    let consumer = consumer::spawn(&cfg.common.kafka, cfg.common.kafka.group_or(NAME), producer.clone(), pool.clone(), shutdown);
    Ok(running.with_worker(relay).with_worker(consumer).with_cleanup(async move {
        producer.flush(Duration::from_secs(5));
        pool.close().await;
    }))
}
