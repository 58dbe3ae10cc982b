//! The transactional outbox and the idempotent-consumer record.
//!
//! A producer opens an outbox transaction ([`Outbox::begin`]), calls [`enqueue`] (or
//! [`enqueue_all`] for several events, one statement) inside it with the change of state, and
//! [`Tx::commit`]s: the event exists if and only if the change committed. [`Outbox::run_relay`]
//! reads pending rows in `seq` order, publishes the whole batch at once and deletes the
//! acknowledged prefix with one statement (by the rows' own seqs); a crash in between
//! republishes, and consumers drop the duplicate with [`first_delivery`]. One relay per
//! database publishes at a time (a PostgreSQL advisory lock elects it), which keeps per-key
//! order across replicas.
//!
//! How the relay learns of a commit, without slowing the commit:
//!
//! - The transaction never runs `NOTIFY`. PostgreSQL serialises the commits of every
//!   transaction that notified on one cluster-wide lock (taken in `PreCommit_Notify` and held
//!   to the end of the commit): in a bench of the booking path alone, 217 of 377 samples of the
//!   booking database's busy backends were `COMMIT` waiting on that lock (`Lock: object`).
//! - [`Tx::commit`] tells the relay which seqs it committed after the commit. When this
//!   process's relay leads, that is a hand-over in memory ([`tokio::sync::Notify`]) of the
//!   events themselves, which the relay publishes without reading them back. Otherwise
//!   (another replica leads, or the process runs no relay, like the inventory CronJob) it sends
//!   `NOTIFY outbox` naming the seqs in a transaction of its own, after the caller's commit,
//!   so only those short transactions meet on the lock, holding nothing else.
//! - The leader also listens on the channel. It reads the rows other processes told it of by
//!   primary key (`seq = ANY(…)`, lowest first), everything that arrived together in one read;
//!   a burst of commits costs a read per batch, not a read per commit. It remembers the seqs it published
//!   lately, and news only about those (a notification that came after the read that found its
//!   rows, as a loaded listening backend's does) costs nothing. Rows handed over in memory and
//!   rows read are published together, in seq order, and deleted by one statement: an event of
//!   the leader's own process costs the relay only its share of that delete. (One the poll
//!   published before its commit's hand-over arrived is recognised among those remembered; one
//!   forgotten by then is published twice, which consumers drop as a duplicate.)
//! - The scan reads the oldest rows (`ORDER BY seq LIMIT`): at the start of a lead, after a
//!   full batch, for a notification without seqs, and as the poll, a [`Poll`] after the last
//!   scan, busy or idle. It finds what nobody named, e.g. a commit whose process lost the
//!   lead, or died, between its commit and telling the relay. Such rows are rare, so the poll
//!   backs off while it finds none (500 ms, doubling to 5 s; 500 ms again after one that found
//!   rows nobody had named): a scan walks the index entries of every row deleted since the
//!   last vacuum, and an idle relay need not do that twice a second. An unnamed row waits at
//!   most 5 s, however busy the relay is.
//! - Every relay statement is planned for its parameters, never from a cached generic plan.
//!   The table is all churn (each row is inserted and deleted within milliseconds) and vacuum
//!   leaves it at zero pages, so a generic plan is a sequential scan; between vacuums the heap
//!   holds up to a minute of dead rows, and that plan read them all on every read and delete
//!   (a bench run: 0.37 ms a read and 0.32 ms a delete, more than the booking itself).

