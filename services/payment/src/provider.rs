//! The [`PaymentProvider`] seam: what the payment service needs from a card processor, and how
//! a processor's failures are classified. Every call carries an idempotency key so that a
//! retry (after a timeout, a crash or a redelivery) never moves money twice.

use crate::config::RetryPolicy;
use std::future::Future;
use tripnest_common::saga::PaymentFailure;

/// Capture `amount_cents` with the tokenised `payment_method`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChargeRequest {
    /// Same key → same charge: the provider returns the original capture.
    pub idempotency_key: String,
    /// Amount in minor units.
    pub amount_cents: i64,
    /// ISO 4217 currency.
    pub currency: String,
    /// Payment method token (`pm_card_visa`, …); never card data.
    pub payment_method: String,
}

/// A captured charge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture {
    /// The provider's id for the capture.
    pub id: String,
    /// Captured amount in minor units.
    pub amount_cents: i64,
    /// ISO 4217 currency of the amount.
    pub currency: String,
}

/// Refund a capture in full.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// Same key → same refund.
    pub idempotency_key: String,
    /// The capture to refund.
    pub capture_id: String,
    /// Amount in minor units (the whole capture).
    pub amount_cents: i64,
}

/// A refund the provider made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refund {
    /// The provider's id for the refund.
    pub id: String,
}

/// Why a provider call failed. Everything but [`ProviderError::Transient`] is final.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProviderError {
    /// The issuer declined the card.
    #[error("card declined")]
    Declined,
    /// The card has insufficient funds.
    #[error("insufficient funds")]
    InsufficientFunds,
    /// The token is not a payment method the provider knows.
    #[error("invalid payment method")]
    InvalidPaymentMethod,
    /// A refund named a capture the provider does not have.
    #[error("unknown capture {0}")]
    UnknownCapture(String),
    /// The processor failed (timeout, 5xx, unreachable); the same call may succeed later.
    #[error("processor error: {0}")]
    Transient(String),
}

impl ProviderError {
    /// Whether retrying the same call might succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transient(_))
    }

    /// The saga's failure reason for a charge that ended with this error.
    pub fn failure(&self) -> PaymentFailure {
        match self {
            Self::Declined => PaymentFailure::Declined,
            Self::InsufficientFunds => PaymentFailure::InsufficientFunds,
            Self::InvalidPaymentMethod | Self::UnknownCapture(_) => PaymentFailure::InvalidPaymentMethod,
            Self::Transient(_) => PaymentFailure::ProcessorError,
        }
    }
}

/// The human message sent with `payment.failed` for each reason.
pub fn failure_message(reason: PaymentFailure) -> &'static str {
    match reason {
        PaymentFailure::Declined => "Your card was declined. Please use another payment method.",
        PaymentFailure::InsufficientFunds => "Your card has insufficient funds. Please use another payment method.",
        PaymentFailure::InvalidPaymentMethod => "This payment method is not valid. Please choose another one.",
        PaymentFailure::ProcessorError => "The payment processor did not respond. You were not charged; please try again.",
    }
}

/// A card processor. Implementations must honour idempotency keys.
pub trait PaymentProvider: Send + Sync + 'static {
    /// Capture a charge, or return the original capture for a known idempotency key.
    fn charge(&self, req: &ChargeRequest) -> impl Future<Output = Result<Capture, ProviderError>> + Send;
    /// Refund a capture, or return the original refund for a known idempotency key.
    fn refund(&self, req: &RefundRequest) -> impl Future<Output = Result<Refund, ProviderError>> + Send;
}

/// Call `op` until it succeeds, fails permanently, or `policy.attempts` calls failed
/// transiently (with backoff between calls). Returns the last result and the calls made.
pub async fn with_retries<T, F, Fut>(policy: &RetryPolicy, mut op: F) -> (Result<T, ProviderError>, u32)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, ProviderError>>,
{
    let max = policy.attempts.max(1);
    let mut attempt = 0;
    loop {
        attempt += 1;
        match op().await {
            Err(e) if e.is_transient() && attempt < max => {
                let delay = policy.delay_after(attempt);
                tracing::warn!(attempt, delay_ms = delay.as_millis() as u64, error = %e, "provider call failed; retrying");
                metrics::counter!("payment_provider_retries_total").increment(1);
                tokio::time::sleep(delay).await;
            }
            result => return (result, attempt),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quick(attempts: u32) -> RetryPolicy {
        RetryPolicy { attempts, initial_backoff_ms: 1, max_backoff_ms: 2 }
    }

    #[tokio::test]
    async fn transient_errors_are_retried_until_the_attempts_run_out() {
        let mut calls = 0;
        let (result, attempts) = with_retries(&quick(4), || {
            calls += 1;
            async { Err::<(), _>(ProviderError::Transient("503".into())) }
        })
        .await;
        assert_eq!((attempts, calls), (4, 4));
        assert_eq!(result.expect_err("still failing").failure(), PaymentFailure::ProcessorError);
    }

    #[tokio::test]
    async fn a_permanent_error_stops_at_once_and_a_success_after_a_retry_is_kept() {
        let (result, attempts) = with_retries(&quick(4), || async { Err::<(), _>(ProviderError::Declined) }).await;
        assert_eq!((result, attempts), (Err(ProviderError::Declined), 1));

        let mut calls = 0;
        let (result, attempts) = with_retries(&quick(4), || {
            calls += 1;
            let first = calls == 1;
            async move { if first { Err(ProviderError::Transient("timeout".into())) } else { Ok(7) } }
        })
        .await;
        assert_eq!((result, attempts), (Ok(7), 2));
    }

    #[test]
    fn permanent_errors_map_to_their_saga_reason() {
        assert_eq!(ProviderError::Declined.failure(), PaymentFailure::Declined);
        assert_eq!(ProviderError::InsufficientFunds.failure(), PaymentFailure::InsufficientFunds);
        assert_eq!(ProviderError::InvalidPaymentMethod.failure(), PaymentFailure::InvalidPaymentMethod);
        assert!(!ProviderError::Declined.is_transient());
    }
}
