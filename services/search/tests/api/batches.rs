//! A batch of one hotel's events (what piled up while the consumer was behind) leaves the read
//! model exactly as applying them one by one does, with one write per calendar.

use crate::helpers::*;
use chrono::{Days, NaiveDate, Utc};
use std::time::Duration;
use tripnest_common::{
    Event,
    events::Payload,
    kafka::Delivery,
    saga::{
        AvailabilityChanged, BookingCancelled, BookingConfirmed, Contact, HotelRatingUpdated, HotelUpserted, NightAvailability, Popularity,
        Stay,
    },
};
use tripnest_search::{
    availability::BookingClient,
    consumer::{Indexer, handle_batch},
    store::Store,
};

fn delivery<T: Payload + serde::Serialize>(offset: i64, event: &Event<T>) -> Delivery {
    Delivery {
        topic: T::TOPIC.into(),
        physical_topic: T::TOPIC.into(),
        partition: 0,
        offset,
        key: Some(event.subject.clone().into_bytes()),
        payload: event.to_bytes(),
        headers: Vec::new(),
    }
}

fn night(n: u64) -> NaiveDate {
    Utc::now().date_naive().checked_add_days(Days::new(n)).expect("date")
}

fn nights(hotel: &str, room_type: &str, set: &[(u64, i32)]) -> Event<AvailabilityChanged> {
    let nights: Vec<NightAvailability> =
        set.iter().map(|(n, left)| NightAvailability { night: night(*n), available: *left, price_cents: 9_000 }).collect();
    let (from, to) = (nights[0].night, nights[nights.len() - 1].night.succ_opt().expect("date"));
    Event::new(
        "booking",
        hotel,
        AvailabilityChanged { hotel_id: hotel.into(), room_type: room_type.into(), from, to, nights: Some(nights) },
    )
}

fn stay(hotel: &str) -> Stay {
    Stay {
        booking_id: uuid::Uuid::now_v7(),
        user_id: uuid::Uuid::now_v7(),
        hotel_id: hotel.into(),
        hotel_name: hotel.into(),
        room_type: "double".into(),
        check_in: night(1),
        check_out: night(2),
        guests: 2,
        rooms: 1,
        amount_cents: 9_000,
        currency: "EUR".into(),
        contact: Contact { email: "ada@example.test".into(), phone: None, name: None },
    }
}

/// One hotel's events, in the order of its lane: its catalog entry, calendar changes of two
/// room types, booking counts and ratings out of version order, and a catalog change in the
/// middle.
fn events(hotel: &str) -> Vec<Delivery> {
    let catalog = |name: &str| {
        let mut h: HotelUpserted = catalog(hotel, "Lagos", &[("double", 2), ("suite", 4)]);
        h.name = name.into();
        Event::new("booking", hotel, h)
    };
    let confirmed = |stays, version| {
        let data = BookingConfirmed { stay: stay(hotel), payment_id: uuid::Uuid::nil(), popularity: Some(Popularity { stays, version }) };
        Event::new("booking", hotel, data)
    };
    let cancelled = BookingCancelled {
        stay: stay(hotel),
        reason: tripnest_common::saga::CancelReason::Guest,
        refund_due: true,
        payment_failure: None,
        popularity: Some(Popularity { stays: 1, version: 13 }),
    };
    let rating = |average, count| Event::new("review", hotel, HotelRatingUpdated { hotel_id: hotel.into(), average, count });
    let (earlier, later) = (rating(4.0, 2), rating(4.5, 3));
    vec![
        delivery(0, &catalog("Before")),
        delivery(1, &nights(hotel, "double", &[(1, 5), (2, 5), (3, 5)])),
        delivery(2, &nights(hotel, "double", &[(2, 4)])),
        delivery(3, &confirmed(1, 10)),
        delivery(4, &nights(hotel, "suite", &[(1, 1)])),
        delivery(5, &confirmed(3, 12)),
        delivery(6, &catalog("After")),
        delivery(7, &nights(hotel, "double", &[(1, 3), (2, 0)])),
        delivery(8, &confirmed(2, 11)),
        delivery(9, &Event::new("booking", hotel, cancelled)),
        delivery(10, &later),
        delivery(11, &earlier),
    ]
}

#[tokio::test]
async fn a_batch_leaves_the_read_model_as_applying_its_events_one_by_one_does() {
    let booking =
        BookingClient::new("http://127.0.0.1:9", Duration::from_secs(1)).expect("client (never called: the events carry their nights)");
    let (db, cache, _one_by_one) = fresh_read_model().await;
    let single = Indexer { store: Store::new(db).with_locks(cache.clone()), cache, booking: booking.clone() };
    let (db, cache, _batched) = fresh_read_model().await;
    let batched = Indexer { store: Store::new(db).with_locks(cache.clone()), cache, booking };

    let events = events("lagos-1");
    for d in &events {
        handle_batch(&single, std::slice::from_ref(d)).await.expect("one event");
    }
    handle_batch(&batched, &events).await.expect("the batch");

    for ix in [&single, &batched] {
        let hotel = ix.store.hotel("lagos-1").await.expect("read").expect("the hotel");
        assert_eq!((hotel.name.as_str(), hotel.popularity, hotel.popularity_version), ("After", 1, 13), "{hotel:?}");
        assert_eq!((hotel.rating, hotel.review_count), (4.5, 3), "the newest rating, though it came first");
        let double = ix.store.calendar("lagos-1", "double").await.expect("read").expect("double's calendar");
        let left: Vec<(NaiveDate, i32)> = double.nights.iter().map(|(n, c)| (*n, c.available)).collect();
        assert_eq!(left, [(night(1), 3), (night(2), 0), (night(3), 5)], "a later event's night wins");
        let suite = ix.store.calendar("lagos-1", "suite").await.expect("read").expect("suite's calendar");
        assert_eq!(suite.nights.len(), 1);
    }
    assert_eq!(single.store.hotel("lagos-1").await.expect("read"), batched.store.hotel("lagos-1").await.expect("read"));
}
