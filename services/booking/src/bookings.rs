//! The bookings API. Creating a booking is one transaction of two statements:
//!
//! 1. One statement claims the `Idempotency-Key`, holds the rooms on every night (the
//!    conditional `UPDATE … available >= n` is re-checked under each row lock, and
//!    `CHECK (available >= 0)` backs it), prices the stay from the calendar and inserts the
//!    PENDING booking, returning it — no re-read.
//! 2. One statement enqueues `booking.created` and `availability.changed` in the outbox and
//!    completes the key with the response (built from the first's answer).
//!
//! No distributed lock is involved (see DESIGN.md). `Idempotency-Key` (required) is claimed
//! inside that transaction, so a concurrent request with the same key waits on the claim and
//! then replays the first's answer (or takes the key if the first rolled back). A retry with the
//! same key and body gets the stored response again, a different body gets 422. A request that
//! fails (sold out, unknown room, invalid guests) rolls back with its claim, so it leaves no
//! trace. An `in_flight` key left by an older release is answered with 409 and taken over
//! after `STALE_IN_FLIGHT`.

use crate::{
    AppState,
    domain::{BookingRequest, Status, Transition},
    store::{self, Booking, Cause, SELECT_BOOKING},
};
use anyhow::Context;
use axum::{
    Json,
    extract::State,
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
    routing::get,
};
use chrono::{NaiveDate, Utc};
use sha2::{Digest, Sha256};
use sqlx::{FromRow, PgPool, Row};
use tripnest_common::{
    ApiError, ApiResult, Event,
    auth::Caller,
    error::ErrorBody,
    http::{ApiJson, ApiPath, ApiQuery},
    outbox::{self, Outgoing},
    page::{PageQuery, Paged},
    saga::{BookingCreated, Contact},
};
use utoipa::{IntoParams, openapi::ObjectBuilder};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// An in-flight key older than this is considered abandoned and may be taken over.
const STALE_IN_FLIGHT: &str = "60 seconds";

/// The booking routes: the public ones documented, plus the operator's internal read.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create, list))
        .routes(routes!(one))
        .routes(routes!(cancel))
        .route("/internal/bookings/{id}", get(internal_one))
}

/// Longest `Idempotency-Key` accepted.
pub const MAX_IDEMPOTENCY_KEY_CHARS: usize = 255;

/// The `Idempotency-Key` header, as documented: required (the handler refuses a request
/// without one). Written by hand because utoipa's derive drops `required` with `schema_with`.
struct IdempotencyHeader;

impl IntoParams for IdempotencyHeader {
    fn into_params(_: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>) -> Vec<utoipa::openapi::path::Parameter> {
        vec![
            utoipa::openapi::path::ParameterBuilder::new()
                .name("Idempotency-Key")
                .parameter_in(utoipa::openapi::path::ParameterIn::Header)
                .required(utoipa::openapi::Required::True)
                .description(Some("Any unique string per booking attempt (a UUID is fine). Retries reuse it."))
                .schema(Some(idempotency_key_schema()))
                .build(),
        ]
    }
}

fn idempotency_key_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(utoipa::openapi::Type::String)
        .min_length(Some(1))
        .max_length(Some(MAX_IDEMPOTENCY_KEY_CHARS))
        // Visible ASCII, no surrounding spaces: what a header value can carry unchanged.
        .pattern(Some(r"^[!-~]([ -~]*[!-~])?$"))
}

/// What an `Idempotency-Key` found already stored says about this request.
enum Claim {
    /// No committed claim (its holder rolled back, or a stale one was cleared): try again.
    Free,
    Replay(StatusCode, serde_json::Value),
    InFlight,
    Mismatch,
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    request_hash: String,
    status: String,
    response_status: Option<i32>,
    response_body: Option<serde_json::Value>,
    stale: bool,
}

