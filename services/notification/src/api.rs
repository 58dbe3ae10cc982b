//! `GET /notifications`: the signed-in user's own notifications, newest first, paginated with
//! the shared `?page&pageSize` ([`tripnest_common::page`]).

use axum::extract::{FromRef, State};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use std::sync::Arc;
use tripnest_common::{
    ApiResult,
    auth::{Caller, JwksVerifier},
    error::ErrorBody,
    http::{ApiJson, ApiQuery},
    page::{PageQuery, Paged},
};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

/// What the HTTP handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The service's database.
    pub pool: PgPool,
    /// Checks user access tokens.
    pub verifier: Arc<JwksVerifier>,
}

impl FromRef<AppState> for Arc<JwksVerifier> {
    fn from_ref(state: &AppState) -> Self {
        state.verifier.clone()
    }
}

/// The service's own routes, with the document of the public ones.
pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_notifications))
}

/// One notification as its user sees it.
#[derive(Debug, Serialize, sqlx::FromRow, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = Notification)]
struct NotificationView {
    id: Uuid,
    booking_id: Uuid,
    /// `email` or `sms`.
    channel: String,
    template: String,
    recipient: String,
    subject: Option<String>,
    body_text: String,
    /// `sent` or `failed`.
    status: String,
    cause_event_id: Uuid,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

/// Your notifications, newest first.
#[utoipa::path(
    get, path = "/notifications", operation_id = "listNotifications",
    security(("bearerAuth" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of notifications.", body = Paged<NotificationView>),
        (status = 400, description = "A query string that cannot be read.", body = ErrorBody),
        (status = 401, description = "No valid access token.", body = ErrorBody),
        (status = 422, description = "`page` or `pageSize` out of bounds.", body = ErrorBody),
    )
)]
#[tracing::instrument(skip_all, fields(user_id = %caller.sub))]
async fn list_notifications(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<PageQuery>,
) -> ApiResult<ApiJson<Paged<NotificationView>>> {
    let page = query.validate()?;
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1").bind(caller.sub).fetch_one(&state.pool).await?;
    let items: Vec<NotificationView> = sqlx::query_as(
        "SELECT id, booking_id, channel, template, recipient, subject, body_text, status, cause_event_id, created_at, sent_at \
           FROM notifications WHERE user_id = $1 \
          ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(caller.sub)
    .bind(page.limit())
    .bind(page.offset())
    .fetch_all(&state.pool)
    .await?;
    Ok(ApiJson(page.of(items, total)))
}
