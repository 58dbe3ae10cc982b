//! The payment service against the real PostgreSQL and Kafka of the local stack. Each test gets
//! a fresh database, a unique topic prefix and its own consumer group.

mod charge;
mod crash;
mod helpers;
mod http;
mod idempotency;
mod refund;
