//! The booking service: the catalog of hotels and room types, the availability calendar (one
//! row per room type per night), bookings and their state machine, `Idempotency-Key`, the
//! outbox, the inventory roll and the expiry sweeper.
//!
//! - [`catalog`]: internal upsert/remove of hotels (operator, service token) and public reads.
//! - [`inventory`]: [`inventory::roll_inventory`], reached from the internal API and the
//!   `roll-inventory` CLI subcommand the operator's CronJob runs.
//! - [`bookings`]: create (hold rooms atomically), list, read, cancel.
//! - [`occupancy`]: the manager-scoped, read-only view of the calendar.
//! - [`consumer`]: booking's part of the saga: the `payment.success` / `payment.failed`
//!   consumer and the hold sweeper.
//! - [`store`]: the single place a booking changes state, with its events.
//! - [`domain`]: pure rules — state machine, pricing, validation.
//!
//! No room is sold twice: holds are one conditional UPDATE over the stay's nights inside the
//! booking's transaction, backed by `CHECK (available >= 0)`. No booking is lost: the
//! booking, its hold and its `booking.created` event commit together (outbox).

pub mod bookings;
pub mod catalog;
pub mod consumer;
pub mod domain;
pub mod inventory;
pub mod occupancy;
pub mod store;

use axum::{Router, extract::FromRef};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use sqlx::{PgPool, migrate::Migrator};
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    auth::{InternalToken, JwksVerifier},
    config::CommonConfig,
    db,
    http::Readiness,
    kafka::{self, ConsumerSettings, Producer},
    outbox::Outbox,
    service::{self, Running},
};
use utoipa_axum::router::OpenApiRouter;

/// Name used in logs, metrics labels and event sources.
pub const NAME: &str = "booking";

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
    /// Bearer token the operator presents on `/internal/*`. Internal routes refuse all
    /// requests when it is unset.
    #[serde(skip_serializing)]
    pub internal_token: Option<SecretString>,
    /// How long a PENDING booking holds its rooms.
    pub hold_seconds: u64,
    /// How often the sweeper looks for expired holds.
    pub sweep_interval_ms: u64,
    /// Database pool size.
    pub max_connections: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            jwks_url: "http://127.0.0.1:8081/.well-known/jwks.json".into(),
            internal_token: None,
            hold_seconds: 15 * 60,
            sweep_interval_ms: 1000,
            max_connections: 20,
        }
    }
}

/// Shared state of the handlers and consumers.
#[derive(Clone)]
pub struct AppState {
    /// Database pool.
    pub pool: PgPool,
    /// The outbox: transactions that publish events begin here.
    pub outbox: Outbox,
    /// The service's configuration.
    pub cfg: Arc<Config>,
    /// Access-token verifier.
    pub verifier: Arc<JwksVerifier>,
    /// Internal API token.
    pub internal: InternalToken,
}

impl FromRef<AppState> for Arc<JwksVerifier> {
    fn from_ref(s: &AppState) -> Self {
        s.verifier.clone()
    }
}

impl FromRef<AppState> for InternalToken {
    fn from_ref(s: &AppState) -> Self {
        s.internal.clone()
    }
}

fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().merge(catalog::router()).merge(bookings::router()).merge(occupancy::router())
}

/// Every route of the service.
pub fn router(state: AppState) -> Router {
    let (documented, _) = routes().split_for_parts();
    documented.merge(inventory::router()).with_state(state)
}

/// This service's part of the public API, as its handlers declare it (paths as the service
/// serves them, without the gateway's `/api`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes().split_for_parts().1
}

/// Connect and migrate the database named in the config.
pub async fn connect(cfg: &Config) -> anyhow::Result<PgPool> {
    let url = cfg.common.database_url.as_ref().ok_or_else(|| anyhow::anyhow!("APP_DATABASE_URL is not set"))?;
    let pool = db::connect(url, cfg.max_connections).await?;
    db::migrate(&pool, &MIGRATOR).await?;
    Ok(pool)
}

/// Start the HTTP server, the outbox relay, the payment consumers and the sweeper.
pub async fn start(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<Running> {
    let pool = connect(&cfg).await?;
    // Without a configured token, a random one nobody knows keeps internal routes closed.
    let token = cfg.internal_token.clone().unwrap_or_else(|| SecretString::from(uuid::Uuid::new_v4().to_string()));
    let state = AppState {
        pool: pool.clone(),
        outbox: Outbox::new(pool.clone()),
        verifier: Arc::new(JwksVerifier::new(&cfg.jwks_url)),
        internal: InternalToken(Arc::new(token)),
        cfg: Arc::new(cfg),
    };
    let producer = Producer::new(&state.cfg.common.kafka)?;
    let readiness = Readiness::default().with_check("postgres", db::readiness(pool.clone()));

    let running = service::start(NAME, &state.cfg.common, router(state.clone()), readiness, shutdown.clone()).await?;

    let relay = tokio::spawn(state.outbox.clone().run_relay(producer.clone(), shutdown.clone()));
    let sweeper = tokio::spawn(consumer::run_sweeper(state.clone(), Duration::from_millis(state.cfg.sweep_interval_ms), shutdown.clone()));
    let kafka_cfg = &state.cfg.common.kafka;
    let settings = ConsumerSettings::saga(kafka_cfg, kafka_cfg.group_or(NAME), consumer::TOPICS);
    let consumer_state = state.clone();
    let handler = move |d| consumer::handle(consumer_state.clone(), d);
    let consumer = kafka::spawn_consumer("payment results", kafka_cfg, settings, producer.clone(), shutdown.clone(), handler);
    Ok(running.with_worker(relay).with_worker(sweeper).with_worker(consumer).with_cleanup(async move {
        producer.flush(Duration::from_secs(5));
        pool.close().await;
    }))
}
