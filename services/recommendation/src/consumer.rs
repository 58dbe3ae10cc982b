//! The consumer group [`crate::GROUP`]: the catalog, ratings, confirmed and cancelled stays
//! and reviews, each applied idempotently to the collections in [`crate::store`].

use crate::store::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::KafkaConfig,
    events::topics,
    kafka::{ConsumerSettings, Delivery, HandlerError, Producer, spawn_consumer},
    saga::{BookingCancelled, BookingConfirmed, HotelRatingUpdated, HotelRemoved, HotelUpserted, ReviewCreated, hotel_key},
};

/// The topics recommendation consumes.
pub const TOPICS: &[&str] = &[
    topics::HOTEL_UPSERTED,
    topics::HOTEL_REMOVED,
    topics::HOTEL_RATING_UPDATED,
    topics::BOOKING_CONFIRMED,
    topics::BOOKING_CANCELLED,
    topics::REVIEW_CREATED,
];

/// Consume in the background until `shutdown` (which a failed consumer cancels).
pub fn spawn(kafka: &KafkaConfig, group: String, dead_letters: Producer, store: Store, shutdown: CancellationToken) -> JoinHandle<()> {
    // Ordered by hotel (`hotel_key`): catalog, rating and booking events write their hotel's
    // document. A traveller's profile is written from any lane (their stays are at many
    // hotels, reviews are keyed by review): it is compare-and-set (`tripnest_common::mongo`),
    // so concurrent writers lose nothing.
    let settings =
        ConsumerSettings { concurrency: kafka.read_model_concurrency, order_key: hotel_key, ..ConsumerSettings::new(group, TOPICS) };
    let handler = move |delivery: Delivery| {
        let store = store.clone();
        async move { handle(&store, &delivery).await }
    };
    spawn_consumer("read model", kafka, settings, dead_letters, shutdown, handler)
}

fn version(time: chrono::DateTime<chrono::Utc>) -> i64 {
    time.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

/// Apply one event.
pub async fn handle(store: &Store, delivery: &Delivery) -> Result<(), HandlerError> {
    let result = match delivery.topic.as_str() {
        topics::HOTEL_UPSERTED => {
            let e = delivery.event::<HotelUpserted>()?;
            store.upsert_hotel(&e.data, version(e.time)).await
        }
        topics::HOTEL_REMOVED => {
            let e = delivery.event::<HotelRemoved>()?;
            store.remove_hotel(&e.data.hotel_id, version(e.time)).await
        }
        topics::HOTEL_RATING_UPDATED => {
            let e = delivery.event::<HotelRatingUpdated>()?;
            store.set_rating(&e.data.hotel_id, e.data.average, e.data.count, version(e.time)).await
        }
        topics::BOOKING_CONFIRMED => {
            let e = delivery.event::<BookingConfirmed>()?;
            store.record_stay(&e.data.stay, true, false, e.data.popularity).await
        }
        topics::BOOKING_CANCELLED => {
            let e = delivery.event::<BookingCancelled>()?;
            store.record_stay(&e.data.stay, false, true, e.data.popularity).await
        }
        topics::REVIEW_CREATED => store.record_review(&delivery.event::<ReviewCreated>()?.data).await,
        other => return Err(HandlerError::Permanent(anyhow::anyhow!("recommendation does not handle topic {other:?}"))),
    };
    result.map_err(|e| HandlerError::Transient(e.into()))
}
