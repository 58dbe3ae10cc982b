//! Recommendation service tests against the real stack: FerretDB and Kafka. Each test has its
//! own MongoDB database, topic prefix and token issuer; the catalog, stays and reviews arrive
//! as real events on Kafka.

mod catalog;
mod events;
mod helpers;
mod personal;
mod popular;
mod timing;
