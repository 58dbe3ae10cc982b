//! Saga payloads and events as the services publish them, for tests that play a producer
//! (booking's events for the read models and review, for instance).

use chrono::{Days, NaiveDate, Utc};
use tripnest_common::{
    Event,
    saga::{BookingCancelled, BookingConfirmed, CancelReason, Contact, Stay},
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

/// `booking.confirmed` for `stay`, as booking publishes it once the payment succeeded.
pub fn confirmed(stay: &Stay) -> Event<BookingConfirmed> {
    Event::new("booking", stay.booking_id.to_string(), BookingConfirmed { stay: stay.clone(), payment_id: Uuid::now_v7() })
}

/// `booking.cancelled` for `stay` when its guest cancels after it was confirmed (a refund is due).
pub fn cancelled(stay: &Stay) -> Event<BookingCancelled> {
    let data = BookingCancelled { stay: stay.clone(), reason: CancelReason::Guest, refund_due: true, payment_failure: None };
    Event::new("booking", stay.booking_id.to_string(), data)
}
