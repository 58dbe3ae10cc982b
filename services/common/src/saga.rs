//! The payloads of the booking saga's events — the `data` of each [`crate::Event`]. Every
//! service that produces or consumes a topic uses these types, so producer and consumer agree
//! at compile time. JSON field names are camelCase; money is integer minor units + currency.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Which topic carries which payload: the one place they are paired.
macro_rules! on_topics {
    ($($payload:ty => $topic:ident),* $(,)?) => {
        $(impl crate::events::Payload for $payload {
            const TOPIC: &'static str = crate::events::topics::$topic;
        })*

        /// The topics paired with a payload, in the order above.
        #[cfg(test)]
        const PAIRED: &[&str] = &[$(crate::events::topics::$topic),*];
    };
}

on_topics! {
    BookingCreated => BOOKING_CREATED,
    PaymentSucceeded => PAYMENT_SUCCESS,
    PaymentFailed => PAYMENT_FAILED,
    PaymentRefunded => PAYMENT_REFUNDED,
    BookingConfirmed => BOOKING_CONFIRMED,
    BookingCancelled => BOOKING_CANCELLED,
    NotificationSent => NOTIFICATION_SENT,
    AvailabilityChanged => AVAILABILITY_CHANGED,
    HotelUpserted => HOTEL_UPSERTED,
    HotelRemoved => HOTEL_REMOVED,
    ReviewCreated => REVIEW_CREATED,
    HotelRatingUpdated => HOTEL_RATING_UPDATED,
}

/// The order key of the read models' consumers: the hotel of a `booking.confirmed` or
/// `booking.cancelled` (keyed by booking, but what they write is their hotel's popularity),
/// else the event's Kafka key (catalog, rating and availability events are keyed by hotel).
/// So two events that write one hotel's document are never handled at once, which FerretDB's
/// read-then-write updates need (see `tripnest_common::mongo`). Only the hotel is decoded.
pub fn hotel_key(d: &crate::kafka::Delivery) -> Vec<u8> {
    #[derive(Deserialize)]
    struct Booking {
        data: Stayed,
    }
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Stayed {
        hotel_id: String,
    }
    let hotel = match d.topic.as_str() {
        crate::events::topics::BOOKING_CONFIRMED | crate::events::topics::BOOKING_CANCELLED => {
            serde_json::from_slice::<Booking>(&d.payload).ok().map(|b| b.data.hotel_id)
        }
        _ => None,
    };
    hotel.map(String::into_bytes).or_else(|| d.key.clone()).unwrap_or_default()
}

/// How to reach the guest; travels with the booking so notification needs no other lookup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Contact {
    /// Email address (always present: it is the login).
    pub email: String,
    /// Phone number in E.164, when the guest gave one (enables SMS).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Display name, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// What was booked: shared by `booking.created`, `booking.confirmed` and `booking.cancelled`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Stay {
    /// The booking.
    pub booking_id: Uuid,
    /// The guest (JWT subject).
    pub user_id: Uuid,
    /// Hotel id (the `Hotel` resource's name, e.g. `lisbon-riverside`).
    pub hotel_id: String,
    /// Hotel display name, for messages.
    pub hotel_name: String,
    /// Room type name within the hotel.
    pub room_type: String,
    /// First night.
    pub check_in: NaiveDate,
    /// Day of departure (not a night).
    pub check_out: NaiveDate,
    /// Guests staying, across all rooms.
    pub guests: u32,
    /// Rooms booked on each night.
    pub rooms: u32,
    /// Total price computed by booking from the calendar, in minor units.
    pub amount_cents: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Guest contact.
    pub contact: Contact,
}

/// `booking.created`: rooms are held, the booking is PENDING and awaits payment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingCreated {
    /// What was booked.
    #[serde(flatten)]
    pub stay: Stay,
    /// Payment method token (`pm_card_visa`, …); never card data.
    pub payment_method: String,
    /// When the hold expires if payment has not concluded.
    pub hold_expires_at: chrono::DateTime<chrono::Utc>,
}

/// `payment.success`: the charge was captured.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentSucceeded {
    /// The booking paid for.
    pub booking_id: Uuid,
    /// Payment service's id for the charge.
    pub payment_id: Uuid,
    /// Captured amount.
    pub amount_cents: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
}

/// Why a payment failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentFailure {
    /// The card was declined.
    Declined,
    /// Not enough funds.
    InsufficientFunds,
    /// The processor kept failing after retries.
    ProcessorError,
    /// The payment method token is not one we know.
    InvalidPaymentMethod,
}

