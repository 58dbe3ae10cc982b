//! What a test creates in the shared stack is removed when the test ends, by a guard, also when
//! the test fails (a guard's `Drop` runs while the panic unwinds):
//!
//! - [`TestDatabase`]: a PostgreSQL database of its own ([`Stack::fresh_database`]), dropped
//!   `WITH (FORCE)`;
//! - [`TestTopics`]: every platform topic and its dead-letter topic under a topic prefix of its
//!   own, and whatever else a test created under that prefix, deleted — unless the test runs
//!   consumers in its own process ([`TestTopics::kept`]): deleting a topic under a live rdkafka
//!   consumer queues a rebalance that the consumer's close then waits on forever (a test
//!   binary hung so in CI). Those prefixes are deleted by `dev/clean.sh --topics`, the last
//!   step of `make test`;
//! - [`TestMongo`]: a MongoDB (FerretDB) database of its own, dropped;
//! - [`TestNamespace`]: a Kubernetes namespace of its own, deleted (`TRIPNEST_KEEP_NAMESPACES=1`
//!   keeps namespaces alone).
//!
//! `TRIPNEST_KEEP_TEST_DATA=1` keeps them all, to look at what a failed test left. `dev/clean.sh`
//! is then only the safety net for a process that was killed before its guards ran.
//!
//! [`WAIT`] is the one deadline tests give the platform to do something asynchronous (an event
//! consumed, a projection updated, a mail delivered).

use crate::{Stack, unique};
use std::{future::Future, time::Duration};

/// How long a test waits for anything the platform does asynchronously.
pub const WAIT: Duration = Duration::from_secs(60);

fn keep() -> bool {
    std::env::var_os("TRIPNEST_KEEP_TEST_DATA").is_some()
}

/// Run `cleanup` to completion on a thread of its own (a `Drop` cannot await, and may run
/// inside or outside a runtime); a cleanup that fails is reported, never a panic in `Drop`.
fn clean_up<F: Future<Output = Result<(), String>> + Send + 'static>(what: String, cleanup: F) {
    if keep() {
        eprintln!("TRIPNEST_KEEP_TEST_DATA: kept {what}");
        return;
    }
    let done = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
        runtime.block_on(async { tokio::time::timeout(Duration::from_secs(30), cleanup).await.map_err(|_| "timed out".to_owned())? })
    })
    .join();
    match done {
        Ok(Ok(())) => {}
        Ok(Err(e)) => eprintln!("could not remove {what}: {e}"),
        Err(_) => eprintln!("could not remove {what}: the cleanup panicked"),
    }
}

/// The HTTP client tests call services with (30 s timeout; idle connections closed before a
/// server would close them, see `tripnest_common::http::CLIENT_POOL_IDLE`).
pub fn http_client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .pool_idle_timeout(tripnest_common::http::CLIENT_POOL_IDLE)
        .build()
        .expect("http client")
}

/// A database of one test's own; dropped with the guard.
#[derive(Debug)]
pub struct TestDatabase {
    /// A pool on it.
    pub pool: sqlx::PgPool,
    /// Its URL (`APP_DATABASE_URL` for a service under test).
    pub url: String,
    name: String,
    admin_url: String,
}

impl TestDatabase {
    pub(crate) async fn create(admin_url: &str) -> Self {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(admin_url).await.expect("connect to postgres (is the stack up?)");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#))).execute(&admin).await.expect("create test database");
        admin.close().await;
        let url = crate::with_database(admin_url, &name);
        let pool = sqlx::PgPool::connect(&url).await.expect("connect to test database");
        Self { pool, url, name, admin_url: admin_url.to_owned() }
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let (name, admin_url) = (self.name.clone(), self.admin_url.clone());
        clean_up(format!("database {name}"), async move {
            use sqlx::Connection as _;
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.map_err(|e| e.to_string())?;
            let drop = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
            sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await.map(|_| ()).map_err(|e| e.to_string())
        });
    }
}

