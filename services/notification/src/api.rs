//! `GET /notifications`: the signed-in user's own notifications, newest first, paginated with
//! `?page` (from 1) and `?pageSize` (1 to 100, default 20).

use axum::{
    Router,
    extract::{FromRef, State},
    routing::get,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sqlx::PgPool;
use std::sync::Arc;
use tripnest_common::{
    ApiError, ApiResult,
    auth::{Caller, JwksVerifier},
    error::FieldError,
    http::{ApiJson, ApiQuery},
};
use uuid::Uuid;

const DEFAULT_PAGE_SIZE: i64 = 20;
const MAX_PAGE_SIZE: i64 = 100;

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

/// The service's own routes.
pub fn router() -> Router<AppState> {
    Router::new().route("/notifications", get(list_notifications))
}

/// Raw query parameters, validated by hand so bad values get field errors.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ListQuery {
    page: Option<String>,
    page_size: Option<String>,
}

/// One notification as its user sees it.
#[derive(Debug, Serialize, sqlx::FromRow)]
#[serde(rename_all = "camelCase")]
struct NotificationView {
    id: Uuid,
    booking_id: Uuid,
    channel: String,
    template: String,
    recipient: String,
    subject: Option<String>,
    body_text: String,
    status: String,
    cause_event_id: Uuid,
    created_at: DateTime<Utc>,
    sent_at: Option<DateTime<Utc>>,
}

/// A page of notifications.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct NotificationPage {
    items: Vec<NotificationView>,
    page: i64,
    page_size: i64,
    total: i64,
}

#[tracing::instrument(skip_all, fields(user_id = %caller.sub))]
async fn list_notifications(
    State(state): State<AppState>,
    Caller(caller): Caller,
    ApiQuery(query): ApiQuery<ListQuery>,
) -> ApiResult<ApiJson<NotificationPage>> {
    let (page, page_size) = pagination(&query)?;
    let total: i64 =
        sqlx::query_scalar("SELECT count(*) FROM notifications WHERE user_id = $1").bind(caller.sub).fetch_one(&state.pool).await?;
    let items: Vec<NotificationView> = sqlx::query_as(
        "SELECT id, booking_id, channel, template, recipient, subject, body_text, status, cause_event_id, created_at, sent_at \
           FROM notifications WHERE user_id = $1 \
          ORDER BY created_at DESC, id DESC LIMIT $2 OFFSET $3",
    )
    .bind(caller.sub)
    .bind(page_size)
    .bind((page - 1) * page_size)
    .fetch_all(&state.pool)
    .await?;
    Ok(ApiJson(NotificationPage { items, page, page_size, total }))
}

fn pagination(query: &ListQuery) -> ApiResult<(i64, i64)> {
    let mut errors = Vec::new();
    let mut parse = |field: &str, raw: &Option<String>, default: i64, max: i64| -> i64 {
        let Some(raw) = raw else { return default };
        match raw.trim().parse::<i64>() {
            Ok(n) if (1..=max).contains(&n) => n,
            _ => {
                errors.push(FieldError::new(field, format!("must be a whole number from 1 to {max}")));
                default
            }
        }
    };
    // Bounded so the offset cannot overflow.
    let page = parse("page", &query.page, 1, 1_000_000);
    let page_size = parse("pageSize", &query.page_size, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    if errors.is_empty() { Ok((page, page_size)) } else { Err(ApiError::Validation(errors)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(page: Option<&str>, page_size: Option<&str>) -> ListQuery {
        ListQuery { page: page.map(Into::into), page_size: page_size.map(Into::into) }
    }

    #[test]
    fn pagination_defaults_and_bounds() {
        assert_eq!(pagination(&q(None, None)).expect("defaults"), (1, 20));
        assert_eq!(pagination(&q(Some("3"), Some("100"))).expect("max"), (3, 100));
        let Err(ApiError::Validation(fields)) = pagination(&q(Some("0"), Some("abc"))) else { panic!("both invalid") };
        let names: Vec<_> = fields.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(names, ["page", "pageSize"]);
        assert!(pagination(&q(None, Some("101"))).is_err());
    }
}