/// Read the committed claim on `key`, after our own claim found it taken. The booking
/// transaction writes keys only as `done`; an `in_flight` row comes from an older release and
/// is taken over once stale.
async fn existing_claim(pool: &PgPool, user: Uuid, key: &str, hash: &str) -> anyhow::Result<Claim> {
    let row: Option<KeyRow> = sqlx::query_as(
        "SELECT request_hash, status, response_status, response_body, started_at < now() - $3::interval AS stale FROM idempotency_keys WHERE user_id = $1 AND key = $2",
    )
    .bind(user)
    .bind(key)
    .bind(STALE_IN_FLIGHT)
    .fetch_optional(pool)
    .await?;
    let Some(KeyRow { request_hash: stored_hash, status, response_status: code, response_body: body, stale }) = row else {
        return Ok(Claim::Free);
    };
    if stored_hash != hash {
        return Ok(Claim::Mismatch);
    }
    match (status.as_str(), code, body) {
        ("done", Some(code), Some(body)) => Ok(Claim::Replay(StatusCode::from_u16(code as u16)?, body)),
        _ if stale => {
            sqlx::query("DELETE FROM idempotency_keys WHERE user_id = $1 AND key = $2 AND status = 'in_flight' AND started_at < now() - $3::interval")
                .bind(user)
                .bind(key)
                .bind(STALE_IN_FLIGHT)
                .execute(pool)
                .await?;
            Ok(Claim::Free)
        }
        _ => Ok(Claim::InFlight),
    }
}

fn idempotency_key(headers: &HeaderMap) -> ApiResult<String> {
    let key = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).map(str::trim).unwrap_or_default();
    if key.is_empty() || key.chars().count() > MAX_IDEMPOTENCY_KEY_CHARS {
        return Err(ApiError::bad_request(
            "idempotency_key_required",
            "send an Idempotency-Key header (1–255 characters) so a retry cannot book twice",
        ));
    }
    Ok(key.to_owned())
}

/// Book a stay: the rooms are held while the payment runs.
///
/// Same key and body → the same answer (with `Idempotent-Replayed: true`); same key with another
/// body → 422 `idempotency_key_reused`; same key while the first request runs → waits for it
/// and gets its answer (409 `request_in_flight` only when the key stays contended after three
/// tries); a night with too few rooms → 409 `sold_out`.
#[utoipa::path(
    post, path = "/bookings", operation_id = "createBooking",
    security(("bearerAuth" = [])),
    params(IdempotencyHeader),
    request_body = BookingRequest,
    responses(
        (status = 202, description = "The PENDING booking.", body = Booking),
        (status = 400, description = "Malformed JSON or a missing Idempotency-Key.", body = ErrorBody),
        (status = 401, description = "No valid access token.", body = ErrorBody),
        (status = 404, description = "No such hotel or room type on sale.", body = ErrorBody),
        (status = 409, description = "`sold_out`, or `request_in_flight` for this key.", body = ErrorBody),
        (status = 422, description = "Invalid fields, or `idempotency_key_reused`.", body = ErrorBody),
    )
)]
async fn create(
    State(s): State<AppState>,
    Caller(claims): Caller,
    headers: HeaderMap,
    ApiJson(req): ApiJson<BookingRequest>,
) -> ApiResult<Response> {
    let key = idempotency_key(&headers)?;
    req.validate(Utc::now().date_naive())?;
    let hash = hex::encode(Sha256::digest(serde_json::to_vec(&req).context("serialising the booking request")?));
    let contact = Contact { email: claims.email.clone(), phone: claims.phone.clone(), name: claims.name.clone() };
    let traceparent = headers.get("traceparent").and_then(|v| v.to_str().ok());
    // A key found taken is read once it settled; a claim that vanished (its holder rolled
    // back) is raced for again, a bounded number of times.
    for _ in 0..3 {
        match hold_rooms(&s, claims.sub, &key, &hash, &req, &contact, traceparent).await? {
            Held::Booked(body) => return Ok((StatusCode::ACCEPTED, Json(body)).into_response()),
            Held::KeyTaken => match existing_claim(&s.pool, claims.sub, &key, &hash).await? {
                Claim::Free => {}
                Claim::Replay(code, body) => return Ok((code, [("idempotent-replayed", "true")], Json(body)).into_response()),
                Claim::InFlight => break,
                Claim::Mismatch => {
                    return Err(ApiError::unprocessable(
                        "idempotency_key_reused",
                        "this Idempotency-Key was used with a different request body",
                    ));
                }
            },
        }
    }
    Err(ApiError::conflict("request_in_flight", "a request with this Idempotency-Key is still being processed; retry shortly"))
}

