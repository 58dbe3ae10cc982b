//! Booking rows and the one place their state changes. [`apply`] moves a booking along the
//! state machine with a compare-and-set on its status, and in the same transaction releases
//! rooms and enqueues the events the new state implies. Callers hold the transaction.

use crate::domain::{self, IllegalTransition, Status, Transition};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use sqlx::PgConnection;
use tripnest_common::{
    Event,
    outbox::{self, Outgoing, Tx},
    saga::{
        AvailabilityChanged, BookingCancelled, BookingConfirmed, CancelReason, Contact, NightAvailability, PaymentFailure, Popularity, Stay,
    },
};
use uuid::Uuid;

/// A booking as stored, joined with its hotel's name.
#[derive(Debug, Clone, sqlx::FromRow, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Booking {
    /// Booking id (UUIDv7, also the events' subject).
    pub id: Uuid,
    /// The traveller who booked.
    pub user_id: Uuid,
    /// Hotel the rooms are in.
    pub hotel_id: String,
    /// Hotel display name.
    pub hotel_name: String,
    /// Room type.
    pub room_type: String,
    /// First night.
    pub check_in: NaiveDate,
    /// Check-out date: the first night not stayed.
    pub check_out: NaiveDate,
    /// Guests staying, across all rooms.
    pub guests: i32,
    /// Rooms held (or sold) on each night.
    pub rooms: i32,
    /// Total, minor units.
    pub amount_cents: i64,
    /// ISO 4217 currency of `amount_cents`.
    pub currency: String,
    /// PENDING / CONFIRMED / CANCELLED / EXPIRED.
    #[schema(value_type = Status)]
    pub status: String,
    /// payment_failed / guest / expired.
    pub cancel_reason: Option<String>,
    /// Why payment failed, when it did.
    pub payment_failure: Option<String>,
    /// Payment method token.
    pub payment_method: String,
    /// Capture id once paid.
    pub payment_id: Option<Uuid>,
    /// Guest contact.
    #[serde(skip)]
    #[schema(ignore)]
    pub contact: sqlx::types::Json<Contact>,
    /// End of the hold.
    pub hold_expires_at: DateTime<Utc>,
    /// When the booking was made (its hold began).
    pub created_at: DateTime<Utc>,
    /// Last change.
    pub updated_at: DateTime<Utc>,
}

/// The columns [`Booking`] reads; `b` is bookings, `h` is hotels.
pub const SELECT_BOOKING: &str = "SELECT b.id, b.user_id, b.hotel_id, h.name AS hotel_name, b.room_type, b.check_in, b.check_out, \
     b.guests, b.rooms, b.amount_cents, b.currency, b.status, b.cancel_reason, b.payment_failure, b.payment_method, \
     b.payment_id, b.contact, b.hold_expires_at, b.created_at, b.updated_at FROM bookings b JOIN hotels h ON h.id = b.hotel_id";

impl Booking {
    /// The parsed status.
    pub fn state(&self) -> Status {
        Status::parse(&self.status).unwrap_or(Status::Cancelled)
    }

    /// The saga's view of the stay.
    pub fn stay(&self) -> Stay {
        Stay {
            booking_id: self.id,
            user_id: self.user_id,
            hotel_id: self.hotel_id.clone(),
            hotel_name: self.hotel_name.clone(),
            room_type: self.room_type.clone(),
            check_in: self.check_in,
            check_out: self.check_out,
            guests: self.guests.unsigned_abs(),
            rooms: self.rooms.unsigned_abs(),
            amount_cents: self.amount_cents,
            currency: self.currency.clone(),
            contact: self.contact.0.clone(),
        }
    }
}

/// Lock and read one booking.
pub async fn load_for_update(tx: &mut PgConnection, id: Uuid) -> sqlx::Result<Option<Booking>> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT_BOOKING} WHERE b.id = $1 FOR UPDATE OF b"));
    sqlx::query_as(sql).bind(id).fetch_optional(&mut *tx).await
}

