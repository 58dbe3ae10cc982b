//! Occupancy for hotel managers: `GET /manager/occupancy?from&days` (read-only).
//!
//! Who manages a hotel is part of the `Hotel` resource (`spec.managers`, emails) and reaches
//! the catalog with every upsert, so the calendar of record answers directly: one query over
//! `availability` for the window, grouped per hotel and room type. A manager sees the hotels
//! that list their email (case-insensitive); an admin sees every hotel on sale; anyone else
//! gets 403 `forbidden`. `booked` counts held and confirmed rooms, as the calendar does, and
//! closed nights count neither towards capacity nor occupancy.
//!
//! The answer is paged by hotel (`?page&pageSize`, the shared bounds of [`PageQuery`]), so an
//! admin of a 10,000-hotel catalog reads one page of hotels and their nights, never the whole
//! calendar: the page of hotels comes from the `(name, id)` order with `LIMIT pageSize + 1`,
//! and the extra row only says whether `nextPage` exists (no count over the catalog).

use crate::AppState;
use axum::{Json, extract::State};
use chrono::{Days, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use tripnest_common::{
    ApiError, ApiResult,
    auth::{Caller, Role},
    error::ErrorBody,
    http::ApiQuery,
    page::PageQuery,
};
use utoipa::{
    IntoParams, ToSchema,
    openapi::{ObjectBuilder, Type},
};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The longest window one request may ask for.
pub const MAX_DAYS: u32 = 90;
/// The window when `days` is not given.
pub const DEFAULT_DAYS: u32 = 30;

/// The manager routes.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(occupancy))
}

/// `?from=YYYY-MM-DD&days=N`: the first night (default today) and how many nights.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
struct Window {
    /// First night (default today).
    from: Option<NaiveDate>,
    /// Nights in the window.
    #[param(schema_with = days_schema)]
    days: Option<u32>,
    /// `?page&pageSize` (hotels per page), documented by [`PageQuery`] next to these.
    #[serde(flatten)]
    #[param(ignore)]
    paging: PageQuery,
}

fn days_schema() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).maximum(Some(MAX_DAYS)).default(Some(DEFAULT_DAYS.into()))
}

/// The answer: the window and one page of the hotels the caller manages, by name.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Occupancy {
    from: NaiveDate,
    to: NaiveDate,
    days: u32,
    /// This page's number, from 1.
    page: u32,
    /// Hotels per page.
    page_size: u32,
    /// The next page's number, absent on the last page.
    next_page: Option<u32>,
    hotels: Vec<HotelOccupancy>,
}

/// One hotel: totals over the window and its room types night by night.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct HotelOccupancy {
    id: String,
    name: String,
    city: String,
    /// Sellable room-nights in the window (closed nights excluded).
    room_nights: i64,
    /// Of those, booked (held or confirmed).
    booked_room_nights: i64,
    /// `booked_room_nights / room_nights`, 0 when nothing is sellable.
    occupancy: f64,
    room_types: Vec<RoomTypeOccupancy>,
}

/// One room type's nights in the window; nights the inventory has not generated are absent.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct RoomTypeOccupancy {
    name: String,
    nights: Vec<Night>,
}

/// One night of one room type.
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Night {
    night: NaiveDate,
    total: i32,
    booked: i32,
    available: i32,
    closed: bool,
}

#[derive(sqlx::FromRow)]
struct Row {
    hotel_id: String,
    hotel_name: String,
    city: String,
    room_type: String,
    night: Option<NaiveDate>,
    total: Option<i32>,
    booked: Option<i32>,
    available: Option<i32>,
    closed: Option<bool>,
}

impl Row {
    /// The night, when the room type has one in the window (the join is a LEFT JOIN).
    fn night(&self) -> Option<Night> {
        Some(Night { night: self.night?, total: self.total?, booked: self.booked?, available: self.available?, closed: self.closed? })
    }
}

