//! Shared plumbing for every TripNest binary. There is exactly one way to do each of these,
//! and every service uses it:
//!
//! - [`config`]: layered configuration — compiled-in defaults, then `APP_…` environment
//!   variables (`APP_HTTP__PORT=8081` sets `http.port`).
//! - [`telemetry`]: one `init()` for env-filtered JSON logs and the Prometheus registry.
//! - [`error`]: [`ApiError`], the single HTTP error type with the `{"error":{code,message,details}}`
//!   body. A 500 never carries internal text.
//! - [`http`]: the path, query and JSON extractors that map bad input to [`ApiError`], request
//!   limits (408/413/414/431 in the error shape), the `/healthz` and `/readyz` routes,
//!   `/metrics` on the separate operations listener, request metrics and the graceful server
//!   loop.
//! - [`security_headers`]: `nosniff`, `no-referrer`, frame denial and a Content-Security-Policy
//!   on every answer.
//! - [`page`]: the one `?page&pageSize` query and paged answer of every list endpoint.
//! - [`events`]: the CloudEvents 1.0 envelope and the topic names from DESIGN.md.
//! - [`kafka`]: the producer and the consumer-group runner (offsets committed in batches, only
//!   after the handler succeeds; poison messages parked on `<topic>.dlq`).
//! - [`offsets`]: a consumer's progress — batched commits, rebalance commits, lag and event age.
//! - [`changelog`]: change logs in Redis, so in-memory copies of a read model reload only what
//!   changed.
//! - [`mongo`]: compare-and-set documents and idempotent counters that hold on MongoDB and
//!   FerretDB v1 alike, with every step keyed by `_id`.
//! - [`shutdown`]: SIGTERM/SIGINT turned into one cancellation token.
//! - [`db`]: PostgreSQL connect (creating the service's database), migrations, readiness.
//! - [`outbox`]: the transactional outbox, its relay, and the processed-events record that
//!   makes consumers idempotent.
//! - [`saga`]: the typed payloads of every saga event.
//! - [`auth`]: JWT verification against the user service's JWKS, the [`auth::Caller`]
//!   extractor, and the service token that guards internal APIs.
//! - [`catalog`]: the operator↔booking contract (booking's internal catalog and inventory JSON).
//! - [`service`]: the skeleton every service binary runs (config → telemetry → serve → drain).
//! - [`trace`]: W3C `traceparent` continued across HTTP hops and Kafka messages, and the
//!   `request` and `message` spans that put the trace id on every log line.

pub mod auth;
pub mod catalog;
pub mod changelog;
pub mod config;
pub mod db;
pub mod email;
pub mod error;
pub mod events;
pub mod http;
pub mod kafka;
mod lanes;
pub mod mongo;
pub mod offsets;
pub mod outbox;
pub mod page;
pub mod saga;
pub mod security_headers;
pub mod service;
pub mod shutdown;
pub mod telemetry;
pub mod trace;

pub use error::{ApiError, ApiResult};
pub use events::Event;
