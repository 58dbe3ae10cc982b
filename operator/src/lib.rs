//! The TripNest operator: reconciles `Hotel`, `Inventory` and `ServiceDeployment`
//! (`tripnest.io/v1alpha1`) on a real Kubernetes API server.
//!
//! - [`resources`]: the CRD types (schema bounds and CEL rules, so the API server rejects bad
//!   specs with field-naming messages); `crdgen` prints them.
//! - [`controller`]: one controller per kind, sharing a [`controller::Context`], one error
//!   type, per-object exponential backoff and reconcile metrics. Every write is server-side
//!   apply under one field manager; children carry owner references and are watched.
//! - [`desired`]: spec → child objects as pure functions.
//! - [`booking`]: booking's internal API (catalog and inventory).
//! - [`topics`]: Kafka topics through the admin API (partitions only grow).
//! - [`ratings`]: `hotel.rating.updated` into Hotel status.
//! - [`leader`]: a Lease-based leader election; only the leader runs controllers and the
//!   ratings consumer, standbys serve health and wait.

pub mod booking;
pub mod controller;
pub mod desired;
pub mod leader;
pub mod ratings;
pub mod resources;
pub mod topics;

use axum::Router;
use kube::{Api, Client};
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::CommonConfig,
    http::Readiness,
    kafka::{self, ConsumerSettings, Producer},
    service::{self, Running},
};

/// Name used in logs and metrics.
pub const NAME: &str = "operator";

/// Configuration: `APP_…` environment over these defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Shared settings (http, log, kafka incl. the topic prefix).
    #[serde(flatten)]
    pub common: CommonConfig,
    /// Booking's base URL (its internal API).
    pub booking_url: String,
    /// Bearer token for booking's `/internal/*`.
    #[serde(skip_serializing)]
    pub internal_token: Option<SecretString>,
    /// The booking image the inventory CronJobs run.
    pub booking_image: String,
    /// Secret (in each Inventory's namespace) with booking's settings for the roll job.
    pub roll_job_secret: String,
    /// When the kubelet pulls `booking_image` for the roll job (Kubernetes' default when unset).
    pub roll_job_pull_policy: Option<resources::service_deployment::PullPolicy>,
    /// Registry credentials (Secrets in each Inventory's namespace) for the roll job's image.
    pub roll_job_pull_secrets: Vec<String>,
    /// Watch only this namespace (all namespaces when unset).
    pub watch_namespace: Option<String>,
    /// Reconciles at once, per controller.
    pub concurrency: u16,
    /// Replication factor of topics whose spec does not say.
    pub default_replication_factor: i32,
    /// Seconds between periodic reconciles of a healthy object.
    pub resync_secs: u64,
    /// Upper bound of the retry delay after failures, in seconds.
    pub max_backoff_secs: u64,
    /// Leader election.
    pub leader: LeaderConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            booking_url: "http://127.0.0.1:8082".into(),
            internal_token: None,
            booking_image: "ghcr.io/tripnest/booking:latest".into(),
            roll_job_secret: "booking-env".into(),
            roll_job_pull_policy: None,
            roll_job_pull_secrets: Vec::new(),
            watch_namespace: None,
            concurrency: 8,
            default_replication_factor: 1,
            resync_secs: 300,
            max_backoff_secs: 300,
            leader: LeaderConfig::default(),
        }
    }
}

/// Lease-based leader election settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LeaderConfig {
    /// Elect a leader (off: this replica always acts).
    pub enabled: bool,
    /// Lease name.
    pub lease_name: String,
    /// Namespace of the Lease.
    pub lease_namespace: String,
    /// This replica's identity; the host name plus a random suffix when empty.
    pub identity: String,
    /// Lease validity without renewal, in seconds.
    pub lease_duration_secs: u64,
    /// How long a leader keeps acting while renewals fail, in seconds (< lease duration).
    pub renew_deadline_secs: u64,
    /// Pause between election attempts, in seconds.
    pub retry_period_secs: u64,
}

impl Default for LeaderConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            lease_name: "tripnest-operator".into(),
            lease_namespace: "default".into(),
            identity: String::new(),
            lease_duration_secs: 15,
            renew_deadline_secs: 10,
            retry_period_secs: 2,
        }
    }
}

impl LeaderConfig {
    fn settings(&self) -> leader::LeaseSettings {
        let identity = if self.identity.is_empty() {
            let host = std::env::var("HOSTNAME").unwrap_or_else(|_| "operator".into());
            format!("{host}-{}", &uuid::Uuid::new_v4().simple().to_string()[..8])
        } else {
            self.identity.clone()
        };
        leader::LeaseSettings {
            name: self.lease_name.clone(),
            identity,
            lease_duration: Duration::from_secs(self.lease_duration_secs),
            renew_deadline: Duration::from_secs(self.renew_deadline_secs),
            retry_period: Duration::from_secs(self.retry_period_secs),
        }
    }
}

/// A started operator: its health/metrics server and its supervisor (election, controllers).
#[derive(Debug)]
pub struct Operator {
    /// The health and metrics server.
    pub http: Running,
    supervisor: tokio::task::JoinHandle<()>,
}

impl Operator {
    /// Base URL of `/healthz` and `/readyz`.
    pub fn url(&self) -> String {
        self.http.url()
    }

