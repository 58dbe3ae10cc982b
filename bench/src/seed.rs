//! The production-sized seed, through the real write paths, cached between runs.
//!
//! - **Hotels and calendars** go in the way the operator puts them in: booking's internal
//!   catalog API (`PUT` [`HOTEL_ROUTE`], then `PUT` [`INVENTORY_ROUTE`] with a 365-night
//!   horizon, which rolls the calendar with booking's own `roll_inventory`); booking's outbox
//!   publishes `hotel.upserted` and `availability.changed` to the read models.
//! - **Travellers**: a pool registered through the user API (each costs a password hash, so
//!   not all of them); the login and signed-in classes use the pool. The past stays' guests
//!   are the pool plus synthetic user ids, so the stays cover every traveller of the size.
//! - **Past stays and reviews** reach the read models as events on the real topics, with the
//!   typed payloads and the real [`Producer`]: `booking.confirmed` as booking publishes it
//!   (without a popularity, which booking counts from the bookings it holds: the hotels'
//!   popularity is what the bench's own bookings make it),
//!   then for every stay `review.created` and `hotel.rating.updated` (the hotel's running
//!   average) as the review service publishes them. Nothing is written into another
//!   service's store.
//!
//! The platform runs pinned to the seed's name ([`pin`], `bench_<size>_v<VERSION>`): its
//! databases, topics and consumer groups are found again by the next run. A marker row in the
//! bench's own database (`<pin>_bench`) is written once everything was published; a run that
//! finds it only logs the pool in and waits (bounded) until the read models' consumer groups
//! have no lag. Raise [`VERSION`] when the seed's shape changes.
//!
//! **A seed is used up, then replaced.** Every run's bookings stay in the seed's stores (booking's
//! bookings and keys, payment's, notification's, review's stays, the profiles), so a seed that
//! runs after runs would be measured larger than its size says, and "small" would no longer be a
//! tenth of "large". Before the platform starts, [`used_up`] counts the bookings earlier runs
//! made; once they reach [`USED_UP_SHARE`] of the seed's past stays, [`drop_seed`] removes every
//! store, topic and consumer group of the pin, and this run seeds afresh.
//!
//! Notification would mail every past stay into Mailpit; it is stopped while the stays
//! are published and its consumer group is moved to the end of its topics before it starts
//! again (the mails of stays in the past were sent at the time).

use crate::load::spread;
use chrono::{Days, Utc};
use futures::{StreamExt, stream};
use rdkafka::{
    ClientConfig, Offset, TopicPartitionList,
    admin::{AdminClient, AdminOptions},
    client::DefaultClientContext,
    consumer::{BaseConsumer, CommitMode, Consumer},
};
use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{Connection, PgConnection, Row as _};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use tripnest_common::{
    catalog::{HOTEL_ROUTE, INVENTORY_ROUTE},
    config::KafkaConfig,
    events::{Event, topics},
    kafka::Producer,
    saga::{BookingConfirmed, Contact, HotelRatingUpdated, ReviewCreated, Stay},
};
use tripnest_e2e::{Stack, platform::Platform, with_database};
use uuid::Uuid;

/// The seed's shape version: part of every store's name (2: past stays carry no popularity).
pub const VERSION: u32 = 2;
/// Nights every room type is open for, from today.
pub const HORIZON_DAYS: u64 = 365;
/// Rooms of `double` per hotel and night.
pub const ROOMS: i32 = 20;
/// The password of every pool traveller.
pub const PASSWORD: &str = "correct horse battery staple";

/// A data size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Size {
    /// One tenth of large.
    Small,
    /// Production size.
    Large,
}

/// How much a size seeds.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Plan {
    /// Hotels (one room type each).
    pub hotels: usize,
    /// Cities they are spread over.
    pub cities: usize,
    /// Distinct guests of the past stays.
    pub travellers: usize,
    /// Confirmed past stays, each with a review.
    pub stays: usize,
    /// Registered travellers (login and signed-in requests).
    pub pool: usize,
}

impl Size {
    /// `small` / `large`.
    pub fn name(self) -> &'static str {
        match self {
            Size::Small => "small",
            Size::Large => "large",
        }
    }

    /// What it seeds. The pool is the same at both sizes, so the per-class comparison between
    /// sizes changes the data, not the set of signed-in travellers.
    pub fn plan(self) -> Plan {
        let pool = 200;
        match self {
            Size::Small => Plan { hotels: 1_000, cities: 20, travellers: 10_000, stays: 20_000, pool },
            Size::Large => Plan { hotels: 10_000, cities: 200, travellers: 100_000, stays: 200_000, pool },
        }
    }
}

