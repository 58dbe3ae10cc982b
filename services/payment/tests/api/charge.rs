//! Each sandbox token ends in the right outcome event, with the right number of charges.

use crate::helpers::{booking, spawn_app, spawn_app_with};
use std::time::{Duration, Instant};
use tripnest_common::{
    events::topics,
    saga::{PaymentFailed, PaymentFailure, PaymentSucceeded},
};

#[tokio::test(flavor = "multi_thread")]
async fn a_visa_card_is_captured_once_and_payment_success_carries_the_amount() {
    let app = spawn_app().await;
    let created = booking("pm_card_visa");
    let booking_id = created.stay.booking_id;

    app.create_booking(&created).await;

    let success = app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;
    assert_eq!(success.data.booking_id, booking_id);
    assert_eq!((success.data.amount_cents, success.data.currency.as_str()), (24_000, "EUR"));
    assert_eq!(success.subject, booking_id.to_string());
    assert_eq!(success.source, "/tripnest/payment");
    assert_eq!(app.sandbox_charges(booking_id).await, 1, "exactly one charge");
    let (status, body) = app.get_payment(&booking_id.to_string()).await;
    assert_eq!(status, 200);
    assert_eq!(body["status"], "captured");
    assert_eq!(body["paymentId"], success.data.payment_id.to_string());
    assert_eq!(body["paymentMethod"], "pm_card_visa");
}

async fn assert_fails_with(token: &str, reason: PaymentFailure) {
    let app = spawn_app().await;
    let created = booking(token);
    let booking_id = created.stay.booking_id;

    app.create_booking(&created).await;

    let failed = app.wait_for_event::<PaymentFailed>(topics::PAYMENT_FAILED, booking_id).await;
    assert_eq!(failed.data.reason, reason, "{token}");
    assert!(!failed.data.message.is_empty(), "a human message");
    assert_eq!(app.sandbox_charges(booking_id).await, 0, "nothing captured for {token}");
    app.wait_settled().await;
    assert_eq!(app.published_count(topics::PAYMENT_SUCCESS).await, 0);
    let (_, body) = app.get_payment(&booking_id.to_string()).await;
    assert_eq!(body["status"], "failed");
    assert_eq!(body["failureReason"], serde_json::to_value(reason).expect("reason json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_declined_card_fails_with_reason_declined() {
    assert_fails_with("pm_card_declined", PaymentFailure::Declined).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_card_without_funds_fails_with_reason_insufficient_funds() {
    assert_fails_with("pm_card_insufficient_funds", PaymentFailure::InsufficientFunds).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_unknown_token_fails_with_reason_invalid_payment_method() {
    assert_fails_with("4242424242424242", PaymentFailure::InvalidPaymentMethod).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_processor_that_keeps_failing_ends_in_processor_error_after_every_retry_and_nothing_is_parked() {
    let app = spawn_app().await;
    let created = booking("pm_card_processor_error");
    let booking_id = created.stay.booking_id;

    app.create_booking(&created).await;

    let failed = app.wait_for_event::<PaymentFailed>(topics::PAYMENT_FAILED, booking_id).await;
    assert_eq!(failed.data.reason, PaymentFailure::ProcessorError);
    assert_eq!(app.sandbox_attempts(booking_id).await, 4, "the processor saw every attempt of the default policy");
    let (_, body) = app.get_payment(&booking_id.to_string()).await;
    assert_eq!(body["attempts"], 4);
    app.wait_settled().await;
    assert_eq!(app.published_count("booking.created.dlq").await, 0, "a booking must conclude, never be parked");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flaky_processor_succeeds_after_one_retry() {
    let app = spawn_app().await;
    let created = booking("pm_card_flaky");
    let booking_id = created.stay.booking_id;

    app.create_booking(&created).await;

    app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;
    assert_eq!(app.sandbox_attempts(booking_id).await, 2, "one failure, one success");
    assert_eq!(app.sandbox_charges(booking_id).await, 1);
    let (_, body) = app.get_payment(&booking_id.to_string()).await;
    assert_eq!(body["attempts"], 2);
}

/// The card network answers slowly (here a second after each charge); bookings do not queue
/// behind each other's answers. Eight bookings published together are all captured, once
/// each, well before eight answers one after another could have come (8 s).
#[tokio::test(flavor = "multi_thread")]
async fn bookings_are_charged_side_by_side_while_the_card_network_answers() {
    const BOOKINGS: usize = 8;
    const ANSWER: Duration = Duration::from_secs(1);
    let app = spawn_app_with(|cfg| {
        cfg.sandbox.response_delay_ms = ANSWER.as_millis() as u64;
        cfg.common.kafka.saga_concurrency = BOOKINGS;
    })
    .await;
    let created: Vec<_> = (0..BOOKINGS).map(|_| booking("pm_card_visa")).collect();
    let started = Instant::now();
    for c in &created {
        app.create_booking(c).await;
    }
    for c in &created {
        app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, c.stay.booking_id).await;
    }
    let took = started.elapsed();
    assert!(took < ANSWER * BOOKINGS as u32 / 2, "{BOOKINGS} charges answered after {ANSWER:?} each took {took:?} in all");
    for c in &created {
        assert_eq!(app.sandbox_charges(c.stay.booking_id).await, 1, "exactly one charge");
    }
}
