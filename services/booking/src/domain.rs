//! Pure booking rules: the state machine, nightly pricing and request validation. No I/O here,
//! so every rule is unit-tested directly.

use chrono::{Datelike, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};
use tripnest_common::error::{ApiError, FieldError};

/// Longest stay one booking may cover.
pub const MAX_NIGHTS: i64 = 30;
/// Most rooms one booking may hold.
pub const MAX_ROOMS: i32 = 9;

/// Where a booking is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    /// Rooms held, awaiting payment.
    Pending,
    /// Paid: the rooms are sold.
    Confirmed,
    /// Cancelled (payment failed, or the guest cancelled).
    Cancelled,
    /// The hold ran out before payment concluded.
    Expired,
}

impl Status {
    /// The stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "PENDING",
            Self::Confirmed => "CONFIRMED",
            Self::Cancelled => "CANCELLED",
            Self::Expired => "EXPIRED",
        }
    }

    /// Parse the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "PENDING" => Self::Pending,
            "CONFIRMED" => Self::Confirmed,
            "CANCELLED" => Self::Cancelled,
            "EXPIRED" => Self::Expired,
            _ => return None,
        })
    }
}

/// What can happen to a booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// `payment.success` arrived.
    PaymentCaptured,
    /// `payment.failed` arrived.
    PaymentFailed,
    /// The guest cancelled.
    GuestCancelled,
    /// The sweeper found the hold past its time.
    HoldExpired,
}

/// A transition the state machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("illegal transition {transition:?} from {from:?}")]
pub struct IllegalTransition {
    /// Current state.
    pub from: Status,
    /// Refused transition.
    pub transition: Transition,
}

/// `PENDING → CONFIRMED | CANCELLED | EXPIRED`, `CONFIRMED → CANCELLED` (guest only).
pub fn next(from: Status, t: Transition) -> Result<Status, IllegalTransition> {
    use {Status::*, Transition::*};
    match (from, t) {
        (Pending, PaymentCaptured) => Ok(Confirmed),
        (Pending, PaymentFailed) => Ok(Cancelled),
        (Pending | Confirmed, GuestCancelled) => Ok(Cancelled),
        (Pending, HoldExpired) => Ok(Expired),
        _ => Err(IllegalTransition { from, transition: t }),
    }
}

pub use tripnest_common::catalog::{Pricing, Season};

/// The price of one room for `night`, in minor units: base × weekend × season, rounded.
pub fn nightly_price(base_cents: i64, night: NaiveDate, pricing: &Pricing) -> i64 {
    let mut factor = 1.0;
    if matches!(night.weekday(), Weekday::Fri | Weekday::Sat) {
        factor *= pricing.weekend_multiplier.unwrap_or(1.0);
    }
    if let Some(season) = pricing.seasons.iter().find(|s| s.from <= night && night <= s.to) {
        factor *= season.multiplier;
    }
    ((base_cents as f64) * factor).round().max(0.0) as i64
}

/// A booking request as the client sends it. Numbers are signed so that a negative value
/// gets a field-naming 422 rather than a parse error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct BookingRequest {
    /// Hotel id.
    #[schema(pattern = r"\S")]
    pub hotel_id: String,
    /// Room type name.
    #[schema(pattern = r"\S")]
    pub room_type: String,
    /// First night (today or later).
    pub check_in: NaiveDate,
    /// Departure day: after `checkIn`, at most `MAX_NIGHTS` nights later.
    pub check_out: NaiveDate,
    /// Guests (the room type's capacity times `rooms` at most).
    #[schema(schema_with = guests_schema)]
    pub guests: i32,
    /// Rooms of the room type to book, all for the same nights.
    #[schema(schema_with = rooms_schema)]
    pub rooms: i32,
    /// Payment method token, e.g. `pm_card_visa`.
    #[schema(pattern = r"\S")]
    pub payment_method: String,
}

/// `guests` as the document states it: at least one (the room capacity bounds it further).
pub fn guests_schema() -> utoipa::openapi::ObjectBuilder {
    use utoipa::openapi::{ObjectBuilder, Type};
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(utoipa::openapi::SchemaFormat::KnownFormat(utoipa::openapi::KnownFormat::Int32)))
        .minimum(Some(1))
}

/// `rooms` as the document states it: 1 to [`MAX_ROOMS`].
pub fn rooms_schema() -> utoipa::openapi::ObjectBuilder {
    guests_schema().maximum(Some(MAX_ROOMS))
}

