//! The one event envelope: CloudEvents 1.0 in structured JSON mode. `id` is a UUID, `type` is
//! the topic name, `source` is the producing service and `subject` is the aggregate id
//! (booking or hotel), which is also the Kafka key so that per-aggregate order holds.
//! `traceparent` travels as a Kafka header, not in the body.
//!
//! Each payload type names its topic ([`Payload::TOPIC`], implemented next to the types in
//! [`crate::saga`]): [`Event::new`] takes the topic from the payload, and
//! [`Delivery::event`](crate::kafka::Delivery::event) refuses a payload type that is not the
//! delivery's topic's, so a producer and a consumer of one topic agree on its type at compile
//! time.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

/// The CloudEvents spec version we speak.
pub const SPEC_VERSION: &str = "1.0";

/// Topic names from DESIGN.md. An event's `type` equals its topic.
pub mod topics {
    /// Rooms are held and the booking is PENDING.
    pub const BOOKING_CREATED: &str = "booking.created";
    /// Booking confirmed after payment.
    pub const BOOKING_CONFIRMED: &str = "booking.confirmed";
    /// Booking cancelled (payment_failed / guest / expired).
    pub const BOOKING_CANCELLED: &str = "booking.cancelled";
    /// The charge was captured.
    pub const PAYMENT_SUCCESS: &str = "payment.success";
    /// Declined or errored.
    pub const PAYMENT_FAILED: &str = "payment.failed";
    /// A capture was refunded.
    pub const PAYMENT_REFUNDED: &str = "payment.refunded";
    /// A notification was sent (audit).
    pub const NOTIFICATION_SENT: &str = "notification.sent";
    /// Catalog upsert.
    pub const HOTEL_UPSERTED: &str = "hotel.upserted";
    /// Catalog removal.
    pub const HOTEL_REMOVED: &str = "hotel.removed";
    /// Availability changed for a hotel, room type and date range.
    pub const AVAILABILITY_CHANGED: &str = "availability.changed";
    /// A review was posted.
    pub const REVIEW_CREATED: &str = "review.created";
    /// A hotel's rating aggregate changed.
    pub const HOTEL_RATING_UPDATED: &str = "hotel.rating.updated";

    /// Every topic of the platform.
    pub const ALL: &[&str] = &[
        BOOKING_CREATED,
        BOOKING_CONFIRMED,
        BOOKING_CANCELLED,
        PAYMENT_SUCCESS,
        PAYMENT_FAILED,
        PAYMENT_REFUNDED,
        NOTIFICATION_SENT,
        HOTEL_UPSERTED,
        HOTEL_REMOVED,
        AVAILABILITY_CHANGED,
        REVIEW_CREATED,
        HOTEL_RATING_UPDATED,
    ];

    /// The dead-letter topic where unprocessable messages from `topic` are parked.
    pub fn dead_letter(topic: &str) -> String {
        format!("{topic}.dlq")
    }
}

/// The `data` of the events on one topic.
pub trait Payload: Serialize + DeserializeOwned {
    /// The (logical) topic events of this payload are published on; it is also their `type`.
    const TOPIC: &'static str;
}

/// A CloudEvent carrying `T` as JSON `data`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event<T> {
    /// Always `"1.0"`.
    pub specversion: String,
    /// Unique per event; consumers dedup on it.
    pub id: Uuid,
    /// The producing service, e.g. `/tripnest/booking`.
    pub source: String,
    /// The topic name.
    #[serde(rename = "type")]
    pub kind: String,
    /// The aggregate id (booking or hotel) — also the Kafka key.
    pub subject: String,
    /// When the fact happened.
    pub time: DateTime<Utc>,
    /// Always `application/json`.
    pub datacontenttype: String,
    /// The payload.
    pub data: T,
}

