//! Saga payloads and events as the services publish them, for tests that play a producer
//! (booking's events for the read models and review, for instance).

use chrono::{Days, NaiveDate, Utc};
use std::collections::HashMap;
use tripnest_common::{
    Event,
    saga::{BookingCancelled, BookingConfirmed, CancelReason, Contact, Popularity, Stay},
};
use uuid::Uuid;

/// The date `n` days from today (before today when `n` is negative).
pub fn day(n: i64) -> NaiveDate {
    let today = Utc::now().date_naive();
    let moved = if n >= 0 { today.checked_add_days(Days::new(n as u64)) } else { today.checked_sub_days(Days::new(n.unsigned_abs())) };
    moved.expect("date in range")
}

/// A stay of `user` at `hotel`: one `double` room for two guests, `nights` nights from day
/// `check_in` (see [`day`]) at `nightly_cents` a night, with a fresh booking id.
pub fn stay(user: Uuid, hotel: &str, check_in: i64, nights: i64, nightly_cents: i64) -> Stay {
    Stay {
        booking_id: Uuid::now_v7(),
        user_id: user,
        hotel_id: hotel.into(),
        hotel_name: hotel.into(),
        room_type: "double".into(),
        check_in: day(check_in),
        check_out: day(check_in + nights),
        guests: 2,
        rooms: 1,
        amount_cents: nightly_cents * nights,
        currency: "EUR".into(),
        contact: Contact { email: "guest@example.test".into(), phone: None, name: None },
    }
}

/// `booking.confirmed` for `stay` once the payment succeeded, carrying `popularity` (booking's
/// count for the hotel: see [`Popularities`]; `None` as in events from before it counted).
pub fn confirmed(stay: &Stay, popularity: Option<Popularity>) -> Event<BookingConfirmed> {
    let data = BookingConfirmed { stay: stay.clone(), payment_id: Uuid::now_v7(), popularity };
    Event::new("booking", stay.booking_id.to_string(), data)
}

/// `booking.cancelled` for `stay` when its guest cancels after it was confirmed (a refund is
/// due), carrying `popularity` (see [`confirmed`]).
pub fn cancelled(stay: &Stay, popularity: Option<Popularity>) -> Event<BookingCancelled> {
    let data = BookingCancelled { stay: stay.clone(), reason: CancelReason::Guest, refund_due: true, payment_failure: None, popularity };
    Event::new("booking", stay.booking_id.to_string(), data)
}

/// Booking's count of each hotel's confirmed, not cancelled stays, for tests that publish its
/// events: every confirmation and cancellation changes its hotel's count as booking's would,
/// under a version higher than any before (at least the time in microseconds, as booking's).
#[derive(Debug, Default)]
pub struct Popularities {
    stays: HashMap<String, i64>,
    version: i64,
}

impl Popularities {
    /// `booking.confirmed` for `stay`, counting it.
    pub fn confirmed(&mut self, stay: &Stay) -> Event<BookingConfirmed> {
        let popularity = self.count(&stay.hotel_id, 1);
        confirmed(stay, Some(popularity))
    }

    /// `booking.cancelled` for the confirmed `stay`, no longer counting it.
    pub fn cancelled(&mut self, stay: &Stay) -> Event<BookingCancelled> {
        let popularity = self.count(&stay.hotel_id, -1);
        cancelled(stay, Some(popularity))
    }

    /// Change `hotel`'s count by `delta`: the count and its version now.
    pub fn count(&mut self, hotel: &str, delta: i64) -> Popularity {
        let stays = self.stays.entry(hotel.to_owned()).or_default();
        *stays += delta;
        self.version = (self.version + 1).max(Utc::now().timestamp_micros());
        Popularity { stays: *stays, version: self.version }
    }
}
