//! PostgreSQL: one way to connect (creating the service's own database on first start),
//! migrate (the shared outbox / processed-events schema, then the service's embedded
//! migrations), check readiness, and recognise constraint violations by name.
//!
//! Shared migrations use versions below 1000; services number theirs from 1000 up. Both
//! migrators ignore each other's versions.

use secrecy::{ExposeSecret, SecretString};
use sqlx::{
    ConnectOptions, PgPool,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
};
use std::{str::FromStr, time::Duration};

/// The outbox and processed-events tables every event-producing or consuming service has.
pub static SHARED_MIGRATIONS: Migrator = sqlx::migrate!("./migrations");

/// Connect to the database named in `url`, creating it first if it does not exist.
pub async fn connect(url: &SecretString, max_connections: u32) -> anyhow::Result<PgPool> {
    let options =
        PgConnectOptions::from_str(url.expose_secret())?.log_slow_statements(tracing::log::LevelFilter::Warn, Duration::from_millis(500));
    ensure_database(&options).await?;
    let pool = PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(Duration::from_secs(5))
        .connect_with(options)
        .await
        .map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
    Ok(pool)
}

async fn ensure_database(options: &PgConnectOptions) -> anyhow::Result<()> {
    let Some(name) = options.get_database().map(str::to_owned) else { return Ok(()) };
    let admin = options.clone().database("postgres");
    let mut conn = admin.connect().await.map_err(|e| anyhow::anyhow!("cannot connect to PostgreSQL: {e}"))?;
    let exists: bool =
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)").bind(&name).fetch_one(&mut conn).await?;
    if !exists {
        let sql = format!(r#"CREATE DATABASE "{}""#, name.replace('"', "\"\""));
        match sqlx::raw_sql(sqlx::AssertSqlSafe(sql)).execute(&mut conn).await {
            Ok(_) => tracing::info!(database = name, "created database"),
            // Another replica created it at the same moment.
            Err(e) if matches!(constraint_code(&e).as_deref(), Some("42P04" | "23505")) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Run the shared migrations, then the service's own.
pub async fn migrate(pool: &PgPool, service: &Migrator) -> anyhow::Result<()> {
    for migrator in [&SHARED_MIGRATIONS, service] {
        // Each migrator sees the other's versions in `_sqlx_migrations`; that is expected.
        let tolerant = Migrator { ignore_missing: true, ..Migrator::with_migrations(migrator.iter().cloned().collect()) };
        tolerant.run(pool).await?;
    }
    Ok(())
}

/// A readiness probe: one round trip on the pool.
pub fn readiness(pool: PgPool) -> impl Fn() -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync + 'static {
    move || {
        let pool = pool.clone();
        Box::pin(async move { sqlx::query("SELECT 1").execute(&pool).await.map(|_| ()).map_err(|e| e.to_string()) })
    }
}

/// The SQLSTATE of a database error (e.g. `23505` unique violation).
pub fn constraint_code(e: &sqlx::Error) -> Option<String> {
    e.as_database_error().and_then(|d| d.code()).map(|c| c.into_owned())
}

/// The name of the constraint a database error violated, if any.
pub fn constraint_name(e: &sqlx::Error) -> Option<&str> {
    e.as_database_error().and_then(|d| d.constraint())
}
