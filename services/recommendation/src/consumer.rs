//! The consumer group [`crate::GROUP`]: the catalog, ratings, confirmed and cancelled stays
//! and reviews, each applied idempotently to the collections in [`crate::store`].

use crate::store::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::KafkaConfig,
    events::topics,
    kafka::{ConsumerSettings, Delivery, HandlerError, Producer, spawn_consumer},
    saga::{BookingCancelled, BookingConfirmed, HotelRatingUpdated, HotelRemoved, HotelUpserted, ReviewCreated},
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
    // Ordered by the Kafka key: catalog events by hotel, stays by booking, reviews by review.
    // The documents written under another key (a traveller's profile, a hotel's popularity)
    // are compare-and-set (`tripnest_common::mongo`), so concurrent writers lose nothing.
    let settings = ConsumerSettings { concurrency: kafka.read_model_concurrency, ..ConsumerSettings::new(group, TOPICS) };
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
        topics::BOOKING_CONFIRMED => store.record_stay(&delivery.event::<BookingConfirmed>()?.data.stay, true, false).await,
        topics::BOOKING_CANCELLED => store.record_stay(&delivery.event::<BookingCancelled>()?.data.stay, false, true).await,
        topics::REVIEW_CREATED => store.record_review(&delivery.event::<ReviewCreated>()?.data).await,
        other => return Err(HandlerError::Permanent(anyhow::anyhow!("recommendation does not handle topic {other:?}"))),
    };
    result.map_err(|e| HandlerError::Transient(e.into()))
}
