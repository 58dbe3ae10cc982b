//! The consumer group that keeps the read model current. Each event is applied to MongoDB
//! idempotently (see [`crate::store`]), then the cached results it affects are invalidated and
//! the hotel (or calendar) it changed is logged for the city snapshots ([`crate::cache`]).

use crate::{
    availability,
    availability::BookingClient,
    cache::{Change, ResultCache},
    store::Store,
};
use chrono::{DateTime, Utc};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::KafkaConfig,
    events::topics,
    kafka::{ConsumerSettings, Delivery, HandlerError, Producer, spawn_consumer},
    saga::{AvailabilityChanged, BookingCancelled, BookingConfirmed, HotelRatingUpdated, HotelRemoved, HotelUpserted},
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
        ConsumerSettings { concurrency: kafka.read_model_concurrency, order_key: hotel_of, ..ConsumerSettings::new(group, TOPICS) };
    let handler = move |delivery: Delivery| {
        let indexer = indexer.clone();
        async move { handle(&indexer, &delivery).await }
    };
    spawn_consumer("read model", kafka, settings, dead_letters, shutdown, handler)
}

/// Every event search handles writes one hotel's documents (booking events its popularity),
/// so events are ordered by hotel: two writers of one document never overlap, which FerretDB's
/// read-then-write updates need (see `tripnest_common::mongo`). Catalog events are keyed by
/// hotel already; booking events are keyed by booking.
/// Only the hotel of a booking event is decoded here (the handler decodes the whole event).
fn hotel_of(d: &Delivery) -> Vec<u8> {
    #[derive(serde::Deserialize)]
    struct Booking {
        data: Stayed,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Stayed {
        hotel_id: String,
    }
    let hotel = match d.topic.as_str() {
        topics::BOOKING_CONFIRMED | topics::BOOKING_CANCELLED => {
            serde_json::from_slice::<Booking>(&d.payload).ok().map(|b| b.data.hotel_id)
        }
        _ => None,
    };
    hotel.map(String::into_bytes).or_else(|| d.key.clone()).unwrap_or_default()
}

/// The version an event writes: its time in nanoseconds.
fn version(time: DateTime<Utc>) -> i64 {
    time.timestamp_nanos_opt().unwrap_or(i64::MAX)
}

fn transient(e: mongodb::error::Error) -> HandlerError {
    HandlerError::Transient(e.into())
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
            let stay = &e.data.stay;
            let applied = ix.store.record_booking(&stay.booking_id.to_string(), &stay.hotel_id, true, false).await.map_err(transient)?;
            (applied, document(&stay.hotel_id))
        }
        topics::BOOKING_CANCELLED => {
            let e = delivery.event::<BookingCancelled>()?;
            let stay = &e.data.stay;
            let applied = ix.store.record_booking(&stay.booking_id.to_string(), &stay.hotel_id, false, true).await.map_err(transient)?;
            (applied, document(&stay.hotel_id))
        }
        other => return Err(HandlerError::Permanent(anyhow::anyhow!("search does not handle topic {other:?}"))),
    };
    if applied.changed {
        ix.cache.record(&applied.cities, &change).await;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripnest_common::{
        Event,
        saga::{Contact, Stay},
    };

    fn delivery(topic: &str, key: &str, payload: Vec<u8>) -> Delivery {
        let (topic, key) = (topic.to_owned(), Some(key.as_bytes().to_vec()));
        Delivery { physical_topic: topic.clone(), topic, partition: 0, offset: 0, key, payload, headers: Vec::new() }
    }

    #[test]
    fn booking_events_are_ordered_by_their_hotel_and_other_events_by_their_key() {
        let night = chrono::NaiveDate::from_ymd_opt(2027, 5, 1).expect("date");
        let stay = Stay {
            booking_id: uuid::Uuid::now_v7(),
            user_id: uuid::Uuid::now_v7(),
            hotel_id: "porto-1".into(),
            hotel_name: "Porto One".into(),
            room_type: "double".into(),
            check_in: night,
            check_out: night.succ_opt().expect("date"),
            guests: 2,
            rooms: 1,
            amount_cents: 9_000,
            currency: "EUR".into(),
            contact: Contact { email: "ada@example.test".into(), phone: None, name: None },
        };
        let booking = stay.booking_id.to_string();
        let event = Event::new("booking", &booking, BookingConfirmed { stay, payment_id: uuid::Uuid::now_v7() });
        let confirmed = delivery(topics::BOOKING_CONFIRMED, &booking, serde_json::to_vec(&event).expect("json"));
        assert_eq!(hotel_of(&confirmed), b"porto-1", "a booking event goes in its hotel's lane");
        assert_eq!(hotel_of(&delivery(topics::HOTEL_UPSERTED, "faro-2", b"{}".to_vec())), b"faro-2");
        assert_eq!(hotel_of(&delivery(topics::BOOKING_CANCELLED, "b-1", b"not json".to_vec())), b"b-1", "unreadable: its key");
    }
}
