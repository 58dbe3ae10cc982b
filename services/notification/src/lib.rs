//! The notification service: tells guests by email (real SMTP) and SMS (a third-party HTTP
//! provider) that their booking was confirmed or cancelled, records every message, and
//! announces each send with `notification.sent`.
//!
//! - [`consumer`]: the consumer group `notification` reads `booking.confirmed` and
//!   `booking.cancelled`.
//! - [`templates`]: each event becomes an email (text + HTML, user text escaped in HTML) and,
//!   when the contact has a phone, an SMS.
//! - [`delivery`]: sends each message once per (event, channel), records it in `notifications`
//!   and enqueues `notification.sent` through the outbox.
//! - [`channels`]: the SMTP [`channels::Mailer`] and the [`channels::SmsProvider`] trait with its
//!   HTTP implementation.
//! - [`api`]: `GET /notifications`, the caller's own notifications, newest first.
//!
//! # Sending once
//! An email or SMS is a side effect outside our database, so it cannot commit together with its
//! record. `notifications` has one row per (cause event id, channel) (`UNIQUE`), used as a claim:
//! 1. **Claim**: insert the row as `sending` (or re-claim a `pending` one) and commit, before
//!    sending anything.
//! 2. **Send** over SMTP or HTTP.
//! 3. **Record**: mark the row `sent` and enqueue `notification.sent` in one transaction. The
//!    update is fenced by the claim's attempt number, so each row yields one event at most.
//!
//! A redelivered event finds its rows `sent` (or `failed`) and sends nothing. A permanent
//! failure (invalid address, SMTP 5xx, HTTP 4xx) marks the row `failed`, which is final. A
//! transient one (timeout, SMTP 4xx, HTTP 5xx/429) leaves it `pending` and returns
//! [`HandlerError::Transient`](tripnest_common::kafka::HandlerError): the consumer retries with
//! backoff and, after its attempts, parks the event on `<topic>.dlq`; a replay claims the
//! `pending` row and sends. The other channels of the event are attempted regardless, and a
//! retry only sends what is still outstanding.
//!
//! # A crash between claim and record
//! A row left `sending` means that some delivery claimed it and is either still sending or
//! dead; whether the message left is unknown. The rule: while the claim is younger than
//! `claim_lease_secs` (default 120 s, checked at start to be at least twice
//! `send_timeout_secs`, which bounds a whole send), a
//! redelivery **waits without sending** until the row settles or the lease expires. After that
//! the holder is presumed dead, and the redelivery **takes the claim over and sends again**.
//!
//! Within the lease, the likely cause is a live sender: a rebalance handed the partition to
//! another replica mid-send, and a second send would be a sure duplicate. Past the lease, a
//! live holder has finished or timed out, so it is gone. Not sending would then lose the
//! message whenever the crash came before the server accepted it, and a guest without their
//! confirmation is worse off than one with two copies. Only a crash (or a database outage that
//! outlasts the lease) in the short window between the server's acceptance and our commit
//! costs a duplicate, and the attempt fence still yields one `notification.sent`: at-least-once
//! there, once everywhere else. Waiting holds the partition for at most one lease, and only
//! after a crash.

pub mod api;
pub mod channels;
pub mod config;
pub mod consumer;
pub mod delivery;
pub mod templates;

pub use config::Config;

use anyhow::Context;
use sqlx::migrate::Migrator;
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_common::{auth::JwksVerifier, db, http::Readiness, kafka::Producer, outbox::Outbox, service};

/// Name used in logs, metrics labels and event sources.
pub const NAME: &str = "notification";

/// This service's migrations (numbered from 1000, after the shared ones).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// This service's part of the public API (paths without the gateway's `/api`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    api::router().split_for_parts().1
}

/// Connect, migrate, spawn the outbox relay and the consumer, and serve; returns once serving.
pub async fn start(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<service::Running> {
    let lease = cfg.claim_lease()?;
    let database_url =
        cfg.common.database_url.as_ref().context("the notification service needs its PostgreSQL database: set APP_DATABASE_URL")?;
    let pool = db::connect(database_url, cfg.max_db_connections).await?;
    db::migrate(&pool, &MIGRATOR).await?;
    let outbox = Outbox::new(pool.clone());
    let producer = Producer::new(&cfg.common.kafka).context("cannot create the Kafka producer")?;
    let mailer = channels::Mailer::new(&cfg)?;
    let sms = channels::HttpSmsProvider::from_config(&cfg)?.map(|p| Arc::new(p) as Arc<dyn channels::SmsProvider>);
    if sms.is_none() {
        tracing::warn!("sms_url is empty: SMS is disabled, guests get email only (set APP_SMS_URL)");
    }
    let notifier = Arc::new(delivery::Notifier::new(outbox.clone(), mailer, sms, lease, shutdown.clone()));

    let workers = vec![
        tokio::spawn(outbox.run_relay(producer.clone(), shutdown.clone())),
        consumer::spawn(&cfg.common.kafka, cfg.common.kafka.group_or(NAME), producer.clone(), notifier, shutdown.clone()),
    ];

    let readiness = Readiness::default().with_check("postgres", db::readiness(pool.clone())).with_check("kafka", producer.readiness());
    let state = api::AppState { pool: pool.clone(), verifier: Arc::new(JwksVerifier::new(cfg.jwks_url.clone())) };
    let http =
        match service::start(NAME, &cfg.common, axum::Router::from(api::router()).with_state(state), readiness, shutdown.clone()).await {
            Ok(http) => http,
            Err(e) => {
                shutdown.cancel(); // stop the workers spawned above
                return Err(e.into());
            }
        };
    let running = workers.into_iter().fold(http, service::Running::with_worker);
    Ok(running.with_cleanup(async move {
        producer.flush(Duration::from_secs(5));
        pool.close().await;
    }))
}
