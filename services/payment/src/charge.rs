//! `booking.created` → charge the booking once and publish `payment.success` or
//! `payment.failed`.
//!
//! One transaction, holding a per-booking advisory lock, spans the whole delivery: record
//! the event id, check the booking has no payment yet, call the provider (retrying transient
//! errors with backoff), insert the payment row and enqueue the outcome. A crash before the
//! commit loses everything but the provider's own record; the redelivery charges again with
//! the same idempotency key (the booking id) and gets the original capture back.

use crate::{
    NAME,
    consumer::{PaymentSaga, traceparent},
    provider::{ChargeRequest, PaymentProvider, failure_message, with_retries},
    store::{self, ChargeOutcome, NewPayment, failure_code},
};
use tripnest_common::{
    Event,
    kafka::{Delivery, HandlerError},
    outbox,
    saga::{BookingCreated, PaymentFailed, PaymentSucceeded},
};
use uuid::Uuid;

/// Charge the booking of a `booking.created` delivery, at most once per booking.
#[tracing::instrument(skip_all, fields(booking_id))]
pub async fn on_booking_created<P: PaymentProvider>(saga: &PaymentSaga<P>, delivery: &Delivery) -> Result<(), HandlerError> {
    let event = delivery.event::<BookingCreated>()?;
    let created = &event.data;
    let booking_id = created.stay.booking_id;
    tracing::Span::current().record("booking_id", tracing::field::display(booking_id));
    check_chargeable(created)?;

    let mut tx = saga.outbox.begin().await?;
    store::lock_booking(&mut tx, booking_id).await?;
    if !outbox::first_delivery(&mut tx, NAME, event.id).await? {
        tracing::info!("duplicate booking.created delivery; already handled");
        return Ok(());
    }
    if let Some(existing) = store::find(&mut *tx, booking_id).await? {
        tracing::info!(status = existing.status, "booking already has a payment; not charging again");
        tx.commit().await?;
        return Ok(());
    }

    let request = ChargeRequest {
        idempotency_key: booking_id.to_string(),
        amount_cents: created.stay.amount_cents,
        currency: created.stay.currency.clone(),
        payment_method: created.payment_method.clone(),
    };
    let (result, attempts) = with_retries(&saga.retry, || saga.provider.charge(&request)).await;
    let payment_id = Uuid::now_v7();
    let (outcome, amount_cents, currency) = match result {
        Ok(capture) => (ChargeOutcome::Captured { capture_id: capture.id }, capture.amount_cents, capture.currency),
        Err(e) => {
            let reason = e.failure();
            tracing::info!(error = %e, attempts, reason = failure_code(reason), "charge failed");
            (ChargeOutcome::Failed { reason, message: failure_message(reason).to_owned() }, request.amount_cents, request.currency.clone())
        }
    };
    let row = NewPayment {
        payment_id,
        booking_id,
        amount_cents,
        currency: &currency,
        payment_method: &request.payment_method,
        attempts,
        outcome: &outcome,
    };
    // The advisory lock and the check above make a conflict impossible; stay safe anyway.
    if !store::insert_charge(&mut tx, &row).await? {
        return Err(HandlerError::Transient(anyhow::anyhow!("booking {booking_id} got a payment row concurrently")));
    }
    let subject = booking_id.to_string();
    let label = match &outcome {
        ChargeOutcome::Captured { .. } => {
            let data = PaymentSucceeded { booking_id, payment_id, amount_cents, currency: currency.clone() };
            outbox::enqueue(&mut tx, &Event::new(NAME, subject, data), traceparent(delivery)).await?;
            "success"
        }
        ChargeOutcome::Failed { reason, message } => {
            let data = PaymentFailed { booking_id, reason: *reason, message: message.clone() };
            outbox::enqueue(&mut tx, &Event::new(NAME, subject, data), traceparent(delivery)).await?;
            failure_code(*reason)
        }
    };
    tx.commit().await?;
    metrics::counter!("payments_total", "outcome" => label).increment(1);
    tracing::info!(%payment_id, outcome = label, attempts, amount_cents, currency, "payment recorded");
    Ok(())
}

/// A booking that can never be charged is a producer bug: park it rather than guess.
fn check_chargeable(created: &BookingCreated) -> Result<(), HandlerError> {
    let stay = &created.stay;
    if stay.amount_cents <= 0 {
        return Err(HandlerError::Permanent(anyhow::anyhow!(
            "booking {} has a non-positive amount {}",
            stay.booking_id,
            stay.amount_cents
        )));
    }
    if stay.currency.len() != 3 || !stay.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        return Err(HandlerError::Permanent(anyhow::anyhow!("booking {} has an invalid currency {:?}", stay.booking_id, stay.currency)));
    }
    Ok(())
}