/// Why bytes could not be read as an event; the reason recorded on the dead-letter topic.
#[derive(Debug, thiserror::Error)]
pub enum EnvelopeError {
    /// Not JSON, or not the expected shape.
    #[error("not a valid CloudEvent: {0}")]
    Malformed(#[from] serde_json::Error),
    /// A CloudEvent of a version we do not speak.
    #[error("unsupported CloudEvents specversion {0:?}")]
    UnsupportedVersion(String),
    /// A well-formed event on a topic whose type it does not carry.
    #[error("event type {found:?} does not match topic {expected:?}")]
    WrongType { expected: String, found: String },
}

impl<T: Payload> Event<T> {
    /// A new event of `service` about `subject` on `T`'s topic, with a fresh id and the
    /// current time.
    pub fn new(service: &str, subject: impl Into<String>, data: T) -> Self {
        Self {
            specversion: SPEC_VERSION.to_owned(),
            id: Uuid::now_v7(),
            source: format!("/tripnest/{service}"),
            kind: T::TOPIC.to_owned(),
            subject: subject.into(),
            time: Utc::now(),
            datacontenttype: "application/json".to_owned(),
            data,
        }
    }
}

impl<T: Serialize> Event<T> {
    /// The structured-mode JSON bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("events serialize: all fields are plain data")
    }
}

impl<T: DeserializeOwned> Event<T> {
    /// Parse and check an event read from `topic`.
    pub fn from_slice(topic: &str, bytes: &[u8]) -> Result<Self, EnvelopeError> {
        let event: Self = serde_json::from_slice(bytes)?;
        if event.specversion != SPEC_VERSION {
            return Err(EnvelopeError::UnsupportedVersion(event.specversion));
        }
        if event.kind != topic {
            return Err(EnvelopeError::WrongType { expected: topic.to_owned(), found: event.kind });
        }
        Ok(event)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Created {
        booking_id: String,
        amount_cents: i64,
    }

    impl Payload for Created {
        const TOPIC: &'static str = topics::BOOKING_CREATED;
    }

    fn created() -> Created {
        Created { booking_id: "bk-1".into(), amount_cents: 12_000 }
    }

    #[test]
    fn round_trips_in_structured_mode_with_cloudevents_names() {
        let e = Event::new("booking", "bk-1", created());
        let v: serde_json::Value = serde_json::from_slice(&e.to_bytes()).expect("json");
        assert_eq!(v["specversion"], "1.0");
        assert_eq!(v["type"], "booking.created");
        assert_eq!(v["source"], "/tripnest/booking");
        assert_eq!(v["subject"], "bk-1");
        assert_eq!(v["datacontenttype"], "application/json");
        assert_eq!(v["data"], json!({"bookingId": "bk-1", "amountCents": 12000}));
        let back: Event<Created> = Event::from_slice(topics::BOOKING_CREATED, &e.to_bytes()).expect("parse");
        assert_eq!(back, e);
    }

    #[test]
    fn ids_are_unique() {
        let a = Event::new("x", "s", created());
        let b = Event::new("x", "s", created());
        assert_ne!(a.id, b.id);
    }

    #[test]
    fn garbage_wrong_version_and_wrong_type_are_refused_with_a_reason() {
        let err = Event::<Created>::from_slice("booking.created", b"not json").expect_err("garbage");
        assert!(matches!(err, EnvelopeError::Malformed(_)));

        let mut v = serde_json::to_value(Event::new("b", "s", created())).expect("value");
        v["specversion"] = json!("0.3");
        let err = Event::<serde_json::Value>::from_slice("booking.created", &serde_json::to_vec(&v).expect("bytes")).expect_err("version");
        assert!(err.to_string().contains("0.3"));

        let e = Event::new("b", "s", created());
        let err = Event::<serde_json::Value>::from_slice("payment.success", &e.to_bytes()).expect_err("type");
        assert!(matches!(err, EnvelopeError::WrongType { .. }));
    }

    #[test]
    fn dead_letter_topic_names() {
        assert_eq!(topics::dead_letter(topics::PAYMENT_SUCCESS), "payment.success.dlq");
        assert!(topics::ALL.iter().all(|t| t.contains('.')));
    }
}
