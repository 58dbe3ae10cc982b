//! `booking.cancelled` → refund a captured payment once, or void a booking that was never
//! charged so that a late `booking.created` cannot charge it.
//!
//! A refund is owed when the booking says so (`refund_due`) or when the reason is `expired`:
//! booking expires a PENDING booking with `refund_due = false`, but our capture may have
//! raced the expiry, and a guest must never pay for an expired booking. A capture kept for
//! any other reason without `refund_due` stays captured (booking owns the refund policy).

use crate::{
    NAME,
    consumer::{PaymentSaga, traceparent},
    provider::{PaymentProvider, RefundRequest, with_retries},
    store::{self, PaymentStatus},
};
use tripnest_common::{
    Event,
    kafka::{Delivery, HandlerError},
    outbox,
    saga::{BookingCancelled, CancelReason, PaymentRefunded},
};

/// Apply a `booking.cancelled` delivery: refund, void, or nothing, at most once.
#[tracing::instrument(skip_all, fields(booking_id))]
pub async fn on_booking_cancelled<P: PaymentProvider>(saga: &PaymentSaga<P>, delivery: &Delivery) -> Result<(), HandlerError> {
    let event = delivery.event::<BookingCancelled>()?;
    let cancelled = &event.data;
    let booking_id = cancelled.stay.booking_id;
    tracing::Span::current().record("booking_id", tracing::field::display(booking_id));

    let mut tx = saga.outbox.begin().await?;
    store::lock_booking(&mut tx, booking_id).await?;
    if !outbox::first_delivery(&mut tx, NAME, event.id).await? {
        tracing::info!("duplicate booking.cancelled delivery; already handled");
        return Ok(());
    }
    let Some(payment) = store::find(&mut *tx, booking_id).await? else {
        store::insert_voided(&mut tx, booking_id, cancelled.stay.amount_cents, &cancelled.stay.currency).await?;
        tx.commit().await?;
        tracing::info!(reason = ?cancelled.reason, "booking cancelled before any charge; voided");
        return Ok(());
    };
    let capture_id = match (payment.status(), payment.capture_id.as_deref()) {
        (Some(PaymentStatus::Captured), Some(capture_id)) if refund_owed(cancelled) => capture_id.to_owned(),
        (status, _) => {
            tx.commit().await?;
            tracing::info!(?status, reason = ?cancelled.reason, refund_due = cancelled.refund_due, "nothing to refund");
            return Ok(());
        }
    };

    let request = RefundRequest { idempotency_key: format!("refund:{booking_id}"), capture_id, amount_cents: payment.amount_cents };
    let (result, attempts) = with_retries(&saga.retry, || saga.provider.refund(&request)).await;
    let refund = match result {
        Ok(refund) => refund,
        // Money is owed back: keep the offset, let the runner retry and finally park it for replay.
        Err(e) if e.is_transient() => return Err(HandlerError::Transient(anyhow::anyhow!("refund failed after {attempts} attempts: {e}"))),
        Err(e) => return Err(HandlerError::Permanent(anyhow::anyhow!("refund refused: {e}"))),
    };
    if store::mark_refunded(&mut tx, payment.payment_id, &refund.id).await? {
        let data = PaymentRefunded {
            booking_id,
            payment_id: payment.payment_id,
            amount_cents: payment.amount_cents,
            currency: payment.currency.clone(),
        };
        let event = Event::new(NAME, booking_id.to_string(), data);
        outbox::enqueue(&mut tx, &event, traceparent(delivery)).await?;
    }
    tx.commit().await?;
    metrics::counter!("payment_refunds_total", "reason" => reason_label(cancelled.reason)).increment(1);
    tracing::info!(refund_id = refund.id, amount_cents = payment.amount_cents, "payment refunded");
    Ok(())
}

/// Whether a captured payment must be returned for this cancellation.
pub fn refund_owed(cancelled: &BookingCancelled) -> bool {
    cancelled.refund_due || cancelled.reason == CancelReason::Expired
}

fn reason_label(reason: CancelReason) -> &'static str {
    match reason {
        CancelReason::PaymentFailed => "payment_failed",
        CancelReason::Guest => "guest",
        CancelReason::Expired => "expired",
    }
}
