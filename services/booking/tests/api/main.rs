//! Booking service tests against the real PostgreSQL and Kafka of the local stack. Each test
//! gets its own database, Kafka topic prefix and token issuer (see `helpers`).

mod bookings;
mod catalog;
mod helpers;
mod inventory;
mod occupancy;
mod rejections;
mod saga;
mod throughput;
