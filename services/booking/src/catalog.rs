//! The catalog: hotels and room types. The operator upserts them through the internal API
//! (idempotent: an unchanged spec changes nothing and publishes nothing); travellers read them
//! and ask for availability and prices for their dates.

use crate::AppState;
use axum::{
    Json,
    extract::State,
    http::StatusCode,
    routing::{get, put},
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tripnest_common::{
    ApiError, ApiResult, Event,
    auth::ServiceToken,
    catalog::{CatalogHotel, HOTEL_ROUTE},
    error::{ErrorBody, FieldError},
    http::{ApiJson, ApiPath, ApiQuery},
    outbox::{self, Outbox},
    saga::{HotelRemoved, HotelUpserted, RoomTypeInfo},
};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};

/// The checks booking relies on (the CRD's admission rules may not have run: any caller with
/// the service token can write).
fn validate(spec: &CatalogHotel, id: &str) -> ApiResult<()> {
    let mut e = Vec::new();
    if !valid_id(id) {
        e.push(FieldError::new("id", "must be 1–63 lowercase letters, digits or '-'"));
    }
    if spec.name.trim().is_empty() {
        e.push(FieldError::new("name", "is required"));
    }
    if spec.city.trim().is_empty() {
        e.push(FieldError::new("city", "is required"));
    }
    if !(1..=5).contains(&spec.stars) {
        e.push(FieldError::new("stars", "must be between 1 and 5"));
    }
    if spec.currency.len() != 3 || !spec.currency.bytes().all(|b| b.is_ascii_uppercase()) {
        e.push(FieldError::new("currency", "must be an ISO 4217 code like EUR"));
    }
    if spec.room_types.is_empty() {
        e.push(FieldError::new("roomTypes", "at least one room type is required"));
    }
    for (i, rt) in spec.room_types.iter().enumerate() {
        if rt.name.trim().is_empty() || spec.room_types[..i].iter().any(|o| o.name == rt.name) {
            e.push(FieldError::new(format!("roomTypes[{i}].name"), "must be present and unique"));
        }
        if rt.capacity < 1 {
            e.push(FieldError::new(format!("roomTypes[{i}].capacity"), "must be at least 1"));
        }
        if rt.base_rate_cents < 0 {
            e.push(FieldError::new(format!("roomTypes[{i}].baseRateCents"), "must not be negative"));
        }
    }
    for (i, m) in spec.managers.iter().enumerate() {
        if !tripnest_common::email::is_plausible(&tripnest_common::email::normalize(m)) {
            e.push(FieldError::new(format!("managers[{i}]"), "must be an email address"));
        }
    }
    if e.is_empty() { Ok(()) } else { Err(ApiError::Validation(e)) }
}

/// Managers' emails as stored and compared: trimmed, lower-cased, sorted, unique.
fn normalized_managers(spec: &CatalogHotel) -> Vec<String> {
    let mut m: Vec<String> = spec.managers.iter().map(|m| tripnest_common::email::normalize(m)).collect();
    m.sort();
    m.dedup();
    m
}

