//! The inventory roll: booking's own [`roll_inventory`] (what the internal API and the
//! CronJob's `roll-inventory` run) for 365 nights of each of `room_types` room types in a
//! fresh database, one room type after the other as the CronJob does; rows per second.
//! The ceiling is one `INSERT … SELECT generate_series` of the same rows into a copy of the
//! calendar table (same columns, keys and checks) in the same database.

use chrono::Utc;
use std::time::Instant;
use tripnest_booking::{
    domain::{Pricing, Season},
    inventory::{CatalogInventory, roll_inventory},
};
use tripnest_e2e::Stack;

/// Rows per second of the roll and of the plain insert.
#[derive(Debug, Clone, Copy)]
pub struct Roll {
    /// Calendar rows written.
    pub rows: u64,
    /// Through `roll_inventory`.
    pub roll_rows_per_s: f64,
    /// Through `INSERT … SELECT generate_series`.
    pub insert_rows_per_s: f64,
}

/// Roll 365 nights for `room_types` room types (10 per hotel).
pub async fn roll(stack: &Stack, room_types: usize) -> anyhow::Result<Roll> {
    let db = stack.fresh_database().await;
    let pool = db.pool.clone();
    tripnest_common::db::migrate(&pool, &tripnest_booking::MIGRATOR).await?;
    let hotels = room_types.div_ceil(10);
    sqlx::query(
        "INSERT INTO hotels (id, name, city, country, stars, currency, spec_hash) \
         SELECT 'h' || i, 'Hotel ' || i, 'Lisbon', 'PT', 3, 'EUR', 'bench' FROM generate_series(1, $1) i",
    )
    .bind(hotels as i32)
    .execute(&pool)
    .await?;
    sqlx::query(
        "INSERT INTO room_types (hotel_id, name, capacity, base_rate_cents) \
         SELECT 'h' || (1 + i / 10), 'rt' || (i % 10), 2, 8000 + i FROM generate_series(0, $1 - 1) i",
    )
    .bind(room_types as i32)
    .execute(&pool)
    .await?;
    let today = Utc::now().date_naive();
    let season = |name: &str, from: u64, to: u64, multiplier: f64| Season {
        name: name.into(),
        from: today + chrono::Days::new(from),
        to: today + chrono::Days::new(to),
        multiplier,
    };
    let spec = CatalogInventory {
        rooms: 20,
        horizon_days: 365,
        pricing: Pricing {
            weekend_multiplier: Some(1.25),
            seasons: vec![season("summer", 150, 240, 1.4), season("winter", 300, 320, 1.8)],
        },
        closed_dates: vec![],
        overrides: vec![],
    };
    // No relay runs: each roll's commit notifies, as the CronJob's do.
    let outbox = tripnest_common::outbox::Outbox::new(pool.clone());
    let started = Instant::now();
    let mut rows = 0;
    for i in 0..room_types {
        let report = roll_inventory(&outbox, &format!("h{}", 1 + i / 10), &format!("rt{}", i % 10), &spec, today).await?;
        rows += report.changed_nights;
    }
    let roll_s = started.elapsed().as_secs_f64();
    sqlx::query("CREATE TABLE availability_ceiling (LIKE availability INCLUDING ALL)").execute(&pool).await?;
    let started = Instant::now();
    let inserted = sqlx::query(
        "INSERT INTO availability_ceiling (hotel_id, room_type, night, total, booked, available, price_cents, closed) \
         SELECT 'h' || (1 + i / 10), 'rt' || (i % 10), current_date + d, 20, 0, 20, 8000 + i, false \
         FROM generate_series(0, $1 - 1) i, generate_series(0, 364) d",
    )
    .bind(room_types as i32)
    .execute(&pool)
    .await?
    .rows_affected();
    let insert_s = started.elapsed().as_secs_f64();
    pool.close().await;
    anyhow::ensure!(rows == inserted, "the roll wrote {rows} rows, the ceiling {inserted}");
    Ok(Roll { rows, roll_rows_per_s: rows as f64 / roll_s, insert_rows_per_s: inserted as f64 / insert_s })
}
