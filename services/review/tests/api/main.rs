//! Review service tests against the real PostgreSQL and Kafka of the local stack. Each test has
//! its own database, topic prefix and token issuer; stays arrive as real `booking.confirmed` /
//! `booking.cancelled` events on Kafka.

mod helpers;
mod posting;
mod reading;
mod rules;