enum Held {
    /// Booked: the response body, also stored with the key.
    Booked(serde_json::Value),
    /// Another request holds or completed this key; nothing was changed.
    KeyTaken,
}

/// Claim the key, hold the rooms and insert the booking — one statement. The claim comes first:
/// a concurrent request with the same key waits on it until the first commits (then finds it
/// taken) or rolls back (then takes it). The hold runs only if the key was claimed and the
/// booking is inserted only if every night was held. (The bench runs it under pgbench.)
pub const HOLD_AND_INSERT: &str = "WITH room AS ( \
       SELECT rt.capacity, h.currency::text AS currency, h.name AS hotel_name FROM room_types rt JOIN hotels h ON h.id = rt.hotel_id \
       WHERE rt.hotel_id = $1 AND rt.name = $2 AND rt.on_sale AND h.on_sale), \
     claim AS ( \
       INSERT INTO idempotency_keys (user_id, key, request_hash, status) SELECT $6, $7, $8, 'in_flight' FROM room \
       WHERE $9 <= room.capacity * $5 ON CONFLICT DO NOTHING RETURNING 1), \
     held AS ( \
       UPDATE availability SET available = available - $5, booked = booked + $5 \
       WHERE hotel_id = $1 AND room_type = $2 AND night >= $3 AND night < $4 AND NOT closed AND available >= $5 AND EXISTS (SELECT FROM claim) \
       RETURNING night, available, price_cents), \
     total AS (SELECT count(*) AS nights, sum(price_cents)::bigint * $5 AS amount FROM held), \
     booking AS ( \
       INSERT INTO bookings (id, user_id, hotel_id, room_type, check_in, check_out, guests, rooms, amount_cents, currency, status, payment_method, contact, hold_expires_at) \
       SELECT $10, $6, $1, $2, $3, $4, $9, $5, total.amount, room.currency, 'PENDING', $11, $12, $13 FROM total, room WHERE total.nights = $14 \
       RETURNING *) \
     SELECT room.capacity, EXISTS (SELECT FROM claim) AS claimed, (SELECT nights FROM total) AS nights_held, room.hotel_name, \
       (SELECT array_agg(night) FROM held) AS held_nights, (SELECT array_agg(available) FROM held) AS held_available, \
       (SELECT array_agg(price_cents) FROM held) AS held_prices, b.* \
     FROM room LEFT JOIN booking b ON true";

/// Queue the booking's events and mark its claimed key done with the response (202) every
/// retry gets back — one statement: the outbox's, with the key's update as one more CTE (the
/// user $6, the key $7, the response body $8).
pub static QUEUE_AND_COMPLETE_KEY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    outbox::with_also(
        ", done AS (UPDATE idempotency_keys SET status = 'done', response_status = 202, response_body = $8 \
         WHERE user_id = $6 AND key = $7 RETURNING 1)",
    )
});

