//! An ad-hoc measurement, ignored by default: `BOOKINGS` (2,000) uncontended one-night
//! bookings fired `CONCURRENCY` (32) at a time at one booking service. It prints bookings/s
//! and, from `pg_stat_database`, commits and row writes per booking (booking's create
//! transaction plus the outbox relay). Run it with
//! `cargo test -p tripnest-booking --release --test api throughput -- --ignored --nocapture`.

use crate::helpers::*;
use futures::StreamExt;
use std::time::{Duration, Instant};
use tripnest_e2e::{Stack, wait_until};

#[derive(Debug, sqlx::FromRow)]
struct DbStats {
    xact_commit: i64,
    tup_inserted: i64,
    tup_updated: i64,
    tup_deleted: i64,
}

/// The database's counters once every backend on it has flushed them: a backend reports its
/// counters at exit, so end them all (the service's pool reconnects; what the new backends did
/// since is not counted yet).
async fn flushed_stats(admin: &sqlx::PgPool, db: &str) -> DbStats {
    let ended: Vec<i32> = sqlx::query_scalar(
        "WITH victims AS MATERIALIZED (SELECT pid FROM pg_stat_activity WHERE datname = $1) SELECT pid FROM victims WHERE pg_terminate_backend(pid)",
    )
        .bind(db)
        .fetch_all(admin)
        .await
        .expect("terminate");
    wait_until("the backends to exit", Duration::from_secs(20), || async {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)")
            .bind(&ended)
            .fetch_one(admin)
            .await
            .expect("count");
        (n == 0).then_some(())
    })
    .await;
    sqlx::query("SELECT pg_stat_clear_snapshot()").execute(admin).await.expect("clear");
    sqlx::query_as("SELECT xact_commit, tup_inserted, tup_updated, tup_deleted FROM pg_stat_database WHERE datname = $1")
        .bind(db)
        .fetch_one(admin)
        .await
        .expect("stats")
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a measurement, not a check"]
async fn bookings_per_second_and_database_work_per_booking() {
    let env = |k: &str, d: usize| std::env::var(k).ok().and_then(|v| v.parse().ok()).unwrap_or(d);
    let (n, concurrency) = (env("BOOKINGS", 2000), env("CONCURRENCY", 32));
    let app = spawn_app_with(|c| c.sweep_interval_ms = 3_600_000).await;
    app.seed_hotel(100_000).await;
    let db: String = sqlx::query_scalar("SELECT current_database()").fetch_one(&app.pool).await.expect("db");
    let admin = sqlx::PgPool::connect(Stack::load().database_url()).await.expect("admin");
    let requests: Vec<(String, serde_json::Value)> =
        (0..n).map(|i| (app.issuer.traveller(&format!("g{i}@example.test")).1, booking(&app.hotel, 1 + (i as u64 % 58), 1, 1))).collect();
    let outbox_empty = || async {
        let left: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox").fetch_one(&app.pool).await.expect("outbox");
        (left == 0).then_some(())
    };
    wait_until("the seed's events to be relayed", Duration::from_secs(30), outbox_empty).await;
    let before = flushed_stats(&admin, &db).await;

    let started = Instant::now();
    let app_ref = &app;
    let statuses: Vec<u16> = futures::stream::iter(requests.iter().enumerate())
        .map(|(i, (token, body))| async move { app_ref.book(token, &format!("k{i}"), body).await.0.as_u16() })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = started.elapsed();
    wait_until("every event to be relayed", Duration::from_secs(60), outbox_empty).await;
    let after = flushed_stats(&admin, &db).await;

    let accepted = statuses.iter().filter(|s| **s == 202).count();
    assert_eq!(accepted, n, "uncontended bookings are all accepted");
    let per = |a: i64, b: i64| (a - b) as f64 / n as f64;
    println!(
        "{n} bookings, {concurrency} at a time: {:.0} bookings/s; per booking: {:.2} commits, {:.2} inserts, {:.2} updates, {:.2} deletes",
        n as f64 / elapsed.as_secs_f64(),
        per(after.xact_commit, before.xact_commit),
        per(after.tup_inserted, before.tup_inserted),
        per(after.tup_updated, before.tup_updated),
        per(after.tup_deleted, before.tup_deleted),
    );
}