/// Details that come with a transition.
#[derive(Debug, Default, Clone)]
pub struct Cause {
    /// The capture, for `PaymentCaptured`.
    pub payment_id: Option<Uuid>,
    /// The failure, for `PaymentFailed`.
    pub payment_failure: Option<PaymentFailure>,
    /// Trace context to carry on.
    pub traceparent: Option<String>,
}

/// Apply `t` to `b` inside `tx`: update the row (only if its status is still `b.status`),
/// release rooms when it leaves the inventory, and enqueue the resulting events.
pub async fn apply(tx: &mut Tx<'_>, b: &Booking, t: Transition, cause: &Cause) -> anyhow::Result<Result<Status, IllegalTransition>> {
    let from = b.state();
    let to = match domain::next(from, t) {
        Ok(to) => to,
        Err(illegal) => return Ok(Err(illegal)),
    };
    let reason = match t {
        Transition::PaymentFailed => Some(CancelReason::PaymentFailed),
        Transition::GuestCancelled => Some(CancelReason::Guest),
        Transition::HoldExpired => Some(CancelReason::Expired),
        Transition::PaymentCaptured => None,
    };
    let updated = sqlx::query(
        "UPDATE bookings SET status = $3, cancel_reason = COALESCE($4, cancel_reason), payment_failure = COALESCE($5, payment_failure), \
         payment_id = COALESCE($6, payment_id), updated_at = now() WHERE id = $1 AND status = $2",
    )
    .bind(b.id)
    .bind(from.as_str())
    .bind(to.as_str())
    .bind(reason.map(reason_str))
    .bind(cause.payment_failure.map(failure_str))
    .bind(cause.payment_id)
    .execute(&mut **tx)
    .await?;
    anyhow::ensure!(updated.rows_affected() == 1, "booking {} changed under a lock", b.id);

    let tp = cause.traceparent.as_deref();
    match to {
        Status::Confirmed => {
            let popularity = Some(count_stay(tx, &b.hotel_id, 1).await?);
            let data = BookingConfirmed { stay: b.stay(), payment_id: cause.payment_id.unwrap_or_default(), popularity };
            outbox::enqueue(tx, &Event::new(crate::NAME, b.id.to_string(), data), tp).await?;
        }
        Status::Cancelled | Status::Expired => {
            let released = release_rooms(tx, b).await?;
            let popularity = if from == Status::Confirmed { Some(count_stay(tx, &b.hotel_id, -1).await?) } else { None };
            let data = BookingCancelled {
                stay: b.stay(),
                reason: reason.unwrap_or(CancelReason::Guest),
                refund_due: from == Status::Confirmed,
                payment_failure: cause.payment_failure,
                popularity,
            };
            let events = [
                Outgoing::new(&Event::new(crate::NAME, b.id.to_string(), data))?,
                Outgoing::new(&availability_event(&b.hotel_id, &b.room_type, (b.check_in, b.check_out), released))?,
            ];
            outbox::enqueue_all(tx, &events, tp).await?;
        }
        Status::Pending => {}
    }
    metrics::counter!("booking_transitions_total", "to" => to.as_str()).increment(1);
    Ok(Ok(to))
}

/// A capture arrived for a booking that is no longer PENDING (it expired or the guest
/// cancelled while payment was in flight): ask payment to refund it.
pub async fn refund_late_capture(tx: &mut Tx<'_>, b: &Booking, payment_id: uuid::Uuid, tp: Option<&str>) -> anyhow::Result<()> {
    sqlx::query("UPDATE bookings SET payment_id = $2, updated_at = now() WHERE id = $1")
        .bind(b.id)
        .bind(payment_id)
        .execute(&mut **tx)
        .await?;
    let reason = match b.cancel_reason.as_deref() {
        Some("expired") => CancelReason::Expired,
        Some("payment_failed") => CancelReason::PaymentFailed,
        _ => CancelReason::Guest,
    };
    let data = BookingCancelled { stay: b.stay(), reason, refund_due: true, payment_failure: None, popularity: None };
    outbox::enqueue(tx, &Event::new(crate::NAME, b.id.to_string(), data), tp).await?;
    Ok(())
}

