//! Booking under load: many clients racing for the last rooms (with the check that confirmed
//! bookings never exceed rooms), the saga's `booking.created` → `booking.confirmed` latency at
//! a steady rate, and the database ceiling for both: booking's own hold transaction run
//! directly by pgbench on the same calendar.

use crate::{
    baselines::{Pgbench, pgbench},
    load::{Load, Step, histogram, ms, open_loop, spread},
    site::Site,
};
use chrono::Utc;
use serde_json::Value;
use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::Duration,
};
use tripnest_common::events::topics;
use tripnest_e2e::Stack;

/// The first night of the contended stays, in days from today.
const FIRST_NIGHT: u64 = 30;

/// What the race for the last rooms produced.
#[derive(Debug)]
pub struct Contention {
    /// The load step (every answer, held or sold out).
    pub step: Step,
    /// Bookings that held rooms.
    pub held: usize,
    /// Bookings confirmed once the saga settled.
    pub confirmed: usize,
    /// Rooms for sale over all contended nights.
    pub rooms: usize,
    /// Whether confirmed ≤ rooms held on every night (and held ≤ rooms).
    pub never_oversold: bool,
}

impl Contention {
    /// Nothing oversold: never more held or confirmed than rooms, on any night.
    pub fn safe(&self) -> bool {
        self.never_oversold && self.confirmed <= self.rooms
    }
}

/// `nights` one-night stays at one hotel with `rooms` rooms each, offered at `load` by many
/// travellers; then wait for every held booking to settle and count.
pub async fn contention(site: Arc<Site>, load: Load, nights: u64, rooms: i32) -> anyhow::Result<Contention> {
    // A fresh hotel per step, even when a capacity search offers a rate twice.
    static STEPS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = STEPS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let hotel = format!("{}-last-rooms-{}-{n}", site.run, load.rate.round());
    site.seed_hotel(7, &hotel, "Contention", rooms).await?;
    let held: Arc<Mutex<Vec<(u64, String, String)>>> = Arc::default();
    let step = open_loop(load, |i| {
        let (site, held, hotel) = (site.clone(), held.clone(), hotel.clone());
        async move {
            let who = site.traveller(spread(i, 11));
            let night = FIRST_NIGHT + spread(i, 12) % nights;
            let key = site.fresh_key("race");
            let (status, id) = site.book(&who.token, &key, &hotel, night, 1).await?;
            if let (202, Some(id)) = (status, id) {
                held.lock().expect("held").push((night, who.token, id));
            }
            Ok(())
        }
    })
    .await;
    let held = held.lock().expect("held").clone();
    let mut confirmed_per_night: BTreeMap<u64, i32> = BTreeMap::new();
    let mut held_per_night: BTreeMap<u64, i32> = BTreeMap::new();
    for (night, who, id) in &held {
        *held_per_night.entry(*night).or_default() += 1;
        if settle(&site, who, id).await.as_deref() == Some("CONFIRMED") {
            *confirmed_per_night.entry(*night).or_default() += 1;
        }
    }
    let within = |m: &BTreeMap<u64, i32>| m.values().all(|n| *n <= rooms);
    Ok(Contention {
        step,
        held: held.len(),
        confirmed: confirmed_per_night.values().sum::<i32>() as usize,
        rooms: (rooms as u64 * nights) as usize,
        never_oversold: within(&held_per_night) && within(&confirmed_per_night),
    })
}

/// The booking's status once it is no longer PENDING (None if it stays PENDING for 60 s).
async fn settle(site: &Site, token: &str, id: &str) -> Option<String> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while tokio::time::Instant::now() < deadline {
        let r = site.http.get(format!("{}/bookings/{id}", site.api)).bearer_auth(token).send().await.ok()?;
        let b: Value = r.json().await.ok()?;
        match b["status"].as_str() {
            Some("PENDING") | None => tokio::time::sleep(Duration::from_millis(200)).await,
            Some(s) => return Some(s.to_owned()),
        }
    }
    None
}

