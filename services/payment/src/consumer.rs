//! The payment side of the booking saga: one consumer group on `booking.created` (charge)
//! and `booking.cancelled` (refund), dispatching each delivery to its handler.

use crate::{charge, config::RetryPolicy, provider::PaymentProvider, refund};
use tripnest_common::{
    config::KafkaConfig,
    events::topics,
    kafka::{ConsumerSettings, Delivery, HandlerError, TRACEPARENT},
    outbox::Outbox,
};

/// The topics the payment service consumes.
pub const TOPICS: &[&str] = &[topics::BOOKING_CREATED, topics::BOOKING_CANCELLED];

/// What the handlers need: the database, the processor and the retry policy for it.
#[derive(Debug)]
pub struct PaymentSaga<P> {
    /// The payment database's outbox (payments, outbox, processed events).
    pub outbox: Outbox,
    /// The card processor.
    pub provider: P,
    /// Retries of transient processor errors within one delivery.
    pub retry: RetryPolicy,
}

impl<P: PaymentProvider> PaymentSaga<P> {
    /// Handle one delivery from a consumed topic.
    pub async fn handle(&self, delivery: Delivery) -> Result<(), HandlerError> {
        match delivery.topic.as_str() {
            topics::BOOKING_CREATED => charge::on_booking_created(self, &delivery).await,
            topics::BOOKING_CANCELLED => refund::on_booking_cancelled(self, &delivery).await,
            other => Err(HandlerError::Permanent(anyhow::anyhow!("the payment service does not consume {other}"))),
        }
    }
}

/// The consumer group settings for `group`.
pub fn settings(kafka: &KafkaConfig, group: &str) -> ConsumerSettings {
    ConsumerSettings::saga(kafka, group, TOPICS)
}

/// The W3C trace context that came with a delivery, to pass on with the events it causes.
pub fn traceparent(delivery: &Delivery) -> Option<&str> {
    delivery.header(TRACEPARENT).and_then(|v| std::str::from_utf8(v).ok())
}
