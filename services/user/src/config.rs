//! The user service's settings: the shared [`CommonConfig`] plus token lifetimes, the
//! internal service token, the argon2id cost and the failed-login budgets.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tripnest_common::config::CommonConfig;

/// Configuration: `APP_…` environment over these defaults (`APP_ACCESS_TOKEN_TTL_SECS=600`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// Settings every TripNest process has (HTTP, logs, database URL, …).
    #[serde(flatten)]
    pub common: CommonConfig,
    /// Lifetime of an access JWT, in seconds (default 15 minutes).
    pub access_token_ttl_secs: u64,
    /// Lifetime of a refresh token, in seconds (default 30 days); each rotation starts a new one.
    pub refresh_token_ttl_secs: u64,
    /// How often a replica re-reads the signing keys, so it picks up another replica's rotation.
    pub signing_key_reload_secs: u64,
    /// Bearer token that guards `/internal/*` (`APP_INTERNAL_TOKEN`). Unset: internal routes are off.
    #[serde(skip_serializing)]
    pub internal_token: Option<SecretString>,
    /// Maximum PostgreSQL connections in the pool.
    pub max_connections: u32,
    /// argon2id cost parameters.
    pub password_hashing: PasswordHashingConfig,
    /// Failed-login budgets per account (`APP_LOGIN_THROTTLE__PER_SOURCE__BURST=5`).
    pub login_throttle: LoginThrottleConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            access_token_ttl_secs: 15 * 60,
            refresh_token_ttl_secs: 30 * 24 * 60 * 60,
            signing_key_reload_secs: 30,
            internal_token: None,
            max_connections: 10,
            password_hashing: PasswordHashingConfig::default(),
            login_throttle: LoginThrottleConfig::default(),
        }
    }
}

impl Config {
    /// Lifetime of an access JWT.
    pub fn access_token_ttl(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs)
    }

    /// Lifetime of a refresh token.
    pub fn refresh_token_ttl(&self) -> Duration {
        Duration::from_secs(self.refresh_token_ttl_secs)
    }

    /// How long a rotated-out key stays in the JWKS: long enough for every token it signed
    /// to expire, including tokens other replicas signed before they reloaded the keys.
    pub fn retired_key_grace(&self) -> Duration {
        Duration::from_secs(self.access_token_ttl_secs + self.signing_key_reload_secs + 60)
    }
}

/// argon2id cost. The defaults are OWASP's recommended minimum (19 MiB, 2 passes, 1 lane).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct PasswordHashingConfig {
    /// Memory per hash, in KiB.
    pub memory_kib: u32,
    /// Number of passes over the memory.
    pub iterations: u32,
    /// Lanes (threads) per hash.
    pub parallelism: u32,
    /// Hashes allowed to run at once (0 = number of CPUs); bounds memory and CPU under a login storm.
    pub max_concurrent: usize,
}

impl Default for PasswordHashingConfig {
    fn default() -> Self {
        Self {
            memory_kib: argon2::Params::DEFAULT_M_COST,
            iterations: argon2::Params::DEFAULT_T_COST,
            parallelism: argon2::Params::DEFAULT_P_COST,
            max_concurrent: 0,
        }
    }
}

/// A GCRA budget of failed logins: a burst, refilled at a steady rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginBudget {
    /// Failures per minute the budget refills by; 0 switches the budget off.
    pub per_minute: u32,
    /// Failures allowed back to back from a full budget.
    pub burst: u32,
}

impl Default for LoginBudget {
    fn default() -> Self {
        LoginThrottleConfig::default().per_account
    }
}

/// The failed-login budgets of an account (see the `login_throttle` module for the balance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct LoginThrottleConfig {
    /// One account from one source address.
    pub per_source: LoginBudget,
    /// One account from every source together; must refill faster than `per_source`, so that
    /// a single attacker cannot lock the owner out.
    pub per_account: LoginBudget,
}

impl Default for LoginThrottleConfig {
    fn default() -> Self {
        Self { per_source: LoginBudget { per_minute: 6, burst: 5 }, per_account: LoginBudget { per_minute: 20, burst: 10 } }
    }
}
