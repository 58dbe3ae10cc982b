//! Redeliveries and duplicates never charge twice or publish twice; poison is parked.

use crate::helpers::{WAIT, booking, spawn_app};
use tripnest_common::{events::topics, saga::PaymentSucceeded};
use tripnest_e2e::wait_until;

#[tokio::test(flavor = "multi_thread")]
async fn the_same_booking_created_delivered_twice_charges_once_and_publishes_once() {
    let app = spawn_app().await;
    let created = booking("pm_card_visa");
    let booking_id = created.stay.booking_id;

    let event = app.create_booking(&created).await;
    app.publish(&event).await;

    app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;
    app.wait_settled().await;
    assert_eq!(app.published_count(topics::BOOKING_CREATED).await, 2, "both deliveries were consumed");
    assert_eq!(app.sandbox_charges(booking_id).await, 1, "one charge");
    assert_eq!(app.sandbox_attempts(booking_id).await, 1, "the duplicate never reached the provider");
    assert_eq!(app.published_count(topics::PAYMENT_SUCCESS).await, 1, "one outcome event");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_booking_created_event_for_the_same_booking_charges_once() {
    let app = spawn_app().await;
    let created = booking("pm_card_visa");
    let booking_id = created.stay.booking_id;

    let first = app.create_booking(&created).await;
    let second = app.create_booking(&created).await;
    assert_ne!(first.id, second.id);

    app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, booking_id).await;
    app.wait_settled().await;
    assert_eq!(app.sandbox_charges(booking_id).await, 1, "one charge");
    assert_eq!(app.published_count(topics::PAYMENT_SUCCESS).await, 1, "one outcome event");
    assert_eq!(app.payment_rows(booking_id).await, 1);
    let processed: i64 = sqlx::query_scalar("SELECT count(*) FROM processed_events WHERE consumer = 'payment'")
        .fetch_one(&app.pool)
        .await
        .expect("count processed events");
    assert_eq!(processed, 2, "both event ids were recorded");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_poison_message_is_parked_on_the_dlq_and_the_next_booking_is_paid() {
    let app = spawn_app().await;
    app.producer.send(topics::BOOKING_CREATED, b"bk-poison", b"{\"not\": \"a cloudevent\"", &[]).await.expect("send poison");
    let created = booking("pm_card_visa");

    app.create_booking(&created).await;

    app.wait_for_event::<PaymentSucceeded>(topics::PAYMENT_SUCCESS, created.stay.booking_id).await;
    let parked =
        wait_until("the poison message on booking.created.dlq", WAIT, || async { app.recorded("booking.created.dlq").into_iter().next() })
            .await;
    assert_eq!(parked.payload, b"{\"not\": \"a cloudevent\"", "original bytes kept");
    assert_eq!(parked.key.as_deref(), Some(&b"bk-poison"[..]));
    app.wait_settled().await;
    assert_eq!(app.published_count("booking.created.dlq").await, 1, "only the poison was parked");
}
