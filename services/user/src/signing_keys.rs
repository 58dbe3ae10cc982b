//! The Ed25519 keys that sign access tokens, stored in `signing_keys`.
//!
//! Exactly one key is active (`retired_at IS NULL`); it signs new tokens. Rotation gives the
//! active key a future `retired_at` and inserts a new active key, so the JWKS keeps listing the
//! old key until every token it signed has expired. Creating and rotating take a transaction
//! advisory lock, and a unique partial index backs the one-active-key rule, so replicas that
//! start or rotate at the same moment never end up with two active keys.
//!
//! [`KeyRing`] caches the keys: signing re-reads them every `signing_key_reload_secs` (to pick
//! up a rotation made by another replica), the JWKS is at most a second old, and a token with
//! an unknown `kid` triggers a reload before it is refused.

use anyhow::Context;
use chrono::Utc;
use jsonwebtoken::{Algorithm, DecodingKey, Validation, errors::ErrorKind, jwk::JwkSet};
use sqlx::{PgConnection, PgPool};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::RwLock;
use tripnest_common::{
    ApiError,
    auth::{AUDIENCE, Claims, ISSUER, Signer, jwks},
};

/// Key for `pg_advisory_xact_lock`, serialising key creation and rotation across replicas.
const SIGNING_KEYS_LOCK: i64 = 0x7472_6970_6b65_7973; // "tripkeys"

/// The least time between two reloads caused by requests (JWKS, unknown `kid`).
const MIN_RELOAD_INTERVAL: Duration = Duration::from_secs(1);

/// Seconds of clock skew tolerated on `exp`, as in `tripnest_common::auth::JwksVerifier`.
const LEEWAY_SECS: u64 = 5;

/// Create an active key if there is none; returns the active key id.
pub async fn ensure_active_key(pool: &PgPool) -> anyhow::Result<String> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let active: Option<String> =
        sqlx::query_scalar("SELECT kid FROM signing_keys WHERE retired_at IS NULL").fetch_optional(&mut *tx).await?;
    let kid = match active {
        Some(kid) => kid,
        None => {
            let kid = insert_new_key(&mut tx).await?;
            tracing::info!(kid, "created the first signing key");
            kid
        }
    };
    tx.commit().await?;
    Ok(kid)
}

/// Make a new active key; the previous one stays published for `grace`, then retires.
/// Returns the new key id. Safe to call from any replica (or a one-off CLI).
pub async fn rotate(pool: &PgPool, grace: Duration) -> anyhow::Result<String> {
    let mut tx = pool.begin().await?;
    lock(&mut tx).await?;
    let retire_at = Utc::now() + chrono::Duration::from_std(grace).context("grace period out of range")?;
    let previous: Option<String> = sqlx::query_scalar("UPDATE signing_keys SET retired_at = $1 WHERE retired_at IS NULL RETURNING kid")
        .bind(retire_at)
        .fetch_optional(&mut *tx)
        .await?;
    let kid = insert_new_key(&mut tx).await?;
    tx.commit().await?;
    tracing::info!(kid, previous, %retire_at, "rotated the signing key");
    metrics::counter!("user_signing_key_rotations_total").increment(1);
    Ok(kid)
}

async fn lock(tx: &mut PgConnection) -> sqlx::Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)").bind(SIGNING_KEYS_LOCK).execute(tx).await.map(|_| ())
}

async fn insert_new_key(tx: &mut PgConnection) -> anyhow::Result<String> {
    let signer = Signer::generate(uuid::Uuid::now_v7().simple().to_string());
    sqlx::query("INSERT INTO signing_keys (kid, secret) VALUES ($1, $2)")
        .bind(signer.kid())
        .bind(signer.secret().as_slice())
        .execute(tx)
        .await?;
    Ok(signer.kid().to_owned())
}

/// The keys currently published: the active one first, then rotated-out ones not yet retired.
struct PublishedKeys {
    active: Arc<Signer>,
    all: Vec<Arc<Signer>>,
    decoding: HashMap<String, DecodingKey>,
    loaded_at: Instant,
}