use crate::{events::Event, kafka::Producer};
use futures::FutureExt;
use serde::Serialize;
use sqlx::{
    PgConnection, PgPool, Postgres,
    postgres::{PgArguments, PgListener},
    query::Query,
};
use std::{
    collections::{BTreeMap, BTreeSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use uuid::Uuid;

/// The channel on which commits of other processes wake the relay.
pub const CHANNEL: &str = "outbox";
const BATCH: i64 = 256;
/// How many published seqs the relay remembers to recognise late news.
const REMEMBERED: usize = 4 * BATCH as usize;
/// Advisory lock key electing the relay ("outbox" in ASCII).
const RELAY_LOCK: i64 = 0x6f75_7462_6f78;

/// One process's outbox on its database: it opens the transactions that enqueue, and runs
/// this process's relay. Clones share the relay.
#[derive(Debug, Clone)]
pub struct Outbox {
    pool: PgPool,
    relay: Arc<Local>,
}

/// What commits hand this process's relay.
#[derive(Debug, Default)]
struct Local {
    /// Whether this process's relay holds the lead (otherwise commits notify).
    leading: AtomicBool,
    /// Events committed since the relay last looked.
    committed: Mutex<Vec<Row>>,
    wake: tokio::sync::Notify,
}

/// An outbox row as the relay publishes it.
#[derive(Debug, Clone, PartialEq)]
struct Row {
    seq: i64,
    topic: String,
    key: String,
    /// The envelope's JSON.
    payload: Vec<u8>,
    traceparent: Option<String>,
}

impl Outbox {
    pub fn new(pool: PgPool) -> Self {
        Self { pool, relay: Arc::default() }
    }

    /// The database the outbox is in.
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Begin a transaction that may [`enqueue`]; a [`Tx`] derefs to the connection.
    pub async fn begin(&self) -> sqlx::Result<Tx<'static>> {
        Ok(Tx { tx: self.pool.begin().await?, queued: Vec::new(), outbox: self.clone() })
    }

    /// Run `statement` (made by [`after`]) on its own, as one implicit transaction: no `BEGIN`
    /// and `COMMIT` round trips. It queues `events` only if its condition held; returns whether
    /// it did. The relay is told as after [`Tx::commit`].
    pub async fn enqueue_alone<'q>(
        &self,
        events: &'q [Outgoing],
        traceparent: Option<&'q str>,
        statement: &'q str,
        bind: impl FnOnce(Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments>,
    ) -> sqlx::Result<bool> {
        let rows = run_enqueue(&mut *self.pool.acquire().await?, events, traceparent, statement, bind).await?;
        let queued = !rows.is_empty();
        if let Err(e) = self.committed(rows).await {
            tracing::warn!(error = %e, "waking the outbox relay failed; its poll will find the events");
        }
        Ok(queued)
    }

    /// Publish this outbox until `shutdown`. Runs on every replica; one holds the lock and works.
    pub async fn run_relay(self, producer: Producer, shutdown: CancellationToken) {
        while !shutdown.is_cancelled() {
            if let Err(e) = self.lead(&producer, &shutdown).await {
                tracing::warn!(error = format!("{e:#}"), "outbox relay interrupted; retrying");
                tokio::select! { () = shutdown.cancelled() => {}, () = tokio::time::sleep(Duration::from_secs(1)) => {} }
            }
        }
    }

    /// Tell the leading relay that `rows` committed (see the module docs).
    async fn committed(&self, rows: Vec<Row>) -> sqlx::Result<()> {
        if rows.is_empty() {
            return Ok(());
        }
        if self.relay.leading.load(Ordering::Acquire) {
            self.relay.committed.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend(rows);
            self.relay.wake.notify_one();
            return Ok(());
        }
        let named = rows.iter().map(|r| r.seq.to_string()).collect::<Vec<_>>().join(",");
        sqlx::query("SELECT pg_notify($1, $2)").bind(CHANNEL).bind(named).execute(&self.pool).await?;
        Ok(())
    }
}

/// A transaction of an [`Outbox`]'s database that remembers the events it queued, so that its
/// [`commit`](Tx::commit) can hand them to the relay. Dropped uncommitted, it rolls back.
#[derive(Debug)]
pub struct Tx<'c> {
    tx: sqlx::Transaction<'c, Postgres>,
    queued: Vec<Row>,
    outbox: Outbox,
}

impl Tx<'_> {
    /// Commit, then tell the relay what was queued. The events are safe once the commit
    /// returned: if telling fails, the relay's poll finds them, so that is only logged.
    pub async fn commit(self) -> sqlx::Result<()> {
        self.tx.commit().await?;
        if let Err(e) = self.outbox.committed(self.queued).await {
            tracing::warn!(error = %e, "waking the outbox relay failed; its poll will find the events");
        }
        Ok(())
    }
}