/// `payment.failed`: declined or errored; booking cancels and releases the rooms.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentFailed {
    /// The booking.
    pub booking_id: Uuid,
    /// Machine-readable reason.
    pub reason: PaymentFailure,
    /// Human message for the guest.
    pub message: String,
}

/// `payment.refunded`: a captured charge was refunded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentRefunded {
    /// The booking.
    pub booking_id: Uuid,
    /// The original charge.
    pub payment_id: Uuid,
    /// Refunded amount.
    pub amount_cents: i64,
    /// ISO 4217 currency of the refund.
    pub currency: String,
}

/// A hotel's popularity as booking counts it, carried by the booking events that change it:
/// the hotel's confirmed, not cancelled stays right after the change. Booking counts in the
/// transaction that confirms or cancels, so the count is exact; `version` grows with every
/// change of the hotel's count and is at least the change's time in microseconds since the
/// epoch. A read model keeps the count of the highest version it has seen: one lookup and one
/// write per event, and redelivered or reordered events never roll it back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Popularity {
    /// Confirmed, not cancelled stays at the hotel.
    pub stays: i64,
    /// Orders the hotel's counts: a later count has a higher version.
    pub version: i64,
}

/// The newest value of each hotel among several events (a [`Popularity`] by its version, a
/// rating by its event's time): a consumer that applies a batch of them writes each hotel's
/// once, which is what applying them one by one would leave.
#[derive(Debug)]
pub struct Latest<T>(std::collections::BTreeMap<String, (i64, T)>);

impl<T> Default for Latest<T> {
    fn default() -> Self {
        Self(std::collections::BTreeMap::new())
    }
}

impl<T> Latest<T> {
    /// Keep `value` for `hotel` if its `version` is higher than the kept one's.
    pub fn keep(&mut self, hotel: &str, version: i64, value: T) {
        match self.0.get_mut(hotel) {
            Some(kept) if kept.0 >= version => {}
            Some(kept) => *kept = (version, value),
            None => {
                self.0.insert(hotel.to_owned(), (version, value));
            }
        }
    }

    /// The kept values with their versions, by hotel, leaving none.
    pub fn take(&mut self) -> std::collections::BTreeMap<String, (i64, T)> {
        std::mem::take(&mut self.0)
    }
}

impl Latest<Popularity> {
    /// Keep a booking event's popularity, if it carries one.
    pub fn keep_popularity(&mut self, hotel: &str, popularity: Option<Popularity>) {
        if let Some(p) = popularity {
            self.keep(hotel, p.version, p);
        }
    }
}

/// `booking.confirmed`: payment captured, the stay is booked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingConfirmed {
    /// What was booked.
    #[serde(flatten)]
    pub stay: Stay,
    /// The capture.
    pub payment_id: Uuid,
    /// The hotel's popularity with this stay counted (absent from events written before
    /// booking counted popularity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity: Option<Popularity>,
}

/// Why a booking was cancelled.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CancelReason {
    /// Payment failed.
    PaymentFailed,
    /// The guest cancelled.
    Guest,
    /// The hold expired before payment concluded.
    Expired,
}

/// `booking.cancelled`: rooms are released; a captured payment is to be refunded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BookingCancelled {
    /// What was booked.
    #[serde(flatten)]
    pub stay: Stay,
    /// Why the booking was cancelled.
    pub reason: CancelReason,
    /// Whether money was captured and must be refunded (cancelled after CONFIRMED).
    pub refund_due: bool,
    /// Payment failure detail, when `reason` is `payment_failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payment_failure: Option<PaymentFailure>,
    /// The hotel's popularity without this stay, when it had counted (the booking was
    /// confirmed); absent when the popularity did not change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub popularity: Option<Popularity>,
}

/// Channel a notification went out on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// Email over SMTP.
    Email,
    /// SMS over the HTTP provider.
    Sms,
}

/// `notification.sent`: an email or SMS went out (audit).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotificationSent {
    /// The notification record.
    pub notification_id: Uuid,
    /// The booking it concerns.
    pub booking_id: Uuid,
    /// Recipient user.
    pub user_id: Uuid,
    /// Channel used.
    pub channel: Channel,
    /// Id of the event that caused it.
    pub cause_event_id: Uuid,
    /// Template name (`booking_confirmed`, `booking_cancelled`).
    pub template: String,
}