/// The name every store, topic and consumer group of a size's seed is pinned to.
pub fn pin(size: Size) -> String {
    format!("bench_{}_v{VERSION}", size.name())
}

/// City `c`'s name.
pub fn city(c: usize) -> String {
    format!("City{c:03}")
}

/// Hotel `i`'s id and city.
pub fn hotel(size: Size, i: usize) -> (String, String) {
    (format!("{}-h{i:05}", size.name()), city(i % size.plan().cities))
}

/// Pool traveller `i`'s email.
pub fn email(size: Size, i: usize) -> String {
    format!("bench-{}-u{i}@example.test", size.name())
}

/// A date `n` days from today (negative: in the past).
pub fn day(n: i64) -> chrono::NaiveDate {
    let today = Utc::now().date_naive();
    if n >= 0 { today.checked_add_days(Days::new(n as u64)) } else { today.checked_sub_days(Days::new(n.unsigned_abs())) }.expect("date")
}

/// What the seed step did, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct SeedReport {
    /// Size name.
    pub size: &'static str,
    /// What was seeded.
    pub plan: Plan,
    /// Seconds the first run took to publish the seed (from the marker).
    pub seed_seconds: f64,
    /// Whether this run seeded (false: reused the cached seed).
    pub seeded_now: bool,
    /// The bookings earlier runs had made when this run found the seed used up and replaced it.
    pub replaced_after: Option<i64>,
    /// Seconds this run waited for every consumer (the read models and the saga) to catch up.
    pub catch_up_seconds: f64,
    /// Events each consumer group was still behind when the wait ended.
    pub lag_left: BTreeMap<String, i64>,
    /// PostgreSQL database sizes in MB.
    pub postgres_mb: BTreeMap<String, f64>,
    /// Rows of booking's calendar, bookings, review's stays.
    pub rows: BTreeMap<String, i64>,
    /// Messages on each topic.
    pub topic_messages: BTreeMap<String, i64>,
}

/// The consumer groups whose lag is the read models' lag, with the topics each consumes.
pub fn read_models(platform: &Platform) -> Vec<(String, &'static [&'static str])> {
    vec![
        (platform.group("search"), tripnest_search::consumer::TOPICS),
        (platform.group("recommendation"), tripnest_recommendation::consumer::TOPICS),
        (platform.group("review"), tripnest_review::consumer::TOPICS),
    ]
}

/// Every consumer group of the platform with the topics each consumes: the saga's (payment,
/// booking, notification) and the read models'.
pub fn consumers(platform: &Platform) -> Vec<(String, &'static [&'static str])> {
    let mut groups = vec![
        (platform.group("payment"), tripnest_payment::consumer::TOPICS),
        (platform.group("booking"), tripnest_booking::consumer::TOPICS),
        (platform.group("notification"), tripnest_notification::consumer::TOPICS),
    ];
    groups.extend(read_models(platform));
    groups
}

/// Each read model's consumer lag (events), now.
pub async fn read_model_lag(platform: &Platform) -> anyhow::Result<BTreeMap<String, i64>> {
    lag_of(platform, read_models(platform)).await
}

/// The consumer lag (events) of each of `groups`, now.
async fn lag_of(platform: &Platform, groups: Vec<(String, &'static [&'static str])>) -> anyhow::Result<BTreeMap<String, i64>> {
    let bootstrap = platform.stack.get("KAFKA_BOOTSTRAP_SERVERS");
    let mut lag = BTreeMap::new();
    for (group, topics) in groups {
        lag.insert(group.clone(), group_lag(bootstrap, &platform.prefix, &group, topics).await?);
    }
    Ok(lag)
}