impl BookingRequest {
    /// Check everything that needs no database; `today` is the hotel-agnostic UTC date.
    pub fn validate(&self, today: NaiveDate) -> Result<(), ApiError> {
        let mut errors = Vec::new();
        if self.hotel_id.trim().is_empty() {
            errors.push(FieldError::new("hotelId", "is required"));
        }
        if self.room_type.trim().is_empty() {
            errors.push(FieldError::new("roomType", "is required"));
        }
        if self.check_in < today {
            errors.push(FieldError::new("checkIn", "must be today or later"));
        }
        let nights = (self.check_out - self.check_in).num_days();
        if nights < 1 {
            errors.push(FieldError::new("checkOut", "must be after checkIn"));
        } else if nights > MAX_NIGHTS {
            errors.push(FieldError::new("checkOut", format!("a stay is at most {MAX_NIGHTS} nights")));
        }
        if self.rooms < 1 || self.rooms > MAX_ROOMS {
            errors.push(FieldError::new("rooms", format!("must be between 1 and {MAX_ROOMS}")));
        }
        if self.guests < 1 {
            errors.push(FieldError::new("guests", "must be at least 1"));
        }
        if self.payment_method.trim().is_empty() {
            errors.push(FieldError::new("paymentMethod", "is required"));
        }
        if errors.is_empty() { Ok(()) } else { Err(ApiError::Validation(errors)) }
    }

    /// Nights of the stay.
    pub fn nights(&self) -> i64 {
        (self.check_out - self.check_in).num_days()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn the_state_machine_allows_only_the_documented_transitions() {
        use {Status::*, Transition::*};
        let all_states = [Pending, Confirmed, Cancelled, Expired];
        let all = [PaymentCaptured, PaymentFailed, GuestCancelled, HoldExpired];
        let mut allowed = Vec::new();
        for s in all_states {
            for t in all {
                if let Ok(to) = next(s, t) {
                    allowed.push((s, t, to));
                }
            }
        }
        assert_eq!(
            allowed,
            [
                (Pending, PaymentCaptured, Confirmed),
                (Pending, PaymentFailed, Cancelled),
                (Pending, GuestCancelled, Cancelled),
                (Pending, HoldExpired, Expired),
                (Confirmed, GuestCancelled, Cancelled),
            ]
        );
        assert_eq!(next(Confirmed, PaymentCaptured), Err(IllegalTransition { from: Confirmed, transition: PaymentCaptured }));
        for s in all_states {
            assert_eq!(Status::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn weekends_and_seasons_multiply_the_base_rate() {
        let pricing = Pricing {
            weekend_multiplier: Some(1.25),
            seasons: vec![Season { name: "summer".into(), from: d("2027-07-01"), to: d("2027-08-31"), multiplier: 1.5 }],
        };
        assert_eq!(nightly_price(10_000, d("2027-06-02"), &pricing), 10_000, "a June Wednesday");
        assert_eq!(nightly_price(10_000, d("2027-06-04"), &pricing), 12_500, "a Friday");
        assert_eq!(nightly_price(10_000, d("2027-06-06"), &pricing), 10_000, "Sunday night is a weekday rate");
        assert_eq!(nightly_price(10_000, d("2027-07-07"), &pricing), 15_000, "summer Wednesday");
        assert_eq!(nightly_price(10_000, d("2027-07-09"), &pricing), 18_750, "summer Friday");
        assert_eq!(nightly_price(9_999, d("2027-07-09"), &pricing), 18_748, "rounded to the cent");
        assert_eq!(nightly_price(10_000, d("2027-07-09"), &Pricing::default()), 10_000);
    }

    fn request() -> BookingRequest {
        BookingRequest {
            hotel_id: "h".into(),
            room_type: "double".into(),
            check_in: d("2027-05-01"),
            check_out: d("2027-05-03"),
            guests: 2,
            rooms: 1,
            payment_method: "pm_card_visa".into(),
        }
    }

    fn failing_fields(r: BookingRequest) -> Vec<String> {
        match r.validate(d("2027-04-01")) {
            Err(ApiError::Validation(f)) => f.into_iter().map(|f| f.field).collect(),
            other => panic!("expected validation error, got {other:?}"),
        }
    }

    #[test]
    fn validation_names_each_bad_field() {
        assert!(request().validate(d("2027-04-01")).is_ok());
        assert_eq!(request().nights(), 2);
        assert_eq!(failing_fields(BookingRequest { check_in: d("2027-03-30"), check_out: d("2027-04-02"), ..request() }), ["checkIn"]);
        assert_eq!(failing_fields(BookingRequest { check_out: d("2027-04-30"), ..request() }), ["checkOut"]);
        assert_eq!(failing_fields(BookingRequest { check_out: d("2027-05-01"), ..request() }), ["checkOut"]);
        assert_eq!(failing_fields(BookingRequest { check_out: d("2027-07-01"), ..request() }), ["checkOut"]);
        assert_eq!(failing_fields(BookingRequest { rooms: 0, ..request() }), ["rooms"]);
        assert_eq!(failing_fields(BookingRequest { rooms: -2, guests: 0, ..request() }), ["rooms", "guests"]);
        assert_eq!(
            failing_fields(BookingRequest { payment_method: " ".into(), hotel_id: String::new(), ..request() }),
            ["hotelId", "paymentMethod"]
        );
    }
}
