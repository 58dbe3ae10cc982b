//! JWKS, key rotation, expiry, and replicas that start together.

use crate::helpers::{kid_of, spawn_app, start_replica, status_and_json};
use chrono::Utc;
use reqwest::StatusCode;
use std::{collections::HashSet, time::Duration};
use tripnest_common::auth::{AUDIENCE, Claims, ISSUER, JwksVerifier, Role, Signer};
use tripnest_e2e::{Stack, wait_until};
use tripnest_user::signing_keys;
use uuid::Uuid;

#[tokio::test]
async fn the_jwks_lists_the_key_and_tokens_verify_against_it() {
    let app = spawn_app().await;
    let session = app.signed_in_user().await;

    let jwks = app.jwks().await;
    let keys = jwks["keys"].as_array().expect("keys");
    assert_eq!(keys.len(), 1);
    assert_eq!((keys[0]["kty"].as_str(), keys[0]["crv"].as_str(), keys[0]["alg"].as_str()), (Some("OKP"), Some("Ed25519"), Some("EdDSA")));
    assert_eq!(keys[0]["kid"], kid_of(&session.access_token).as_str());
    assert!(keys[0].get("d").is_none(), "the private half is never published");

    let claims = JwksVerifier::new(app.jwks_url()).verify(&session.access_token).await.expect("verifies");
    assert_eq!(claims.sub.to_string(), session.body["user"]["id"].as_str().expect("id"));
    assert_eq!((claims.iss.as_str(), claims.aud.as_str(), claims.roles.as_slice()), (ISSUER, AUDIENCE, [Role::Traveller].as_slice()));
    assert!((claims.exp - claims.iat - 900).abs() <= 1, "15 minutes by default");
}

#[tokio::test]
async fn after_rotation_old_tokens_still_verify_and_new_tokens_carry_the_new_kid() {
    let app = spawn_app().await;
    let before = app.signed_in_user().await;
    let old_kid = kid_of(&before.access_token);

    let new_kid = app.rotate_signing_key().await;
    assert_ne!(new_kid, old_kid);
    let after = app.session(before.body["user"]["email"].as_str().expect("email")).await;
    assert_eq!(kid_of(&after.access_token), new_kid);

    let published: Vec<String> =
        app.jwks().await["keys"].as_array().expect("keys").iter().map(|k| k["kid"].as_str().expect("kid").to_owned()).collect();
    assert_eq!(published, [new_kid, old_kid], "the new key first, the old one until it retires");
    let verifier = JwksVerifier::new(app.jwks_url());
    verifier.verify(&before.access_token).await.expect("old key still verifies");
    verifier.verify(&after.access_token).await.expect("new key verifies");
    assert_eq!(app.me(&before.access_token).await.status(), StatusCode::OK);

    let active: i64 =
        sqlx::query_scalar("SELECT count(*) FROM signing_keys WHERE retired_at IS NULL").fetch_one(&app.pool).await.expect("count");
    assert_eq!(active, 1);
}

