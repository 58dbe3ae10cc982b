//! The payment service: it charges bookings and refunds them through a [`PaymentProvider`],
//! as the payment step of the booking saga.
//!
//! - **Charge.** It consumes `booking.created` in the consumer group `kafka.group_id`
//!   (default `payment`) and charges the booking once. The provider is called with the booking id
//!   as its idempotency key. Transient processor errors are retried inside the handler with
//!   exponential backoff (`provider_retry`). After the last attempt the payment fails with
//!   `processor_error` instead of being parked on the dead-letter topic, because a booking must
//!   always conclude.
//! - **One transaction per outcome.** The payment row (`UNIQUE(booking_id)`), the outbox event
//!   (`payment.success` or `payment.failed`) and the processed-event record commit together.
//!   The outbox relay publishes the event afterwards. A redelivery, or another
//!   `booking.created` for the same booking, finds the row and does nothing.
//! - **Crash window.** A crash between the provider's charge and our commit is covered by the
//!   idempotency key: the redelivery gets the original capture back. The
//!   [`SandboxProvider`] keeps its ledger in `sandbox_charges` for this reason.
//! - **Refunds.** It also consumes `booking.cancelled`. A captured payment is refunded
//!   (idempotently) and announced with `payment.refunded` when `refund_due` is set, and
//!   also when the reason is `expired`. Booking sends `refund_due = false` for an expired
//!   PENDING booking, yet our capture may have raced that expiry. A booking cancelled before
//!   any charge is recorded as `voided`, so a late `booking.created` never charges it.
//! - **HTTP.** It serves `/healthz`, `/readyz` and (on its operations port) `/metrics` (with `payments_total{outcome}`),
//!   plus `GET /payments/{bookingId}` behind the internal service token.
//!
//! No card data exists anywhere: only the payment method's token name is stored.

mod api;
mod charge;
mod config;
pub mod consumer;
pub mod provider;
mod refund;
pub mod sandbox;
mod store;

pub use api::PaymentView;
pub use config::{Config, RetryPolicy, SandboxConfig};
pub use provider::PaymentProvider;
pub use sandbox::SandboxProvider;
pub use store::PaymentStatus;

use anyhow::Context;
use secrecy::SecretString;
use sqlx::migrate::Migrator;
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    auth::InternalToken,
    db,
    http::Readiness,
    kafka::{Producer, spawn_consumer},
    outbox::Outbox,
    service,
};

/// Name used in logs, metrics labels, event sources and as the processed-events consumer.
pub const NAME: &str = "payment";

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Connect, migrate, then start the outbox relay, the saga consumer and the HTTP server.
pub async fn start(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<service::Running> {
    let url = cfg.common.database_url.as_ref().context("APP_DATABASE_URL is not set: the payment service needs its database")?;
    let pool = db::connect(url, cfg.db_max_connections).await?;
    db::migrate(&pool, &MIGRATOR).await.context("migrating the payment database")?;
    let producer = Producer::new(&cfg.common.kafka).context("creating the Kafka producer")?;

    let readiness = Readiness::default().with_check("postgres", db::readiness(pool.clone())).with_check("kafka", producer.readiness());
    let state = api::AppState { pool: pool.clone(), internal_token: internal_token(&cfg) };
    let server = service::start(NAME, &cfg.common, api::router(state), readiness, shutdown.clone()).await?;

    let provider = SandboxProvider::new(pool.clone(), Duration::from_millis(cfg.sandbox.response_delay_ms));
    let outbox = Outbox::new(pool.clone());
    let saga = Arc::new(consumer::PaymentSaga { outbox: outbox.clone(), provider, retry: cfg.provider_retry.clone() });
    let relay = tokio::spawn(outbox.run_relay(producer.clone(), shutdown.clone()));
    let settings = consumer::settings(&cfg.common.kafka, &cfg.common.kafka.group_or(NAME));
    let handler = move |delivery| {
        let saga = saga.clone();
        async move { saga.handle(delivery).await }
    };
    let consume = spawn_consumer("saga", &cfg.common.kafka, settings, producer.clone(), shutdown.clone(), handler);
    Ok(server.with_worker(consume).with_worker(relay).with_cleanup(async move {
        producer.flush(Duration::from_secs(5));
        pool.close().await;
    }))
}

fn internal_token(cfg: &Config) -> InternalToken {
    let token = cfg.internal_token.clone().unwrap_or_else(|| {
        tracing::warn!("APP_INTERNAL_TOKEN is not set; the internal API refuses every request");
        SecretString::from(format!("unset-{}", uuid::Uuid::new_v4()))
    });
    InternalToken(Arc::new(token))
}
