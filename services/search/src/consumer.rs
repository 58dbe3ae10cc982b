//! The consumer group that keeps the read model current. Each event is applied to MongoDB
//! idempotently (see [`crate::store`]), then the cached results it affects are invalidated and
//! the hotel (or calendar) it changed is logged for the city snapshots ([`crate::cache`]).

use crate::{
    availability,
    availability::BookingClient,
    cache::{Change, ResultCache},
    store::{Applied, Store},
};
use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::KafkaConfig,
    events::topics,
    kafka::{ConsumerSettings, Delivery, HandlerError, Producer, spawn_consumer},
    saga::{
        AvailabilityChanged, BookingCancelled, BookingConfirmed, HotelRatingUpdated, HotelRemoved, HotelUpserted, Popularity, hotel_key,
    },
};

/// The topics search consumes.
pub const TOPICS: &[&str] = &[
    topics::HOTEL_UPSERTED,
    topics::HOTEL_REMOVED,
    topics::AVAILABILITY_CHANGED,
    topics::HOTEL_RATING_UPDATED,
    topics::BOOKING_CONFIRMED,
    topics::BOOKING_CANCELLED,
];

/// What the handler needs.
#[derive(Debug, Clone)]
pub struct Indexer {
    /// The read model.
    pub store: Store,
    /// The results cache.
    pub cache: ResultCache,
    /// Booking's availability API.
    pub booking: BookingClient,
}

/// Consume in the background until `shutdown` (which a failed consumer cancels).
pub fn spawn(kafka: &KafkaConfig, group: String, dead_letters: Producer, indexer: Indexer, shutdown: CancellationToken) -> JoinHandle<()> {
    let settings =
        ConsumerSettings { concurrency: kafka.read_model_concurrency, order_key: hotel_key, ..ConsumerSettings::new(group, TOPICS) };
    let handler = move |delivery: Delivery| {
        let indexer = indexer.clone();
        async move { handle(&indexer, &delivery).await }
    };
    spawn_consumer("read model", kafka, settings, dead_letters, shutdown, handler)
}

/// The version an event writes: its time in nanoseconds.
fn version(time: DateTime<Utc>) -> i64 {
    time.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn transient(e: mongodb::error::Error) -> HandlerError {
    HandlerError::Transient(e.into())
}

/// Apply the popularity a booking event carries (events written before booking counted it
/// carry none, and change nothing here).
async fn popularity(ix: &Indexer, hotel: &str, popularity: Option<Popularity>) -> Result<Applied, HandlerError> {
    match popularity {
        Some(p) => ix.store.set_popularity(hotel, p).await.map_err(transient),
        None => Ok(Applied::default()),
    }
}

/// Apply one event.
pub async fn handle(ix: &Indexer, delivery: &Delivery) -> Result<(), HandlerError> {
    let document = |hotel: &str| Change { hotel: hotel.to_owned(), room_type: None };
    let (applied, change) = match delivery.topic.as_str() {
        topics::HOTEL_UPSERTED => {
            let e = delivery.event::<HotelUpserted>()?;
            (ix.store.upsert_hotel(&e.data, version(e.time)).await.map_err(transient)?, document(&e.data.hotel_id))
        }
        topics::HOTEL_REMOVED => {
            let e = delivery.event::<HotelRemoved>()?;
            (ix.store.remove_hotel(&e.data.hotel_id, version(e.time)).await.map_err(transient)?, document(&e.data.hotel_id))
        }
        topics::HOTEL_RATING_UPDATED => {
            let e = delivery.event::<HotelRatingUpdated>()?;
            let d = &e.data;
            (ix.store.set_rating(&d.hotel_id, d.average, d.count, version(e.time)).await.map_err(transient)?, document(&d.hotel_id))
        }
        topics::AVAILABILITY_CHANGED => {
            let e = delivery.event::<AvailabilityChanged>()?;
            let change = Change { hotel: e.data.hotel_id.clone(), room_type: Some(e.data.room_type.clone()) };
            (availability::sync(&ix.store, &ix.booking, &e.data, Utc::now().date_naive()).await?, change)
        }
        topics::BOOKING_CONFIRMED => {
            let e = delivery.event::<BookingConfirmed>()?;
            (popularity(ix, &e.data.stay.hotel_id, e.data.popularity).await?, document(&e.data.stay.hotel_id))
        }
        topics::BOOKING_CANCELLED => {
            let e = delivery.event::<BookingCancelled>()?;
            (popularity(ix, &e.data.stay.hotel_id, e.data.popularity).await?, document(&e.data.stay.hotel_id))
        }
        other => return Err(HandlerError::Permanent(anyhow::anyhow!("search does not handle topic {other:?}"))),
    };
    if applied.changed {
        ix.cache.record(&applied.cities, &change).await;
    }
    Ok(())
}
