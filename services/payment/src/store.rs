//! The `payments` table: one row per booking, written only inside the transaction that also
//! records the processed event and enqueues the outcome event.

use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::{PgConnection, PgExecutor};
use tripnest_common::saga::PaymentFailure;
use uuid::Uuid;

/// Where a booking's payment stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PaymentStatus {
    /// The charge was captured.
    Captured,
    /// The charge failed for good; nothing was captured.
    Failed,
    /// The capture was refunded in full.
    Refunded,
    /// The booking was cancelled before any charge; it will never be charged.
    Voided,
}

impl PaymentStatus {
    /// The value stored in `payments.status`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Captured => "captured",
            Self::Failed => "failed",
            Self::Refunded => "refunded",
            Self::Voided => "voided",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Captured, Self::Failed, Self::Refunded, Self::Voided].into_iter().find(|v| v.as_str() == s)
    }
}

/// A row of `payments`.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payment {
    /// Our id for the payment (sent as `paymentId` in events).
    pub payment_id: Uuid,
    /// The booking paid for.
    pub booking_id: Uuid,
    /// `captured`, `failed`, `refunded` or `voided`.
    pub status: String,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
    /// Payment method token name (never card data).
    pub payment_method: Option<String>,
    /// The provider's capture id.
    pub capture_id: Option<String>,
    /// Why the charge failed.
    pub failure_reason: Option<String>,
    /// Provider calls made for the charge.
    pub attempts: i32,
    /// The provider's refund id.
    pub refund_id: Option<String>,
    /// When the refund was recorded.
    pub refunded_at: Option<DateTime<Utc>>,
    /// When the outcome was recorded.
    pub created_at: DateTime<Utc>,
}

impl Payment {
    /// The status as an enum (`None` only for a value written by a newer version).
    pub fn status(&self) -> Option<PaymentStatus> {
        PaymentStatus::parse(&self.status)
    }
}

/// The outcome of a charge, as it is recorded.
#[derive(Debug, Clone)]
pub enum ChargeOutcome {
    /// Captured with this provider capture id.
    Captured { capture_id: String },
    /// Failed for this reason.
    Failed { reason: PaymentFailure, message: String },
}

/// A new payment row.
#[derive(Debug, Clone)]
pub struct NewPayment<'a> {
    /// Fresh payment id.
    pub payment_id: Uuid,
    /// The booking.
    pub booking_id: Uuid,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// ISO 4217 currency of the amount.
    pub currency: &'a str,
    /// Payment method token name.
    pub payment_method: &'a str,
    /// Provider calls made.
    pub attempts: u32,
    /// What happened.
    pub outcome: &'a ChargeOutcome,
}

/// Serialise all work on one booking (charge, refund, void) across consumers and replicas
/// until the transaction ends.
pub async fn lock_booking(tx: &mut PgConnection, booking_id: Uuid) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(booking_id.to_string()).execute(&mut *tx).await?;
    Ok(())
}

/// The payment of `booking_id`, if there is one.
pub async fn find<'e>(db: impl PgExecutor<'e>, booking_id: Uuid) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as(
        "SELECT payment_id, booking_id, status, amount_cents, currency, payment_method, capture_id, failure_reason,
                attempts, refund_id, refunded_at, created_at
         FROM payments WHERE booking_id = $1",
    )
    .bind(booking_id)
    .fetch_optional(db)
    .await
}

/// Record a charge's outcome. Returns `false` if the booking already had a payment row.
pub async fn insert_charge(tx: &mut PgConnection, p: &NewPayment<'_>) -> sqlx::Result<bool> {
    let (status, capture_id, reason, message) = match p.outcome {
        ChargeOutcome::Captured { capture_id } => (PaymentStatus::Captured, Some(capture_id.as_str()), None, None),
        ChargeOutcome::Failed { reason, message } => (PaymentStatus::Failed, None, Some(failure_code(*reason)), Some(message.as_str())),
    };
    let done = sqlx::query(
        "INSERT INTO payments (payment_id, booking_id, status, amount_cents, currency, payment_method, capture_id,
                               failure_reason, failure_message, attempts)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         ON CONFLICT (booking_id) DO NOTHING",
    )
    .bind(p.payment_id)
    .bind(p.booking_id)
    .bind(status.as_str())
    .bind(p.amount_cents)
    .bind(p.currency)
    .bind(p.payment_method)
    .bind(capture_id)
    .bind(reason)
    .bind(message)
    .bind(i32::try_from(p.attempts).unwrap_or(i32::MAX))
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Record that `booking_id` was cancelled before any charge, so a late `booking.created`
/// never charges it. Returns `false` if the booking already had a payment row.
pub async fn insert_voided(tx: &mut PgConnection, booking_id: Uuid, amount_cents: i64, currency: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO payments (payment_id, booking_id, status, amount_cents, currency)
         VALUES ($1, $2, 'voided', $3, $4) ON CONFLICT (booking_id) DO NOTHING",
    )
    .bind(Uuid::now_v7())
    .bind(booking_id)
    .bind(amount_cents.max(0))
    .bind(currency)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Mark a captured payment refunded. Returns `false` if it was not in `captured`.
pub async fn mark_refunded(tx: &mut PgConnection, payment_id: Uuid, refund_id: &str) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE payments SET status = 'refunded', refund_id = $2, refunded_at = now(), updated_at = now()
         WHERE payment_id = $1 AND status = 'captured'",
    )
    .bind(payment_id)
    .bind(refund_id)
    .execute(&mut *tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The snake_case name of a failure reason, as events and the table spell it.
pub fn failure_code(reason: PaymentFailure) -> &'static str {
    match reason {
        PaymentFailure::Declined => "declined",
        PaymentFailure::InsufficientFunds => "insufficient_funds",
        PaymentFailure::ProcessorError => "processor_error",
        PaymentFailure::InvalidPaymentMethod => "invalid_payment_method",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_through_their_stored_names() {
        for s in [PaymentStatus::Captured, PaymentStatus::Failed, PaymentStatus::Refunded, PaymentStatus::Voided] {
            assert_eq!(PaymentStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn failure_codes_match_the_saga_serialisation() {
        for r in [
            PaymentFailure::Declined,
            PaymentFailure::InsufficientFunds,
            PaymentFailure::ProcessorError,
            PaymentFailure::InvalidPaymentMethod,
        ] {
            assert_eq!(serde_json::to_value(r).expect("json"), failure_code(r));
        }
    }
}
