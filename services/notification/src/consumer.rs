//! The Kafka side: one consumer group reads `booking.confirmed` and `booking.cancelled`, renders
//! the messages for each event and hands them to the [`Notifier`].

use crate::{
    delivery::{Cause, Notifier},
    templates,
};
use std::sync::Arc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::KafkaConfig,
    events::topics,
    kafka::{ConsumerSettings, Delivery, HandlerError, Producer, TRACEPARENT, spawn_consumer},
    saga::{BookingCancelled, BookingConfirmed},
};

/// The topics this service consumes.
pub const TOPICS: &[&str] = &[topics::BOOKING_CONFIRMED, topics::BOOKING_CANCELLED];

/// Consume in the background until `shutdown` (which a failed consumer cancels).
pub fn spawn(
    kafka: &KafkaConfig,
    group: String,
    dead_letters: Producer,
    notifier: Arc<Notifier>,
    shutdown: CancellationToken,
) -> JoinHandle<()> {
    let handler = move |delivery: Delivery| {
        let notifier = notifier.clone();
        async move { handle(&notifier, &delivery).await }
    };
    // Several bookings at once (each booking's events in order): a notification's time is
    // mostly the mail server's and the SMS provider's answers, which one at a time waits out in
    // turn. A delivery holds a connection only for its two short transactions, not the send.
    let settings = ConsumerSettings { concurrency: kafka.saga_concurrency, ..ConsumerSettings::follower(kafka, group, TOPICS) };
    spawn_consumer("booking events", kafka, settings, dead_letters, shutdown, handler)
}

/// Render and deliver the notifications of one event.
pub async fn handle(notifier: &Notifier, delivery: &Delivery) -> Result<(), HandlerError> {
    let traceparent = delivery.header(TRACEPARENT).and_then(|v| std::str::from_utf8(v).ok());
    match delivery.topic.as_str() {
        topics::BOOKING_CONFIRMED => {
            let event = delivery.event::<BookingConfirmed>()?;
            let cause = Cause { event_id: event.id, stay: &event.data.stay, traceparent };
            notifier.deliver_all(cause, &templates::booking_confirmed(&event.data)).await
        }
        topics::BOOKING_CANCELLED => {
            let event = delivery.event::<BookingCancelled>()?;
            let cause = Cause { event_id: event.id, stay: &event.data.stay, traceparent };
            notifier.deliver_all(cause, &templates::booking_cancelled(&event.data)).await
        }
        other => Err(HandlerError::Permanent(anyhow::anyhow!("notification does not handle topic {other:?}"))),
    }
}