/// Change `hotel`'s count of confirmed, not cancelled stays by `delta` and return it with its
/// new version (see [`Popularity`]). The row stays locked until the transaction ends, so the
/// confirmations and cancellations of one hotel are counted one after another and each
/// publishes a higher version than the one before.
async fn count_stay(tx: &mut PgConnection, hotel: &str, delta: i64) -> sqlx::Result<Popularity> {
    let (stays, version): (i64, i64) = sqlx::query_as(
        "INSERT INTO hotel_popularity AS p (hotel_id, stays, version) \
         VALUES ($1, $2, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) \
         ON CONFLICT (hotel_id) DO UPDATE SET stays = p.stays + $2, \
           version = GREATEST(p.version + 1, (extract(epoch FROM clock_timestamp()) * 1000000)::bigint) \
         RETURNING stays, version",
    )
    .bind(hotel)
    .bind(delta)
    .fetch_one(&mut *tx)
    .await?;
    Ok(Popularity { stays, version })
}

/// The select that follows a `WITH changed AS (UPDATE availability … RETURNING night, available,
/// price_cents)`: the changed nights as three arrays, read by [`nights`].
macro_rules! changed_nights {
    () => {
        "SELECT COALESCE(array_agg(night), '{}'), COALESCE(array_agg(available), '{}'), COALESCE(array_agg(price_cents), '{}') FROM changed"
    };
}
pub(crate) use changed_nights;

/// Give a booking's rooms back to every night it held; returns those nights as they are now.
async fn release_rooms(tx: &mut PgConnection, b: &Booking) -> sqlx::Result<Vec<NightAvailability>> {
    let (released, available, prices) = sqlx::query_as(concat!(
        "WITH changed AS ( \
           UPDATE availability SET booked = booked - $5, available = GREATEST(total - (booked - $5), 0) \
           WHERE hotel_id = $1 AND room_type = $2 AND night >= $3 AND night < $4 \
           RETURNING night, CASE WHEN closed THEN 0 ELSE available END AS available, price_cents) ",
        changed_nights!()
    ))
    .bind(&b.hotel_id)
    .bind(&b.room_type)
    .bind(b.check_in)
    .bind(b.check_out)
    .bind(b.rooms)
    .fetch_one(&mut *tx)
    .await?;
    Ok(nights(released, available, prices))
}

/// The nights an `UPDATE … RETURNING` of `availability` changed, from its three aggregated
/// columns (night, rooms left, price), in night order.
pub fn nights(nights: Vec<NaiveDate>, available: Vec<i32>, prices: Vec<i64>) -> Vec<NightAvailability> {
    let mut out: Vec<NightAvailability> = nights
        .into_iter()
        .zip(available)
        .zip(prices)
        .map(|((night, available), price_cents)| NightAvailability { night, available, price_cents })
        .collect();
    out.sort_unstable_by_key(|n| n.night);
    out
}

/// The `availability.changed` event for nights `[from, to)`, keyed by hotel, carrying the
/// `nights` the change set as they are right after it (enqueue it in the same transaction,
/// after the statement that changed them: see [`AvailabilityChanged`] for why that orders it).
pub fn availability_event(
    hotel: &str,
    room_type: &str,
    (from, to): (NaiveDate, NaiveDate),
    nights: Vec<NightAvailability>,
) -> Event<AvailabilityChanged> {
    let data = AvailabilityChanged { hotel_id: hotel.to_owned(), room_type: room_type.to_owned(), from, to, nights: Some(nights) };
    Event::new(crate::NAME, hotel.to_owned(), data)
}

fn reason_str(r: CancelReason) -> &'static str {
    match r {
        CancelReason::PaymentFailed => "payment_failed",
        CancelReason::Guest => "guest",
        CancelReason::Expired => "expired",
    }
}

fn failure_str(f: PaymentFailure) -> &'static str {
    match f {
        PaymentFailure::Declined => "declined",
        PaymentFailure::InsufficientFunds => "insufficient_funds",
        PaymentFailure::ProcessorError => "processor_error",
        PaymentFailure::InvalidPaymentMethod => "invalid_payment_method",
    }
}