/// Poll the lag of `groups` ([`read_models`] or [`consumers`]) every 5 s until it is 0
/// everywhere or `deadline` passed; returns the last reading.
pub async fn wait_caught_up(
    platform: &Platform,
    groups: Vec<(String, &'static [&'static str])>,
    deadline: Duration,
    who: &str,
) -> anyhow::Result<BTreeMap<String, i64>> {
    let started = Instant::now();
    loop {
        let lag = lag_of(platform, groups.clone()).await?;
        let behind: i64 = lag.values().sum();
        if behind == 0 || started.elapsed() >= deadline {
            return Ok(lag);
        }
        eprintln!("[{who}]   {behind} events not consumed yet after {:.0} s: {lag:?}", started.elapsed().as_secs_f64());
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}

/// Wait until every read model consumed every `hotel.upserted`, failing after `deadline`.
async fn hotels_consumed(platform: &Platform, deadline: Duration) -> anyhow::Result<()> {
    let bootstrap = platform.stack.get("KAFKA_BOOTSTRAP_SERVERS");
    let started = Instant::now();
    for (group, _) in read_models(platform).into_iter().filter(|(g, _)| !g.ends_with("review")) {
        loop {
            let lag = group_lag(bootstrap, &platform.prefix, &group, &[topics::HOTEL_UPSERTED]).await?;
            if lag == 0 {
                break;
            }
            anyhow::ensure!(started.elapsed() < deadline, "{group} still has {lag} hotel.upserted to consume after {deadline:?}");
            tokio::time::sleep(Duration::from_secs(2)).await;
        }
    }
    Ok(())
}

/// Wait (at most 5 minutes) until booking's outbox relay put at least `n` events on `topic`.
async fn published(platform: &Platform, topic: &str, n: usize) -> anyhow::Result<()> {
    let physical = format!("{}{topic}", platform.prefix);
    let started = Instant::now();
    loop {
        let on_topic = topic_messages(platform.stack.get("KAFKA_BOOTSTRAP_SERVERS"), &physical).await?;
        if on_topic >= n as i64 {
            return Ok(());
        }
        anyhow::ensure!(started.elapsed() < Duration::from_secs(300), "{on_topic} of {n} {topic} published after 300 s");
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// Events `group` has not committed yet on `topics` (logical names under `prefix`).
pub async fn group_lag(bootstrap: &str, prefix: &str, group: &str, topics: &[&str]) -> anyhow::Result<i64> {
    let (bootstrap, group) = (bootstrap.to_owned(), group.to_owned());
    let physical: Vec<String> = topics.iter().map(|t| format!("{prefix}{t}")).collect();
    tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &bootstrap).set("group.id", &group).create()?;
        let timeout = Duration::from_secs(10);
        let mut lag = 0;
        for topic in &physical {
            let meta = consumer.fetch_metadata(Some(topic), timeout)?;
            for p in meta.topics().iter().flat_map(|t| t.partitions()) {
                let (low, high) = consumer.fetch_watermarks(topic, p.id(), timeout)?;
                let mut tpl = TopicPartitionList::new();
                tpl.add_partition(topic, p.id());
                let committed = consumer.committed_offsets(tpl, timeout)?;
                let at = match committed.find_partition(topic, p.id()).map(|e| e.offset()) {
                    Some(Offset::Offset(o)) => o,
                    _ => low,
                };
                lag += (high - at).max(0);
            }
        }
        Ok(lag)
    })
    .await?
}

/// Messages on a topic (high − low watermark of every partition).
async fn topic_messages(bootstrap: &str, topic: &str) -> anyhow::Result<i64> {
    let (bootstrap, topic) = (bootstrap.to_owned(), topic.to_owned());
    tokio::task::spawn_blocking(move || -> anyhow::Result<i64> {
        let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create()?;
        let meta = consumer.fetch_metadata(Some(&topic), Duration::from_secs(10))?;
        let mut n = 0;
        for p in meta.topics().iter().flat_map(|t| t.partitions()) {
            let (low, high) = consumer.fetch_watermarks(&topic, p.id(), Duration::from_secs(10))?;
            n += high - low;
        }
        Ok(n)
    })
    .await?
}

/// Move `group`'s committed offsets to the end of `topics` (no member may be running).
async fn skip_to_end(bootstrap: &str, prefix: &str, group: &str, topics: &[&str]) -> anyhow::Result<()> {
    let (bootstrap, group) = (bootstrap.to_owned(), group.to_owned());
    let physical: Vec<String> = topics.iter().map(|t| format!("{prefix}{t}")).collect();
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &bootstrap).set("group.id", &group).create()?;
        let mut tpl = TopicPartitionList::new();
        for topic in &physical {
            let meta = consumer.fetch_metadata(Some(topic), Duration::from_secs(10))?;
            for p in meta.topics().iter().flat_map(|t| t.partitions()) {
                let (_, high) = consumer.fetch_watermarks(topic, p.id(), Duration::from_secs(10))?;
                tpl.add_partition_offset(topic, p.id(), Offset::Offset(high))?;
            }
        }
        consumer.commit(&tpl, CommitMode::Sync)?;
        Ok(())
    })
    .await?
}

/// The share of a seed's past stays that bookings made by runs may reach before the seed is
/// replaced ([`used_up`]).
pub const USED_UP_SHARE: f64 = 0.5;