/// PostgreSQL databases a test named but the services it runs created (each service creates
/// its own database on start); dropped with the guard.
#[derive(Debug, Default)]
pub struct NamedDatabases {
    admin_url: String,
    names: Vec<String>,
}

impl NamedDatabases {
    /// Drop `names` on the server of `admin_url` with the guard.
    pub fn new(admin_url: &str, names: Vec<String>) -> Self {
        Self { admin_url: admin_url.to_owned(), names }
    }

    /// Drop `name` too.
    pub fn add(&mut self, name: String) {
        self.names.push(name);
    }
}

impl Drop for NamedDatabases {
    fn drop(&mut self) {
        let (names, admin_url) = (std::mem::take(&mut self.names), self.admin_url.clone());
        if names.is_empty() {
            return;
        }
        clean_up(format!("databases {}", names.join(", ")), async move {
            use sqlx::Connection as _;
            let mut admin = sqlx::PgConnection::connect(&admin_url).await.map_err(|e| e.to_string())?;
            for name in names {
                let drop = format!(r#"DROP DATABASE IF EXISTS "{name}" WITH (FORCE)"#);
                sqlx::raw_sql(sqlx::AssertSqlSafe(drop)).execute(&mut admin).await.map_err(|e| e.to_string())?;
            }
            Ok(())
        });
    }
}

/// A topic prefix of one test's own, with every platform topic (and its `.dlq`) created under
/// it; every topic under the prefix is deleted with the guard.
#[derive(Debug)]
pub struct TestTopics {
    /// The brokers.
    pub bootstrap: String,
    /// The prefix (`APP_KAFKA__TOPIC_PREFIX`), ending in `.`.
    pub prefix: String,
    keep: bool,
}

impl TestTopics {
    /// A fresh prefix on the stack's Kafka, its topics created and each partition led by a
    /// broker (a topic just created answers "not leader" for a moment, more so while other
    /// tests create and delete theirs).
    pub async fn create(stack: &Stack) -> Self {
        let topics = Self { bootstrap: stack.get("KAFKA_BOOTSTRAP_SERVERS").to_owned(), prefix: format!("{}.", unique("t")), keep: false };
        crate::create_topics(&topics.bootstrap, &topics.prefix).await;
        let expected = 2 * tripnest_common::events::topics::ALL.len();
        let (bootstrap, prefix) = (topics.bootstrap.clone(), topics.prefix.clone());
        crate::wait_until(&format!("the topics under {prefix} to have leaders"), Duration::from_secs(30), || {
            let (bootstrap, prefix) = (bootstrap.clone(), prefix.clone());
            async move {
                let led = tokio::task::spawn_blocking(move || {
                    use rdkafka::{ClientConfig, consumer::BaseConsumer, consumer::Consumer as _};
                    let probe: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().ok()?;
                    let metadata = probe.fetch_metadata(None, Duration::from_secs(5)).ok()?;
                    let led = metadata
                        .topics()
                        .iter()
                        .filter(|t| t.name().starts_with(&prefix) && t.error().is_none())
                        .filter(|t| !t.partitions().is_empty() && t.partitions().iter().all(|p| p.leader() >= 0 && p.error().is_none()))
                        .count();
                    Some(led)
                })
                .await
                .ok()
                .flatten()?;
                (led >= expected).then_some(())
            }
        })
        .await;
        topics
    }
}

impl TestTopics {
    /// Leave the topics when the guard drops: the test runs consumers in its own process,
    /// which may still be subscribed when the test ends (see the module docs).
    pub fn kept(mut self) -> Self {
        self.keep = true;
        self
    }
}

impl Drop for TestTopics {
    fn drop(&mut self) {
        if self.keep {
            return;
        }
        let (bootstrap, prefix) = (self.bootstrap.clone(), self.prefix.clone());
        clean_up(format!("topics {prefix}*"), async move {
            use rdkafka::{
                ClientConfig,
                admin::{AdminClient, AdminOptions},
                client::DefaultClientContext,
            };
            let admin: AdminClient<DefaultClientContext> =
                ClientConfig::new().set("bootstrap.servers", &bootstrap).create().map_err(|e| e.to_string())?;
            let metadata = admin.inner().fetch_metadata(None, Duration::from_secs(10)).map_err(|e| e.to_string())?;
            let names: Vec<String> = metadata.topics().iter().map(|t| t.name().to_owned()).filter(|n| n.starts_with(&prefix)).collect();
            if names.is_empty() {
                return Ok(());
            }
            let names: Vec<&str> = names.iter().map(String::as_str).collect();
            admin.delete_topics(&names, &AdminOptions::new()).await.map(|_| ()).map_err(|e| e.to_string())
        });
    }
}

/// A MongoDB database name of one test's own; the database is dropped with the guard. Derefs
/// to the name.
#[derive(Debug)]
pub struct TestMongo {
    /// The database name.
    pub name: String,
    uri: String,
}

impl TestMongo {
    /// A fresh name (`<what>_<unique>`) on the stack's MongoDB server.
    pub fn new(stack: &Stack, what: &str) -> Self {
        Self::named(stack, unique(what).replace('-', "_"))
    }