/// `availability.changed`: nights in `[from, to)` of a room type changed.
///
/// It carries the changed nights' values as the transaction that changed them left them, so a
/// read model applies it without asking booking. Applying them in the order of the topic is
/// safe: two transactions that change one night are serialised by its row lock and each
/// enqueues its event after its update, so the later one's outbox `seq` is higher; the relay
/// publishes in `seq` order and the event is keyed by hotel, so one partition holds them in
/// that order (transactions on different nights may swap, which changes nothing).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AvailabilityChanged {
    /// Hotel whose calendar changed.
    pub hotel_id: String,
    /// Room type.
    pub room_type: String,
    /// First night affected.
    pub from: NaiveDate,
    /// First night after the range.
    pub to: NaiveDate,
    /// The nights of the range that changed, with their values right after the change; a night
    /// of the range that is not listed did not change. Absent from events written before booking
    /// carried them: a reader then asks booking for the range.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nights: Option<Vec<NightAvailability>>,
}

/// One night of a room type, as booking holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NightAvailability {
    /// The night.
    pub night: NaiveDate,
    /// Rooms left to sell (0 when the night is closed).
    pub available: i32,
    /// Price of one room that night, in minor units.
    pub price_cents: i64,
}

/// A room type as the catalog publishes it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RoomTypeInfo {
    /// Name, unique within the hotel.
    pub name: String,
    /// Guests per room.
    pub capacity: i32,
    /// Base nightly rate before multipliers, in minor units.
    pub base_rate_cents: i64,
    /// Room amenities.
    pub amenities: Vec<String>,
}

/// `hotel.upserted`: a hotel and its room types, as now on sale.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HotelUpserted {
    /// Hotel id.
    pub hotel_id: String,
    /// Display name.
    pub name: String,
    /// City as the hotel's manager wrote it.
    pub city: String,
    /// Country (ISO 3166-1 alpha-2).
    pub country: String,
    /// Street address.
    pub address: String,
    /// Latitude, when known.
    pub lat: Option<f64>,
    /// Longitude, when known.
    pub lon: Option<f64>,
    /// Stars, 1–5.
    pub stars: i16,
    /// Hotel amenities.
    pub amenities: Vec<String>,
    /// ISO 4217 currency of its prices.
    pub currency: String,
    /// Free-text description from the Hotel resource.
    pub description: String,
    /// Room types on sale.
    pub room_types: Vec<RoomTypeInfo>,
}

/// `hotel.removed`: the hotel is no longer on sale (past bookings stay).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HotelRemoved {
    /// Hotel id.
    pub hotel_id: String,
}

/// `review.created`: a guest reviewed their confirmed stay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewCreated {
    /// The review.
    pub review_id: Uuid,
    /// Hotel reviewed.
    pub hotel_id: String,
    /// The stay it is about.
    pub booking_id: Uuid,
    /// The traveller who wrote the review.
    pub user_id: Uuid,
    /// 1–5.
    pub rating: u8,
}

