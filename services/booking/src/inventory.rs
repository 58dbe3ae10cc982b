//! The inventory roll: one function, [`roll_inventory`], turns an `Inventory` spec into
//! calendar rows for `[today, today + horizonDays)`. The operator calls it through the
//! internal API when the spec changes; the CronJob's `roll-inventory` command re-applies the
//! stored spec as days pass, so the window keeps rolling forward.
//!
//! It is one upsert per room type that only rewrites nights whose total, price or closed flag
//! differ, so applying the same spec twice changes nothing. `booked` is never touched here:
//! lowering rooms below what is booked leaves `available` at 0 and reports those nights as
//! overbooked instead of failing or going negative.

use crate::{AppState, domain::nightly_price, store};
use axum::{Json, Router, extract::State, routing::put};
use chrono::{Days, NaiveDate, Utc};
pub use tripnest_common::catalog::{CatalogInventory, DateOverride, MAX_HORIZON_DAYS, Overbooked, RollReport};
use tripnest_common::{
    ApiError, ApiResult,
    auth::ServiceToken,
    catalog::{INVENTORY_ROUTE, InventoryState},
    error::FieldError,
    http::{ApiJson, ApiPath},
    outbox::{self, Outbox},
};

/// The checks the roll relies on (any caller with the service token can write, not only the
/// operator whose CRD enforces them at admission).
fn validate(spec: &CatalogInventory) -> ApiResult<()> {
    let mut e = Vec::new();
    if spec.rooms < 0 {
        e.push(FieldError::new("rooms", "must not be negative"));
    }
    if !(1..=MAX_HORIZON_DAYS).contains(&spec.horizon_days) {
        e.push(FieldError::new("horizonDays", format!("must be between 1 and {MAX_HORIZON_DAYS}")));
    }
    if spec.pricing.weekend_multiplier.is_some_and(|m| !(m > 0.0 && m.is_finite())) {
        e.push(FieldError::new("pricing.weekendMultiplier", "must be a positive number"));
    }
    for (i, s) in spec.pricing.seasons.iter().enumerate() {
        if s.from > s.to {
            e.push(FieldError::new(format!("pricing.seasons[{i}].from"), "must not be after `to`"));
        }
        if !(s.multiplier > 0.0 && s.multiplier.is_finite()) {
            e.push(FieldError::new(format!("pricing.seasons[{i}].multiplier"), "must be a positive number"));
        }
    }
    for (i, o) in spec.overrides.iter().enumerate() {
        if o.rooms.is_some_and(|r| r < 0) {
            e.push(FieldError::new(format!("overrides[{i}].rooms"), "must not be negative"));
        }
        if o.price_cents.is_some_and(|p| p < 0) {
            e.push(FieldError::new(format!("overrides[{i}].priceCents"), "must not be negative"));
        }
    }
    if e.is_empty() { Ok(()) } else { Err(ApiError::Validation(e)) }
}

/// The calendar a spec asks for: (night, rooms, price, closed) for each night.
pub fn planned_nights(spec: &CatalogInventory, base_rate_cents: i64, today: NaiveDate) -> Vec<(NaiveDate, i32, i64, bool)> {
    (0..spec.horizon_days.max(0) as u64)
        .filter_map(|i| today.checked_add_days(Days::new(i)))
        .map(|night| {
            let o = spec.overrides.iter().find(|o| o.date == night);
            let rooms = o.and_then(|o| o.rooms).unwrap_or(spec.rooms);
            let price = o.and_then(|o| o.price_cents).unwrap_or_else(|| nightly_price(base_rate_cents, night, &spec.pricing));
            let closed = o.and_then(|o| o.closed).unwrap_or(false) || spec.closed_dates.contains(&night);
            (night, rooms, price, closed)
        })
        .collect()
}