    /// The database `name` (a test's own), dropped with the guard.
    pub fn named(stack: &Stack, name: String) -> Self {
        Self { name, uri: stack.get("MONGODB_URI").to_owned() }
    }

    /// A handle on the database.
    pub async fn database(&self) -> mongodb::Database {
        mongodb::Client::with_uri_str(&self.uri).await.expect("mongodb client").database(&self.name)
    }
}

impl std::ops::Deref for TestMongo {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl Drop for TestMongo {
    fn drop(&mut self) {
        let (uri, name) = (self.uri.clone(), self.name.clone());
        clean_up(format!("MongoDB database {name}"), async move {
            let client = mongodb::Client::with_uri_str(&uri).await.map_err(|e| e.to_string())?;
            client.database(&name).drop().await.map_err(|e| e.to_string())
        });
    }
}

/// A Kubernetes namespace of one test's own, deleted with the guard. Its Hotels' finalizers
/// are stripped first: the operator that would remove them stops with the test.
#[derive(Debug)]
pub struct TestNamespace {
    /// The namespace.
    pub name: String,
    kubeconfig: String,
}

impl TestNamespace {
    /// Delete namespace `name` (already created by the test) with the guard.
    pub fn adopt(stack: &Stack, name: &str) -> Self {
        Self { name: name.to_owned(), kubeconfig: stack.get("KUBECONFIG").to_owned() }
    }
}

impl std::ops::Deref for TestNamespace {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl Drop for TestNamespace {
    fn drop(&mut self) {
        if keep() || std::env::var_os("TRIPNEST_KEEP_NAMESPACES").is_some() {
            eprintln!("kept namespace {} (TRIPNEST_KEEP_NAMESPACES or TRIPNEST_KEEP_TEST_DATA)", self.name);
            return;
        }
        let kubectl =
            |args: &[&str]| std::process::Command::new("kubectl").arg("--kubeconfig").arg(&self.kubeconfig).args(args).output().ok();
        let hotels = kubectl(&["-n", &self.name, "get", "hotels.tripnest.io", "-o", "name"]);
        for h in hotels.map(|o| String::from_utf8_lossy(&o.stdout).into_owned()).unwrap_or_default().lines() {
            kubectl(&["-n", &self.name, "patch", h, "--type", "merge", "-p", r#"{"metadata":{"finalizers":null}}"#]);
        }
        if kubectl(&["delete", "namespace", &self.name, "--wait=false"]).is_none_or(|o| !o.status.success()) {
            eprintln!("could not delete namespace {}", self.name);
        }
    }
}