/// Hold the rooms, insert the PENDING booking and its events, and complete the key — in one
/// transaction of two statements. Any error rolls it all back, the key's claim included.
async fn hold_rooms(
    s: &AppState,
    user: Uuid,
    key: &str,
    hash: &str,
    req: &BookingRequest,
    contact: &Contact,
    traceparent: Option<&str>,
) -> ApiResult<Held> {
    let mut tx = s.outbox.begin().await?;
    let hold_expires_at = Utc::now() + chrono::Duration::seconds(s.cfg.hold_seconds as i64);
    let row = sqlx::query(HOLD_AND_INSERT)
        .bind(&req.hotel_id)
        .bind(&req.room_type)
        .bind(req.check_in)
        .bind(req.check_out)
        .bind(req.rooms)
        .bind(user)
        .bind(key)
        .bind(hash)
        .bind(req.guests)
        .bind(Uuid::now_v7())
        .bind(&req.payment_method)
        .bind(sqlx::types::Json(contact))
        .bind(hold_expires_at)
        .bind(req.nights())
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        drop(tx);
        let hotel_exists: bool = sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM hotels WHERE id = $1 AND on_sale)")
            .bind(&req.hotel_id)
            .fetch_one(&s.pool)
            .await?;
        return Err(ApiError::not_found(if hotel_exists { "room type" } else { "hotel" }));
    };
    let capacity: i32 = row.try_get("capacity")?;
    if req.guests > capacity * req.rooms {
        return Err(ApiError::invalid_field(
            "guests",
            format!("{} room(s) of type {} sleep at most {}", req.rooms, req.room_type, capacity * req.rooms),
        ));
    }
    if !row.try_get::<bool, _>("claimed")? {
        return Ok(Held::KeyTaken);
    }
    if row.try_get::<i64, _>("nights_held")? != req.nights() {
        // Dropping `tx` rolls back the nights we did take, and the key's claim.
        metrics::counter!("bookings_total", "outcome" => "sold_out").increment(1);
        return Err(ApiError::conflict("sold_out", "not enough rooms of this type are available on every night of the stay"));
    }
    let booking = Booking::from_row(&row)?;
    let held_nights: Vec<NaiveDate> = row.try_get::<Option<_>, _>("held_nights")?.unwrap_or_default();
    let held_available: Vec<i32> = row.try_get::<Option<_>, _>("held_available")?.unwrap_or_default();
    let held_prices: Vec<i64> = row.try_get::<Option<_>, _>("held_prices")?.unwrap_or_default();
    let held = store::nights(held_nights, held_available, held_prices);
    let created = BookingCreated { stay: booking.stay(), payment_method: req.payment_method.clone(), hold_expires_at };
    let events = [
        Outgoing::new(&Event::new(crate::NAME, booking.id.to_string(), created)),
        Outgoing::new(&store::availability_event(&req.hotel_id, &req.room_type, (req.check_in, req.check_out), held)),
    ]
    .into_iter()
    .collect::<Result<Vec<_>, _>>()
    .context("serialising the booking's events")?;
    let body = serde_json::to_value(&booking).context("serialising the booking")?;
    outbox::enqueue_all_with(&mut tx, &events, traceparent, &QUEUE_AND_COMPLETE_KEY, |q| q.bind(user).bind(key).bind(&body)).await?;
    tx.commit().await?;
    metrics::counter!("bookings_total", "outcome" => "held").increment(1);
    Ok(Held::Booked(body))
}

async fn fetch(conn: &mut sqlx::PgConnection, id: Uuid) -> anyhow::Result<Option<Booking>> {
    let sql = sqlx::AssertSqlSafe(format!("{SELECT_BOOKING} WHERE b.id = $1"));
    Ok(sqlx::query_as(sql).bind(id).fetch_optional(conn).await?)
}

