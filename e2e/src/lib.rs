//! The one test harness for tests that need the real local stack.
//!
//! [`Stack`] reads `.tripnest/stack.env` (written by `make up`), with process environment
//! variables taking precedence, so the same tests run against any stack. Helpers give each
//! test its own isolated resources (a fresh database, a unique topic, namespace or key), and
//! [`wait_until`] polls a condition with a deadline — tests never sleep and hope.

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

    /// Superuser URL of the PostgreSQL server.
    pub fn database_url(&self) -> &str {
        self.get("DATABASE_URL")
    }

    /// A fresh, uniquely named database for one test, and its URL.
    pub async fn fresh_database(&self) -> (sqlx::PgPool, String) {
        let name = format!("t_{}", uuid::Uuid::new_v4().simple());
        let admin = sqlx::PgPool::connect(self.database_url()).await.expect("connect to postgres (is the stack up?)");
        sqlx::raw_sql(sqlx::AssertSqlSafe(format!(r#"CREATE DATABASE "{name}""#))).execute(&admin).await.expect("create test database");
        let url = with_database(self.database_url(), &name);
        (sqlx::PgPool::connect(&url).await.expect("connect to test database"), url)
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
