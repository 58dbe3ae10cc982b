//! Booking's part of the saga: it reacts to `payment.success` and `payment.failed`, and a
//! sweeper expires holds nobody paid for. Each effect runs in one transaction with the
//! processed-event record and the outbox rows it produces, so a redelivery changes nothing.

use crate::{
    AppState,
    domain::{Status, Transition},
    store::{self, Cause},
};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    events::topics,
    kafka::{Delivery, HandlerError},
    outbox,
    saga::{PaymentFailed, PaymentSucceeded},
};
use uuid::Uuid;

/// Consumer name in `processed_events`.
pub const CONSUMER: &str = "booking";
/// Topics booking consumes.
pub const TOPICS: &[&str] = &[topics::PAYMENT_SUCCESS, topics::PAYMENT_FAILED];

/// Handle one payment outcome.
pub async fn handle(s: AppState, d: Delivery) -> Result<(), HandlerError> {
    let traceparent = d.header(tripnest_common::kafka::TRACEPARENT).map(|t| String::from_utf8_lossy(t).into_owned());
    let (event_id, booking_id, transition, cause) = match d.topic.as_str() {
        topics::PAYMENT_SUCCESS => {
            let e = d.event::<PaymentSucceeded>()?;
            (
                e.id,
                e.data.booking_id,
                Transition::PaymentCaptured,
                Cause { payment_id: Some(e.data.payment_id), traceparent, ..Cause::default() },
            )
        }
        topics::PAYMENT_FAILED => {
            let e = d.event::<PaymentFailed>()?;
            (
                e.id,
                e.data.booking_id,
                Transition::PaymentFailed,
                Cause { payment_failure: Some(e.data.reason), traceparent, ..Cause::default() },
            )
        }
        other => return Err(HandlerError::Permanent(anyhow::anyhow!("booking does not consume {other}"))),
    };
    let mut tx = s.outbox.begin().await?;
    if !outbox::first_delivery(&mut tx, CONSUMER, event_id).await? {
        tracing::info!(%event_id, %booking_id, "duplicate payment event ignored");
        return Ok(tx.commit().await?);
    }
    let Some(b) = store::load_for_update(&mut tx, booking_id).await? else {
        return Err(HandlerError::Permanent(anyhow::anyhow!("payment event for unknown booking {booking_id}")));
    };
    match store::apply(&mut tx, &b, transition, &cause).await.map_err(HandlerError::Transient)? {
        Ok(to) => tracing::info!(%booking_id, from = b.status, to = to.as_str(), "booking moved"),
        Err(illegal) => {
            tracing::warn!(%booking_id, %illegal, "illegal transition refused");
            let already_paid = b.payment_id.is_some_and(|p| Some(p) == cause.payment_id);
            if transition == Transition::PaymentCaptured && matches!(b.state(), Status::Cancelled | Status::Expired) && !already_paid {
                // Money arrived for a booking that no longer holds rooms: have it refunded.
                let payment_id = cause.payment_id.unwrap_or_default();
                store::refund_late_capture(&mut tx, &b, payment_id, cause.traceparent.as_deref()).await.map_err(HandlerError::Transient)?;
            }
        }
    }
    tx.commit().await?;
    Ok(())
}

/// Expire PENDING bookings past their hold, every `interval`, until `shutdown`.
pub async fn run_sweeper(s: AppState, interval: Duration, shutdown: CancellationToken) {
    loop {
        match expire_holds(&s).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(expired = n, "expired unpaid holds"),
            Err(e) => tracing::warn!(error = format!("{e:#}"), "hold sweep failed"),
        }
        tokio::select! { () = shutdown.cancelled() => return, () = tokio::time::sleep(interval) => {} }
    }
}

/// Expire one batch of overdue holds; returns how many expired. Replicas skip each other's rows.
pub async fn expire_holds(s: &AppState) -> anyhow::Result<usize> {
    let mut tx = s.outbox.begin().await?;
    let ids: Vec<Uuid> = sqlx::query_scalar(
        "SELECT id FROM bookings WHERE status = 'PENDING' AND hold_expires_at < now() ORDER BY hold_expires_at LIMIT 100 FOR UPDATE SKIP LOCKED",
    )
    .fetch_all(&mut *tx)
    .await?;
    let mut expired = 0;
    for id in ids {
        if let Some(b) = store::load_for_update(&mut tx, id).await?
            && store::apply(&mut tx, &b, Transition::HoldExpired, &Cause::default()).await?.is_ok()
        {
            expired += 1;
        }
    }
    tx.commit().await?;
    Ok(expired)
}