/// Night-by-night occupancy of the hotels you manage (an admin sees every hotel).
#[utoipa::path(
    get, path = "/manager/occupancy", operation_id = "getOccupancy",
    security(("bearerAuth" = [])),
    params(Window, PageQuery),
    responses(
        (status = 200, description = "The window and your hotels.", body = Occupancy),
        (status = 400, description = "A query string that cannot be read.", body = ErrorBody),
        (status = 401, description = "No valid access token.", body = ErrorBody),
        (status = 403, description = "You are not a hotel manager.", body = ErrorBody),
        (status = 422, description = "`days`, `from`, `page` or `pageSize` out of bounds.", body = ErrorBody),
    )
)]
async fn occupancy(State(s): State<AppState>, Caller(caller): Caller, ApiQuery(w): ApiQuery<Window>) -> ApiResult<Json<Occupancy>> {
    if !caller.has_role(Role::Manager) {
        return Err(ApiError::Forbidden("occupancy is for hotel managers".into()));
    }
    let days = w.days.unwrap_or(DEFAULT_DAYS);
    if !(1..=MAX_DAYS).contains(&days) {
        return Err(ApiError::invalid_field("days", format!("must be between 1 and {MAX_DAYS}")));
    }
    let page = w.paging.validate()?;
    let from = w.from.unwrap_or_else(|| Utc::now().date_naive());
    let to = from.checked_add_days(Days::new(days.into())).ok_or_else(|| ApiError::invalid_field("from", "is too far in the future"))?;
    let everything = caller.roles.contains(&Role::Admin);
    // One more hotel than the page holds: it only tells whether there is a next page.
    let rows: Vec<Row> = sqlx::query_as(
        "WITH page AS ( \
             SELECT h.id, h.name, h.city FROM hotels h \
             WHERE h.on_sale AND ($3 OR h.managers @> ARRAY[lower($4)]) \
               AND EXISTS (SELECT 1 FROM room_types rt WHERE rt.hotel_id = h.id AND rt.on_sale) \
             ORDER BY h.name, h.id LIMIT $5 + 1 OFFSET $6) \
         SELECT p.id AS hotel_id, p.name AS hotel_name, p.city, rt.name AS room_type, a.night, a.total, a.booked, a.available, a.closed \
         FROM page p \
         JOIN room_types rt ON rt.hotel_id = p.id AND rt.on_sale \
         LEFT JOIN availability a ON a.hotel_id = rt.hotel_id AND a.room_type = rt.name AND a.night >= $1 AND a.night < $2 \
         ORDER BY p.name, p.id, rt.base_rate_cents, rt.name, a.night",
    )
    .bind(from)
    .bind(to)
    .bind(everything)
    .bind(&caller.email)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(&s.pool)
    .await?;
    let mut hotels = group(rows);
    let more = hotels.len() > page.page_size as usize;
    hotels.truncate(page.page_size as usize);
    let next_page = more.then(|| page.page + 1);
    Ok(Json(Occupancy { from, to, days, page: page.page, page_size: page.page_size, next_page, hotels }))
}

/// Fold the ordered rows into hotels → room types → nights, with totals.
fn group(rows: Vec<Row>) -> Vec<HotelOccupancy> {
    let mut hotels: Vec<HotelOccupancy> = Vec::new();
    for row in rows {
        let night = row.night();
        if hotels.last().is_none_or(|h| h.id != row.hotel_id) {
            hotels.push(HotelOccupancy {
                id: row.hotel_id,
                name: row.hotel_name,
                city: row.city,
                room_nights: 0,
                booked_room_nights: 0,
                occupancy: 0.0,
                room_types: Vec::new(),
            });
        }
        let hotel = hotels.last_mut().expect("just pushed");
        if hotel.room_types.last().is_none_or(|r| r.name != row.room_type) {
            hotel.room_types.push(RoomTypeOccupancy { name: row.room_type, nights: Vec::new() });
        }
        if let Some(night) = night {
            if !night.closed {
                hotel.room_nights += i64::from(night.total);
                hotel.booked_room_nights += i64::from(night.booked.min(night.total));
            }
            hotel.room_types.last_mut().expect("just pushed").nights.push(night);
        }
    }
    for h in &mut hotels {
        h.occupancy = if h.room_nights == 0 { 0.0 } else { h.booked_room_nights as f64 / h.room_nights as f64 };
    }
    hotels
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(hotel: &str, room_type: &str, night: Option<(u32, i32, i32, bool)>) -> Row {
        Row {
            hotel_id: hotel.into(),
            hotel_name: hotel.to_uppercase(),
            city: "Lisbon".into(),
            room_type: room_type.into(),
            night: night.map(|(d, ..)| NaiveDate::from_ymd_opt(2030, 1, d).expect("date")),
            total: night.map(|n| n.1),
            booked: night.map(|n| n.2),
            available: night.map(|(_, total, booked, _)| (total - booked).max(0)),
            closed: night.map(|n| n.3),
        }
    }

    #[test]
    fn totals_skip_closed_nights_and_never_count_overbooking_above_capacity() {
        let hotels = group(vec![
            row("a", "double", Some((1, 4, 1, false))),
            row("a", "double", Some((2, 4, 4, true))),
            row("a", "suite", Some((1, 2, 3, false))),
            row("a", "loft", None),
            row("b", "double", None),
        ]);
        assert_eq!(hotels.len(), 2);
        let a = &hotels[0];
        assert_eq!((a.room_nights, a.booked_room_nights), (6, 3));
        assert!((a.occupancy - 0.5).abs() < 1e-9);
        let names: Vec<(&str, usize)> = a.room_types.iter().map(|r| (r.name.as_str(), r.nights.len())).collect();
        assert_eq!(names, [("double", 2), ("suite", 1), ("loft", 0)]);
        assert_eq!((hotels[1].room_nights, hotels[1].occupancy), (0, 0.0));
    }
}
