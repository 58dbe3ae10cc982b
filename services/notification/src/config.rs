//! The notification service's settings: the shared ones plus SMTP, the SMS provider, the JWKS
//! that signs user tokens, and the timing of sends and claims. Every key is read from `APP_…`
//! environment variables (`APP_SMTP_URL`, `APP_SMS_TOKEN`, …) over these defaults.

use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::time::Duration;
use tripnest_common::config::CommonConfig;

/// Configuration: `APP_…` environment over defaults.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct Config {
    /// HTTP, logs, Kafka and the database URL.
    #[serde(flatten)]
    pub common: CommonConfig,
    /// The SMTP server, `smtp://host:port` (plain SMTP: lettre is built without TLS).
    pub smtp_url: String,
    /// SMTP user name, when the server wants one.
    pub smtp_username: Option<String>,
    /// SMTP password, when the server wants one.
    #[serde(skip_serializing)]
    pub smtp_password: Option<SecretString>,
    /// The `From` of every email, e.g. `TripNest <bookings@tripnest.test>`.
    pub mail_from: String,
    /// The SMS provider's send endpoint; empty disables SMS (email still goes out).
    pub sms_url: String,
    /// Bearer token for the SMS provider.
    #[serde(skip_serializing)]
    pub sms_token: Option<SecretString>,
    /// Where the user service publishes its signing keys.
    pub jwks_url: String,
    /// Upper bound of one whole SMTP or SMS send, in seconds.
    pub send_timeout_secs: u64,
    /// How long a claimed send is presumed alive before another delivery may take it over.
    pub claim_lease_secs: u64,
    /// PostgreSQL pool size.
    pub max_db_connections: u32,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            common: CommonConfig::default(),
            smtp_url: "smtp://127.0.0.1:11025".into(),
            smtp_username: None,
            smtp_password: None,
            mail_from: "TripNest <bookings@tripnest.test>".into(),
            sms_url: String::new(),
            sms_token: None,
            jwks_url: "http://127.0.0.1:8081/.well-known/jwks.json".into(),
            send_timeout_secs: 15,
            claim_lease_secs: 120,
            max_db_connections: 10,
        }
    }
}

impl Config {
    /// Upper bound of one send.
    pub fn send_timeout(&self) -> Duration {
        Duration::from_secs(self.send_timeout_secs.max(1))
    }

    /// The claim lease, checked to outlast a send (twice over, for the database work around it)
    /// so that a live sender is not overtaken.
    pub fn claim_lease(&self) -> anyhow::Result<Duration> {
        let lease = Duration::from_secs(self.claim_lease_secs);
        anyhow::ensure!(
            lease >= 2 * self.send_timeout(),
            "claim_lease_secs ({}) must be at least twice send_timeout_secs ({}) (set APP_CLAIM_LEASE_SECS / APP_SEND_TIMEOUT_SECS)",
            self.claim_lease_secs,
            self.send_timeout().as_secs()
        );
        Ok(lease)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lease_must_outlast_a_send_twice_over() {
        let defaults = Config::default();
        assert_eq!(defaults.claim_lease().expect("defaults are consistent"), Duration::from_secs(120));
        let short = Config { claim_lease_secs: 20, send_timeout_secs: 15, ..Config::default() };
        let err = short.claim_lease().expect_err("lease shorter than two sends");
        assert!(err.to_string().contains("APP_CLAIM_LEASE_SECS"), "{err}");
    }
}