impl std::ops::Deref for Tx<'_> {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        &self.tx
    }
}

impl std::ops::DerefMut for Tx<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.tx
    }
}

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
pub async fn enqueue<T: Serialize>(tx: &mut Tx<'_>, event: &Event<T>, traceparent: Option<&str>) -> sqlx::Result<()> {
    enqueue_all(tx, &[Outgoing::new(event).map_err(|e| sqlx::Error::Encode(e.into()))?], traceparent).await
}

/// The part of [`ENQUEUE_ALL`] that queues the events, a CTE named `queued`: events as arrays
/// of ids, topics, keys and envelopes ($1–$4) and the traceparent ($5), inserted only where
/// `condition` holds. Rows are inserted in array order, so their `seq`s keep the order given.
fn queued(condition: &str) -> String {
    format!(
        "queued AS ( \
           INSERT INTO outbox (event_id, topic, key, payload, traceparent) \
           SELECT e.id, e.topic, e.key, e.payload, $5 \
           FROM unnest($1::uuid[], $2::text[], $3::text[], $4::jsonb[]) WITH ORDINALITY AS e(id, topic, key, payload, n) \
           WHERE {condition} ORDER BY e.n \
           RETURNING seq)"
    )
}

/// The statement of [`enqueue_all`]: [`queued`] events, returning their seqs.
static ENQUEUE_ALL: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| with_also(""));

/// [`ENQUEUE_ALL`] with more CTEs (`", name AS (…)"`, binds from $6) run by the same statement:
/// a caller's own write that commits with the events, in the same round trip. PostgreSQL runs
/// every data-modifying CTE once, whether or not the query reads it.
pub fn with_also(ctes: &str) -> String {
    format!("WITH {}{ctes} SELECT seq FROM queued", queued("true"))
}

/// A statement that runs `ctes` (`"name AS (…), …"`, binds from $6) and then queues the events
/// only where `condition` (over those CTEs) holds, for [`Outbox::enqueue_alone`]: a caller's
/// write and its events in one statement, the events only if the write took place.
pub fn after(ctes: &str, condition: &str) -> String {
    format!("WITH {ctes}, {} SELECT seq FROM queued", queued(condition))
}

/// Add `events`, in this order, to the outbox within the caller's transaction — one statement.
pub async fn enqueue_all(tx: &mut Tx<'_>, events: &[Outgoing], traceparent: Option<&str>) -> sqlx::Result<()> {
    enqueue_all_with(tx, events, traceparent, &ENQUEUE_ALL, |q| q).await
}

/// [`enqueue_all`] by `statement`, made by [`with_also`]; `bind` binds its own values ($6…).
pub async fn enqueue_all_with<'q>(
    tx: &mut Tx<'_>,
    events: &'q [Outgoing],
    traceparent: Option<&'q str>,
    statement: &'q str,
    bind: impl FnOnce(Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments>,
) -> sqlx::Result<()> {
    let rows = run_enqueue(tx, events, traceparent, statement, bind).await?;
    if rows.len() != events.len() {
        return Err(sqlx::Error::Protocol(format!("the outbox queued {} rows for {} events", rows.len(), events.len())));
    }
    tx.queued.extend(rows);
    Ok(())
}