#[tokio::test]
async fn a_retired_key_leaves_the_jwks_and_its_tokens_stop_working() {
    let app = spawn_app().await;
    let before = app.signed_in_user().await;
    app.rotate_signing_key().await;
    sqlx::query("UPDATE signing_keys SET retired_at = now() WHERE retired_at IS NOT NULL").execute(&app.pool).await.expect("retire");

    wait_until("the retired key to leave the JWKS", Duration::from_secs(5), || async {
        (app.jwks().await["keys"].as_array().expect("keys").len() == 1).then_some(())
    })
    .await;
    // This replica still caches the retired key; a verifier that reloads keys for an unknown kid does not.
    let fresh_verifier = JwksVerifier::new(app.jwks_url());
    assert_eq!(fresh_verifier.verify(&before.access_token).await.expect_err("retired").status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_expired_access_token_is_rejected_by_me() {
    let app = spawn_app().await;
    let session = app.signed_in_user().await;
    let (kid, secret): (String, Vec<u8>) =
        sqlx::query_as("SELECT kid, secret FROM signing_keys WHERE retired_at IS NULL").fetch_one(&app.pool).await.expect("active key");
    let signer = Signer::from_secret(kid, &secret.try_into().expect("32 bytes"));
    let now = Utc::now().timestamp();
    let claims = |iat: i64, exp: i64| Claims {
        sub: session.body["user"]["id"].as_str().expect("id").parse::<Uuid>().expect("uuid"),
        email: session.body["user"]["email"].as_str().expect("email").to_owned(),
        name: None,
        phone: None,
        roles: vec![Role::Traveller],
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat,
        exp,
    };

    assert_eq!(app.me(&signer.issue(&claims(now, now + 60))).await.status(), StatusCode::OK, "the same key and claims, unexpired");
    let (status, body) = status_and_json(app.me(&signer.issue(&claims(now - 960, now - 60))).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["error"]["message"], "token expired");
}

#[tokio::test]
async fn two_replicas_starting_at_once_share_one_signing_key() {
    let app = spawn_app().await;
    sqlx::query("DELETE FROM signing_keys").execute(&app.pool).await.expect("start from no key");

    let (a, b) = tokio::join!(start_replica(&app.database_url), start_replica(&app.database_url));
    let keys: Vec<String> = sqlx::query_scalar("SELECT kid FROM signing_keys").fetch_all(&app.pool).await.expect("keys");
    assert_eq!(keys.len(), 1, "one key created, not two: {keys:?}");
    for replica in [&a, &b] {
        let jwks: serde_json::Value =
            reqwest::get(format!("{}/.well-known/jwks.json", replica.url())).await.expect("jwks").json().await.expect("json");
        assert_eq!(jwks["keys"][0]["kid"], keys[0].as_str());
    }
    a.shutdown.cancel();
    b.shutdown.cancel();
}

#[tokio::test]
async fn concurrent_key_creation_and_rotation_keep_exactly_one_active_key() {
    let app = spawn_app().await;
    sqlx::query("DELETE FROM signing_keys").execute(&app.pool).await.expect("start from no key");

    let mut creators = tokio::task::JoinSet::new();
    for _ in 0..6 {
        let pool = app.pool.clone();
        creators.spawn(async move { signing_keys::ensure_active_key(&pool).await.expect("ensure") });
    }
    let created: HashSet<String> = creators.join_all().await.into_iter().collect();
    assert_eq!(created.len(), 1, "every caller sees the same single key: {created:?}");

    let mut rotators = tokio::task::JoinSet::new();
    for _ in 0..4 {
        let pool = app.pool.clone();
        rotators.spawn(async move { signing_keys::rotate(&pool, Duration::from_secs(60)).await.expect("rotate") });
    }
    let rotated: HashSet<String> = rotators.join_all().await.into_iter().collect();
    assert_eq!(rotated.len(), 4);
    let (active, total): (i64, i64) = sqlx::query_as("SELECT count(*) FILTER (WHERE retired_at IS NULL), count(*) FROM signing_keys")
        .fetch_one(&app.pool)
        .await
        .expect("count");
    assert_eq!((active, total), (1, 5));
}

#[tokio::test]
async fn readiness_checks_the_database_and_logins_are_counted() {
    let app = spawn_app().await;
    app.signed_in_user().await;
    let ready = app.http.get(format!("{}/readyz", app.url)).send().await.expect("readyz");
    assert_eq!(ready.status(), StatusCode::OK);
    let metrics = app.http.get(format!("{}/metrics", app.ops_url)).send().await.expect("metrics").text().await.expect("text");
    assert!(metrics.lines().any(|l| l.starts_with("user_logins_total{") && l.contains(r#"outcome="success""#)), "{metrics}");

    app.pool.close().await;
    let admin = sqlx::PgPool::connect(Stack::load().database_url()).await.expect("admin connection");
    let database = app.database_url.rsplit('/').next().expect("database name");
    sqlx::query(sqlx::AssertSqlSafe(format!(r#"DROP DATABASE "{database}" WITH (FORCE)"#))).execute(&admin).await.expect("drop database");
    let failed = wait_until("/readyz to report postgres failing", Duration::from_secs(15), || async {
        let resp = app.http.get(format!("{}/readyz", app.url)).send().await.ok()?;
        let (status, body) = status_and_json(resp).await;
        (status == StatusCode::SERVICE_UNAVAILABLE).then(|| body["failed"].clone())
    })
    .await;
    assert!(failed["postgres"].is_string(), "{failed}");
}
