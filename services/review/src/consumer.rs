//! The consumer group `review`: `booking.confirmed` and `booking.cancelled` become rows in
//! `stays`, so posting a review checks the stay locally (no service reads another's database).
//! Each event is applied once (its id goes to `processed_events` in the same transaction), and
//! a cancellation is final whichever of the two events arrives first.

use sqlx::PgPool;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    config::KafkaConfig,
    events::topics,
    kafka::{ConsumerSettings, Delivery, HandlerError, Producer, spawn_consumer},
    saga::{BookingCancelled, BookingConfirmed, Stay},
};

/// The topics review consumes.
pub const TOPICS: &[&str] = &[topics::BOOKING_CONFIRMED, topics::BOOKING_CANCELLED];

/// The name the processed-events record uses.
const CONSUMER: &str = "review-stays";

/// Consume in the background until `shutdown` (which a failed consumer cancels).
pub fn spawn(kafka: &KafkaConfig, group: String, dead_letters: Producer, pool: PgPool, shutdown: CancellationToken) -> JoinHandle<()> {
    let handler = move |delivery: Delivery| {
        let pool = pool.clone();
        async move { handle(&pool, &delivery).await }
    };
    spawn_consumer("stays", kafka, ConsumerSettings::follower(kafka, group, TOPICS), dead_letters, shutdown, handler)
}

/// Record one booking event.
pub async fn handle(pool: &PgPool, delivery: &Delivery) -> Result<(), HandlerError> {
    let (id, stay, status) = match delivery.topic.as_str() {
        topics::BOOKING_CONFIRMED => {
            let e = delivery.event::<BookingConfirmed>()?;
            (e.id, e.data.stay, "CONFIRMED")
        }
        topics::BOOKING_CANCELLED => {
            let e = delivery.event::<BookingCancelled>()?;
            (e.id, e.data.stay, "CANCELLED")
        }
        other => return Err(HandlerError::Permanent(anyhow::anyhow!("review does not handle topic {other:?}"))),
    };
    record(pool, id, &stay, status).await?;
    Ok(())
}

/// Record the stay unless event `event_id` was recorded before — one statement, its own
/// transaction (the event's id goes to `processed_events` in it, as
/// [`tripnest_common::outbox::first_delivery`] would in a transaction of several).
async fn record(pool: &PgPool, event_id: uuid::Uuid, stay: &Stay, status: &str) -> sqlx::Result<()> {
    // A confirmation never overrides a cancellation; a cancellation always wins.
    sqlx::query(
        "WITH first AS (INSERT INTO processed_events (consumer, event_id) VALUES ($7, $8) ON CONFLICT DO NOTHING RETURNING 1) \
         INSERT INTO stays (booking_id, user_id, hotel_id, check_in, check_out, status) \
         SELECT $1::uuid, $2::uuid, $3::text, $4::date, $5::date, $6::text WHERE EXISTS (SELECT FROM first) \
         ON CONFLICT (booking_id) DO UPDATE SET status = 'CANCELLED', updated_at = now() WHERE EXCLUDED.status = 'CANCELLED'",
    )
    .bind(stay.booking_id)
    .bind(stay.user_id)
    .bind(&stay.hotel_id)
    .bind(stay.check_in)
    .bind(stay.check_out)
    .bind(status)
    .bind(CONSUMER)
    .bind(event_id)
    .execute(pool)
    .await?;
    Ok(())
}
