//! Search service tests against the real stack: FerretDB, Redis, Kafka, and a real booking
//! service (in-process, its own PostgreSQL database) that publishes the catalog and
//! availability events and answers the availability API. Each test has its own topic prefix,
//! MongoDB database and cache namespace.

mod availability;
mod batches;
mod filters;
mod helpers;
mod idempotency;
mod latency;
mod snapshots;