/// Your bookings, newest first. A page past the last one is empty.
#[utoipa::path(
    get, path = "/bookings", operation_id = "listBookings",
    security(("bearerAuth" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of bookings.", body = Paged<Booking>),
        (status = 400, description = "A query string that cannot be read.", body = ErrorBody),
        (status = 401, description = "No valid access token.", body = ErrorBody),
        (status = 422, description = "`page` or `pageSize` out of bounds.", body = ErrorBody),
    )
)]
async fn list(State(s): State<AppState>, Caller(c): Caller, ApiQuery(query): ApiQuery<PageQuery>) -> ApiResult<Json<Paged<Booking>>> {
    let page = query.validate()?;
    let sql = sqlx::AssertSqlSafe(format!("{SELECT_BOOKING} WHERE b.user_id = $1 ORDER BY b.created_at DESC LIMIT $2 OFFSET $3"));
    let items: Vec<Booking> = sqlx::query_as(sql).bind(c.sub).bind(page.limit()).bind(page.offset()).fetch_all(&s.pool).await?;
    let total: i64 = sqlx::query_scalar("SELECT count(*) FROM bookings WHERE user_id = $1").bind(c.sub).fetch_one(&s.pool).await?;
    Ok(Json(page.of(items, total)))
}

/// One of your bookings.
#[utoipa::path(
    get, path = "/bookings/{id}", operation_id = "getBooking",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "Booking id.")),
    responses(
        (status = 200, description = "The booking.", body = Booking),
        (status = 400, description = "An id that is not a UUID.", body = ErrorBody),
        (status = 401, description = "No valid access token.", body = ErrorBody),
        (status = 404, description = "No such booking of yours.", body = ErrorBody),
    )
)]
async fn one(State(s): State<AppState>, Caller(c): Caller, ApiPath(id): ApiPath<Uuid>) -> ApiResult<Json<Booking>> {
    let mut conn = s.pool.acquire().await?;
    // Someone else's booking is indistinguishable from a missing one.
    fetch(&mut conn, id).await?.filter(|b| b.user_id == c.sub).map(Json).ok_or_else(|| ApiError::not_found("booking"))
}

async fn internal_one(
    _: tripnest_common::auth::ServiceToken,
    State(s): State<AppState>,
    ApiPath(id): ApiPath<Uuid>,
) -> ApiResult<Json<Booking>> {
    let mut conn = s.pool.acquire().await?;
    fetch(&mut conn, id).await?.map(Json).ok_or_else(|| ApiError::not_found("booking"))
}

/// Cancel one of your bookings: a PENDING one releases its hold, a CONFIRMED one (before
/// check-in) is refunded.
#[utoipa::path(
    post, path = "/bookings/{id}/cancel", operation_id = "cancelBooking",
    security(("bearerAuth" = [])),
    params(("id" = Uuid, Path, description = "Booking id.")),
    responses(
        (status = 200, description = "The cancelled booking.", body = Booking),
        (status = 400, description = "An id that is not a UUID.", body = ErrorBody),
        (status = 401, description = "No valid access token.", body = ErrorBody),
        (status = 404, description = "No such booking of yours.", body = ErrorBody),
        (status = 409, description = "`too_late_to_cancel` or `cannot_cancel` (already cancelled or expired).", body = ErrorBody),
    )
)]
async fn cancel(State(s): State<AppState>, Caller(c): Caller, ApiPath(id): ApiPath<Uuid>, headers: HeaderMap) -> ApiResult<Json<Booking>> {
    let mut tx = s.outbox.begin().await?;
    let b = store::load_for_update(&mut tx, id).await?.filter(|b| b.user_id == c.sub).ok_or_else(|| ApiError::not_found("booking"))?;
    if b.state() == Status::Confirmed && b.check_in <= Utc::now().date_naive() {
        return Err(ApiError::conflict("too_late_to_cancel", "the stay has started; contact the hotel to change it"));
    }
    let cause = Cause { traceparent: headers.get("traceparent").and_then(|v| v.to_str().ok()).map(str::to_owned), ..Cause::default() };
    if let Err(illegal) = store::apply(&mut tx, &b, Transition::GuestCancelled, &cause).await? {
        return Err(ApiError::conflict("cannot_cancel", format!("a {} booking cannot be cancelled", illegal.from.as_str().to_lowercase())));
    }
    let after = fetch(&mut tx, id).await?.ok_or_else(|| anyhow::anyhow!("booking vanished"))?;
    tx.commit().await?;
    Ok(Json(after))
}