/// The bookings earlier runs made on `size`'s seed when they reached [`USED_UP_SHARE`] of its
/// past stays (the seed is then to be dropped), or `None` while it is not used up (or absent).
pub async fn used_up(stack: &Stack, size: Size) -> anyhow::Result<Option<i64>> {
    let database = format!("{}_booking", pin(size));
    let mut admin = PgConnection::connect(stack.database_url()).await?;
    if !database_exists(&mut admin, &database).await? {
        return Ok(None);
    }
    let mut db = PgConnection::connect(&with_database(stack.database_url(), &database)).await?;
    let has_table: bool = sqlx::query_scalar("SELECT to_regclass('bookings') IS NOT NULL").fetch_one(&mut db).await?;
    if !has_table {
        return Ok(None);
    }
    let bookings: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings").fetch_one(&mut db).await?;
    Ok((bookings as f64 >= USED_UP_SHARE * size.plan().stays as f64).then_some(bookings))
}

/// Remove everything a platform pinned to `pin` keeps: its PostgreSQL databases (the bench's
/// marker too), its MongoDB databases, its topics and its consumer groups. Returns what it
/// removed, for the log.
pub async fn drop_seed(stack: &Stack, pin: &str) -> anyhow::Result<String> {
    let mongo = mongodb::Client::with_uri_str(stack.get("MONGODB_URI")).await?;
    let mongo_dbs: Vec<String> = mongo.list_database_names().await?.into_iter().filter(|d| d.starts_with(&format!("{pin}_"))).collect();
    for db in &mongo_dbs {
        mongo.database(db).drop().await?;
    }
    let bootstrap = stack.get("KAFKA_BOOTSTRAP_SERVERS").to_owned();
    let prefix = format!("{pin}.");
    let (topics, groups) = drop_kafka_under(&bootstrap, &prefix).await?;
    // The platform creates the same topics again as it starts: wait until the brokers no longer
    // list them (deletion completes in the background).
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let left = under_prefix(&bootstrap, &prefix).await?.0.len();
        if left == 0 {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "{left} topics under {prefix} still listed 120 s after they were deleted");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // Last the PostgreSQL databases, booking's the very last: it is what [`used_up`] counts, so
    // a drop that failed before it is done again by the next run.
    let like = format!("{pin}\\_%");
    let mut pg = PgConnection::connect(stack.database_url()).await?;
    let mut databases: Vec<String> =
        sqlx::query_scalar("SELECT datname FROM pg_database WHERE datname LIKE $1").bind(&like).fetch_all(&mut pg).await?;
    databases.sort_by_key(|db| *db == format!("{pin}_booking"));
    for db in &databases {
        drop_database(&mut pg, db).await?;
    }
    Ok(format!(
        "{} PostgreSQL databases, {} MongoDB databases, {} topics, {} consumer groups",
        databases.len(),
        mongo_dbs.len(),
        topics,
        groups
    ))
}

/// Delete the consumer groups, then the topics, whose names start with `prefix` (the brokers
/// finish deleting topics in the background); returns how many topics and groups it deleted.
pub async fn drop_kafka_under(bootstrap: &str, prefix: &str) -> anyhow::Result<(usize, usize)> {
    let (topics, groups) = under_prefix(bootstrap, prefix).await?;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create()?;
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    if !groups.is_empty() {
        let names: Vec<&str> = groups.iter().map(String::as_str).collect();
        admin.delete_groups(&names, &options).await?;
    }
    if !topics.is_empty() {
        let names: Vec<&str> = topics.iter().map(String::as_str).collect();
        admin.delete_topics(&names, &options).await?;
    }
    Ok((topics.len(), groups.len()))
}

/// Whether the PostgreSQL database `name` exists.
async fn database_exists(admin: &mut PgConnection, name: &str) -> anyhow::Result<bool> {
    Ok(sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)").bind(name).fetch_one(admin).await?)
}

/// Drop the PostgreSQL database `name` (if it exists), closing its connections.
pub async fn drop_database(admin: &mut PgConnection, name: &str) -> anyhow::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#))).execute(admin).await?;
    Ok(())
}

/// The topics and the consumer groups whose names start with `prefix`; a broker that just
/// started answers "coordinator load in progress" for a while, so errors are retried for 120 s.
async fn under_prefix(bootstrap: &str, prefix: &str) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        match list_under_prefix(bootstrap, prefix).await {
            Err(e) if Instant::now() < deadline => {
                eprintln!("[seed]   listing {prefix}* from Kafka: {e:#}; retrying");
                tokio::time::sleep(Duration::from_secs(2)).await;
            }
            listed => return listed,
        }
    }
}