/// Why a roll could not run.
#[derive(Debug, thiserror::Error)]
pub enum RollError {
    /// The hotel or room type is not in the catalog (yet).
    #[error("room type {room_type:?} of hotel {hotel:?} is not in the catalog")]
    UnknownRoomType {
        /// Hotel the roll was asked for.
        hotel: String,
        /// Room type the roll was asked for.
        room_type: String,
    },
    /// The database failed.
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Apply `spec` to the calendar of one room type, for nights from `today`.
pub async fn roll_inventory(
    outbox: &Outbox,
    hotel: &str,
    room_type: &str,
    spec: &CatalogInventory,
    today: NaiveDate,
) -> Result<RollReport, RollError> {
    let mut tx = outbox.begin().await?;
    let base: i64 = sqlx::query_scalar("SELECT base_rate_cents FROM room_types WHERE hotel_id = $1 AND name = $2 FOR SHARE")
        .bind(hotel)
        .bind(room_type)
        .fetch_optional(&mut *tx)
        .await?
        .ok_or_else(|| RollError::UnknownRoomType { hotel: hotel.to_owned(), room_type: room_type.to_owned() })?;
    let plan = planned_nights(spec, base, today);
    let (nights, rooms, prices, closed): (Vec<NaiveDate>, Vec<i32>, Vec<i64>, Vec<bool>) =
        plan.iter().fold((vec![], vec![], vec![], vec![]), |mut acc, (n, r, p, c)| {
            acc.0.push(*n);
            acc.1.push(*r);
            acc.2.push(*p);
            acc.3.push(*c);
            acc
        });
    let (changed_nights, changed_available, changed_prices): (Vec<NaiveDate>, Vec<i32>, Vec<i64>) = sqlx::query_as(concat!(
        "WITH changed AS ( \
           INSERT INTO availability (hotel_id, room_type, night, total, booked, available, price_cents, closed) \
           SELECT $1, $2, d.night, d.total, 0, d.total, d.price, d.closed \
           FROM unnest($3::date[], $4::int[], $5::bigint[], $6::bool[]) AS d(night, total, price, closed) \
           ON CONFLICT (hotel_id, room_type, night) DO UPDATE SET total = EXCLUDED.total, price_cents = EXCLUDED.price_cents, \
             closed = EXCLUDED.closed, available = GREATEST(EXCLUDED.total - availability.booked, 0) \
           WHERE (availability.total, availability.price_cents, availability.closed) \
             IS DISTINCT FROM (EXCLUDED.total, EXCLUDED.price_cents, EXCLUDED.closed) \
           RETURNING night, CASE WHEN closed THEN 0 ELSE available END AS available, price_cents) ",
        store::changed_nights!()
    ))
    .bind(hotel)
    .bind(room_type)
    .bind(&nights)
    .bind(&rooms)
    .bind(&prices)
    .bind(&closed)
    .fetch_one(&mut *tx)
    .await?;
    let overbooked_nights: Vec<Overbooked> =
        sqlx::query_as("SELECT night, booked, total FROM availability WHERE hotel_id = $1 AND room_type = $2 AND night >= $3 AND booked > total ORDER BY night")
            .bind(hotel)
            .bind(room_type)
            .bind(today)
            .fetch_all(&mut *tx)
            .await?;
    let generated_through = nights.last().copied();
    sqlx::query(
        "INSERT INTO inventory_specs (hotel_id, room_type, spec, generated_through, last_run_at) VALUES ($1, $2, $3, $4, now()) \
         ON CONFLICT (hotel_id, room_type) DO UPDATE SET spec = $3, generated_through = $4, last_run_at = now()",
    )
    .bind(hotel)
    .bind(room_type)
    .bind(sqlx::types::Json(spec))
    .bind(generated_through)
    .execute(&mut *tx)
    .await?;
    let changed = store::nights(changed_nights, changed_available, changed_prices);
    let changed_count = changed.len() as u64;
    if let (Some(first), Some(last)) = (changed.first(), changed.last()) {
        let range = (first.night, last.night.succ_opt().unwrap_or(last.night));
        outbox::enqueue(&mut tx, &store::availability_event(hotel, room_type, range, changed), None).await?;
    }
    tx.commit().await?;
    metrics::counter!("inventory_nights_changed_total").increment(changed_count);
    if !overbooked_nights.is_empty() {
        tracing::warn!(hotel, room_type, nights = overbooked_nights.len(), "inventory lowered below booked rooms");
    }
    Ok(RollReport { changed_nights: changed_count, generated_through, overbooked_nights })
}

/// Re-apply every stored spec (or one hotel's, or one room type's) from `today`. The CronJob's
/// `roll-inventory` command. Returns one report per room type.
pub async fn roll_stored(
    outbox: &Outbox,
    hotel: Option<&str>,
    room_type: Option<&str>,
    today: NaiveDate,
) -> anyhow::Result<Vec<(String, String, RollReport)>> {
    let specs: Vec<(String, String, sqlx::types::Json<CatalogInventory>)> = sqlx::query_as(
        "SELECT hotel_id, room_type, spec FROM inventory_specs WHERE ($1::text IS NULL OR hotel_id = $1) AND ($2::text IS NULL OR room_type = $2) ORDER BY 1, 2",
    )
    .bind(hotel)
    .bind(room_type)
    .fetch_all(outbox.pool())
    .await?;
    let mut reports = Vec::with_capacity(specs.len());
    for (h, r, spec) in specs {
        let report = roll_inventory(outbox, &h, &r, &spec.0, today).await?;
        reports.push((h, r, report));
    }
    Ok(reports)
}

/// Internal routes: apply a spec, read a room type's inventory status.
pub fn router() -> Router<AppState> {
    Router::new().route(INVENTORY_ROUTE, put(apply).get(status))
}

async fn apply(
    _: ServiceToken,
    State(s): State<AppState>,
    ApiPath((hotel, room_type)): ApiPath<(String, String)>,
    ApiJson(spec): ApiJson<CatalogInventory>,
) -> ApiResult<Json<RollReport>> {
    validate(&spec)?;
    match roll_inventory(&s.outbox, &hotel, &room_type, &spec, Utc::now().date_naive()).await {
        Ok(report) => Ok(Json(report)),
        Err(e @ RollError::UnknownRoomType { .. }) => Err(ApiError::unprocessable("unknown_room_type", e.to_string())),
        Err(RollError::Db(e)) => Err(ApiError::Internal(e.into())),
    }
}

async fn status(
    _: ServiceToken,
    State(s): State<AppState>,
    ApiPath((hotel, room_type)): ApiPath<(String, String)>,
) -> ApiResult<Json<InventoryState>> {
    let status: Option<InventoryState> = sqlx::query_as(
        "SELECT s.generated_through, s.last_run_at, \
           (SELECT sum(a.booked)::float8 / NULLIF(sum(a.total), 0) FROM availability a \
             WHERE a.hotel_id = s.hotel_id AND a.room_type = s.room_type AND a.night >= current_date AND a.night < current_date + 30) AS occupancy \
         FROM inventory_specs s WHERE s.hotel_id = $1 AND s.room_type = $2",
    )
    .bind(&hotel)
    .bind(&room_type)
    .fetch_optional(&s.pool)
    .await?;
    status.map(Json).ok_or_else(|| ApiError::not_found("inventory"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tripnest_common::catalog::{Pricing, Season};

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn nights_apply_overrides_closures_and_pricing() {
        let spec = CatalogInventory {
            rooms: 5,
            horizon_days: 4,
            pricing: Pricing {
                weekend_multiplier: Some(2.0),
                seasons: vec![Season { name: "x".into(), from: d("2027-01-03"), to: d("2027-01-03"), multiplier: 3.0 }],
            },
            closed_dates: vec![d("2027-01-02")],
            overrides: vec![DateOverride { date: d("2027-01-04"), rooms: Some(1), price_cents: Some(99), closed: None }],
        };
        // 2027-01-01 is a Friday.
        let n = planned_nights(&spec, 1000, d("2027-01-01"));
        assert_eq!(
            n,
            [
                (d("2027-01-01"), 5, 2000, false),
                (d("2027-01-02"), 5, 2000, true),
                (d("2027-01-03"), 5, 3000, false),
                (d("2027-01-04"), 1, 99, false),
            ]
        );
    }

    #[test]
    fn validation_names_fields() {
        let bad = CatalogInventory {
            rooms: -1,
            horizon_days: 0,
            pricing: Pricing {
                weekend_multiplier: Some(0.0),
                seasons: vec![Season { name: String::new(), from: d("2027-02-01"), to: d("2027-01-01"), multiplier: 1.0 }],
            },
            closed_dates: vec![],
            overrides: vec![DateOverride { date: d("2027-01-01"), rooms: Some(-3), price_cents: None, closed: None }],
        };
        let Err(ApiError::Validation(fields)) = validate(&bad) else { panic!("invalid") };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["rooms", "horizonDays", "pricing.weekendMultiplier", "pricing.seasons[0].from", "overrides[0].rooms"]);
    }
}
