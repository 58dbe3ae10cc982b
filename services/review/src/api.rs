//! `POST /hotels/{id}/reviews` (the guest's own confirmed stay, after check-in, once) and
//! `GET /hotels/{id}/reviews` (newest first, paginated, with the hotel's aggregate).

use crate::rules::{self, NewReview, ReviewBody, Stay};
use axum::{
    Json, Router,
    extract::{FromRef, State},
    http::{HeaderMap, StatusCode},
    routing::get,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::sync::Arc;
use tripnest_common::{
    ApiError, ApiResult, Event,
    auth::{Caller, Claims, JwksVerifier, Role},
    db,
    error::FieldError,
    events::topics,
    http::{ApiJson, ApiPath, ApiQuery},
    kafka::TRACEPARENT,
    outbox,
    saga::{HotelRatingUpdated, ReviewCreated},
};
use uuid::Uuid;

const DEFAULT_PAGE_SIZE: i64 = 20;
const MAX_PAGE_SIZE: i64 = 100;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// Checks access tokens.
    pub verifier: Arc<JwksVerifier>,
}

impl FromRef<AppState> for Arc<JwksVerifier> {
    fn from_ref(s: &AppState) -> Self {
        s.verifier.clone()
    }
}

/// The public routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/hotels/{id}/reviews", get(list).post(create))
}

/// A review as readers see it (no user or booking ids).
#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
pub struct ReviewView {
    id: Uuid,
    hotel_id: String,
    rating: i16,
    title: Option<String>,
    #[sqlx(rename = "body")]
    text: String,
    author_name: String,
    created_at: DateTime<Utc>,
}

/// A hotel's rating aggregate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Aggregate {
    average: f64,
    count: i64,
}

#[tracing::instrument(skip_all, fields(hotel = hotel, user = %caller.sub))]
async fn create(
    State(s): State<AppState>,
    Caller(caller): Caller,
    ApiPath(hotel): ApiPath<String>,
    headers: HeaderMap,
    ApiJson(body): ApiJson<ReviewBody>,
) -> ApiResult<(StatusCode, Json<ReviewView>)> {
    let review = body.validate()?;
    if !caller.has_role(Role::Traveller) {
        return Err(ApiError::Forbidden("only travellers review their stays".into()));
    }
    let traceparent = headers.get(TRACEPARENT).and_then(|v| v.to_str().ok());
    let mut tx = s.pool.begin().await?;
    let stay: Option<Stay> =
        sqlx::query_as("SELECT booking_id, user_id, hotel_id, check_in, status FROM stays WHERE booking_id = $1 FOR SHARE")
            .bind(review.booking_id)
            .fetch_optional(&mut *tx)
            .await?;
    rules::may_review(stay.as_ref(), caller.sub, &hotel, Utc::now().date_naive())?;
    let view = insert(&mut tx, &hotel, &caller, &review).await.map_err(|e| match db::constraint_name(&e) {
        Some("reviews_one_per_booking") => ApiError::conflict("already_reviewed", "this booking already has a review"),
        _ => ApiError::Internal(e.into()),
    })?;
    let (count, sum): (i64, i64) = sqlx::query_as(
        "INSERT INTO hotel_ratings (hotel_id, review_count, rating_sum) VALUES ($1, 1, $2) ON CONFLICT (hotel_id) \
         DO UPDATE SET review_count = hotel_ratings.review_count + 1, rating_sum = hotel_ratings.rating_sum + $2 \
         RETURNING review_count, rating_sum",
    )
    .bind(&hotel)
    .bind(i64::from(review.rating))
    .fetch_one(&mut *tx)
    .await?;
    let created = ReviewCreated {
        review_id: view.id,
        hotel_id: hotel.clone(),
        booking_id: review.booking_id,
        user_id: caller.sub,
        rating: review.rating,
    };
    outbox::enqueue(&mut tx, &Event::new(crate::NAME, topics::REVIEW_CREATED, &hotel, created), traceparent).await?;
    let rating = HotelRatingUpdated { hotel_id: hotel.clone(), average: rules::average(sum, count), count };
    outbox::enqueue(&mut tx, &Event::new(crate::NAME, topics::HOTEL_RATING_UPDATED, &hotel, rating), traceparent).await?;
    tx.commit().await?;
    metrics::counter!("reviews_created_total").increment(1);
    Ok((StatusCode::CREATED, Json(view)))
}

async fn insert(tx: &mut sqlx::PgConnection, hotel: &str, caller: &Claims, review: &NewReview) -> sqlx::Result<ReviewView> {
    let author = caller.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).unwrap_or("Guest");
    sqlx::query_as(
        "INSERT INTO reviews (id, booking_id, hotel_id, user_id, author_name, rating, title, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
         RETURNING id, hotel_id, rating, title, body, author_name, created_at",
    )
    .bind(Uuid::now_v7())
    .bind(review.booking_id)
    .bind(hotel)
    .bind(caller.sub)
    .bind(author)
    .bind(i16::from(review.rating))
    .bind(&review.title)
    .bind(&review.text)
    .fetch_one(&mut *tx)
    .await
}

/// `?page` (from 1) and `?pageSize` (1–100), validated by hand so errors name the field.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PageQuery {
    page: Option<String>,
    page_size: Option<String>,
}

/// A page of reviews with the hotel's aggregate.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ReviewPage {
    items: Vec<ReviewView>,
    total: i64,
    page: i64,
    page_size: i64,
    rating: Aggregate,
}

fn parse_page(q: &PageQuery) -> ApiResult<(i64, i64)> {
    let mut errors = Vec::new();
    let mut number = |raw: &Option<String>, name: &str, default: i64, max: i64| match raw.as_deref().map(str::parse::<i64>) {
        None => default,
        Some(Ok(n)) if (1..=max).contains(&n) => n,
        Some(_) => {
            errors.push(FieldError::new(name, format!("must be a whole number from 1 to {max}")));
            default
        }
    };
    let page = number(&q.page, "page", 1, i64::from(i32::MAX));
    let size = number(&q.page_size, "pageSize", DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    if errors.is_empty() { Ok((page, size)) } else { Err(ApiError::Validation(errors)) }
}

#[tracing::instrument(skip(s, q))]
async fn list(State(s): State<AppState>, ApiPath(hotel): ApiPath<String>, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Json<ReviewPage>> {
    let (page, page_size) = parse_page(&q)?;
    let items: Vec<ReviewView> = sqlx::query_as(
        "SELECT id, hotel_id, rating, title, body, author_name, created_at FROM reviews WHERE hotel_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(&hotel)
    .bind(page_size)
    .bind((page - 1) * page_size)
    .fetch_all(&s.pool)
    .await?;
    let (count, sum): (i64, i64) =
        sqlx::query_as("SELECT COALESCE(max(review_count), 0), COALESCE(max(rating_sum), 0) FROM hotel_ratings WHERE hotel_id = $1")
            .bind(&hotel)
            .fetch_one(&s.pool)
            .await?;
    Ok(Json(ReviewPage { items, total: count, page, page_size, rating: Aggregate { average: rules::average(sum, count), count } }))
}