/// Run an enqueuing `statement` on `conn`: the rows it queued (all of `events` or, when its
/// condition held them back, none), as the relay publishes them.
async fn run_enqueue<'q>(
    conn: &mut PgConnection,
    events: &'q [Outgoing],
    traceparent: Option<&'q str>,
    statement: &'q str,
    bind: impl FnOnce(Query<'q, Postgres, PgArguments>) -> Query<'q, Postgres, PgArguments>,
) -> sqlx::Result<Vec<Row>> {
    let ids: Vec<Uuid> = events.iter().map(|e| e.event_id).collect();
    let topics: Vec<&str> = events.iter().map(|e| e.topic.as_str()).collect();
    let keys: Vec<&str> = events.iter().map(|e| e.key.as_str()).collect();
    let envelopes: Vec<&serde_json::Value> = events.iter().map(|e| &e.envelope).collect();
    let query = sqlx::query(sqlx::AssertSqlSafe(statement)).bind(ids).bind(topics).bind(keys).bind(envelopes).bind(traceparent);
    let mut seqs: Vec<i64> = bind(query).fetch_all(conn).await?.iter().map(|r| sqlx::Row::try_get(r, 0)).collect::<Result<_, _>>()?;
    if seqs.is_empty() {
        return Ok(Vec::new());
    }
    if seqs.len() != events.len() {
        return Err(sqlx::Error::Protocol(format!("the outbox queued {} rows for {} events", seqs.len(), events.len())));
    }
    // The rows were inserted in the events' order, so the ascending seqs are theirs in order.
    seqs.sort_unstable();
    seqs.into_iter()
        .zip(events)
        .map(|(seq, e)| {
            let payload = serde_json::to_vec(&e.envelope).map_err(|e| sqlx::Error::Encode(e.into()))?;
            Ok(Row { seq, topic: e.topic.clone(), key: e.key.clone(), payload, traceparent: traceparent.map(str::to_owned) })
        })
        .collect()
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

impl From<Pending> for Row {
    fn from(p: Pending) -> Self {
        let payload = serde_json::to_vec(&p.payload.0).unwrap_or_default();
        Self { seq: p.seq, topic: p.topic, key: p.key, payload, traceparent: p.traceparent }
    }
}

impl Outbox {
    async fn lead(&self, producer: &Producer, shutdown: &CancellationToken) -> anyhow::Result<()> {
        let pool = &self.pool;
        // The advisory lock lives as long as this connection, which is the relay's own: on any
        // way out (an error included) it is closed, and the lock goes with it. Returned to the
        // pool still holding the lock, it would keep every later attempt, this relay's too,
        // from leading until the pool happened to close it.
        let mut lock_conn = pool.acquire().await?.detach();
        loop {
            let got: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)").bind(RELAY_LOCK).fetch_one(&mut lock_conn).await?;
            if got {
                break;
            }
            tokio::select! { () = shutdown.cancelled() => return Ok(()), () = tokio::time::sleep(Duration::from_secs(2)) => {} }
        }
        let mut listener = PgListener::connect_with(pool).await?;
        listener.listen(CHANNEL).await?;
        // From here this process's commits hand their seqs over in memory; what committed
        // before is found by the first read, a scan.
        let _leading = Leading::take(&self.relay);
        tracing::info!("outbox relay leading");
        // `wanted`: seqs other processes named, to read; `held`: this process's committed rows.
        let (mut published, mut wanted, mut held, mut scan) = (Published::default(), BTreeSet::new(), BTreeMap::new(), true);
        // `polled`: this read is the poll's; the next poll is due at `due`, busy or not.
        let (mut poll, mut polled, mut due) = (Poll::default(), false, Instant::now());
        while !shutdown.is_cancelled() {
            let (read, mine) = if scan {
                // The scan reads this process's rows too; `held` is filtered after it.
                (Read::Oldest, Vec::new())
            } else {
                let these: Vec<i64> = std::iter::from_fn(|| wanted.pop_first()).take(BATCH as usize).collect();
                let mine: Vec<Row> = std::iter::from_fn(|| held.pop_first().map(|(_, r)| r)).take(BATCH as usize).collect();
                (Read::These(these), mine)
            };
            let seqs = publish_batch(pool, producer, read, mine).await?;
            if scan {
                if std::mem::take(&mut polled) {
                    // Rows named or handed over are no news: the poll is for the others.
                    published.hold(self.relay.take_committed(), &mut held);
                    poll = poll.after(seqs.iter().any(|seq| !held.contains_key(seq) && !wanted.contains(seq)));
                }
                due = Instant::now() + poll.0;
            }
            // A full batch of the oldest rows: there may be more.
            scan = scan && seqs.len() as i64 == BATCH;
            published.remember(seqs);
            published.hold(self.relay.take_committed(), &mut held);
            held.retain(|seq, _| !published.0.contains(seq));
            wanted.retain(|seq| !published.0.contains(seq));
            if !scan && Instant::now() >= due {
                // Also while busy: a steady stream of named rows must not hide an unnamed one.
                (scan, polled) = (true, true);
            }
            if scan || !wanted.is_empty() || !held.is_empty() {
                continue;
            }
            // Wait for a commit of this process, a notification naming a row not published
            // yet, or the poll.
            let idle = tokio::time::sleep_until(due);
            tokio::pin!(idle);
            loop {
                tokio::select! {
                    () = shutdown.cancelled() => break,
                    () = self.relay.wake.notified() => {
                        published.hold(self.relay.take_committed(), &mut held);
                        if !held.is_empty() { break }
                    }
                    n = listener.recv() => {
                        scan |= !published.wanted(n?.payload(), &mut wanted);
                        if scan || !wanted.is_empty() { break }
                    }
                    () = &mut idle => { (scan, polled) = (true, true); break }
                }
            }
            // Whatever else has arrived is answered by the same read.
            while let Some(n) = listener.recv().now_or_never() {
                scan |= !published.wanted(n?.payload(), &mut wanted);
            }
            published.hold(self.relay.take_committed(), &mut held);
        }
        sqlx::query("SELECT pg_advisory_unlock($1)").bind(RELAY_LOCK).execute(&mut lock_conn).await?;
        sqlx::Connection::close(lock_conn).await?;
        Ok(())
    }
}

