//! Layered configuration: defaults compiled into the binary, then environment variables
//! prefixed `APP_`, with `__` separating nested keys (`APP_KAFKA__BOOTSTRAP_SERVERS`).
//! Each service embeds [`CommonConfig`] with `#[serde(flatten)]` and adds its own section.

use figment::{
    Figment,
    providers::{Env, Serialized},
};
use secrecy::SecretString;
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// The environment variable prefix every setting is read from.
pub const ENV_PREFIX: &str = "APP_";

/// A setting that could not be read, naming the key and the variable that sets it.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration for `{key}` (set by {env_var}): {reason}")]
pub struct ConfigError {
    /// Dotted key, e.g. `http.port`.
    pub key: String,
    /// The environment variable that sets it, e.g. `APP_HTTP__PORT`.
    pub env_var: String,
    /// What was wrong.
    pub reason: String,
}

impl From<figment::Error> for ConfigError {
    fn from(e: figment::Error) -> Self {
        let reason = e.kind.to_string();
        if !e.path.is_empty() {
            let env_var = format!("{ENV_PREFIX}{}", e.path.iter().map(|p| p.to_uppercase()).collect::<Vec<_>>().join("__"));
            return Self { key: e.path.join("."), env_var, reason };
        }
        // `#[serde(flatten)]` loses the path; find the variable whose value the error quotes.
        let culprit = std::env::vars().find(|(k, v)| k.starts_with(ENV_PREFIX) && reason.contains(&format!("{v:?}")));
        match culprit {
            Some((var, _)) => {
                let key = var[ENV_PREFIX.len()..].to_lowercase().replace("__", ".");
                Self { key, env_var: var, reason }
            }
            None => Self { key: "?".into(), env_var: format!("an {ENV_PREFIX}… variable"), reason },
        }
    }
}

/// Load `T`: start from `T::default()`, then overlay `APP_…` environment variables.
pub fn load<T>() -> Result<T, ConfigError>
where
    T: DeserializeOwned + Serialize + Default,
{
    Ok(figment_for(T::default()).extract()?)
}

/// The figment that [`load`] extracts from; exposed so tests can layer their own values.
pub fn figment_for<T: Serialize>(defaults: T) -> Figment {
    Figment::from(Serialized::defaults(defaults)).merge(Env::prefixed(ENV_PREFIX).split("__"))
}

/// Settings every TripNest process has.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct CommonConfig {
    /// Where the HTTP server listens (the API and the probes).
    pub http: HttpConfig,
    /// Where the operations server listens: Prometheus `/metrics` and the probes, for the
    /// cluster only (`APP_OPS__PORT`; 0 picks a free port, logged at startup).
    pub ops: HttpConfig,
    /// Log filter (`RUST_LOG` syntax) and format.
    pub log: LogConfig,
    /// Seconds to finish in-flight work after SIGTERM before giving up.
    pub shutdown_grace_secs: u64,
    /// Kafka connection, when the service uses it.
    pub kafka: KafkaConfig,
    /// PostgreSQL URL, when the service owns a database.
    #[serde(skip_serializing)]
    pub database_url: Option<SecretString>,
}

impl Default for CommonConfig {
    fn default() -> Self {
        Self {
            http: HttpConfig::default(),
            ops: HttpConfig::default(),
            log: LogConfig::default(),
            shutdown_grace_secs: 20,
            kafka: KafkaConfig::default(),
            database_url: None,
        }
    }
}

/// HTTP listener settings. Loopback by default; port 0 picks a free port.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpConfig {
    /// Address to bind.
    pub host: IpAddr,
    /// Port to bind (0 = any free port).
    pub port: u16,
    /// How long and how large a request may be.
    pub limits: HttpLimits,
}

impl Default for HttpConfig {
    fn default() -> Self {
        Self { host: IpAddr::V4(Ipv4Addr::LOCALHOST), port: 0, limits: HttpLimits::default() }
    }
}

/// What a request may cost the server. Past a limit the client gets the matching 4xx
/// (408, 413, 414, 431) in the shared error shape; see [`crate::http`].
#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(default)]
pub struct HttpLimits {
    /// Time from a connection's first byte to the end of its request head.
    pub header_timeout_ms: u64,
    /// Time from the end of the request head to the end of its body.
    pub body_timeout_ms: u64,
    /// Largest request body.
    pub max_body_bytes: usize,
    /// Longest request target (path and query).
    pub max_uri_bytes: usize,
    /// Largest total of the header fields (names, values and their separators).
    pub max_header_bytes: usize,
}

impl Default for HttpLimits {
    fn default() -> Self {
        Self {
            header_timeout_ms: 10_000,
            body_timeout_ms: 10_000,
            max_body_bytes: 2 * 1024 * 1024,
            max_uri_bytes: 8 * 1024,
            max_header_bytes: 16 * 1024,
        }
    }
}

impl HttpLimits {
    /// [`Self::header_timeout_ms`] as a duration.
    pub fn header_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.header_timeout_ms)
    }
    /// [`Self::body_timeout_ms`] as a duration.
    pub fn body_timeout(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.body_timeout_ms)
    }
}

impl HttpConfig {
    /// The socket address to bind.
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.host, self.port)
    }
}

/// Log settings.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct LogConfig {
    /// Default filter when `RUST_LOG` is unset.
    pub level: String,
    /// `json` (default, for machines) or `pretty` (for people at a terminal).
    pub format: LogFormat,
}

impl Default for LogConfig {
    fn default() -> Self {
        Self { level: "info".into(), format: LogFormat::Json }
    }
}

/// Output format of the log lines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// One JSON object per line.
    Json,
    /// Human-readable, for local runs.
    Pretty,
}