/// `hotel.rating.updated`: a hotel's rating aggregate after a review (keyed by hotel id).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HotelRatingUpdated {
    /// Hotel whose rating changed.
    pub hotel_id: String,
    /// Mean rating, 1–5, rounded to 2 decimals.
    pub average: f64,
    /// Number of reviews.
    pub count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_topic_carries_exactly_one_payload_type() {
        let mut paired = PAIRED.to_vec();
        paired.sort_unstable();
        let mut all = crate::events::topics::ALL.to_vec();
        all.sort_unstable();
        assert_eq!(paired, all);
    }

    fn stay() -> Stay {
        Stay {
            booking_id: Uuid::nil(),
            user_id: Uuid::nil(),
            hotel_id: "lisbon-riverside".into(),
            hotel_name: "Riverside".into(),
            room_type: "double".into(),
            check_in: NaiveDate::from_ymd_opt(2027, 5, 1).expect("date"),
            check_out: NaiveDate::from_ymd_opt(2027, 5, 3).expect("date"),
            guests: 2,
            rooms: 1,
            amount_cents: 24_000,
            currency: "EUR".into(),
            contact: Contact { email: "ada@example.test".into(), phone: None, name: None },
        }
    }

    #[test]
    fn stays_flatten_into_camel_case_payloads() {
        let c = BookingCancelled {
            stay: stay(),
            reason: CancelReason::PaymentFailed,
            refund_due: false,
            payment_failure: Some(PaymentFailure::Declined),
            popularity: None,
        };
        let v = serde_json::to_value(&c).expect("json");
        assert_eq!(v["bookingId"], Uuid::nil().to_string());
        assert_eq!(v["checkIn"], "2027-05-01");
        assert_eq!(v["reason"], "payment_failed");
        assert_eq!(v["paymentFailure"], "declined");
        assert_eq!(v["contact"]["email"], "ada@example.test");
        assert!(v["contact"].get("phone").is_none());
        assert!(v.get("popularity").is_none(), "absent, not null, when it did not change");
        let back: BookingCancelled = serde_json::from_value(v).expect("parse");
        assert_eq!(back, c);
    }

    #[test]
    fn a_confirmation_carries_its_hotels_popularity_and_older_events_without_it_still_parse() {
        let popularity = Some(Popularity { stays: 7, version: 1_780_000_000_000_000 });
        let c = BookingConfirmed { stay: stay(), payment_id: Uuid::nil(), popularity };
        let v = serde_json::to_value(&c).expect("json");
        assert_eq!(v["popularity"], serde_json::json!({ "stays": 7, "version": 1_780_000_000_000_000_i64 }));
        let mut older = v.clone();
        older.as_object_mut().expect("object").remove("popularity");
        let parsed: BookingConfirmed = serde_json::from_value(older).expect("an event from before popularity was counted");
        assert_eq!(parsed.popularity, None);
        assert_eq!(serde_json::from_value::<BookingConfirmed>(v).expect("parse"), c);
    }

    #[test]
    fn an_availability_change_carries_its_nights_and_older_events_without_them_still_parse() {
        let d = |day| NaiveDate::from_ymd_opt(2027, 5, day).expect("date");
        let nights = vec![NightAvailability { night: d(1), available: 0, price_cents: 12_000 }];
        let c = AvailabilityChanged { hotel_id: "h".into(), room_type: "double".into(), from: d(1), to: d(2), nights: Some(nights) };
        let v = serde_json::to_value(&c).expect("json");
        assert_eq!(v["nights"], serde_json::json!([{ "night": "2027-05-01", "available": 0, "priceCents": 12_000 }]));
        assert_eq!(serde_json::from_value::<AvailabilityChanged>(v.clone()).expect("parse"), c);
        let mut older = v;
        older.as_object_mut().expect("object").remove("nights");
        let parsed: AvailabilityChanged = serde_json::from_value(older).expect("an event from before nights were carried");
        assert_eq!(parsed.nights, None);
    }

    #[test]
    fn the_latest_value_of_each_hotel_is_the_one_of_the_highest_version() {
        let mut latest = Latest::default();
        latest.keep_popularity("a", Some(Popularity { stays: 5, version: 20 }));
        latest.keep_popularity("a", Some(Popularity { stays: 4, version: 10 }));
        latest.keep_popularity("a", None);
        latest.keep_popularity("b", Some(Popularity { stays: 1, version: 3 }));
        latest.keep_popularity("b", Some(Popularity { stays: 2, version: 4 }));
        let taken: Vec<(String, i64, i64)> = latest.take().into_iter().map(|(h, (v, p))| (h, v, p.stays)).collect();
        assert_eq!(taken, [("a".to_owned(), 20, 5), ("b".to_owned(), 4, 2)]);
        assert!(latest.take().is_empty());
    }

    fn delivery(topic: &str, key: &str, payload: Vec<u8>) -> crate::kafka::Delivery {
        let (topic, key) = (topic.to_owned(), Some(key.as_bytes().to_vec()));
        crate::kafka::Delivery { physical_topic: topic.clone(), topic, partition: 0, offset: 0, key, payload, headers: Vec::new() }
    }

    #[test]
    fn booking_events_are_ordered_by_their_hotel_and_other_events_by_their_key() {
        use crate::events::topics;
        let booking = Uuid::now_v7().to_string();
        let event = crate::Event::new("booking", &booking, BookingConfirmed { stay: stay(), payment_id: Uuid::nil(), popularity: None });
        let confirmed = delivery(topics::BOOKING_CONFIRMED, &booking, serde_json::to_vec(&event).expect("json"));
        assert_eq!(hotel_key(&confirmed), b"lisbon-riverside", "a booking event goes in its hotel's lane");
        assert_eq!(hotel_key(&delivery(topics::HOTEL_UPSERTED, "faro-2", b"{}".to_vec())), b"faro-2");
        assert_eq!(hotel_key(&delivery(topics::BOOKING_CANCELLED, "b-1", b"not json".to_vec())), b"b-1", "unreadable: its key");
    }
}