impl Local {
    fn take_committed(&self) -> Vec<Row> {
        std::mem::take(&mut *self.committed.lock().unwrap_or_else(std::sync::PoisonError::into_inner))
    }
}

/// This process's relay leads while this lives. Rows handed over while it did not lead (a
/// commit that saw it leading just before it stopped) are dropped when it starts and stops:
/// they are in the table, where the first read of every lead, a scan, finds them.
struct Leading<'a>(&'a Local);

impl<'a> Leading<'a> {
    fn take(local: &'a Local) -> Self {
        local.take_committed();
        local.leading.store(true, Ordering::Release);
        Self(local)
    }
}

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        self.0.leading.store(false, Ordering::Release);
        self.0.take_committed();
    }
}

/// How long after its last scan the relay polls, busy or idle: [`Poll::SOONEST`] at first and
/// after a poll that found rows nobody had named, doubling after each that found none, up to
/// [`Poll::LATEST`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Poll(Duration);

impl Poll {
    const SOONEST: Duration = Duration::from_millis(500);
    const LATEST: Duration = Duration::from_secs(5);

    /// The wait after a poll that `found` rows nobody had named, or not.
    fn after(self, found: bool) -> Self {
        if found { Self(Self::SOONEST) } else { Self((self.0 * 2).min(Self::LATEST)) }
    }
}

impl Default for Poll {
    fn default() -> Self {
        Self(Self::SOONEST)
    }
}

/// The seqs the relay published lately (at most [`REMEMBERED`], the highest kept).
#[derive(Debug, Default)]
struct Published(BTreeSet<i64>);

impl Published {
    fn remember(&mut self, seqs: Vec<i64>) {
        self.0.extend(seqs);
        while self.0.len() > REMEMBERED {
            self.0.pop_first();
        }
    }

    /// Add those of `seqs` not published to `wanted`.
    fn want(&self, seqs: Vec<i64>, wanted: &mut BTreeSet<i64>) {
        wanted.extend(seqs.into_iter().filter(|seq| !self.0.contains(seq)));
    }

    /// Add those of `rows` not published to `held`.
    fn hold(&self, rows: Vec<Row>, held: &mut BTreeMap<i64, Row>) {
        held.extend(rows.into_iter().filter(|r| !self.0.contains(&r.seq)).map(|r| (r.seq, r)));
    }