/// The published keys, or `None` when no key is active (e.g. retired by hand).
async fn load(pool: &PgPool) -> anyhow::Result<Option<PublishedKeys>> {
    let rows: Vec<(String, Vec<u8>, bool)> = sqlx::query_as(
        "SELECT kid, secret, retired_at IS NULL AS active FROM signing_keys
         WHERE retired_at IS NULL OR retired_at > now()
         ORDER BY retired_at IS NULL DESC, created_at DESC",
    )
    .fetch_all(pool)
    .await?;
    let mut all = Vec::with_capacity(rows.len());
    let mut active = None;
    for (kid, secret, is_active) in rows {
        let secret: [u8; 32] = secret.try_into().map_err(|_| anyhow::anyhow!("signing key {kid} is not 32 bytes"))?;
        let signer = Arc::new(Signer::from_secret(kid, &secret));
        if is_active {
            active = Some(signer.clone());
        }
        all.push(signer);
    }
    let Some(active) = active else { return Ok(None) };
    let decoding = all
        .iter()
        .map(|s| Ok((s.kid().to_owned(), DecodingKey::from_jwk(&s.jwk()).context("a stored key does not make a decoding key")?)))
        .collect::<anyhow::Result<_>>()?;
    Ok(Some(PublishedKeys { active, all, decoding, loaded_at: Instant::now() }))
}

/// The service's signing keys, cached; see the module docs for when it reloads.
pub struct KeyRing {
    pool: PgPool,
    reload_every: Duration,
    keys: RwLock<PublishedKeys>,
}

impl std::fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyRing").field("reload_every", &self.reload_every).finish_non_exhaustive()
    }
}

impl KeyRing {
    /// Load the active key, creating one first if the database has none.
    pub async fn open(pool: PgPool, reload_every: Duration) -> anyhow::Result<Self> {
        ensure_active_key(&pool).await?;
        let keys = load(&pool).await?.context("no active signing key right after creating one")?;
        tracing::info!(kid = keys.active.kid(), published = keys.all.len(), "signing keys loaded");
        Ok(Self { pool, reload_every, keys: RwLock::new(keys) })
    }

    /// Sign `claims` with the active key.
    pub async fn sign(&self, claims: &Claims) -> anyhow::Result<String> {
        self.reload_if_older_than(self.reload_every).await?;
        Ok(self.keys.read().await.active.issue(claims))
    }

    /// The JWKS document. Re-read at most every second, so every replica publishes a
    /// rotation at once without an unauthenticated endpoint querying the database per request.
    pub async fn jwks(&self) -> anyhow::Result<JwkSet> {
        self.reload_if_older_than(MIN_RELOAD_INTERVAL).await?;
        let keys = self.keys.read().await;
        Ok(jwks(keys.all.iter().map(|s| &**s)))
    }

    /// Rotate (see [`rotate`]) and start signing with the new key at once.
    pub async fn rotate(&self, grace: Duration) -> anyhow::Result<String> {
        let kid = rotate(&self.pool, grace).await?;
        self.reload().await?;
        Ok(kid)
    }

    /// Verify an access token this service issued, with the same rules as the shared
    /// `JwksVerifier` (EdDSA, issuer, audience, expiry) but without an HTTP round trip.
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized("malformed token"))?;
        let kid = header.kid.ok_or_else(|| unauthorized("token has no key id"))?;
        let mut key = self.keys.read().await.decoding.get(&kid).cloned();
        if key.is_none() {
            self.reload_if_older_than(MIN_RELOAD_INTERVAL).await?;
            key = self.keys.read().await.decoding.get(&kid).cloned();
        }
        let key = key.ok_or_else(|| unauthorized("token signed by an unknown key"))?;
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = LEEWAY_SECS;
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map(|d| d.claims).map_err(|e| match e.kind() {
            ErrorKind::ExpiredSignature => unauthorized("token expired"),
            _ => unauthorized("invalid token"),
        })
    }

    async fn reload_if_older_than(&self, max_age: Duration) -> anyhow::Result<()> {
        if self.keys.read().await.loaded_at.elapsed() >= max_age {
            self.reload().await?;
        }
        Ok(())
    }

    async fn reload(&self) -> anyhow::Result<()> {
        let fresh = match load(&self.pool).await? {
            Some(keys) => keys,
            // The active key was retired by hand: make a new one rather than stop signing.
            None => {
                ensure_active_key(&self.pool).await?;
                load(&self.pool).await?.context("no active signing key right after creating one")?
            }
        };
        *self.keys.write().await = fresh;
        Ok(())
    }
}

fn unauthorized(why: &str) -> ApiError {
    ApiError::Unauthorized(why.to_owned())
}
