//! The transactional outbox and the idempotent-consumer record.
//!
//! A producer calls [`enqueue`] inside the transaction that changes state, so the event exists
//! if and only if the change committed. [`run_relay`] publishes pending rows in commit order and
//! deletes each one after Kafka acknowledged it; a crash in between republishes, and consumers
//! drop the duplicate with [`first_delivery`]. One relay per database publishes at a time (a
//! PostgreSQL advisory lock elects it), which keeps per-key order across replicas. The relay
//! wakes on `NOTIFY outbox` and also polls, so a lost notification only costs latency.

use crate::{events::Event, kafka::Producer};
use serde::Serialize;
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

const CHANNEL: &str = "outbox";
const BATCH: i64 = 256;
/// Advisory lock key electing the relay ("outbox" in ASCII).
const RELAY_LOCK: i64 = 0x6f75_7462_6f78;

/// Add `event` to the outbox within the caller's transaction.
pub async fn enqueue<T: Serialize>(tx: &mut PgConnection, event: &Event<T>, traceparent: Option<&str>) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO outbox (event_id, topic, key, payload, traceparent) VALUES ($1, $2, $3, $4, $5)")
        .bind(event.id)
        .bind(&event.kind)
        .bind(&event.subject)
        .bind(sqlx::types::Json(event))
        .bind(traceparent)
        .execute(&mut *tx)
        .await?;
    sqlx::query("SELECT pg_notify($1, '')").bind(CHANNEL).execute(&mut *tx).await?;
    Ok(())
}

/// Record that `consumer` applied `event_id`, inside the transaction of the effect. Returns
/// `false` when it had already been applied: the caller must then skip the effect.
pub async fn first_delivery(tx: &mut PgConnection, consumer: &str, event_id: Uuid) -> sqlx::Result<bool> {
    let inserted = sqlx::query("INSERT INTO processed_events (consumer, event_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
        .bind(consumer)
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
    Ok(inserted.rows_affected() == 1)
}

#[derive(sqlx::FromRow)]
struct Pending {
    seq: i64,
    topic: String,
    key: String,
    payload: sqlx::types::Json<serde_json::Value>,
    traceparent: Option<String>,
}

/// Publish the outbox until `shutdown`. Runs on every replica; one holds the lock and works.
pub async fn run_relay(pool: PgPool, producer: Producer, shutdown: CancellationToken) {
    while !shutdown.is_cancelled() {
        if let Err(e) = lead(&pool, &producer, &shutdown).await {
            tracing::warn!(error = format!("{e:#}"), "outbox relay interrupted; retrying");
            tokio::select! { () = shutdown.cancelled() => {}, () = tokio::time::sleep(Duration::from_secs(1)) => {} }
        }
    }
}

async fn lead(pool: &PgPool, producer: &Producer, shutdown: &CancellationToken) -> anyhow::Result<()> {
    // The advisory lock lives as long as this connection.
    let mut lock_conn = pool.acquire().await?;
    loop {
        let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(RELAY_LOCK).fetch_one(&mut *lock_conn).await?;
        if got {
            break;
        }
        tokio::select! { () = shutdown.cancelled() => return Ok(()), () = tokio::time::sleep(Duration::from_secs(2)) => {} }
    }
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(CHANNEL).await?;
    tracing::info!("outbox relay leading");
    while !shutdown.is_cancelled() {
        let published = publish_batch(pool, producer).await?;
        if published as i64 == BATCH {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => break,
            n = listener.recv() => { n?; }
            () = tokio::time::sleep(Duration::from_millis(500)) => {}
        }
    }
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(RELAY_LOCK).execute(&mut *lock_conn).await?;
    Ok(())
}

/// Publish up to one batch in `seq` order; returns how many rows were published.
pub async fn publish_batch(pool: &PgPool, producer: &Producer) -> anyhow::Result<usize> {
    let rows: Vec<Pending> = sqlx::query_as("SELECT seq, topic, key, payload, traceparent FROM outbox ORDER BY seq LIMIT $1")
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
    if rows.is_empty() {
        return Ok(0);
    }
    // Send the whole batch at once; the idempotent producer keeps per-partition order.
    let sends = rows.iter().map(|r| {
        let payload = serde_json::to_vec(&r.payload.0).unwrap_or_default();
        let headers: Vec<(&str, &[u8])> = r.traceparent.as_deref().map(|t| (crate::kafka::TRACEPARENT, t.as_bytes())).into_iter().collect();
        async move { producer.send(&r.topic, r.key.as_bytes(), &payload, &headers).await }
    });
    let results = futures::future::join_all(sends).await;
    // Delete the acknowledged prefix; anything after the first failure is retried in order.
    // By the rows' own seqs, never a range: a transaction that took a lower seq can commit
    // after this batch was read, and a range would delete its row unpublished.
    let acked = results.iter().take_while(|r| r.is_ok()).count();
    if acked > 0 {
        let published: Vec<i64> = rows[..acked].iter().map(|r| r.seq).collect();
        sqlx::query("DELETE FROM outbox WHERE seq = ANY($1)").bind(&published).execute(pool).await?;
        metrics::counter!("outbox_published_total").increment(acked as u64);
    }
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        anyhow::bail!("publishing outbox row failed: {e}");
    }
    Ok(acked)
}