/// The saga at a steady booking rate: the `POST /bookings` step, and the latency from each
/// booking's `booking.created` to its `booking.confirmed` (event times) in a histogram (µs),
/// plus how many never confirmed within 60 s.
pub async fn saga(site: Arc<Site>, load: Load) -> (Step, hdrhistogram::Histogram<u64>, usize) {
    let ids: Arc<Mutex<Vec<String>>> = Arc::default();
    let step = open_loop(load, |i| {
        let (site, ids) = (site.clone(), ids.clone());
        async move {
            let who = site.traveller(spread(i, 21));
            let b = site.stay_choice(i);
            let (hotel, _) = &site.hotels[(spread(b, 22) % site.hotels.len() as u64) as usize];
            let from = 40 + spread(b, 23) % 300;
            match site.book(&who.token, &site.fresh_key("saga"), hotel, from, 2).await? {
                (202, Some(id)) => {
                    ids.lock().expect("ids").push(id);
                    Ok(())
                }
                (status, _) => Err(format!("status {status}")),
            }
        }
    })
    .await;
    let ids = ids.lock().expect("ids").clone();
    let tap = &site.platform.tap;
    let time = |e: &Value| e["time"].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let mut hist = histogram();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    let mut pending: Vec<String> = ids;
    while !pending.is_empty() && tokio::time::Instant::now() < deadline {
        pending.retain(|id| {
            let created = tap.about(topics::BOOKING_CREATED, id).first().and_then(time);
            let confirmed = tap.about(topics::BOOKING_CONFIRMED, id).first().and_then(time);
            match (created, confirmed) {
                (Some(c), Some(d)) => {
                    hist.saturating_record((d - c).num_microseconds().unwrap_or(0).max(1) as u64);
                    false
                }
                _ => true,
            }
        });
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    (step, hist, pending.len())
}

/// p50 and p99 of a µs histogram, in ms.
pub fn p50_p99(h: &hdrhistogram::Histogram<u64>) -> (f64, f64) {
    (ms(h, 0.5), ms(h, 0.99))
}

/// pgbench running booking's create transaction — the service's own statements: claim the
/// Idempotency-Key, hold the night and insert the booking in one statement, then enqueue its
/// two outbox events and complete the key in another; or roll back (claim included) when sold
/// out — on a scratch database with the contention scenario's calendar: `nights` nights of `rooms` rooms,
/// `transactions` in all over 16 connections.
pub async fn pgbench_holds(stack: &Stack, nights: u64, rooms: i32, transactions: u32) -> anyhow::Result<Pgbench> {
    let db = stack.fresh_database().await;
    let (pool, url) = (db.pool.clone(), db.url.clone());
    tripnest_common::db::migrate(&pool, &tripnest_booking::MIGRATOR).await?;
    sqlx::query("INSERT INTO hotels (id, name, city, country, stars, currency, spec_hash) VALUES ('hot', 'Hot', 'Contention', 'EU', 3, 'EUR', 'bench')")
        .execute(&pool)
        .await?;
    sqlx::query("INSERT INTO room_types (hotel_id, name, capacity, base_rate_cents) VALUES ('hot', 'double', 2, 8000)")
        .execute(&pool)
        .await?;
    let spec = tripnest_booking::inventory::CatalogInventory {
        rooms,
        horizon_days: (FIRST_NIGHT + nights) as i32,
        pricing: Default::default(),
        closed_dates: vec![],
        overrides: vec![],
    };
    tripnest_booking::inventory::roll_inventory(
        &tripnest_common::outbox::Outbox::new(pool.clone()),
        "hot",
        "double",
        &spec,
        Utc::now().date_naive(),
    )
    .await?;
    pool.close().await;
    let script = hold_script(nights);
    let clients = 16;
    tokio::task::spawn_blocking(move || pgbench(&url, &script, clients, transactions.div_ceil(clients))).await?
}

fn hold_script(nights: u64) -> String {
    let user = "'00000000-0000-7000-8000-000000000001'::uuid";
    let key = "'pg' || :k::text";
    let check_in = format!("(CURRENT_DATE + {FIRST_NIGHT} + :night::int)");
    let check_out = format!("(CURRENT_DATE + {FIRST_NIGHT} + :night::int + 1)");
    let hold = with_literals(
        tripnest_booking::bookings::HOLD_AND_INSERT,
        &[
            "'hot'",
            "'double'",
            &check_in,
            &check_out,
            "1",
            user,
            key,
            "'hash'",
            "1",
            "gen_random_uuid()",
            "'pm_card_visa'",
            "'{\"email\": \"a@example.test\"}'::jsonb",
            "now() + interval '15 minutes'",
            "1::bigint",
        ],
    );
    let enqueue_and_complete = with_literals(
        &tripnest_booking::bookings::QUEUE_AND_COMPLETE_KEY,
        &[
            "ARRAY[gen_random_uuid(), gen_random_uuid()]",
            "ARRAY['booking.created', 'availability.changed']",
            "ARRAY['bk', 'hot']",
            "ARRAY['{\"type\": \"booking.created\", \"data\": {\"amountCents\": 8000}}'::jsonb, '{\"type\": \"availability.changed\"}'::jsonb]",
            "NULL::text",
            user,
            key,
            "'{}'::jsonb",
        ],
    );
    format!(
        "\\set night random(0, {last})
\\set k random(1, 1000000000000)
BEGIN;
{hold} \\gset
\\if :nights_held = 1
{enqueue_and_complete};
COMMIT;
\\else
ROLLBACK;
\\endif
",
        last = nights.saturating_sub(1),
    )
}

/// `sql` with `$1`, `$2`, … replaced by `values` (pgbench scripts have no bind parameters).
fn with_literals(sql: &str, values: &[&str]) -> String {
    // From the highest number down, so `$1` never eats the start of `$12`.
    values.iter().enumerate().rev().fold(sql.to_owned(), |sql, (i, v)| sql.replace(&format!("${}", i + 1), v))
}