/// Hotel ids are Kubernetes object names.
pub fn valid_id(id: &str) -> bool {
    (1..=63).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

/// Internal routes (service token) and catalog reads. Of these, only availability is public:
/// the gateway sends `/api/hotels/{id}` to search's read model.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().route(HOTEL_ROUTE, put(upsert).delete(remove)).route("/hotels/{id}", get(hotel)).routes(routes!(availability))
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Upserted {
    hotel_id: String,
    changed: bool,
}

async fn upsert(
    _: ServiceToken,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiJson(spec): ApiJson<CatalogHotel>,
) -> ApiResult<Json<Upserted>> {
    validate(&spec, &id)?;
    let changed = upsert_hotel(&s.outbox, &id, &spec).await?;
    Ok(Json(Upserted { hotel_id: id, changed }))
}

/// Upsert a hotel and its room types; returns whether anything changed. Room types missing
/// from the spec are taken off sale (their bookings stay).
pub async fn upsert_hotel(outbox: &Outbox, id: &str, spec: &CatalogHotel) -> anyhow::Result<bool> {
    let hash = hex::encode(Sha256::digest(serde_json::to_vec(spec)?));
    let mut tx = outbox.begin().await?;
    let changed = sqlx::query(
        "INSERT INTO hotels (id, name, city, country, address, lat, lon, stars, amenities, currency, description, on_sale, spec_hash, managers) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, true, $12, $13) \
         ON CONFLICT (id) DO UPDATE SET name = $2, city = $3, country = $4, address = $5, lat = $6, lon = $7, stars = $8, \
           amenities = $9, currency = $10, description = $11, on_sale = true, spec_hash = $12, managers = $13, updated_at = now() \
         WHERE hotels.spec_hash <> $12 OR NOT hotels.on_sale",
    )
    .bind(id)
    .bind(&spec.name)
    .bind(&spec.city)
    .bind(&spec.country)
    .bind(&spec.address)
    .bind(spec.location.map(|l| l.lat))
    .bind(spec.location.map(|l| l.lon))
    .bind(spec.stars)
    .bind(&spec.amenities)
    .bind(&spec.currency)
    .bind(&spec.description)
    .bind(&hash)
    .bind(normalized_managers(spec))
    .execute(&mut *tx)
    .await?
    .rows_affected()
        == 1;
    if !changed {
        return Ok(false);
    }
    let names: Vec<&str> = spec.room_types.iter().map(|r| r.name.as_str()).collect();
    sqlx::query("UPDATE room_types SET on_sale = false WHERE hotel_id = $1 AND NOT (name = ANY($2))")
        .bind(id)
        .bind(&names)
        .execute(&mut *tx)
        .await?;
    for rt in &spec.room_types {
        sqlx::query(
            "INSERT INTO room_types (hotel_id, name, capacity, base_rate_cents, amenities, on_sale) VALUES ($1, $2, $3, $4, $5, true) \
             ON CONFLICT (hotel_id, name) DO UPDATE SET capacity = $3, base_rate_cents = $4, amenities = $5, on_sale = true",
        )
        .bind(id)
        .bind(&rt.name)
        .bind(rt.capacity)
        .bind(rt.base_rate_cents)
        .bind(&rt.amenities)
        .execute(&mut *tx)
        .await?;
    }
    let data = HotelUpserted {
        hotel_id: id.to_owned(),
        name: spec.name.clone(),
        city: spec.city.clone(),
        country: spec.country.clone(),
        address: spec.address.clone(),
        lat: spec.location.map(|l| l.lat),
        lon: spec.location.map(|l| l.lon),
        stars: spec.stars,
        amenities: spec.amenities.clone(),
        currency: spec.currency.clone(),
        description: spec.description.clone(),
        room_types: spec
            .room_types
            .iter()
            .map(|r| RoomTypeInfo {
                name: r.name.clone(),
                capacity: r.capacity,
                base_rate_cents: r.base_rate_cents,
                amenities: r.amenities.clone(),
            })
            .collect(),
    };
    outbox::enqueue(&mut tx, &Event::new(crate::NAME, id, data), None).await?;
    tx.commit().await?;
    Ok(true)
}

async fn remove(_: ServiceToken, State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<StatusCode> {
    let mut tx = s.outbox.begin().await?;
    let removed =
        sqlx::query("UPDATE hotels SET on_sale = false, updated_at = now() WHERE id = $1 AND on_sale").bind(&id).execute(&mut *tx).await?;
    if removed.rows_affected() == 1 {
        let data = HotelRemoved { hotel_id: id.clone() };
        outbox::enqueue(&mut tx, &Event::new(crate::NAME, &id, data), None).await?;
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct HotelView {
    id: String,
    name: String,
    city: String,
    country: String,
    address: String,
    lat: Option<f64>,
    lon: Option<f64>,
    stars: i16,
    amenities: Vec<String>,
    currency: String,
    description: String,
    #[sqlx(skip)]
    room_types: Vec<RoomTypeView>,
}

#[derive(Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct RoomTypeView {
    name: String,
    capacity: i32,
    base_rate_cents: i64,
    amenities: Vec<String>,
}

async fn hotel(State(s): State<AppState>, ApiPath(id): ApiPath<String>) -> ApiResult<Json<HotelView>> {
    let mut hotel: HotelView = sqlx::query_as(
        "SELECT id, name, city, country, address, lat, lon, stars, amenities, currency::text AS currency, description FROM hotels WHERE id = $1 AND on_sale",
    )
    .bind(&id)
    .fetch_optional(&s.pool)
    .await?
    .ok_or_else(|| ApiError::not_found("hotel"))?;
    hotel.room_types = sqlx::query_as(
        "SELECT name, capacity, base_rate_cents, amenities FROM room_types WHERE hotel_id = $1 AND on_sale ORDER BY base_rate_cents, name",
    )
    .bind(&id)
    .fetch_all(&s.pool)
    .await?;
    Ok(Json(hotel))
}

/// `?checkIn&checkOut&guests&rooms` for the availability endpoint.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
pub struct StayQuery {
    /// First night (today or later).
    check_in: NaiveDate,
    /// Departure day, after `checkIn`.
    check_out: NaiveDate,
    /// Guests in total (default 1).
    #[serde(default = "one")]
    #[param(schema_with = crate::domain::guests_schema, required = false)]
    guests: i32,
    /// Rooms wanted (default 1).
    #[serde(default = "one")]
    #[param(schema_with = crate::domain::rooms_schema, required = false)]
    rooms: i32,
}

fn one() -> i32 {
    1
}

/// Prices and rooms left for a stay, per room type big enough for the party.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct Availability {
    hotel_id: String,
    currency: String,
    check_in: NaiveDate,
    check_out: NaiveDate,
    nights: usize,
    room_types: Vec<RoomOffer>,
}

/// One room type for the stay: its nightly prices and whether every night has enough rooms.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RoomOffer {
    room_type: String,
    capacity: i32,
    nightly_prices: Vec<NightPrice>,
    total_cents: i64,
    available: i32,
    bookable: bool,
}

/// One night's price and rooms left.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct NightPrice {
    night: NaiveDate,
    price_cents: i64,
    available: i32,
}