    /// Add the seqs a notification names that were not published to `wanted`; `false` when it
    /// names none (an older writer's notification): then only a scan can say what it was for.
    fn wanted(&self, payload: &str, wanted: &mut BTreeSet<i64>) -> bool {
        let seqs: Result<Vec<i64>, _> = payload.split(',').map(str::parse::<i64>).collect();
        seqs.map(|seqs| self.want(seqs, wanted)).is_ok()
    }
}

/// Which rows [`publish_batch`] reads.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Read {
    /// The oldest [`BATCH`] rows.
    Oldest,
    /// These rows, those still there.
    These(Vec<i64>),
}

/// Publish up to one batch in `seq` order, `mine` (rows handed over in memory) and the rows
/// `read` names; returns the seqs published, in order. Reads are planned for their parameters
/// every time (see the module docs).
async fn publish_batch(pool: &PgPool, producer: &Producer, read: Read, mine: Vec<Row>) -> anyhow::Result<Vec<i64>> {
    const COLUMNS: &str = "SELECT seq, topic, key, payload, traceparent FROM outbox";
    let query = match read {
        Read::Oldest => Some(sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} ORDER BY seq LIMIT $1"))).bind(BATCH)),
        Read::These(seqs) if seqs.is_empty() => None,
        Read::These(seqs) => Some(sqlx::query_as(sqlx::AssertSqlSafe(format!("{COLUMNS} WHERE seq = ANY($1) ORDER BY seq"))).bind(seqs)),
    };
    let mut rows = mine;
    if let Some(query) = query {
        let read: Vec<Pending> = query.persistent(false).fetch_all(pool).await?;
        rows.extend(read.into_iter().map(Row::from));
        rows.sort_unstable_by_key(|r| r.seq);
        rows.dedup_by_key(|r| r.seq);
    }
    if rows.is_empty() {
        return Ok(Vec::new());
    }
    // Send the whole batch at once; the idempotent producer keeps per-partition order.
    let sends = rows.iter().map(|r| {
        let headers: Vec<(&str, &[u8])> = r.traceparent.as_deref().map(|t| (crate::kafka::TRACEPARENT, t.as_bytes())).into_iter().collect();
        async move { producer.send(&r.topic, r.key.as_bytes(), &r.payload, &headers).await }
    });
    let results = futures::future::join_all(sends).await;
    // Delete the acknowledged prefix; anything after the first failure is retried in order.
    // By the rows' own seqs, never a range: a transaction that took a lower seq can commit
    // after this batch was read, and a range would delete its row unpublished.
    let acked = results.iter().take_while(|r| r.is_ok()).count();
    let published: Vec<i64> = rows[..acked].iter().map(|r| r.seq).collect();
    if acked > 0 {
        sqlx::query("DELETE FROM outbox WHERE seq = ANY($1)").bind(&published).persistent(false).execute(pool).await?;
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
    fn the_poll_backs_off_while_it_finds_nothing_and_comes_back_when_it_finds_rows() {
        let waits: Vec<u64> =
            std::iter::successors(Some(Poll::default()), |p| Some(p.after(false))).take(7).map(|p| p.0.as_millis() as u64).collect();
        assert_eq!(waits, [500, 1000, 2000, 4000, 5000, 5000, 5000]);
        assert_eq!(Poll(Poll::LATEST).after(true), Poll::default(), "rows found: soon again");
    }

    #[test]
    fn a_notification_wants_the_seqs_not_published_lately() {
        let mut published = Published::default();
        published.remember((1..=REMEMBERED as i64 + 10).collect());
        let mut wanted = BTreeSet::new();
        let last = REMEMBERED as i64 + 10;
        assert!(published.wanted(&last.to_string(), &mut wanted) && wanted.is_empty(), "published: nothing to read");
        assert!(published.wanted("11", &mut wanted) && wanted.is_empty(), "the oldest remembered");
        assert!(published.wanted(&format!("10,{}", last + 1), &mut wanted));
        assert_eq!(wanted, BTreeSet::from([10, last + 1]), "forgotten, and not published yet");
        assert!(!published.wanted("", &mut wanted), "no seqs (an older writer): a scan");
        assert!(!published.wanted("x", &mut wanted), "not seqs: a scan");
    }
}
