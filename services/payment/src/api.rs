//! The internal HTTP API: `GET /payments/{bookingId}`, guarded by the service token, for
//! support and tests.

use crate::store::{self, PaymentStatus};
use axum::{
    Router,
    extract::{FromRef, State},
    routing::get,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use sqlx::PgPool;
use tripnest_common::{
    ApiError, ApiResult,
    auth::{InternalToken, ServiceToken},
    http::{ApiJson, ApiPath},
};
use uuid::Uuid;

/// Shared state of the HTTP handlers.
#[derive(Clone)]
pub struct AppState {
    /// The payment database.
    pub pool: PgPool,
    /// The token internal callers must present.
    pub internal_token: InternalToken,
}

impl FromRef<AppState> for InternalToken {
    fn from_ref(state: &AppState) -> Self {
        state.internal_token.clone()
    }
}

/// This service's own routes.
pub fn router(state: AppState) -> Router {
    Router::new().route("/payments/{booking_id}", get(get_payment)).with_state(state)
}

/// A booking's payment as support sees it. No card data exists to show.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PaymentView {
    /// The booking.
    pub booking_id: Uuid,
    /// Our payment id.
    pub payment_id: Uuid,
    /// `captured`, `failed`, `refunded` or `voided`.
    pub status: PaymentStatus,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
    /// Whether the capture was refunded.
    pub refunded: bool,
    /// Provider calls the charge took.
    pub attempts: i32,
    /// The payment method token name.
    pub payment_method: Option<String>,
    /// The provider's capture id.
    pub capture_id: Option<String>,
    /// Why the charge failed.
    pub failure_reason: Option<String>,
    /// The provider's refund id.
    pub refund_id: Option<String>,
    /// When the outcome was recorded.
    pub created_at: DateTime<Utc>,
    /// When it was refunded.
    pub refunded_at: Option<DateTime<Utc>>,
}

async fn get_payment(
    _: ServiceToken,
    State(state): State<AppState>,
    ApiPath(booking_id): ApiPath<String>,
) -> ApiResult<ApiJson<PaymentView>> {
    let booking_id = Uuid::parse_str(&booking_id).map_err(|_| ApiError::invalid_field("bookingId", "must be a UUID"))?;
    let payment = store::find(&state.pool, booking_id).await?.ok_or_else(|| ApiError::not_found("payment"))?;
    let status = payment.status().ok_or_else(|| anyhow::anyhow!("unknown payment status {:?}", payment.status))?;
    Ok(ApiJson(PaymentView {
        booking_id: payment.booking_id,
        payment_id: payment.payment_id,
        status,
        amount_cents: payment.amount_cents,
        currency: payment.currency,
        refunded: status == PaymentStatus::Refunded,
        attempts: payment.attempts,
        payment_method: payment.payment_method,
        capture_id: payment.capture_id,
        failure_reason: payment.failure_reason,
        refund_id: payment.refund_id,
        created_at: payment.created_at,
        refunded_at: payment.refunded_at,
    }))
}
