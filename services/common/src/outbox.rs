//! The transactional outbox and the idempotent-consumer record.
//!
//! A producer calls [`enqueue`] (or [`enqueue_all`] for several events, one statement that
//! also wakes the relay) inside the transaction that changes state, so the event exists if and
//! only if the change committed. [`run_relay`] reads pending rows in `seq` order, publishes the
//! whole batch at once and deletes the acknowledged prefix with one statement (by the rows'
//! own seqs); a crash in between republishes, and consumers drop the duplicate with
//! [`first_delivery`]. One relay per database publishes at a time (a
//! PostgreSQL advisory lock elects it), which keeps per-key order across replicas. The relay
//! wakes on `NOTIFY outbox` and also polls, so a lost notification only costs latency.
//!
//! A burst of commits costs a read per batch, not a read per commit: each notification
//! carries the highest `seq` its statement inserted, and the relay remembers the seqs it
//! published lately. A notification for a seq already published (it arrived after the read
//! that found its row, which is what a loaded listening backend does) is dropped without a
//! read; any other notification, or one without a seq, means a read. Rows of one statement
//! commit together and the relay reads in `seq` order, so when a statement's highest seq was
//! published, so were the rest.

use crate::{events::Event, kafka::Producer};
use futures::FutureExt;
use serde::Serialize;
use sqlx::{PgConnection, PgPool, postgres::PgListener};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel that wakes the relay.
pub const CHANNEL: &str = "outbox";
const BATCH: i64 = 256;
/// How many published seqs the relay remembers to recognise late notifications.
const REMEMBERED: usize = 4 * BATCH as usize;
/// Advisory lock key electing the relay ("outbox" in ASCII).
const RELAY_LOCK: i64 = 0x6f75_7462_6f78;

/// An event on its way into the outbox, whatever its payload type.
#[derive(Debug, Clone)]
pub struct Outgoing {
    event_id: Uuid,
    topic: String,
    key: String,
    envelope: serde_json::Value,
}

impl Outgoing {
    /// The event as the relay will publish it (the whole CloudEvents envelope).
    pub fn new<T: Serialize>(event: &Event<T>) -> serde_json::Result<Self> {
        Ok(Self { event_id: event.id, topic: event.kind.clone(), key: event.subject.clone(), envelope: serde_json::to_value(event)? })
    }
}

/// Add `event` to the outbox within the caller's transaction.
pub async fn enqueue<T: Serialize>(tx: &mut PgConnection, event: &Event<T>, traceparent: Option<&str>) -> sqlx::Result<()> {
    enqueue_all(tx, &[Outgoing::new(event).map_err(|e| sqlx::Error::Encode(e.into()))?], traceparent).await
}

/// The statement of [`enqueue_all`]: events as arrays of ids, topics, keys and envelopes
/// ($1–$4), the traceparent ($5) and the channel ($6). Rows are inserted in array order, so
/// their `seq`s keep the order given; the notification carries the highest of them.
pub const ENQUEUE_ALL: &str = "WITH queued AS ( \
       INSERT INTO outbox (event_id, topic, key, payload, traceparent) \
       SELECT e.id, e.topic, e.key, e.payload, $5 \
       FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS e(id, topic, key, payload, n) ORDER BY e.n \
       RETURNING seq) \
     SELECT pg_notify($6, coalesce(max(seq)::text, '')) FROM queued";

/// Add `events`, in this order, to the outbox within the caller's transaction, and wake the
/// relay — one statement.
pub async fn enqueue_all(tx: &mut PgConnection, events: &[Outgoing], traceparent: Option<&str>) -> sqlx::Result<()> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    let keys: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
    let envelopes: Vec<&serde_json::Value> = events.iter().map(|e| &e.envelope).collect();
    sqlx::query(ENQUEUE_ALL)
        .bind(&ids)
        .bind(&topics)
        .bind(&keys)
        .bind(&envelopes)
        .bind(traceparent)
        .bind(CHANNEL)
        .execute(&mut *tx)
        .await?;
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
    let mut published = Published::default();
    while !shutdown.is_cancelled() {
        let seqs = publish_batch(pool, producer).await?;
        let full = seqs.len() as i64 == BATCH;
        published.remember(seqs);
        if full {
            continue;
        }
        // Wait for a notification about a row not published yet, or the poll.
        let poll = tokio::time::sleep(Duration::from_millis(500));
        tokio::pin!(poll);
        loop {
            tokio::select! {
                () = shutdown.cancelled() => break,
                n = listener.recv() => if published.wants_read(n?.payload()) { break },
                () = &mut poll => break,
            }
        }
        // Whatever else has arrived is answered by the same read.
        while let Some(n) = listener.recv().now_or_never() {
            n?;
        }
    }
    sqlx::query("SELECT pg_advisory_unlock($1)").bind(RELAY_LOCK).execute(&mut *lock_conn).await?;
    Ok(())
}

/// The seqs the relay published lately (at most [`REMEMBERED`], the highest kept).
#[derive(Debug, Default)]
struct Published(std::collections::BTreeSet<i64>);

impl Published {
    fn remember(&mut self, seqs: Vec<i64>) {
        self.0.extend(seqs);
        while self.0.len() > REMEMBERED {
            self.0.pop_first();
        }
    }

    /// Whether a notification with this payload needs a read: anything but the seq of a row
    /// already published.
    fn wants_read(&self, payload: &str) -> bool {
        payload.parse::<i64>().map_or(true, |seq| !self.0.contains(&seq))
    }
}

/// Publish up to one batch in `seq` order; returns the seqs published, in order.
pub async fn publish_batch(pool: &PgPool, producer: &Producer) -> anyhow::Result<Vec<i64>> {
    let rows: Vec<Pending> = sqlx::query_as("SELECT seq, topic, key, payload, traceparent FROM outbox ORDER BY seq LIMIT $1")
        .bind(BATCH)
        .fetch_all(pool)
        .await?;
    if rows.is_empty() {
        return Ok(Vec::new());
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
    let published: Vec<i64> = rows[..acked].iter().map(|r| r.seq).collect();
    if acked > 0 {
        sqlx::query("DELETE FROM outbox WHERE seq = ANY($1)").bind(&published).execute(pool).await?;
        metrics::counter!("outbox_published_total").increment(acked as u64);
    }
    if let Some(Err(e)) = results.into_iter().find(Result::is_err) {
        anyhow::bail!("publishing outbox row failed: {e}");
    }
    Ok(published)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notification_needs_a_read_unless_its_seq_was_published_lately() {
        let mut published = Published::default();
        published.remember((1..=REMEMBERED as i64 + 10).collect());
        assert!(!published.wants_read(&(REMEMBERED as i64 + 10).to_string()), "published: no read");
        assert!(!published.wants_read("11"), "the oldest remembered");
        assert!(published.wants_read("10"), "forgotten: read");
        assert!(published.wants_read(&(REMEMBERED as i64 + 11).to_string()), "not published yet");
        assert!(published.wants_read(""), "no seq (an older writer)");
    }
}
