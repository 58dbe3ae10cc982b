//! The payment service's settings: the shared [`CommonConfig`] plus the internal token, the
//! retry policy for transient processor errors and the sandbox provider's knobs.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tripnest_common::config::CommonConfig;

/// Configuration: `APP_…` environment over these defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Settings every service has (HTTP, logs, Kafka, database URL).
    #[serde(flatten)]
    pub common: CommonConfig,
    /// Bearer token guarding the internal API (`APP_INTERNAL_TOKEN`). Unset: every internal
    /// request is refused.
    #[serde(skip_serializing)]
    pub internal_token: Option<SecretString>,
    /// Largest PostgreSQL pool: each charge in flight (up to `kafka.saga_concurrency`) holds a
    /// connection while the card network answers, and the relay and the API need theirs.
    pub db_max_connections: u32,
    /// How transient processor errors are retried inside one delivery.
    pub provider_retry: RetryPolicy,
    /// The sandbox provider.
    pub sandbox: SandboxConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            internal_token: None,
            db_max_connections: 20,
            provider_retry: RetryPolicy::default(),
            sandbox: SandboxConfig::default(),
        }
    }
}

/// Exponential backoff for transient provider errors: `attempts` calls in all, waiting
/// `initial_backoff_ms`, then double, … (at most `max_backoff_ms`) between them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct RetryPolicy {
    /// Provider calls in all before the payment fails with `processor_error` (at least 1).
    pub attempts: u32,
    /// Delay before the second call, in milliseconds.
    pub initial_backoff_ms: u64,
    /// Upper bound of one delay, in milliseconds.
    pub max_backoff_ms: u64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { attempts: 4, initial_backoff_ms: 100, max_backoff_ms: 2_000 }
    }
}

impl RetryPolicy {
    /// The delay after failed call number `attempt` (1-based).
    pub fn delay_after(&self, attempt: u32) -> Duration {
        tripnest_common::kafka::backoff(attempt, Duration::from_millis(self.initial_backoff_ms), Duration::from_millis(self.max_backoff_ms))
    }
}

/// Knobs of the sandbox provider.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct SandboxConfig {
    /// Simulated network latency, in milliseconds, between the card network recording a
    /// charge and its answer reaching us (0 = none). Widens the crash window for tests.
    pub response_delay_ms: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_delays_double_from_the_initial_backoff() {
        let policy = RetryPolicy::default();
        let delays: Vec<u128> = (1..policy.attempts).map(|a| policy.delay_after(a).as_millis()).collect();
        assert_eq!(delays, [100, 200, 400]);
    }
}
