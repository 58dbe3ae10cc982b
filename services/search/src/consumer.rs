//! The consumer group that keeps the read model current. Each event is applied to MongoDB
//! idempotently (see [`crate::store`]), then the cached results it affects are invalidated and
//! the hotel (or calendar) it changed is logged for the city snapshots ([`crate::cache`]).

use crate::{
    availability,
    availability::BookingClient,
    cache::{Change, ResultCache},
    store::{Applied, Store},
};
use chrono::{DateTime, NaiveDate, Utc};
use std::collections::BTreeMap;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::KafkaConfig,
    events::topics,
    kafka::{ConsumerSettings, Delivery, HandlerError, Producer, spawn_batch_consumer},
    saga::{
        AvailabilityChanged, BookingCancelled, BookingConfirmed, HotelRatingUpdated, HotelRemoved, HotelUpserted, Latest,
        NightAvailability, Popularity,
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
    let settings = ConsumerSettings::read_model(kafka, group, TOPICS);
    let handler = move |batch: Vec<Delivery>| {
        let indexer = indexer.clone();
        async move { handle_batch(&indexer, &batch).await }
    };
    spawn_batch_consumer("read model", kafka, settings, dead_letters, shutdown, handler)
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

/// Apply one event that [`handle_batch`] does not gather.
async fn handle(ix: &Indexer, delivery: &Delivery) -> Result<(), HandlerError> {
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
            // Only events without their nights come here (`handle_batch` gathers the others).
            (availability::reread(&ix.store, &ix.booking, &e.data, Utc::now().date_naive()).await?, change)
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

/// What a batch's availability and booking events change, gathered to be written once each.
#[derive(Debug, Default)]
struct Gathered {
    /// The nights each room type's calendar gets, by `(hotel, room type)`: a later event's night
    /// replaces an earlier one's.
    nights: BTreeMap<(String, String), BTreeMap<NaiveDate, NightAvailability>>,
    /// The newest popularity count by hotel.
    popularity: Latest<Popularity>,
    /// The newest rating (average, count) by hotel, versioned by event time.
    ratings: Latest<(f64, i64)>,
}

impl Gathered {
    /// Store what was gathered (one calendar write per room type, one popularity and one rating
    /// write per hotel) and invalidate what it changed.
    async fn flush(&mut self, ix: &Indexer) -> Result<(), HandlerError> {
        let today = Utc::now().date_naive();
        for ((hotel, room_type), nights) in std::mem::take(&mut self.nights) {
            let nights: Vec<NightAvailability> = nights.into_values().collect();
            let applied = ix.store.replace_nights(&hotel, &room_type, None, &nights, today).await.map_err(transient)?;
            if applied.changed {
                ix.cache.record(&applied.cities, &Change { hotel, room_type: Some(room_type) }).await;
            }
        }
        for (hotel, (_, p)) in self.popularity.take() {
            let applied = ix.store.set_popularity(&hotel, p).await.map_err(transient)?;
            if applied.changed {
                ix.cache.record(&applied.cities, &Change { hotel, room_type: None }).await;
            }
        }
        for (hotel, (version, (average, count))) in self.ratings.take() {
            let applied = ix.store.set_rating(&hotel, average, count, version).await.map_err(transient)?;
            if applied.changed {
                ix.cache.record(&applied.cities, &Change { hotel, room_type: None }).await;
            }
        }
        Ok(())
    }
}

/// Apply a batch of events of one hotel, in order (the consumer hands over what piled up behind
/// a hotel while it was behind). Availability changes that carry their nights are merged per
/// room type, and booking events' popularity and rating changes kept at the highest version,
/// then written once each; any other event is applied on its own, after what came before it was written, so the
/// outcome is the one of applying the events one by one.
pub async fn handle_batch(ix: &Indexer, batch: &[Delivery]) -> Result<(), HandlerError> {
    let mut gathered = Gathered::default();
    for delivery in batch {
        match delivery.topic.as_str() {
            topics::AVAILABILITY_CHANGED => {
                let e = delivery.event::<AvailabilityChanged>()?;
                if let Some(nights) = e.data.nights {
                    let calendar = gathered.nights.entry((e.data.hotel_id, e.data.room_type)).or_default();
                    calendar.extend(nights.into_iter().map(|n| (n.night, n)));
                    continue;
                }
            }
            topics::HOTEL_RATING_UPDATED => {
                let e = delivery.event::<HotelRatingUpdated>()?;
                gathered.ratings.keep(&e.data.hotel_id, version(e.time), (e.data.average, e.data.count));
                continue;
            }
            topics::BOOKING_CONFIRMED => {
                let e = delivery.event::<BookingConfirmed>()?;
                gathered.popularity.keep_popularity(&e.data.stay.hotel_id, e.data.popularity);
                continue;
            }
            topics::BOOKING_CANCELLED => {
                let e = delivery.event::<BookingCancelled>()?;
                gathered.popularity.keep_popularity(&e.data.stay.hotel_id, e.data.popularity);
                continue;
            }
            _ => {}
        }
        gathered.flush(ix).await?;
        handle(ix, delivery).await?;
    }
    gathered.flush(ix).await
}
