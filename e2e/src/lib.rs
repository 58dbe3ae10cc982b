//! The one test harness for tests that need the real local stack.
//!
//! [`Stack`] reads `.tripnest/stack.env` (written by `make up`), with process environment
//! variables taking precedence, so the same tests run against any stack. Helpers give each
//! test its own isolated resources (a fresh database, a unique topic, namespace or key), which
//! [`harness`]'s guards remove when the test ends, and [`wait_until`] polls a condition with a
//! deadline — tests never sleep and hope.

pub mod cluster;
pub mod fixtures;
pub mod harness;
pub mod mail;
pub mod platform;
pub mod process;
pub mod raw_http;

pub use harness::{NamedDatabases, TestDatabase, TestMongo, TestNamespace, TestTopics, WAIT, http_client};
pub use mail::MailApi;
use std::{collections::HashMap, future::Future, path::PathBuf, time::Duration};

/// Connection settings of the running local stack.
#[derive(Debug, Clone)]
pub struct Stack {
    vars: HashMap<String, String>,
}

impl Stack {
    /// Load `stack.env`; panics with the fix when the stack is not up.
    pub fn load() -> Self {
        let path = std::env::var("TRIPNEST_STACK_ENV").map(PathBuf::from).unwrap_or_else(|_| repo_root().join(".tripnest/stack.env"));
        let text = std::fs::read_to_string(&path)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}. Start the stack first: `make up` (or run `make test`)", path.display()));
        let mut vars: HashMap<String, String> = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
            .collect();
        for (k, v) in vars.iter_mut() {
            if let Ok(over) = std::env::var(k) {
                *v = over;
            }
        }
        Self { vars }
    }

    /// A required setting.
    pub fn get(&self, key: &str) -> &str {
        self.vars.get(key).unwrap_or_else(|| panic!("{key} missing from stack.env; re-run `make up`"))
    }

    /// An optional setting, or `default`.
    pub fn get_or<'a>(&'a self, key: &str, default: &'a str) -> &'a str {
        self.vars.get(key).map_or(default, String::as_str)
    }

    /// Superuser URL of the PostgreSQL server.
    pub fn database_url(&self) -> &str {
        self.get("DATABASE_URL")
    }

    /// A fresh, uniquely named database for one test, dropped with the returned guard.
    pub async fn fresh_database(&self) -> TestDatabase {
        TestDatabase::create(self.database_url()).await
    }
}

/// Mints access tokens the way the user service does (Ed25519 JWTs) and serves the matching
/// JWKS on loopback, for testing one service without starting the user service.
#[derive(Debug)]
pub struct TokenIssuer {
    signer: std::sync::Arc<tripnest_common::auth::Signer>,
    /// URL of the JWKS endpoint (`APP_JWKS_URL` for the service under test).
    pub jwks_url: String,
}

impl TokenIssuer {
    /// Start the JWKS endpoint on a free loopback port.
    pub async fn start() -> Self {
        let signer = std::sync::Arc::new(tripnest_common::auth::Signer::generate(unique("kid")));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind jwks");
        let jwks_url = format!("http://{}/.well-known/jwks.json", listener.local_addr().expect("addr"));
        let served = signer.clone();
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || async move { axum::Json(tripnest_common::auth::jwks([&*served])) }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { signer, jwks_url }
    }

    /// A valid access token for a new traveller with this email; returns (user id, token).
    pub fn traveller(&self, email: &str) -> (uuid::Uuid, String) {
        self.user(email, tripnest_common::auth::Role::Traveller)
    }

    /// A valid access token for a new user with this email and role; returns (user id, token).
    pub fn user(&self, email: &str, role: tripnest_common::auth::Role) -> (uuid::Uuid, String) {
        use tripnest_common::auth::{AUDIENCE, Claims, ISSUER};
        let now = chrono::Utc::now().timestamp();
        let claims = Claims {
            sub: uuid::Uuid::now_v7(),
            email: email.to_owned(),
            name: Some("Test Traveller".into()),
            phone: None,
            roles: vec![role],
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + 900,
        };
        (claims.sub, self.signer.issue(&claims))
    }

    /// Sign any claims with this issuer's key (an expired token, other roles, …).
    pub fn issue(&self, claims: &tripnest_common::auth::Claims) -> String {
        self.signer.issue(claims)
    }
}

/// Events a tap saw, by (topic, subject), each key's in arrival order.
type Seen = std::collections::HashMap<(String, String), Vec<serde_json::Value>>;

/// Records every event published on some topics of one environment (topic prefix), so a test
/// can wait for "an event of type X about booking Y" and count duplicates. Held by topic and
/// subject: the bench asks about thousands of bookings, each while tens of thousands of
/// events are held.
#[derive(Debug, Clone)]
pub struct EventTap {
    seen: std::sync::Arc<std::sync::Mutex<Seen>>,
    _stop: std::sync::Arc<tokio_util::sync::DropGuard>,
}

impl EventTap {
    /// Start recording `topics` (logical names) under `prefix`, from the earliest offset.
    pub async fn start(bootstrap: &str, prefix: &str, topics: &[&str]) -> Self {
        Self::start_at(bootstrap, prefix, topics, true).await
    }