async fn list_under_prefix(bootstrap: &str, prefix: &str) -> anyhow::Result<(Vec<String>, Vec<String>)> {
    let (bootstrap, prefix) = (bootstrap.to_owned(), prefix.to_owned());
    tokio::task::spawn_blocking(move || {
        let probe: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create()?;
        let timeout = Duration::from_secs(10);
        let names = |all: Vec<String>| all.into_iter().filter(|n| n.starts_with(&prefix)).collect::<Vec<_>>();
        let topics = names(probe.fetch_metadata(None, timeout)?.topics().iter().map(|t| t.name().to_owned()).collect());
        let groups = names(probe.fetch_group_list(None, timeout)?.groups().iter().map(|g| g.name().to_owned()).collect());
        Ok((topics, groups))
    })
    .await?
}

/// The bench's own database for a seed: the marker.
async fn marker_db(stack: &Stack, pin: &str) -> anyhow::Result<PgConnection> {
    let name = format!("{pin}_bench");
    let mut admin = PgConnection::connect(stack.database_url()).await?;
    if !database_exists(&mut admin, &name).await? {
        sqlx::query(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#))).execute(&mut admin).await?;
    }
    let mut db = PgConnection::connect(&with_database(stack.database_url(), &name)).await?;
    sqlx::query("CREATE TABLE IF NOT EXISTS seed (version int PRIMARY KEY, completed_at timestamptz NOT NULL, seconds float8 NOT NULL, plan jsonb NOT NULL)")
        .execute(&mut db)
        .await?;
    Ok(db)
}

/// The seeded platform: hotel ids and the signed-in pool.
#[derive(Debug)]
pub struct Seeded {
    /// What happened.
    pub report: SeedReport,
    /// Pool travellers (email, user id, access token).
    pub pool: Vec<(String, Uuid, String)>,
}

/// Register (when `register`) and log in pool traveller `i`: (user id, access token).
pub async fn sign_in(http: &reqwest::Client, user_url: &str, email: &str, register: bool) -> anyhow::Result<(Uuid, String)> {
    if register {
        let r = http
            .post(format!("{user_url}/auth/register"))
            .json(&json!({ "email": email, "password": PASSWORD, "name": "Bench Traveller" }))
            .send()
            .await?;
        anyhow::ensure!(matches!(r.status().as_u16(), 201 | 409), "register {email}: {}", r.text().await?);
    }
    let r = http.post(format!("{user_url}/auth/login")).json(&json!({ "email": email, "password": PASSWORD })).send().await?;
    anyhow::ensure!(r.status() == 200, "login {email}: {}", r.status());
    let body: Value = r.json().await?;
    let id = body["user"]["id"].as_str().and_then(|s| s.parse().ok()).ok_or_else(|| anyhow::anyhow!("login answer without user.id"))?;
    Ok((id, body["accessToken"].as_str().unwrap_or_default().to_owned()))
}

/// Sign the whole pool in (registering it first when `register`), 4 at a time.
pub async fn sign_in_pool(platform: &Platform, size: Size, register: bool) -> anyhow::Result<Vec<(String, Uuid, String)>> {
    let results: Vec<anyhow::Result<(String, Uuid, String)>> = stream::iter(0..size.plan().pool)
        .map(|i| async move {
            let email = email(size, i);
            let (id, token) = sign_in(&platform.http, &platform.user.url, &email, register).await?;
            Ok((email, id, token))
        })
        .buffered(4)
        .collect()
        .await;
    results.into_iter().collect()
}

/// Seed (or find) `size` on `platform` and wait at most `catch_up` for the read models;
/// `replaced_after`: the bookings of earlier runs, when the last seed was used up and dropped.
pub async fn seed(platform: &mut Platform, size: Size, catch_up: Duration, replaced_after: Option<i64>) -> anyhow::Result<Seeded> {
    let pin = pin(size);
    let plan = size.plan();
    let bootstrap = platform.stack.get("KAFKA_BOOTSTRAP_SERVERS").to_owned();
    let mut marker = marker_db(&platform.stack, &pin).await?;
    let found: Option<f64> =
        sqlx::query_scalar("SELECT seconds FROM seed WHERE version = $1").bind(VERSION as i32).fetch_optional(&mut marker).await?;
    let (seed_seconds, seeded_now, pool) = match found {
        Some(seconds) => {
            eprintln!("[seed] {pin}: cached (seeded in {seconds:.0} s); signing the pool in");
            (seconds, false, sign_in_pool(platform, size, false).await?)
        }
        None => {
            let started = Instant::now();
            let pool = publish(platform, size).await?;
            let seconds = started.elapsed().as_secs_f64();
            sqlx::query("INSERT INTO seed (version, completed_at, seconds, plan) VALUES ($1, now(), $2, $3)")
                .bind(VERSION as i32)
                .bind(seconds)
                .bind(serde_json::to_value(plan)?)
                .execute(&mut marker)
                .await?;
            eprintln!("[seed] {pin}: published in {seconds:.0} s");
            (seconds, true, pool)
        }
    };
    eprintln!("[seed] waiting (at most {} s) for every consumer to catch up", catch_up.as_secs());
    let waited = Instant::now();
    // Every consumer, not only the read models: a backlog an earlier run left (notification's
    // mail, say) would otherwise be worked off during the measurements.
    let lag_left = wait_caught_up(platform, consumers(platform), catch_up, "seed").await?;
    let catch_up_seconds = waited.elapsed().as_secs_f64();
    prewarm(platform, &pin).await;
    let (postgres_mb, rows) = sizes(platform, &pin).await?;
    let mut messages = BTreeMap::new();
    for t in [
        topics::HOTEL_UPSERTED,
        topics::AVAILABILITY_CHANGED,
        topics::BOOKING_CONFIRMED,
        topics::REVIEW_CREATED,
        topics::HOTEL_RATING_UPDATED,
    ] {
        messages.insert(t.to_owned(), topic_messages(&bootstrap, &format!("{}{t}", platform.prefix)).await?);
    }
    let report = SeedReport {
        size: size.name(),
        plan,
        seed_seconds,
        seeded_now,
        replaced_after,
        catch_up_seconds,
        lag_left,
        postgres_mb,
        rows,
        topic_messages: messages,
    };
    Ok(Seeded { report, pool })
}

/// Read every table and index of the seed's databases (the services' own, and FerretDB's
/// schemas of the seed) into PostgreSQL's buffers (`pg_prewarm`), so the measurements see a
/// server that holds its hot set, as one that has served for a while does, not one reading
/// the first touch of each page from disk. Without the contrib module it says so and goes on.
async fn prewarm(platform: &Platform, pin: &str) {
    let started = Instant::now();
    let mut pages = 0_i64;
    let result: anyhow::Result<()> = async {
        let mut admin = PgConnection::connect(platform.stack.database_url()).await?;
        // More than the buffers hold may be read, and what is read last stays: FerretDB's
        // schemas first, booking's calendar last.
        let databases: Vec<String> = sqlx::query_scalar(
            "SELECT datname FROM pg_database WHERE datname LIKE $1 OR datname = 'ferretdb' \
             ORDER BY datname = 'ferretdb' DESC, datname LIKE '%\\_booking', datname",
        )
        .bind(format!("{pin}\\_%"))
        .fetch_all(&mut admin)
        .await?;
        for database in databases {
            let mut c = PgConnection::connect(&with_database(platform.stack.database_url(), &database)).await?;
            sqlx::query("CREATE EXTENSION IF NOT EXISTS pg_prewarm").execute(&mut c).await?;
            let schemas = if database == "ferretdb" { format!("{pin}\\_%") } else { "public".to_owned() };
            pages += sqlx::query_scalar::<_, Option<i64>>(
                "SELECT sum(pg_prewarm(c.oid))::bigint FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname LIKE $1 AND c.relkind IN ('r', 'i')",
            )
            .bind(schemas)
            .fetch_one(&mut c)
            .await?
            .unwrap_or(0);
        }
        Ok(())
    }
    .await;
    match result {
        Ok(()) => eprintln!("[seed] prewarmed {} MB of tables and indexes in {:.0} s", pages * 8 / 1024, started.elapsed().as_secs_f64()),
        Err(e) => eprintln!("[seed] could not prewarm PostgreSQL's buffers ({e:#}); measuring on whatever they hold"),
    }
}

/// Database sizes (MB) of the seed's PostgreSQL databases and the main row counts.
async fn sizes(platform: &Platform, pin: &str) -> anyhow::Result<(BTreeMap<String, f64>, BTreeMap<String, i64>)> {
    let mut admin = PgConnection::connect(platform.stack.database_url()).await?;
    let mut mb = BTreeMap::new();
    for r in sqlx::query("SELECT datname, pg_database_size(datname)::float8 / 1048576 FROM pg_database WHERE datname LIKE $1")
        .bind(format!("{pin}\\_%"))
        .fetch_all(&mut admin)
        .await?
    {
        mb.insert(r.get::<String, _>(0), r.get::<f64, _>(1));
    }
    let mut rows = BTreeMap::new();
    for (db, table) in [("booking", "availability"), ("booking", "bookings"), ("booking", "hotels"), ("review", "stays"), ("user", "users")]
    {
        let Ok(mut c) = PgConnection::connect(&with_database(platform.stack.database_url(), &format!("{pin}_{db}"))).await else {
            continue;
        };
        if let Ok(n) = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(format!("SELECT count(*) FROM {table}"))).fetch_one(&mut c).await {
            rows.insert(format!("{db}.{table}"), n);
        }
    }
    Ok((mb, rows))
}

