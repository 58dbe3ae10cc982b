//! The consumer group [`crate::GROUP`]: the catalog, ratings, confirmed and cancelled stays
//! and reviews, each applied idempotently to the collections in [`crate::store`].

use crate::store::Store;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::KafkaConfig,
    events::topics,
    kafka::{ConsumerSettings, Delivery, HandlerError, Producer, spawn_batch_consumer},
    saga::{BookingCancelled, BookingConfirmed, HotelRatingUpdated, HotelRemoved, HotelUpserted, Latest, Popularity, ReviewCreated},
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
    let settings = ConsumerSettings::read_model(kafka, group, TOPICS);
    let handler = move |batch: Vec<Delivery>| {
        let store = store.clone();
        async move { handle_batch(&store, &batch).await }
    };
    spawn_batch_consumer("read model", kafka, settings, dead_letters, shutdown, handler)
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

/// What a batch's booking and rating events change in hotel documents, written once per hotel.
#[derive(Debug, Default)]
struct Gathered {
    popularity: Latest<Popularity>,
    /// (average, count), versioned by event time.
    ratings: Latest<(f64, i64)>,
}

impl Gathered {
    async fn flush(&mut self, store: &Store) -> Result<(), HandlerError> {
        for (hotel, (_, p)) in self.popularity.take() {
            store.set_popularity(&hotel, p).await.map_err(|e| HandlerError::Transient(e.into()))?;
        }
        for (hotel, (version, (average, count))) in self.ratings.take() {
            store.set_rating(&hotel, average, count, version).await.map_err(|e| HandlerError::Transient(e.into()))?;
        }
        Ok(())
    }
}

/// Apply a batch of events of one hotel, in order (what piled up behind the hotel while the
/// consumer was behind): each booking event records its stay; the hotel's popularity and rating
/// are written once, with the newest of the events before the next other event (or the batch's
/// end), so the outcome is the one of applying the events one by one.
pub async fn handle_batch(store: &Store, batch: &[Delivery]) -> Result<(), HandlerError> {
    let mut gathered = Gathered::default();
    for delivery in batch {
        let (stay, confirmed, popularity) = match delivery.topic.as_str() {
            topics::BOOKING_CONFIRMED => {
                let e = delivery.event::<BookingConfirmed>()?;
                (e.data.stay, true, e.data.popularity)
            }
            topics::BOOKING_CANCELLED => {
                let e = delivery.event::<BookingCancelled>()?;
                (e.data.stay, false, e.data.popularity)
            }
            topics::HOTEL_RATING_UPDATED => {
                let e = delivery.event::<HotelRatingUpdated>()?;
                gathered.ratings.keep(&e.data.hotel_id, version(e.time), (e.data.average, e.data.count));
                continue;
            }
            _ => {
                gathered.flush(store).await?;
                handle(store, delivery).await?;
                continue;
            }
        };
        gathered.popularity.keep_popularity(&stay.hotel_id, popularity);
        store.record_stay(&stay, confirmed, !confirmed, None).await.map_err(|e| HandlerError::Transient(e.into()))?;
    }
    gathered.flush(store).await
}