/// Prices and rooms left for a stay.
#[utoipa::path(
    get, path = "/hotels/{id}/availability", operation_id = "getAvailability",
    security((), ("bearerAuth" = [])),
    params(("id" = String, Path, description = "Hotel id."), StayQuery),
    responses(
        (status = 200, description = "Room types with nightly prices.", body = Availability),
        (status = 400, description = "A query string that cannot be read (a missing or malformed date).", body = ErrorBody),
        (status = 401, description = "An invalid access token was sent.", body = ErrorBody),
        (status = 404, description = "No such hotel on sale.", body = ErrorBody),
        (status = 422, description = "Invalid dates, guests or rooms.", body = ErrorBody),
    )
)]
async fn availability(
    State(s): State<AppState>,
    ApiPath(id): ApiPath<String>,
    ApiQuery(q): ApiQuery<StayQuery>,
) -> ApiResult<Json<Availability>> {
    let probe = crate::domain::BookingRequest {
        hotel_id: id.clone(),
        room_type: "-".into(),
        check_in: q.check_in,
        check_out: q.check_out,
        guests: q.guests,
        rooms: q.rooms,
        payment_method: "-".into(),
    };
    probe.validate(chrono::Utc::now().date_naive())?;
    let currency: String = sqlx::query_scalar("SELECT currency::text FROM hotels WHERE id = $1 AND on_sale")
        .bind(&id)
        .fetch_optional(&s.pool)
        .await?
        .ok_or_else(|| ApiError::not_found("hotel"))?;
    let rows: Vec<(String, i32, NaiveDate, i64, i32, bool)> = sqlx::query_as(
        "SELECT rt.name, rt.capacity, a.night, a.price_cents, a.available, a.closed FROM room_types rt \
         JOIN availability a ON a.hotel_id = rt.hotel_id AND a.room_type = rt.name AND a.night >= $2 AND a.night < $3 \
         WHERE rt.hotel_id = $1 AND rt.on_sale ORDER BY rt.base_rate_cents, rt.name, a.night",
    )
    .bind(&id)
    .bind(q.check_in)
    .bind(q.check_out)
    .fetch_all(&s.pool)
    .await?;
    let nights = probe.nights() as usize;
    let mut offers: Vec<RoomOffer> = Vec::new();
    for (name, capacity, night, price, available, closed) in rows {
        if offers.last().is_none_or(|o| o.room_type != name) {
            offers.push(RoomOffer {
                room_type: name,
                capacity,
                nightly_prices: vec![],
                total_cents: 0,
                available: i32::MAX,
                bookable: false,
            });
        }
        let offer = offers.last_mut().expect("just pushed");
        let available = if closed { 0 } else { available };
        offer.nightly_prices.push(NightPrice { night, price_cents: price, available });
        offer.total_cents += price * i64::from(q.rooms);
        offer.available = offer.available.min(available);
    }
    offers.retain(|o| o.capacity * q.rooms >= q.guests);
    for o in &mut offers {
        o.bookable = o.nightly_prices.len() == nights && o.available >= q.rooms;
    }
    Ok(Json(Availability { hotel_id: id, currency, check_in: q.check_in, check_out: q.check_out, nights, room_types: offers }))
}
