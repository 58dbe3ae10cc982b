//! The user service: accounts, login, access and refresh tokens, and the JWKS every other
//! service verifies access tokens against.
//!
//! - **Sign-in throttle** (`login_throttle`): failed logins spend budgets per account and per
//!   (account, source address) in PostgreSQL; over budget is a 429 with `Retry-After`.
//! - **Credentials**: emails are normalised (NFKC, lower case) and refused when they hide
//!   invisible or look-alike characters; passwords must pass zxcvbn (see `users`).
//! - **Passwords** are hashed with argon2id (PHC strings, random salt) on the blocking pool,
//!   with a bound on concurrent hashes. A login for an unknown email verifies against a decoy
//!   hash, so the answer and its timing are the same whether or not the account exists.
//! - **Access tokens** are EdDSA JWTs (15 min by default) signed with the active key from
//!   `signing_keys`. Keys rotate with [`rotate_signing_key`] (or `POST /internal/signing-keys/rotate`);
//!   the previous key stays in the JWKS until every token it signed has expired.
//! - **Refresh tokens** are opaque, stored as SHA-256, rotate on every use, and belong to a
//!   family (one per login); presenting an already-rotated token revokes the family.
//! - `GET /me` verifies tokens locally against the service's own key ring rather than through
//!   its JWKS URL: same keys, same rules, no HTTP call to itself and no URL to configure.
//! - Roles: public registration makes travellers; managers and admins are created through
//!   `POST /internal/users`, guarded by the internal service token.

mod config;
mod login_throttle;
mod password;
mod refresh_tokens;
mod routes;
pub mod signing_keys;
mod users;

pub use config::{Config, LoginBudget, LoginThrottleConfig, PasswordHashingConfig};

use anyhow::Context;
use login_throttle::LoginThrottle;
use password::Passwords;
use signing_keys::KeyRing;
use sqlx::{PgPool, migrate::Migrator};
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_common::{auth::InternalToken, db, http::Readiness, service};

/// Name used in logs, metrics labels and event sources.
pub const NAME: &str = "user";

static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// What every handler shares; cheap to clone.
#[derive(Clone)]
struct AppState {
    pool: PgPool,
    keys: Arc<KeyRing>,
    passwords: Passwords,
    throttle: LoginThrottle,
    cfg: Arc<Config>,
}

/// Connect to the service's database and bring its schema up to date.
/// This service's part of the public API (paths without the gateway's `/api`).
pub fn openapi() -> utoipa::openapi::OpenApi {
    routes::openapi()
}

pub async fn connect(cfg: &Config) -> anyhow::Result<PgPool> {
    let url = cfg.common.database_url.as_ref().context("APP_DATABASE_URL is not set; the user service needs its PostgreSQL database")?;
    let pool = db::connect(url, cfg.max_connections).await?;
    db::migrate(&pool, &MIGRATOR).await.context("migrating the user database")?;
    Ok(pool)
}

/// Connect and migrate the database, load (or create) the signing key, and serve.
pub async fn start(cfg: Config, shutdown: CancellationToken) -> anyhow::Result<service::Running> {
    let pool = connect(&cfg).await?;
    let keys = Arc::new(KeyRing::open(pool.clone(), Duration::from_secs(cfg.signing_key_reload_secs)).await?);
    let passwords = Passwords::new(&cfg.password_hashing).await?;
    let internal_token = cfg.internal_token.clone().map(|t| InternalToken(Arc::new(t)));
    if internal_token.is_none() {
        tracing::warn!("APP_INTERNAL_TOKEN is not set; /internal routes are disabled");
    }
    let readiness = Readiness::default().with_check("postgres", db::readiness(pool.clone()));
    let throttle = LoginThrottle::new(pool.clone(), &cfg.login_throttle);
    let state = AppState { pool: pool.clone(), keys, passwords, throttle: throttle.clone(), cfg: Arc::new(cfg) };
    let routes = routes::router(state.clone(), internal_token);
    let sweeper = tokio::spawn(sweep_login_budgets(throttle, shutdown.clone()));
    let service = service::start(NAME, &state.cfg.common, routes, readiness, shutdown).await?;
    Ok(service.with_worker(sweeper).with_cleanup(async move { pool.close().await }))
}

/// Once a minute, delete the failed-login budgets that are full again.
async fn sweep_login_budgets(throttle: LoginThrottle, shutdown: CancellationToken) {
    let mut every = tokio::time::interval(Duration::from_secs(60));
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            _ = every.tick() => {
                if let Err(e) = throttle.sweep().await {
                    tracing::warn!(error = %e, "sweeping login budgets failed");
                }
            }
        }
    }
}

/// Make a new active signing key (the previous one stays published until its tokens expire).
/// For operators: run once against the service's database; replicas pick the key up within
/// `signing_key_reload_secs`. Returns the new key id.
pub async fn rotate_signing_key(cfg: &Config) -> anyhow::Result<String> {
    let pool = connect(cfg).await?;
    let kid = signing_keys::rotate(&pool, cfg.retired_key_grace()).await;
    pool.close().await;
    kid
}
