//! The transactional outbox's relay (`tripnest_common::outbox`) against the real PostgreSQL
//! and Kafka.

use super::kafka::{create_topic, isolated_kafka_config};
use sqlx::Connection;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    Event,
    config::KafkaConfig,
    events::Payload,
    kafka::Producer,
    outbox::{self, Outbox},
};
use tripnest_e2e::{EventTap, Stack, TestDatabase, wait_until};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Burst {
    n: usize,
}

impl Payload for Burst {
    const TOPIC: &'static str = "e2e.outbox";
}

/// A database of the test's own with the outbox table (then `prepare`d), a topic for [`Burst`]
/// under a prefix of its own, and a tap on it.
async fn outbox_and_topic<F, Fut>(prepare: F) -> (TestDatabase, KafkaConfig, EventTap)
where
    F: FnOnce(sqlx::PgPool) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    let db = Stack::load().fresh_database().await;
    tripnest_common::db::SHARED_MIGRATIONS.run(&db.pool).await.expect("outbox table");
    prepare(db.pool.clone()).await;
    let cfg = isolated_kafka_config();
    create_topic(&cfg, &cfg.topic(Burst::TOPIC)).await;
    let tap = EventTap::start(&cfg.bootstrap_servers, &cfg.topic_prefix, &[Burst::TOPIC]).await;
    (db, cfg, tap)
}

/// Every commit that enqueues wakes the relay. A burst of commits must not cost a read of the
/// outbox per commit: the wake-ups that came while a batch was published are answered by one
/// read. The burst is made to arrive while the relay is busy: it publishes a
/// first event and then waits to delete it, on a row lock the test holds, while the writers
/// commit. Then notifications arrive late, one at a time, for rows already published (what a
/// listening backend on a loaded machine does): they must cost no read at all; a last event
/// from another process, named on the channel after them, shows they were all handled. The
/// relay's reads and deletes are counted by PostgreSQL itself (`pg_stat_statements`, on a
/// database of the test's own). Not by the table's scan counters: PostgreSQL 15 counts a
/// delete by `seq = ANY(…)` planned as an index scan as one scan per seq, so those counted 150
/// for this same relay whenever the planner chose that plan.
#[tokio::test]
async fn a_burst_of_commits_is_relayed_once_each_in_a_few_reads_of_the_outbox() {
    const WRITERS: usize = 4;
    const EVENTS: usize = 400;
    let (db, cfg, tap) = outbox_and_topic(|_| async {}).await;
    let relay_pool = sqlx::PgPool::connect(&db.url).await.expect("relay pool");
    let writes = Outbox::new(relay_pool.clone());
    // The first event, committed before the relay starts, and locked.
    enqueue(&writes, EVENTS).await;
    let mut plug = db.pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM outbox FOR UPDATE").execute(&mut *plug).await.expect("lock the first event's row");

    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(writes.clone().run_relay(Producer::new(&cfg).expect("producer"), shutdown.clone()));
    tap.wait_for(Burst::TOPIC, &format!("s{EVENTS}"), Duration::from_secs(30)).await;
    // The relay published the first event and waits on the lock to delete it. Writers commit
    // one event per transaction, all at once.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let writes = writes.clone();
            tokio::spawn(async move {
                for n in (w..EVENTS).step_by(WRITERS) {
                    enqueue(&writes, n).await;
                }
            })
        })
        .collect();
    for w in writers {
        w.await.expect("writer");
    }
    plug.rollback().await.expect("release the lock");
    wait_until("every event published", Duration::from_secs(60), || async {
        (0..EVENTS).all(|n| !tap.about(Burst::TOPIC, &format!("s{n}")).is_empty()).then_some(())
    })
    .await;
    assert!((0..=EVENTS).all(|n| tap.about(Burst::TOPIC, &format!("s{n}")).len() == 1), "each event published once");
    // Late notifications, a millisecond apart, each about one of the last 100 rows published.
    let last: i64 = sqlx::query_scalar("SELECT last_value FROM outbox_seq_seq").fetch_one(&db.pool).await.expect("last seq");
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    for seq in last - 99..=last {
        tick.tick().await;
        sqlx::query("SELECT pg_notify($1, $2)").bind(outbox::CHANNEL).bind(seq.to_string()).execute(&db.pool).await.expect("notify");
    }

    enqueue(&Outbox::new(db.pool.clone()), EVENTS + 1).await;
    tap.wait_for(Burst::TOPIC, &format!("s{}", EVENTS + 1), Duration::from_secs(30)).await;
    shutdown.cancel();
    relay.await.expect("relay stops");
    let statements = statement_calls(&db, "SELECT seq, topic, key, payload, traceparent FROM outbox%").await
        + statement_calls(&db, "DELETE FROM outbox%").await;
    // A read and a delete per batch of at most 256, and the polls: under 10. A read per
    // notification would be over 400, and the late ones alone up to 100.
    assert!(statements <= 20, "the relay read or deleted from the outbox {statements} times for {} commits", EVENTS + 2);
}