    /// Base URL of the operations listener: `/metrics` (and the probes again).
    pub fn ops_url(&self) -> String {
        self.http.ops_url()
    }

    /// Wait until shutdown finished: in-flight reconciles done, the Lease released.
    pub async fn stopped(self) -> anyhow::Result<()> {
        self.http.stopped().await?;
        self.supervisor.await?;
        Ok(())
    }
}

/// Start the health/metrics server and the supervisor (election, then controllers); returns
/// at once. Cancel `shutdown` to stop: controllers finish, the Lease is released.
pub async fn start(cfg: Config, client: Client, shutdown: CancellationToken) -> anyhow::Result<Operator> {
    let cfg = Arc::new(cfg);
    let probe = client.clone();
    let readiness = Readiness::default().with_check("kube-apiserver", move || {
        let client = probe.clone();
        async move { client.apiserver_version().await.map(|_| ()).map_err(|e| e.to_string()) }
    });
    let topics = topics::TopicAdmin::new(&cfg.common.kafka.bootstrap_servers)?;
    let dead_letters = Producer::new(&cfg.common.kafka)?;
    let http = service::start(NAME, &cfg.common, Router::new(), readiness, shutdown.clone()).await?;
    let supervisor = tokio::spawn(supervise(cfg, client, topics, dead_letters, shutdown));
    Ok(Operator { http, supervisor })
}

/// Serve until SIGTERM, then stop the controllers and release the Lease.
pub async fn run(cfg: Config) -> anyhow::Result<()> {
    tripnest_common::telemetry::init(NAME, &cfg.common.log);
    // kube's rustls needs a process-wide crypto provider; which one cargo's feature unification
    // would pick depends on what else is built, so choose it explicitly.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = Client::try_default().await?;
    start(cfg, client, tripnest_common::shutdown::on_signal()).await?.stopped().await
}

async fn supervise(cfg: Arc<Config>, client: Client, topics: topics::TopicAdmin, dlq: Producer, shutdown: CancellationToken) {
    let settings = cfg.leader.settings();
    let identity = settings.identity.clone();
    let ratings = ratings::Ratings::default();
    let ctx = Arc::new(controller::Context::new(client.clone(), cfg.clone(), topics, ratings, &identity));
    if !cfg.leader.enabled {
        run_controllers(ctx, dlq, shutdown).await;
        return;
    }
    let mut elector = leader::LeaderElector::new(Api::namespaced(client, &cfg.leader.lease_namespace), settings);
    while elector.acquire(&shutdown).await {
        if shutdown.is_cancelled() {
            // Won the lease while already shutting down: hand it straight back.
            break;
        }
        metrics::gauge!("operator_leader").set(1.0);
        let leading = shutdown.child_token();
        let controllers = tokio::spawn(run_controllers(ctx.clone(), dlq.clone(), leading.clone()));
        elector.hold(&leading).await;
        leading.cancel();
        let _ = controllers.await;
        metrics::gauge!("operator_leader").set(0.0);
        if shutdown.is_cancelled() {
            break;
        }
        tracing::warn!(identity, "lost leadership; controllers stopped, standing by");
    }
    elector.release().await;
}

/// Run the three controllers and the ratings consumer until `stop` fires.
async fn run_controllers(ctx: Arc<controller::Context>, dlq: Producer, stop: CancellationToken) {
    tracing::info!(namespace = ctx.cfg.watch_namespace.as_deref().unwrap_or("*"), "controllers starting");
    let hotels = controller::hotel::controller(&ctx);
    let (nudge, nudges) = tokio::sync::mpsc::channel(256);
    let (store, ratings, kafka_cfg) = (hotels.store(), ctx.ratings.clone(), ctx.cfg.common.kafka.clone());
    // Like the services' groups (see desired::workload): apart per topic prefix.
    let group = kafka_cfg.group_or(format!("{}{NAME}", kafka_cfg.topic_prefix));
    let settings = ConsumerSettings::new(group, ratings::TOPICS);
    let handler = move |d| ratings::handle(d, ratings.clone(), store.clone(), nudge.clone());
    // A consumer that fails ends this term of leadership like any consumer's failure ends its
    // service (`kafka::spawn_consumer`); the supervisor then stands for the Lease again and
    // starts the controllers and the consumer afresh.
    let consumer = kafka::spawn_consumer("ratings", &kafka_cfg, settings, dlq, stop.clone(), handler);
    let consumer = async move {
        let _ = consumer.await;
    };
    let nudges = futures::stream::unfold(nudges, |mut rx| async move { rx.recv().await.map(|r| (r, rx)) });
    let all = async {
        tokio::join!(
            controller::hotel::run(hotels, nudges, ctx.clone(), stop.clone()),
            controller::inventory::run(ctx.clone(), stop.clone()),
            controller::service_deployment::run(ctx.clone(), stop.clone()),
            consumer,
        )
    };
    // In-flight reconciles get a bounded grace period; a controller that never notices the
    // stop (it can miss one that fires while it is still starting) must not block shutdown.
    let grace = async {
        stop.cancelled().await;
        tokio::time::sleep(std::time::Duration::from_secs(10)).await;
    };
    tokio::select! {
        _ = all => tracing::info!("controllers stopped"),
        () = grace => tracing::warn!("controllers did not stop within 10s of shutdown; abandoning them"),
    }
}
