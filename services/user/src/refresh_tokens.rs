//! Refresh tokens: opaque random 32 bytes (base64url), stored only as their SHA-256.
//!
//! A login starts a *family*. Each refresh marks the presented token rotated and issues its
//! successor in the same family. Presenting a token that was already rotated means two
//! parties hold the family (one of them stole it), so the whole family is revoked
//! (`reuse_detected`) and both must log in again. Logout revokes the family too.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};
use sqlx::{PgConnection, PgPool};
use std::time::Duration;
use uuid::Uuid;

/// Why a refresh token was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum RefreshError {
    /// Unknown, expired or revoked.
    #[error("refresh token is invalid, expired or revoked")]
    Invalid,
    /// An already-rotated token came back; its family is now revoked.
    #[error("refresh token was already used; every session of this login is revoked")]
    Reused,
    /// The database failed.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl From<sqlx::Error> for RefreshError {
    fn from(e: sqlx::Error) -> Self {
        Self::Internal(e.into())
    }
}

/// A token to hand to the client (shown once, never stored).
#[derive(Debug)]
pub struct IssuedRefreshToken {
    /// The opaque token.
    pub token: String,
    /// The user it belongs to.
    pub user_id: Uuid,
}

fn generate() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

fn digest(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

fn expiry(ttl: Duration) -> anyhow::Result<DateTime<Utc>> {
    Ok(Utc::now() + chrono::Duration::from_std(ttl)?)
}

async fn insert(conn: &mut PgConnection, family_id: Uuid, ttl: Duration) -> anyhow::Result<(Uuid, String)> {
    let (id, token) = (Uuid::now_v7(), generate());
    sqlx::query("INSERT INTO refresh_tokens (id, family_id, token_hash, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(id)
        .bind(family_id)
        .bind(digest(&token))
        .bind(expiry(ttl)?)
        .execute(conn)
        .await?;
    Ok((id, token))
}

/// Start a new family for a fresh login and issue its first token.
pub async fn issue(pool: &PgPool, user_id: Uuid, ttl: Duration) -> anyhow::Result<IssuedRefreshToken> {
    let mut tx = pool.begin().await?;
    let family_id = Uuid::now_v7();
    sqlx::query("INSERT INTO refresh_token_families (id, user_id) VALUES ($1, $2)").bind(family_id).bind(user_id).execute(&mut *tx).await?;
    let (_, token) = insert(&mut tx, family_id, ttl).await?;
    tx.commit().await?;
    Ok(IssuedRefreshToken { token, user_id })
}

struct LockedFamily {
    id: Uuid,
    user_id: Uuid,
    revoked: bool,
}

/// Find the family of `token` and lock it, so refreshes and logouts of one login serialise.
async fn lock_family(conn: &mut PgConnection, token_hash: &[u8]) -> sqlx::Result<Option<LockedFamily>> {
    let family: Option<Uuid> = sqlx::query_scalar("SELECT family_id FROM refresh_tokens WHERE token_hash = $1")
        .bind(token_hash)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(family) = family else { return Ok(None) };
    let row: (Uuid, bool) = sqlx::query_as("SELECT user_id, revoked_at IS NOT NULL FROM refresh_token_families WHERE id = $1 FOR UPDATE")
        .bind(family)
        .fetch_one(conn)
        .await?;
    Ok(Some(LockedFamily { id: family, user_id: row.0, revoked: row.1 }))
}

/// Exchange `token` for its successor. Concurrent refreshes of one token serialise on the
/// family lock: the first wins, the second counts as reuse.
pub async fn rotate(pool: &PgPool, token: &str, ttl: Duration) -> Result<IssuedRefreshToken, RefreshError> {
    let token_hash = digest(token);
    let mut tx = pool.begin().await?;
    let Some(family) = lock_family(&mut tx, &token_hash).await? else { return Err(RefreshError::Invalid) };
    // Read after taking the lock, so a rotation that committed meanwhile is seen.
    let (id, expires_at, rotated): (Uuid, DateTime<Utc>, bool) =
        sqlx::query_as("SELECT id, expires_at, rotated_at IS NOT NULL FROM refresh_tokens WHERE token_hash = $1")
            .bind(&token_hash)
            .fetch_one(&mut *tx)
            .await?;
    if rotated {
        if !family.revoked {
            revoke_family(&mut tx, family.id, "reuse_detected").await?;
        }
        tx.commit().await?;
        tracing::warn!(user_id = %family.user_id, family_id = %family.id, "refresh token reuse detected; family revoked");
        return Err(RefreshError::Reused);
    }
    if family.revoked || expires_at <= Utc::now() {
        return Err(RefreshError::Invalid);
    }
    let (next_id, next) = insert(&mut tx, family.id, ttl).await?;
    sqlx::query("UPDATE refresh_tokens SET rotated_at = now(), replaced_by = $2 WHERE id = $1")
        .bind(id)
        .bind(next_id)
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(IssuedRefreshToken { token: next, user_id: family.user_id })
}

/// Revoke the family `token` belongs to (logout). Unknown tokens are ignored: logging out
/// twice is not an error, and the answer says nothing about which tokens exist.
pub async fn revoke(pool: &PgPool, token: &str) -> anyhow::Result<()> {
    let mut tx = pool.begin().await?;
    if let Some(family) = lock_family(&mut tx, &digest(token)).await?
        && !family.revoked
    {
        revoke_family(&mut tx, family.id, "logout").await?;
    }
    tx.commit().await?;
    Ok(())
}

async fn revoke_family(conn: &mut PgConnection, family_id: Uuid, reason: &'static str) -> sqlx::Result<()> {
    sqlx::query("UPDATE refresh_token_families SET revoked_at = now(), revoked_reason = $2 WHERE id = $1")
        .bind(family_id)
        .bind(reason)
        .execute(conn)
        .await
        .map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_32_random_bytes_in_base64url_and_stored_as_sha256() {
        let (a, b) = (generate(), generate());
        assert_eq!(URL_SAFE_NO_PAD.decode(&a).expect("base64url").len(), 32);
        assert_ne!(a, b);
        assert_eq!(digest(&a).len(), 32);
        assert_eq!(digest(&a), digest(&a.clone()));
    }
}