/// The outbox is all churn: vacuum leaves it at zero pages, and between vacuums its heap holds
/// every row deleted since. A relay that read or deleted through a plan cached while the table
/// was empty (a sequential scan) read that whole heap on every step. Here the relay starts on
/// an empty, vacuumed table and publishes events one at a time, the heap then fills with 20,000 dead rows
/// (autovacuum off for the table), and 100 more events are committed one at a time: the heap
/// blocks the relay touches (`pg_statio_user_tables`) must stay a few per event, not the
/// heap's size per event.
#[tokio::test]
async fn the_relays_reads_do_not_grow_with_the_dead_rows_the_table_holds() {
    // Enough for every connection of the relay's pool to run its statements more than five
    // times (PostgreSQL may then switch a prepared statement to its generic plan).
    const WARM: usize = 100;
    const EVENTS: usize = 100;
    let (db, cfg, tap) = outbox_and_topic(|pool| async move {
        sqlx::query("ALTER TABLE outbox SET (autovacuum_enabled = off)").execute(&pool).await.expect("autovacuum off");
        // What vacuum leaves after a quiet spell: an empty table of zero pages, known to be empty.
        sqlx::raw_sql("VACUUM outbox").execute(&pool).await.expect("vacuum");
    })
    .await;
    let relay_pool = sqlx::PgPool::connect(&db.url).await.expect("relay pool");
    let writes = Outbox::new(relay_pool.clone());
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(writes.clone().run_relay(Producer::new(&cfg).expect("producer"), shutdown.clone()));
    let one_by_one = |from: usize, to: usize| {
        let (writes, tap) = (&writes, &tap);
        async move {
            for n in from..to {
                enqueue(writes, n).await;
                tap.wait_for(Burst::TOPIC, &format!("s{n}"), Duration::from_secs(30)).await;
            }
        }
    };
    one_by_one(0, WARM).await;
    // On a connection of its own, closed before the counters are reset: a backend's counters
    // reach the statistics when it exits (or a second after its last report), not at once.
    let mut filler = sqlx::PgConnection::connect(&db.url).await.expect("filler");
    sqlx::query(
        "WITH dead AS (INSERT INTO outbox (event_id, topic, key, payload) \
           SELECT gen_random_uuid(), 'e2e.dead', 'k', jsonb_build_object('pad', repeat('x', 500)) FROM generate_series(1, 20000) RETURNING seq) \
         SELECT count(*) FROM dead",
    )
    .execute(&mut filler)
    .await
    .expect("fill");
    sqlx::query("DELETE FROM outbox WHERE topic = 'e2e.dead'").execute(&mut filler).await.expect("kill");
    filler.close().await.expect("close the filler");
    let heap_pages: i64 = sqlx::query_scalar("SELECT pg_relation_size('outbox') / current_setting('block_size')::bigint")
        .fetch_one(&db.pool)
        .await
        .expect("size");
    assert!(heap_pages > 1000, "the heap holds the dead rows: {heap_pages} pages");
    sqlx::query("SELECT pg_stat_reset_single_table_counters('outbox'::regclass)").execute(&db.pool).await.expect("reset");
    one_by_one(WARM, WARM + EVENTS).await;
    let blocks = stop_and_count(
        (shutdown, relay, relay_pool, db),
        "SELECT s.heap_blks_hit + s.heap_blks_read, t.n_tup_del FROM pg_statio_user_tables s JOIN pg_stat_user_tables t USING (relid) \
         WHERE s.relname = 'outbox'",
        EVENTS,
    )
    .await;
    // Inserting, reading and deleting an event touch a few blocks each. The poll (every 0.5 s
    // at first, busy or not) walks the dead rows' index entries from the lowest seq, visiting
    // the heap once (about 1,540 blocks) and marking them dead, so later polls skip them: a few
    // blocks per event and two walks at most, not the heap per event (154,000).
    let bound = 20 * EVENTS as i64 + 2 * heap_pages;
    assert!(blocks < bound, "the relay touched {blocks} heap blocks for {EVENTS} events ({heap_pages}-page heap; bound {bound})");
}

