//! booking.cancelled: refunds owed captures once, voids bookings never charged.

use crate::helpers::{booking, booking_event, cancellation, spawn_app};
use tripnest_common::{
    events::topics,
    saga::{CancelReason, PaymentFailed, PaymentRefunded, PaymentSucceeded},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_refund_due_cancellation_refunds_once_even_when_delivered_twice() {
    let app = spawn_app().await;
    let created = booking("pm_card_visa");
    let booking_id = created.stay.booking_id;
    app.create_booking(&created).await;
    let success = app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;

    let cancelled = booking_event(booking_id, cancellation(&created, CancelReason::Guest, true));
    app.publish(&cancelled).await;
    app.publish(&cancelled).await;

    let refunded = app.wait_for_event::<PaymentRefunded>(topics::PAYMENT_REFUNDED, booking_id).await;
    assert_eq!(refunded.data.payment_id, success.data.payment_id);
    assert_eq!((refunded.data.amount_cents, refunded.data.currency.as_str()), (24_000, "EUR"));
    app.wait_settled().await;
    assert_eq!(app.published_count(topics::PAYMENT_REFUNDED).await, 1, "one refund event");
    assert_eq!(app.sandbox_refunds(booking_id).await, 1, "one refund at the card network");
    let (_, body) = app.get_payment(&booking_id.to_string()).await;
    assert_eq!((body["status"].as_str(), body["refunded"].as_bool()), (Some("refunded"), Some(true)));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_expiry_that_raced_the_capture_is_refunded_although_no_refund_was_due() {
    let app = spawn_app().await;
    let created = booking("pm_card_mastercard");
    let booking_id = created.stay.booking_id;
    app.create_booking(&created).await;
    app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;

    let expired = cancellation(&created, CancelReason::Expired, false);
    app.publish(&booking_event(booking_id, expired)).await;

    app.wait_for_event::<PaymentRefunded>(topics::PAYMENT_REFUNDED, booking_id).await;
    assert_eq!(app.sandbox_refunds(booking_id).await, 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_guest_cancellation_without_refund_due_keeps_the_capture() {
    let app = spawn_app().await;
    let created = booking("pm_card_visa");
    let booking_id = created.stay.booking_id;
    app.create_booking(&created).await;
    app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;

    app.publish(&booking_event(booking_id, cancellation(&created, CancelReason::Guest, false))).await;

    app.wait_settled().await;
    assert_eq!(app.published_count(topics::PAYMENT_REFUNDED).await, 0);
    assert_eq!(app.sandbox_refunds(booking_id).await, 0);
    let (_, body) = app.get_payment(&booking_id.to_string()).await;
    assert_eq!(body["status"], "captured");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cancellation_after_a_failed_payment_refunds_nothing() {
    let app = spawn_app().await;
    let created = booking("pm_card_declined");
    let booking_id = created.stay.booking_id;
    app.create_booking(&created).await;
    app.wait_for_event::<PaymentFailed>(topics::PAYMENT_FAILED, booking_id).await;

    let mut cancelled = cancellation(&created, CancelReason::PaymentFailed, false);
    cancelled.payment_failure = Some(tripnest_common::saga::PaymentFailure::Declined);
    app.publish(&booking_event(booking_id, cancelled)).await;

    app.wait_settled().await;
    assert_eq!(app.published_count(topics::PAYMENT_REFUNDED).await, 0);
    let (_, body) = app.get_payment(&booking_id.to_string()).await;
    assert_eq!(body["status"], "failed");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_booking_cancelled_before_its_charge_is_voided_and_never_charged() {
    let app = spawn_app().await;
    let created = booking("pm_card_visa");
    let booking_id = created.stay.booking_id;

    app.publish(&booking_event(booking_id, cancellation(&created, CancelReason::Expired, false))).await;
    app.wait_settled().await;
    app.create_booking(&created).await;

    app.wait_settled().await;
    assert_eq!(app.sandbox_attempts(booking_id).await, 0, "the provider was never called");
    assert_eq!(app.published_count(topics::PAYMENT_SUCCESS).await, 0);
    assert_eq!(app.published_count(topics::PAYMENT_FAILED).await, 0);
    let (_, body) = app.get_payment(&booking_id.to_string()).await;
    assert_eq!(body["status"], "voided");
}
