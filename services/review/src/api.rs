//! `POST /hotels/{id}/reviews` (the guest's own confirmed stay, after check-in, once) and
//! `GET /hotels/{id}/reviews` (newest first, paginated, with the hotel's aggregate).

use crate::rules::{self, NewReview, ReviewBody, Stay};
use anyhow::Context;
use axum::{
    Json,
    extract::{FromRef, State},
    http::{HeaderMap, StatusCode},
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use std::sync::Arc;
use tripnest_common::{
    ApiError, ApiResult, Event,
    auth::{Caller, Claims, JwksVerifier, Role},
    db,
    error::ErrorBody,
    http::{ApiJson, ApiPath, ApiQuery},
    kafka::TRACEPARENT,
    outbox::{self, Outbox, Outgoing},
    page::{Page, PageQuery, Paged},
    saga::{HotelRatingUpdated, ReviewCreated},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The database.
    pub pool: PgPool,
    /// The outbox: transactions that publish events begin here.
    pub outbox: Outbox,
    /// Checks access tokens.
    pub verifier: Arc<JwksVerifier>,
}

impl FromRef<AppState> for Arc<JwksVerifier> {
    fn from_ref(s: &AppState) -> Self {
        s.verifier.clone()
    }
}

/// The public routes, with their document.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create))
}

/// A review as readers see it (no user or booking ids).
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Review)]
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
#[derive(Debug, Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Rating)]
pub struct Aggregate {
    average: f64,
    count: i64,
}

/// Review your stay: a confirmed booking of yours at this hotel, once check-in has come; one
/// review per booking.
#[utoipa::path(
    post, path = "/hotels/{id}/reviews", operation_id = "createReview",
    security(("bearerAuth" = [])),
    params(("id" = String, Path, description = "Hotel id.")),
    request_body = ReviewBody,
    responses(
        (status = 201, description = "The review.", body = ReviewView),
        (status = 400, description = "Malformed JSON.", body = ErrorBody),
        (status = 401, description = "No valid access token.", body = ErrorBody),
        (status = 403, description = "Only travellers review their stays.", body = ErrorBody),
        (status = 404, description = "No such booking of yours.", body = ErrorBody),
        (status = 409, description = "`already_reviewed`, or `booking_not_confirmed`.", body = ErrorBody),
        (status = 422, description = "Invalid fields, `wrong_hotel`, or a stay that has not begun.", body = ErrorBody),
    )
)]
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
    let mut tx = s.outbox.begin().await?;
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
    let rating = HotelRatingUpdated { hotel_id: hotel.clone(), average: rules::average(sum, count), count };
    let events = [Outgoing::new(&Event::new(crate::NAME, &hotel, created)), Outgoing::new(&Event::new(crate::NAME, &hotel, rating))]
        .into_iter()
        .collect::<Result<Vec<_>, _>>()
        .context("serialising the review's events")?;
    outbox::enqueue_all(&mut tx, &events, traceparent).await?;
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

/// A page of reviews with the hotel's aggregate.
#[derive(Debug, Serialize, ToSchema)]
struct ReviewPage {
    #[serde(flatten)]
    page: Paged<ReviewView>,
    rating: Aggregate,
}

/// A hotel's reviews, newest first, with its rating.
#[utoipa::path(
    get, path = "/hotels/{id}/reviews", operation_id = "listReviews",
    security((), ("bearerAuth" = [])),
    params(("id" = String, Path, description = "Hotel id."), PageQuery),
    responses(
        (status = 200, description = "A page of reviews and the hotel's rating.", body = ReviewPage),
        (status = 400, description = "A query string that cannot be read.", body = ErrorBody),
        (status = 401, description = "An invalid access token was sent.", body = ErrorBody),
        (status = 422, description = "`page` or `pageSize` out of bounds.", body = ErrorBody),
    )
)]
#[tracing::instrument(skip(s, q))]
async fn list(State(s): State<AppState>, ApiPath(hotel): ApiPath<String>, ApiQuery(q): ApiQuery<PageQuery>) -> ApiResult<Json<ReviewPage>> {
    let page: Page = q.validate()?;
    let items: Vec<ReviewView> = sqlx::query_as(
        "SELECT id, hotel_id, rating, title, body, author_name, created_at FROM reviews WHERE hotel_id = $1 \
         ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(&hotel)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(&s.pool)
    .await?;
    let (count, sum): (i64, i64) =
        sqlx::query_as("SELECT COALESCE(max(review_count), 0), COALESCE(max(rating_sum), 0) FROM hotel_ratings WHERE hotel_id = $1")
            .bind(&hotel)
            .fetch_one(&s.pool)
            .await?;
    Ok(Json(ReviewPage { page: page.of(items, count), rating: Aggregate { average: rules::average(sum, count), count } }))
}