/// The poll (a read of the oldest rows) is the relay's safety net for rows nobody named: a
/// commit whose process died, or lost the lead, before telling the relay. Idle, it backs off:
/// four polls in a row take at least 1 + 2 + 4 s of the 0.5, 1, 2, 4 s waits (at a fixed
/// 500 ms they took 2 s). A row inserted behind the relay's back (named by nobody) is still
/// published, within the deadline. Polls are counted by PostgreSQL (`pg_stat_statements`).
#[tokio::test]
async fn the_poll_finds_a_row_nobody_named_and_backs_off_while_it_finds_none() {
    const UNNAMED: usize = 999;
    let (db, cfg, tap) = outbox_and_topic(|_| async {}).await;
    let relay_pool = sqlx::PgPool::connect(&db.url).await.expect("relay pool");
    let writes = Outbox::new(relay_pool.clone());
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(writes.clone().run_relay(Producer::new(&cfg).expect("producer"), shutdown.clone()));
    enqueue(&writes, 0).await;
    tap.wait_for(Burst::TOPIC, "s0", Duration::from_secs(30)).await;

    let from = polls(&db).await;
    let started = std::time::Instant::now();
    wait_until("four more polls", Duration::from_secs(60), || async { (polls(&db).await >= from + 4).then_some(()) }).await;
    let took = started.elapsed();
    assert!(took >= Duration::from_secs(6), "four idle polls in {took:?}: the poll did not back off");

    let event = Event::new("e2e", format!("s{UNNAMED}"), Burst { n: UNNAMED });
    sqlx::query("INSERT INTO outbox (event_id, topic, key, payload) VALUES ($1, $2, $3, $4)")
        .bind(event.id)
        .bind(&event.kind)
        .bind(&event.subject)
        .bind(serde_json::to_value(&event).expect("envelope"))
        .execute(&db.pool)
        .await
        .expect("a row nobody named");
    tap.wait_for(Burst::TOPIC, &format!("s{UNNAMED}"), Duration::from_secs(30)).await;
    assert_eq!(tap.about(Burst::TOPIC, &format!("s{UNNAMED}")).len(), 1, "published once");
    shutdown.cancel();
    relay.await.expect("relay stops");
}

/// How often the relay read the oldest rows (`SELECT … FROM outbox ORDER BY seq LIMIT …`, the
/// scan and the poll) in `db`.
async fn polls(db: &TestDatabase) -> i64 {
    statement_calls(db, "SELECT %FROM outbox ORDER BY seq LIMIT%").await
}

/// Commit the event numbered `n` through `outbox`.
async fn enqueue(outbox: &Outbox, n: usize) {
    let mut tx = outbox.begin().await.expect("begin");
    outbox::enqueue(&mut tx, &Event::new("e2e", format!("s{n}"), Burst { n }), None).await.expect("enqueue");
    tx.commit().await.expect("commit");
}