    /// [`EventTap::start`] from the earliest offset, or (`earliest` false) only what is
    /// published from now on.
    pub async fn start_at(bootstrap: &str, prefix: &str, topics: &[&str], earliest: bool) -> Self {
        use rdkafka::{
            ClientConfig, Message,
            consumer::{Consumer, StreamConsumer},
        };
        let consumer: StreamConsumer = ClientConfig::new()
            .set("bootstrap.servers", bootstrap)
            .set("group.id", unique("tap"))
            .set("auto.offset.reset", if earliest { "earliest" } else { "latest" })
            .set("allow.auto.create.topics", "true")
            .set("topic.metadata.refresh.interval.ms", "500")
            .create()
            .expect("tap consumer");
        let physical: Vec<String> = topics.iter().map(|t| format!("{prefix}{t}")).collect();
        let names: Vec<&str> = physical.iter().map(String::as_str).collect();
        consumer.subscribe(&names).expect("subscribe");
        let consumer = DropOffThread(Some(consumer));
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Seen::new()));
        let token = tokio_util::sync::CancellationToken::new();
        let (sink, stop, prefix) = (seen.clone(), token.clone(), prefix.to_owned());
        tokio::spawn(async move {
            loop {
                let msg = tokio::select! { () = stop.cancelled() => return, m = consumer.get().recv() => m };
                if let Ok(m) = msg {
                    let topic = m.topic().strip_prefix(&prefix).unwrap_or(m.topic()).to_owned();
                    let value: serde_json::Value = m.payload().and_then(|p| serde_json::from_slice(p).ok()).unwrap_or_default();
                    // An event without a subject is about nothing a test can ask for.
                    if let Some(subject) = value["subject"].as_str() {
                        sink.lock().expect("tap lock").entry((topic, subject.to_owned())).or_default().push(value);
                    }
                }
            }
        });
        Self { seen, _stop: std::sync::Arc::new(token.drop_guard()) }
    }

    /// Every event seen on `topic` whose `subject` is `subject`.
    pub fn about(&self, topic: &str, subject: &str) -> Vec<serde_json::Value> {
        self.seen.lock().expect("tap lock").get(&(topic.to_owned(), subject.to_owned())).cloned().unwrap_or_default()
    }

    /// Wait until an event on `topic` about `subject` arrives, and return it.
    pub async fn wait_for(&self, topic: &str, subject: &str, timeout: Duration) -> serde_json::Value {
        wait_until(&format!("{topic} about {subject}"), timeout, || async { self.about(topic, subject).into_iter().next() }).await
    }
}

/// Owns a Kafka consumer and drops it on a thread of its own.
///
/// librdkafka's consumer close serves a pending group rebalance and can wait on it forever
/// when the group is still forming (a test that ends within a second of starting its tap). The
/// tap is dropped when the test's runtime shuts down, so dropping it inline hung the whole test
/// binary once; on a detached thread the worst case is a thread left waiting at exit.
struct DropOffThread<T: Send + 'static>(Option<T>);

impl<T: Send + 'static> DropOffThread<T> {
    fn get(&self) -> &T {
        self.0.as_ref().expect("present until dropped")
    }
}

impl<T: Send + 'static> Drop for DropOffThread<T> {
    fn drop(&mut self) {
        if let Some(inner) = self.0.take() {
            std::thread::spawn(move || drop(inner));
        }
    }
}

/// Create every platform topic (and its dead-letter topic) under `prefix`, as the operator
/// does in a cluster, so consumers never subscribe to a missing topic.
pub async fn create_topics(bootstrap: &str, prefix: &str) {
    use rdkafka::{
        ClientConfig,
        admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
        client::DefaultClientContext,
    };
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create().expect("admin client");
    let names: Vec<String> = tripnest_common::events::topics::ALL
        .iter()
        .flat_map(|t| [format!("{prefix}{t}"), format!("{prefix}{}", tripnest_common::events::topics::dead_letter(t))])
        .collect();
    let topics: Vec<NewTopic<'_>> = names.iter().map(|n| NewTopic::new(n, 1, TopicReplication::Fixed(1))).collect();
    for result in admin.create_topics(&topics, &AdminOptions::new()).await.expect("create topics") {
        if let Err((name, code)) = result {
            assert_eq!(code, rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists, "creating {name}");
        }
    }
}

/// Replace the database name of a postgres URL.
pub fn with_database(url: &str, db: &str) -> String {
    let (base, _) = url.rsplit_once('/').expect("postgres URL has a path");
    format!("{base}/{db}")
}

/// The repository root (the workspace directory).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).parent().expect("e2e/ lives in the repo").to_path_buf()
}

/// A unique, DNS-safe name with a prefix, for topics, namespaces, keys.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", &uuid::Uuid::new_v4().simple().to_string()[..12])
}

/// Poll `check` every 100 ms until it yields `Some`, or panic after `timeout` naming `what`.
pub async fn wait_until<T, F, Fut>(what: &str, timeout: Duration, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(v) = check().await {
            return v;
        }
        assert!(tokio::time::Instant::now() < deadline, "timed out after {timeout:?} waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_swaps_only_the_name() {
        assert_eq!(with_database("postgres://u:p@127.0.0.1:5432/postgres", "t_1"), "postgres://u:p@127.0.0.1:5432/t_1");
    }

    #[tokio::test]
    async fn wait_until_returns_the_value_once_ready() {
        let mut n = 0;
        let got = wait_until("counter", Duration::from_secs(5), || {
            n += 1;
            let v = n;
            async move { (v >= 3).then_some(v) }
        })
        .await;
        assert_eq!(got, 3);
    }

    #[tokio::test]
    #[should_panic(expected = "timed out")]
    async fn wait_until_fails_at_the_deadline() {
        wait_until("never", Duration::from_millis(300), || async { None::<()> }).await;
    }
}
