//! The transactional outbox's relay (`tripnest_common::outbox`) against the real PostgreSQL
//! and Kafka.

use super::kafka::{create_topic, isolated_kafka_config};
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tripnest_common::{Event, events::Payload, kafka::Producer, outbox};
use tripnest_e2e::{EventTap, Stack, wait_until};

#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Burst {
    n: usize,
}

impl Payload for Burst {
    const TOPIC: &'static str = "e2e.outbox";
}

/// Every commit that enqueues wakes the relay (`NOTIFY`). A burst of commits must not cost a
/// read of the outbox per commit: the notifications that came while a batch was published are
/// answered by one read. The burst is made to arrive while the relay is busy: it publishes a
/// first event and then waits to delete it, on a row lock the test holds, while the writers
/// commit. Then notifications arrive late, one at a time, for rows already published (what a
/// listening backend on a loaded machine does): they must cost no read at all. Reads are
/// counted by PostgreSQL itself (scans of the outbox table in `pg_stat_user_tables`, on a
/// database of the test's own).
#[tokio::test]
async fn a_burst_of_commits_is_relayed_once_each_in_a_few_reads_of_the_outbox() {
    const WRITERS: usize = 4;
    const EVENTS: usize = 400;
    let stack = Stack::load();
    let db = stack.fresh_database().await;
    tripnest_common::db::SHARED_MIGRATIONS.run(&db.pool).await.expect("outbox table");
    let cfg = isolated_kafka_config();
    create_topic(&cfg, &cfg.topic(Burst::TOPIC)).await;
    let tap = EventTap::start(&cfg.bootstrap_servers, &cfg.topic_prefix, &[Burst::TOPIC]).await;
    let enqueue = |pool: sqlx::PgPool, n: usize| async move {
        let mut tx = pool.begin().await.expect("begin");
        outbox::enqueue(&mut tx, &Event::new("e2e", format!("s{n}"), Burst { n }), None).await.expect("enqueue");
        tx.commit().await.expect("commit");
    };
    // The first event, committed before the relay starts, and locked.
    enqueue(db.pool.clone(), EVENTS).await;
    let mut plug = db.pool.begin().await.expect("begin");
    sqlx::query("SELECT 1 FROM outbox FOR UPDATE").execute(&mut *plug).await.expect("lock the first event's row");

    let relay_pool = sqlx::PgPool::connect(&db.url).await.expect("relay pool");
    let shutdown = CancellationToken::new();
    let relay = tokio::spawn(outbox::run_relay(relay_pool.clone(), Producer::new(&cfg).expect("producer"), shutdown.clone()));
    tap.wait_for(Burst::TOPIC, &format!("s{EVENTS}"), Duration::from_secs(30)).await;
    // The relay published the first event and waits on the lock to delete it. Writers commit
    // one event per transaction, all at once.
    let writers: Vec<_> = (0..WRITERS)
        .map(|w| {
            let pool = db.pool.clone();
            tokio::spawn(async move {
                for n in (w..EVENTS).step_by(WRITERS) {
                    enqueue(pool.clone(), n).await;
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

    // Stop the relay and close every connection: a backend's counters reach the statistics
    // when it exits.
    shutdown.cancel();
    relay.await.expect("relay stops");
    relay_pool.close().await;
    db.pool.close().await;
    let stats = sqlx::PgPool::connect(&db.url).await.expect("stats pool");
    let reads: i64 = wait_until("the relay's statistics", Duration::from_secs(30), || async {
        let (reads, deleted): (i64, i64) =
            sqlx::query_as("SELECT seq_scan + coalesce(idx_scan, 0), n_tup_del FROM pg_stat_user_tables WHERE relname = 'outbox'")
                .fetch_one(&stats)
                .await
                .expect("pg_stat_user_tables");
        (deleted == EVENTS as i64 + 1).then_some(reads)
    })
    .await;
    // A read and a delete per batch of at most 256 (and the test's lock): about 8. A read per
    // notification would be over 400, and the late ones alone up to 100.
    assert!(reads <= 20, "the relay scanned the outbox {reads} times for {} commits", EVENTS + 1);
    stats.close().await;
}