/// A commit never runs `NOTIFY` inside its transaction (PostgreSQL serialises the commits of
/// transactions that notified). When its process's relay leads, the commit hands its events to
/// the relay in memory: nothing is sent on the channel, and the relay publishes them without
/// reading them back. Another process's commit (another replica, the inventory CronJob) names
/// its seqs on the channel after it committed, and the relay reads those rows. Both kinds of
/// events are published, each once. A listener of the test's own counts what the channel
/// carried; PostgreSQL's own statement counters (`pg_stat_statements`, which the stack's server
/// loads) count the relay's reads by seq in the test's database.
#[tokio::test]
async fn a_commit_wakes_a_relay_in_its_process_in_memory_and_any_other_by_notify() {
    const EACH: usize = 20;
    let (db, cfg, tap) = outbox_and_topic(|_| async {}).await;
    let mut channel = sqlx::postgres::PgListener::connect(&db.url).await.expect("listener");
    channel.listen(outbox::CHANNEL).await.expect("listen");
    let relay_pool = sqlx::PgPool::connect(&db.url).await.expect("relay pool");
    let leader = Outbox::new(relay_pool.clone());
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(leader.clone().run_relay(Producer::new(&cfg).expect("producer"), shutdown.clone()));
    // The relay leads once it published what was committed before it started.
    let other = Outbox::new(db.pool.clone());
    enqueue(&other, 0).await;
    tap.wait_for(Burst::TOPIC, "s0", Duration::from_secs(30)).await;
    let before = drain(&db, &mut channel).await;
    assert_eq!(before.len(), 1, "the other process's commit named its seq: {before:?}");

    let read_before = reads_by_seq(&db).await;
    for n in 1..=EACH {
        enqueue(&leader, n).await;
        tap.wait_for(Burst::TOPIC, &format!("s{n}"), Duration::from_secs(30)).await;
    }
    let from_the_leader = drain(&db, &mut channel).await;
    assert!(from_the_leader.is_empty(), "commits in the leading process sent {from_the_leader:?}");
    let read_after = reads_by_seq(&db).await;
    assert_eq!(read_after, read_before, "the leader's own {EACH} events were published from memory, not read back");

    for n in EACH + 1..=2 * EACH {
        enqueue(&other, n).await;
        tap.wait_for(Burst::TOPIC, &format!("s{n}"), Duration::from_secs(30)).await;
    }
    let from_the_other = drain(&db, &mut channel).await;
    let named: Vec<i64> = from_the_other.iter().flat_map(|p| p.split(',').map(|s| s.parse::<i64>().expect("a seq"))).collect();
    let last: i64 = sqlx::query_scalar("SELECT last_value FROM outbox_seq_seq").fetch_one(&db.pool).await.expect("last seq");
    assert_eq!(named, (last - EACH as i64 + 1..=last).collect::<Vec<_>>(), "each commit of the other process named its seq");
    assert!(reads_by_seq(&db).await > read_after, "the other process's events were read by the seqs it named");
    assert!((0..=2 * EACH).all(|n| tap.about(Burst::TOPIC, &format!("s{n}")).len() == 1), "each event published once");
    shutdown.cancel();
    relay.await.expect("relay stops");
}

/// How often the relay read rows by seq (`SELECT … FROM outbox WHERE seq = ANY(…)`) in `db`.
async fn reads_by_seq(db: &TestDatabase) -> i64 {
    statement_calls(db, "SELECT %FROM outbox WHERE seq = ANY%").await
}

/// How often statements `LIKE` `pattern` ran in `db`, by PostgreSQL's own counters
/// (`pg_stat_statements`, which the stack's server loads).
async fn statement_calls(db: &TestDatabase, pattern: &str) -> i64 {
    sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_stat_statements").execute(&db.pool).await.expect("pg_stat_statements");
    sqlx::query_scalar(
        "SELECT coalesce(sum(s.calls), 0)::bigint FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid \
         WHERE d.datname = current_database() AND s.query LIKE $1",
    )
    .bind(pattern)
    .fetch_one(&db.pool)
    .await
    .expect("pg_stat_statements (the stack's PostgreSQL preloads it)")
}

/// The payloads of the notifications sent on the channel since the last drain. PostgreSQL
/// delivers a channel's notifications in commit order, so the test sends a marker of its own
/// and takes everything that arrives before it.
async fn drain(db: &TestDatabase, channel: &mut sqlx::postgres::PgListener) -> Vec<String> {
    const MARKER: &str = "end of drain";
    sqlx::query("SELECT pg_notify($1, $2)").bind(outbox::CHANNEL).bind(MARKER).execute(&db.pool).await.expect("marker");
    let mut payloads = Vec::new();
    loop {
        let n = tokio::time::timeout(Duration::from_secs(30), channel.recv()).await.expect("the marker within 30 s").expect("receive");
        if n.payload() == MARKER {
            return payloads;
        }
        payloads.push(n.payload().to_owned());
    }
}

/// Stop the relay and close every connection (a backend's counters reach the statistics when
/// it exits), then read `counter`: a query of (the figure, rows deleted from the outbox), once
/// at least `deleted` deletions show.
async fn stop_and_count(
    (shutdown, relay, relay_pool, db): (CancellationToken, tokio::task::JoinHandle<()>, sqlx::PgPool, TestDatabase),
    counter: &'static str,
    deleted: usize,
) -> i64 {
    shutdown.cancel();
    relay.await.expect("relay stops");
    relay_pool.close().await;
    db.pool.close().await;
    let stats = sqlx::PgPool::connect(&db.url).await.expect("stats pool");
    let figure = wait_until("the relay's statistics", Duration::from_secs(30), || async {
        let (figure, done): (i64, i64) = sqlx::query_as(counter).fetch_one(&stats).await.expect("statistics");
        (done >= deleted as i64).then_some(figure)
    })
    .await;
    stats.close().await;
    figure
}