/// Publish the whole seed; returns the signed-in pool.
async fn publish(platform: &mut Platform, size: Size) -> anyhow::Result<Vec<(String, Uuid, String)>> {
    let plan = size.plan();
    let started = Instant::now();
    eprintln!("[seed] {} hotels in {} cities through booking's catalog API", plan.hotels, plan.cities);
    let p = &*platform;
    let upserted: Vec<anyhow::Result<()>> =
        stream::iter(0..plan.hotels).map(|i| upsert_hotel(p, size, i)).buffer_unordered(8).collect().await;
    upserted.into_iter().collect::<anyhow::Result<()>>()?;
    published(p, topics::HOTEL_UPSERTED, plan.hotels).await?;
    // Search drops an availability.changed for a hotel it does not know yet: calendars only
    // once the read models consumed every hotel.upserted (the one ordering the seed needs).
    hotels_consumed(p, Duration::from_secs(600)).await?;
    eprintln!("[seed]   {:.0} s; {HORIZON_DAYS}-night calendars (the roll)", started.elapsed().as_secs_f64());
    let opened: Vec<anyhow::Result<()>> = stream::iter(0..plan.hotels).map(|i| open_rooms(p, size, i)).buffer_unordered(4).collect().await;
    opened.into_iter().collect::<anyhow::Result<()>>()?;
    published(p, topics::AVAILABILITY_CHANGED, plan.hotels).await?;
    eprintln!("[seed]   {:.0} s; registering {} pool travellers", started.elapsed().as_secs_f64(), plan.pool);
    let pool = sign_in_pool(p, size, true).await?;
    eprintln!("[seed]   {:.0} s; stopping notification, publishing {} stays with reviews", started.elapsed().as_secs_f64(), plan.stays);
    platform.notification.terminate().await;
    let cfg = KafkaConfig {
        bootstrap_servers: platform.stack.get("KAFKA_BOOTSTRAP_SERVERS").into(),
        topic_prefix: platform.prefix.clone(),
        ..KafkaConfig::default()
    };
    let producer = Producer::new(&cfg)?;
    let users: Vec<Uuid> =
        (0..plan.travellers).map(|u| pool.get(u).map_or_else(|| Uuid::from_u128(0xbe_0000_0000 + u as u128), |(_, id, _)| *id)).collect();
    let stays: Vec<Stay> = (0..plan.stays as u64)
        .map(|k| {
            let i = (spread(k, 31) % plan.hotels as u64) as usize;
            let (hotel_id, _) = hotel(size, i);
            let nights = 1 + spread(k, 32) % 3;
            let check_in = day(-(2 + (spread(k, 33) % 360) as i64) - nights as i64);
            Stay {
                booking_id: Uuid::from_u128(spread(k, 34) as u128 | (u128::from(k) << 64)),
                user_id: users[k as usize % users.len()],
                hotel_id,
                hotel_name: format!("Hotel {i}"),
                room_type: "double".into(),
                check_in,
                check_out: check_in.checked_add_days(Days::new(nights)).expect("date"),
                guests: 1 + (k % 2) as u32,
                rooms: 1,
                amount_cents: 8000 * nights as i64,
                currency: "EUR".into(),
                contact: Contact { email: format!("guest{k}@example.test"), phone: None, name: None },
            }
        })
        .collect();
    let sent: Vec<anyhow::Result<()>> = stream::iter(&stays)
        .map(|stay| {
            // No popularity: booking counts it from the bookings it holds, and these stays
            // are history it never held (as events from before booking counted it).
            let data = BookingConfirmed { stay: stay.clone(), payment_id: Uuid::now_v7(), popularity: None };
            let event = Event::new("booking", stay.booking_id.to_string(), data);
            let producer = &producer;
            async move { producer.publish(&event, None).await.map(|_| ()).map_err(Into::into) }
        })
        .buffered(256)
        .collect()
        .await;
    sent.into_iter().collect::<anyhow::Result<()>>()?;
    eprintln!("[seed]   {:.0} s; reviews", started.elapsed().as_secs_f64());
    let mut ratings: BTreeMap<&str, (i64, i64)> = BTreeMap::new();
    let mut events: Vec<(Event<ReviewCreated>, Event<HotelRatingUpdated>)> = Vec::with_capacity(stays.len());
    for (k, stay) in stays.iter().enumerate() {
        let rating = 1 + (spread(k as u64, 35) % 5) as u8;
        let (sum, count) = ratings.entry(&stay.hotel_id).or_default();
        *sum += i64::from(rating);
        *count += 1;
        let average = (*sum as f64 / *count as f64 * 100.0).round() / 100.0;
        let created = ReviewCreated {
            review_id: Uuid::now_v7(),
            hotel_id: stay.hotel_id.clone(),
            booking_id: stay.booking_id,
            user_id: stay.user_id,
            rating,
        };
        let updated = HotelRatingUpdated { hotel_id: stay.hotel_id.clone(), average, count: *count };
        events.push((Event::new("review", &stay.hotel_id, created), Event::new("review", &stay.hotel_id, updated)));
    }
    let sent: Vec<anyhow::Result<()>> = stream::iter(&events)
        .map(|(created, updated)| {
            let producer = &producer;
            async move {
                producer.publish(created, None).await?;
                producer.publish(updated, None).await?;
                Ok(())
            }
        })
        .buffered(256)
        .collect()
        .await;
    sent.into_iter().collect::<anyhow::Result<()>>()?;
    producer.flush(Duration::from_secs(30));
    let group = platform.group("notification");
    skip_to_end(&cfg.bootstrap_servers, &platform.prefix, &group, &[topics::BOOKING_CONFIRMED, topics::BOOKING_CANCELLED]).await?;
    platform.notification = platform.notification.restart();
    eprintln!("[seed]   {:.0} s; published", started.elapsed().as_secs_f64());
    Ok(pool)
}