/// Kafka client settings shared by producers and consumers.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default)]
pub struct KafkaConfig {
    /// `host:port[,host:port]`.
    pub bootstrap_servers: String,
    /// Consumer group; when empty, each consumer's own default ([`Self::group_or`]).
    pub group_id: String,
    /// Delivery timeout for produced messages, in milliseconds.
    pub message_timeout_ms: u64,
    /// Prepended to every topic name, so several environments (or tests) share one cluster.
    pub topic_prefix: String,
    /// Create the topics a consumer subscribes to (and their `.dlq`) when missing. On for the
    /// local stack; a cluster where the operator manages topics turns it off.
    pub create_missing_topics: bool,
    /// Messages the consumer of a read model (search, recommendation) handles at once, one at a
    /// time per ordering key ([`crate::kafka::ConsumerSettings::concurrency`]).
    pub read_model_concurrency: usize,
    /// Messages a saga step's consumer (payment, booking, notification) handles at once, one at
    /// a time per booking ([`crate::kafka::ConsumerSettings::saga`]). Each holds a database
    /// connection while it runs (payment's across the card network's answer), so keep it below
    /// the pool.
    pub saga_concurrency: usize,
    /// Most events of one ordering key a read model's consumer applies together when they piled
    /// up behind each other ([`crate::kafka::ConsumerSettings::batch`]): only while it is behind.
    pub read_model_batch: usize,
    /// Most messages a read model's consumer holds at once
    /// ([`crate::kafka::ConsumerSettings::held`]): several times the hotels, so that what piles
    /// up behind each hotel while the consumer is behind can be applied together.
    pub read_model_held: usize,
    /// How long the broker may hold a fetch of a consumer off the booking's critical path
    /// (notification, review, search, recommendation) to gather messages
    /// ([`crate::kafka::ConsumerSettings::fetch_wait`]); 0 answers every fetch at its first
    /// message, as the saga's consumers always are.
    pub follower_fetch_wait_ms: u64,
}

impl KafkaConfig {
    /// The physical topic for a logical topic name.
    pub fn topic(&self, logical: &str) -> String {
        format!("{}{logical}", self.topic_prefix)
    }

    /// The consumer group: `group_id` when set, else `default` (the service's own name).
    pub fn group_or(&self, default: impl Into<String>) -> String {
        if self.group_id.is_empty() { default.into() } else { self.group_id.clone() }
    }
}

impl Default for KafkaConfig {
    fn default() -> Self {
        Self {
            bootstrap_servers: "127.0.0.1:19092".into(),
            group_id: String::new(),
            message_timeout_ms: 30_000,
            topic_prefix: String::new(),
            create_missing_topics: true,
            read_model_concurrency: 16,
            saga_concurrency: 8,
            read_model_batch: 64,
            read_model_held: 8192,
            follower_fetch_wait_ms: 100,
        }
    }
}

#[cfg(test)]
#[allow(clippy::result_large_err)] // figment::Jail's closure signature is fixed
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn a_consumer_group_is_the_configured_one_or_the_consumers_own() {
        let mut kafka = KafkaConfig::default();
        assert_eq!(kafka.group_or("payment"), "payment");
        kafka.group_id = "payment-blue".into();
        assert_eq!(kafka.group_or("payment"), "payment-blue");
    }

    #[derive(Debug, Default, Serialize, Deserialize)]
    #[serde(default)]
    struct ServiceConfig {
        #[serde(flatten)]
        common: CommonConfig,
        hold_minutes: u32,
    }

    #[test]
    fn defaults_apply_when_environment_is_silent() {
        figment::Jail::expect_with(|_| {
            let c: ServiceConfig = load().expect("defaults load");
            assert_eq!(c.common.http.port, 0);
            assert_eq!(c.common.log.format, LogFormat::Json);
            assert_eq!(c.common.kafka.bootstrap_servers, "127.0.0.1:19092");
            assert!(c.common.database_url.is_none());
            Ok(())
        });
    }

    #[test]
    fn environment_overrides_nested_and_flattened_keys() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("APP_HTTP__PORT", "8081");
            jail.set_env("APP_LOG__FORMAT", "pretty");
            jail.set_env("APP_KAFKA__BOOTSTRAP_SERVERS", "10.0.0.1:9092");
            jail.set_env("APP_HOLD_MINUTES", "15");
            jail.set_env("APP_DATABASE_URL", "postgres://u:secret@db/booking");
            let c: ServiceConfig = load().expect("env load");
            assert_eq!(c.common.http.port, 8081);
            assert_eq!(c.common.log.format, LogFormat::Pretty);
            assert_eq!(c.common.kafka.bootstrap_servers, "10.0.0.1:9092");
            assert_eq!(c.hold_minutes, 15);
            assert_eq!(
                c.common.database_url.as_ref().map(|s| s.expose_secret().to_owned()).as_deref(),
                Some("postgres://u:secret@db/booking")
            );
            Ok(())
        });
    }

    #[test]
    fn a_bad_value_names_the_key() {
        figment::Jail::expect_with(|jail| {
            jail.set_env("APP_HTTP__PORT", "eighty");
            let err = load::<ServiceConfig>().expect_err("port must be numeric");
            assert_eq!(err.key, "http.port");
            assert!(err.to_string().contains("APP_HTTP__PORT") && err.to_string().contains("eighty"), "{err}");
            Ok(())
        });
    }

    #[test]
    fn secrets_are_redacted_in_debug_output() {
        let c = CommonConfig { database_url: Some("postgres://u:hunter2@db/x".into()), ..Default::default() };
        assert!(!format!("{c:?}").contains("hunter2"));
    }
}
