//! [`SandboxProvider`]: a card processor for development and tests. Test tokens pick the
//! outcome:
//!
//! | token | outcome |
//! |---|---|
//! | `pm_card_visa`, `pm_card_mastercard` | captured |
//! | `pm_card_declined` | declined |
//! | `pm_card_insufficient_funds` | insufficient funds |
//! | `pm_card_processor_error` | transient processor error, every time |
//! | `pm_card_flaky` | transient on the first call for an idempotency key, then captured |
//! | anything else | invalid payment method |
//!
//! It plays the card network, so its ledger (`sandbox_charges`, `sandbox_refunds`) is written
//! outside the payment service's transactions, on their own connections: a charge stays
//! recorded even when the caller crashes before committing, and the retry with the same
//! idempotency key gets the original capture back.

use crate::provider::{Capture, ChargeRequest, PaymentProvider, ProviderError, Refund, RefundRequest};
use sqlx::PgPool;
use std::time::Duration;

/// Test tokens that capture.
pub const SUCCESS_TOKENS: &[&str] = &["pm_card_visa", "pm_card_mastercard"];

/// The sandbox processor, backed by its ledger tables.
#[derive(Debug, Clone)]
pub struct SandboxProvider {
    pool: PgPool,
    response_delay: Duration,
}

impl SandboxProvider {
    /// A sandbox whose ledger lives in `pool`, answering each recorded charge after `response_delay`.
    pub fn new(pool: PgPool, response_delay: Duration) -> Self {
        Self { pool, response_delay }
    }
}

/// What the sandbox does with call number `attempt` (1-based) for `token`.
fn charge_outcome(token: &str, attempt: i32) -> Result<(), ProviderError> {
    match token {
        t if SUCCESS_TOKENS.contains(&t) => Ok(()),
        "pm_card_declined" => Err(ProviderError::Declined),
        "pm_card_insufficient_funds" => Err(ProviderError::InsufficientFunds),
        "pm_card_processor_error" => Err(ProviderError::Transient("sandbox: processor error".into())),
        "pm_card_flaky" if attempt <= 1 => Err(ProviderError::Transient("sandbox: flaky processor timed out".into())),
        "pm_card_flaky" => Ok(()),
        _ => Err(ProviderError::InvalidPaymentMethod),
    }
}

fn unreachable_network(e: sqlx::Error) -> ProviderError {
    ProviderError::Transient(format!("sandbox ledger unavailable: {e}"))
}

impl PaymentProvider for SandboxProvider {
    async fn charge(&self, req: &ChargeRequest) -> Result<Capture, ProviderError> {
        let attempt: i32 = sqlx::query_scalar(
            "INSERT INTO sandbox_charge_attempts (idempotency_key, attempts) VALUES ($1, 1)
             ON CONFLICT (idempotency_key) DO UPDATE
             SET attempts = sandbox_charge_attempts.attempts + 1, last_attempt_at = now()
             RETURNING attempts",
        )
        .bind(&req.idempotency_key)
        .fetch_one(&self.pool)
        .await
        .map_err(unreachable_network)?;

        if let Some(original) = self.capture_for(&req.idempotency_key).await? {
            tracing::info!(idempotency_key = req.idempotency_key, capture_id = original.id, "sandbox: replayed charge");
            return Ok(original);
        }
        charge_outcome(&req.payment_method, attempt)?;
        let capture_id = format!("ch_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(
            "INSERT INTO sandbox_charges (idempotency_key, capture_id, payment_method, amount_cents, currency)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(&req.idempotency_key)
        .bind(&capture_id)
        .bind(&req.payment_method)
        .bind(req.amount_cents)
        .bind(&req.currency)
        .execute(&self.pool)
        .await
        .map_err(unreachable_network)?;
        // A concurrent call with the same key may have won; everyone gets the one capture.
        let capture =
            self.capture_for(&req.idempotency_key).await?.ok_or_else(|| ProviderError::Transient("sandbox: capture vanished".into()))?;
        if !self.response_delay.is_zero() {
            tokio::time::sleep(self.response_delay).await;
        }
        Ok(capture)
    }

    async fn refund(&self, req: &RefundRequest) -> Result<Refund, ProviderError> {
        let known: Option<bool> = sqlx::query_scalar("SELECT true FROM sandbox_charges WHERE capture_id = $1")
            .bind(&req.capture_id)
            .fetch_optional(&self.pool)
            .await
            .map_err(unreachable_network)?;
        if known.is_none() {
            return Err(ProviderError::UnknownCapture(req.capture_id.clone()));
        }
        // Full refunds only: a second refund of the same capture returns the first one.
        sqlx::query(
            "INSERT INTO sandbox_refunds (idempotency_key, refund_id, capture_id, amount_cents)
             VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
        )
        .bind(&req.idempotency_key)
        .bind(format!("re_{}", uuid::Uuid::new_v4().simple()))
        .bind(&req.capture_id)
        .bind(req.amount_cents)
        .execute(&self.pool)
        .await
        .map_err(unreachable_network)?;
        let id: String = sqlx::query_scalar("SELECT refund_id FROM sandbox_refunds WHERE capture_id = $1")
            .bind(&req.capture_id)
            .fetch_one(&self.pool)
            .await
            .map_err(unreachable_network)?;
        Ok(Refund { id })
    }
}

impl SandboxProvider {
    async fn capture_for(&self, idempotency_key: &str) -> Result<Option<Capture>, ProviderError> {
        let row: Option<(String, i64, String)> =
            sqlx::query_as("SELECT capture_id, amount_cents, currency FROM sandbox_charges WHERE idempotency_key = $1")
                .bind(idempotency_key)
                .fetch_optional(&self.pool)
                .await
                .map_err(unreachable_network)?;
        Ok(row.map(|(id, amount_cents, currency)| Capture { id, amount_cents, currency }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_tokens_map_to_their_outcomes() {
        assert_eq!(charge_outcome("pm_card_visa", 1), Ok(()));
        assert_eq!(charge_outcome("pm_card_mastercard", 1), Ok(()));
        assert_eq!(charge_outcome("pm_card_declined", 1), Err(ProviderError::Declined));
        assert_eq!(charge_outcome("pm_card_insufficient_funds", 1), Err(ProviderError::InsufficientFunds));
        assert!(charge_outcome("pm_card_processor_error", 9).is_err_and(|e| e.is_transient()));
        assert_eq!(charge_outcome("4242424242424242", 1), Err(ProviderError::InvalidPaymentMethod));
    }

    #[test]
    fn flaky_fails_only_the_first_attempt() {
        assert!(charge_outcome("pm_card_flaky", 1).is_err_and(|e| e.is_transient()));
        assert_eq!(charge_outcome("pm_card_flaky", 2), Ok(()));
    }
}