/// Upsert hotel `i` (one room type, `double`) into booking's catalog.
async fn upsert_hotel(p: &Platform, size: Size, i: usize) -> anyhow::Result<()> {
    let (id, city) = hotel(size, i);
    let spec = json!({ "name": format!("Hotel {i} {city}"), "city": city, "country": "EU", "stars": 1 + i % 5, "currency": "EUR",
                       "amenities": if i.is_multiple_of(2) { json!(["wifi", "pool"]) } else { json!(["wifi"]) },
                       "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 8000 + 500 * (i % 20) as i64 }] });
    let url = format!("{}{}", p.booking.url, HOTEL_ROUTE.replace("{id}", &id));
    let r = p.http.put(url).bearer_auth(&p.internal_token).json(&spec).send().await?;
    anyhow::ensure!(r.status() == 200, "hotel {id}: {}", r.text().await?);
    Ok(())
}

/// Open [`ROOMS`] rooms of hotel `i`'s `double` for [`HORIZON_DAYS`] nights.
async fn open_rooms(p: &Platform, size: Size, i: usize) -> anyhow::Result<()> {
    let (id, _) = hotel(size, i);
    let inventory = json!({ "rooms": ROOMS, "horizonDays": HORIZON_DAYS, "pricing": { "weekendMultiplier": 1.25 } });
    let url = format!("{}{}", p.booking.url, INVENTORY_ROUTE.replace("{hotel}", &id).replace("{room_type}", "double"));
    let r = p.http.put(url).bearer_auth(&p.internal_token).json(&inventory).send().await?;
    anyhow::ensure!(r.status() == 200, "inventory {id}: {}", r.text().await?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_is_one_tenth_of_large_with_the_same_pool() {
        let (s, l) = (Size::Small.plan(), Size::Large.plan());
        assert_eq!((s.hotels * 10, s.cities * 10, s.travellers * 10, s.stays * 10), (l.hotels, l.cities, l.travellers, l.stays));
        assert_eq!(s.pool, l.pool);
        assert!(l.hotels >= 10_000 && l.cities >= 200 && l.travellers >= 100_000 && l.stays >= 200_000);
    }

    #[test]
    fn each_size_has_its_own_names_and_hotels_spread_over_every_city() {
        assert_eq!(pin(Size::Small), format!("bench_small_v{VERSION}"));
        assert_ne!(hotel(Size::Small, 7).0, hotel(Size::Large, 7).0);
        let plan = Size::Small.plan();
        let cities: std::collections::BTreeSet<String> = (0..plan.hotels).map(|i| hotel(Size::Small, i).1).collect();
        assert_eq!(cities.len(), plan.cities);
        assert!(day(-1) < day(0) && day(0) < day(1));
    }
}
