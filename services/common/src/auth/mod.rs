//! Authentication shared by every service.
//!
//! - [`JwksVerifier`] checks access tokens (EdDSA JWTs issued by the user service) against the
//!   user service's JWKS. Keys are cached; an unknown `kid` triggers one refresh (at most every
//!   few seconds), so a key rotation needs no restart. A token it verified is remembered (by its
//!   exact text, at most [`VERIFIED_HELD`] twice over) until it expires or a refresh empties the
//!   memory: the same bytes verify the same way, and the signature check is most of the CPU a
//!   signed-in request costs a service (every request is checked by the gateway and again by
//!   the service; a bench profile of booking creation: ~10 % of booking's CPU).
//! - [`Caller`] is the extractor handlers take to require a signed-in user; [`OptionalCaller`]
//!   lets public routes personalise when a token is present.
//! - [`ServiceToken`] guards internal APIs (operator → booking) with a shared bearer token.

mod signer;

pub use signer::{Signer, jwks};

use crate::error::ApiError;
use axum::{
    extract::{FromRef, FromRequestParts},
    http::{header::AUTHORIZATION, request::Parts},
};
use jsonwebtoken::{Algorithm, DecodingKey, Validation, jwk::JwkSet};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::{
    collections::HashMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::RwLock;
use uuid::Uuid;

/// Issuer of access tokens.
pub const ISSUER: &str = "tripnest-user";
/// Audience of access tokens.
pub const AUDIENCE: &str = "tripnest";

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Books stays.
    Traveller,
    /// Manages hotels (read-only occupancy in the UI).
    Manager,
    /// Every permission of the traveller and manager roles.
    Admin,
}

/// The claims of an access token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: Uuid,
    /// Email (the login).
    pub email: String,
    /// Display name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Phone in E.164, if given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// Roles granted to the subject.
    pub roles: Vec<Role>,
    /// Issuer: the user service that signed the token.
    pub iss: String,
    /// Audience: the platform the token is valid for.
    pub aud: String,
    /// Issued at (unix seconds).
    pub iat: i64,
    /// Expiry (unix seconds).
    pub exp: i64,
}

impl Claims {
    /// Whether the user has `role` (admins have every role).
    pub fn has_role(&self, role: Role) -> bool {
        self.roles.contains(&role) || self.roles.contains(&Role::Admin)
    }
}

/// Tokens a verifier remembers, per half (it keeps two halves: when the newer fills, the older
/// is dropped).
pub const VERIFIED_HELD: usize = 4096;

/// Tokens verified lately and their claims, in two halves: when the newer fills, the older is
/// dropped and the newer becomes it (bounded memory, O(1) per request).
#[derive(Debug, Default)]
struct Verified {
    newer: HashMap<String, Claims>,
    older: HashMap<String, Claims>,
}

impl Verified {
    /// The claims of `token` if it was verified and has not expired by `now` (unix seconds).
    fn get(&mut self, token: &str, now: i64) -> Option<Claims> {
        let claims = match self.newer.get(token) {
            Some(c) => c.clone(),
            None => {
                let c = self.older.remove(token)?;
                self.keep(token, c.clone());
                c
            }
        };
        (claims.exp > now).then_some(claims)
    }

    fn keep(&mut self, token: &str, claims: Claims) {
        if self.newer.len() >= VERIFIED_HELD {
            self.older = std::mem::take(&mut self.newer);
        }
        self.newer.insert(token.to_owned(), claims);
    }

    fn clear(&mut self) {
        self.newer.clear();
        self.older.clear();
    }
}

/// Verifies access tokens against a JWKS endpoint.
#[derive(Debug)]
pub struct JwksVerifier {
    url: String,
    http: reqwest::Client,
    keys: RwLock<(HashMap<String, DecodingKey>, Option<Instant>)>,
    verified: std::sync::Mutex<Verified>,
    min_refresh: Duration,
}

impl JwksVerifier {
    /// A verifier for the JWKS at `url` (e.g. `http://user:8080/.well-known/jwks.json`).
    pub fn new(url: impl Into<String>) -> Self {
        Self {
            url: url.into(),
            http: reqwest::Client::builder().timeout(Duration::from_secs(3)).build().expect("http client"),
            keys: RwLock::new((HashMap::new(), None)),
            verified: std::sync::Mutex::default(),
            min_refresh: Duration::from_secs(5),
        }
    }

    /// Verify `token` and return its claims, or a 401 saying why.
    pub async fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        let now = chrono::Utc::now().timestamp();
        if let Some(claims) = self.verified().get(token, now) {
            return Ok(claims);
        }
        let claims = self.verify_signed(token).await?;
        self.verified().keep(token, claims.clone());
        Ok(claims)
    }

    fn verified(&self) -> std::sync::MutexGuard<'_, Verified> {
        self.verified.lock().unwrap_or_else(|e| e.into_inner())
    }

    async fn verify_signed(&self, token: &str) -> Result<Claims, ApiError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| unauthorized("malformed token"))?;
        let kid = header.kid.ok_or_else(|| unauthorized("token has no key id"))?;
        let key = match self.key(&kid).await {
            Some(k) => k,
            None => {
                self.refresh().await;
                self.key(&kid).await.ok_or_else(|| unauthorized("token signed by an unknown key"))?
            }
        };
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_issuer(&[ISSUER]);
        validation.set_audience(&[AUDIENCE]);
        validation.leeway = 5;
        jsonwebtoken::decode::<Claims>(token, &key, &validation).map(|d| d.claims).map_err(|e| match e.kind() {
            jsonwebtoken::errors::ErrorKind::ExpiredSignature => unauthorized("token expired"),
            _ => unauthorized("invalid token"),
        })
    }

    async fn key(&self, kid: &str) -> Option<DecodingKey> {
        self.keys.read().await.0.get(kid).cloned()
    }

    async fn refresh(&self) {
        let mut guard = self.keys.write().await;
        if guard.1.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return;
        }
        guard.1 = Some(Instant::now());
        match self.fetch().await {
            Ok(keys) => {
                // A key may be gone: what it verified must be verified again.
                self.verified().clear();
                guard.0 = keys;
            }
            Err(e) => tracing::warn!(url = self.url, error = format!("{e:#}"), "JWKS refresh failed"),
        }
    }

    async fn fetch(&self) -> anyhow::Result<HashMap<String, DecodingKey>> {
        let set: JwkSet = self.http.get(&self.url).send().await?.error_for_status()?.json().await?;
        Ok(set.keys.iter().filter_map(|jwk| Some((jwk.common.key_id.clone()?, DecodingKey::from_jwk(jwk).ok()?))).collect())
    }
}

fn unauthorized(why: &str) -> ApiError {
    ApiError::Unauthorized(why.to_owned())
}

fn bearer(parts: &Parts) -> Option<&str> {
    parts.headers.get(AUTHORIZATION)?.to_str().ok()?.strip_prefix("Bearer ").map(str::trim)
}

/// The signed-in user making the request.
#[derive(Debug, Clone)]
pub struct Caller(pub Claims);

impl<S> FromRequestParts<S> for Caller
where
    Arc<JwksVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let token = bearer(parts).ok_or_else(|| unauthorized("sign in: missing bearer token"))?;
        let verifier = Arc::<JwksVerifier>::from_ref(state);
        Ok(Self(verifier.verify(token).await?))
    }
}

/// The signed-in user if the request carries a bearer token, `None` if it carries none: for
/// public routes that personalise (recommendations). A token that is present but invalid or
/// expired is still a 401, so a client learns its session ended instead of silently getting
/// anonymous results.
#[derive(Debug, Clone)]
pub struct OptionalCaller(pub Option<Claims>);

impl<S> FromRequestParts<S> for OptionalCaller
where
    Arc<JwksVerifier>: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        if !parts.headers.contains_key(AUTHORIZATION) {
            return Ok(Self(None));
        }
        Caller::from_request_parts(parts, state).await.map(|Caller(claims)| Self(Some(claims)))
    }
}

/// The shared secret internal callers present (`Authorization: Bearer <token>`).
#[derive(Debug, Clone)]
pub struct InternalToken(pub Arc<SecretString>);

/// Proof that the request carried the internal service token.
#[derive(Debug, Clone, Copy)]
pub struct ServiceToken;

impl<S> FromRequestParts<S> for ServiceToken
where
    InternalToken: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let expected = InternalToken::from_ref(state);
        let given = bearer(parts).ok_or_else(|| unauthorized("internal API: missing service token"))?;
        if constant_time_eq(given.as_bytes(), expected.0.expose_secret().as_bytes()) {
            Ok(Self)
        } else {
            Err(unauthorized("internal API: wrong service token"))
        }
    }
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_time_eq_compares_whole_values() {
        assert!(constant_time_eq(b"secret", b"secret"));
        assert!(!constant_time_eq(b"secret", b"secreT"));
        assert!(!constant_time_eq(b"secret", b"secret2"));
    }

    #[test]
    fn admins_have_every_role() {
        let c = Claims {
            sub: Uuid::nil(),
            email: "a@b.c".into(),
            name: None,
            phone: None,
            roles: vec![Role::Admin],
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: 0,
            exp: 0,
        };
        assert!(c.has_role(Role::Manager) && c.has_role(Role::Traveller));
        let t = Claims { roles: vec![Role::Traveller], ..c };
        assert!(!t.has_role(Role::Manager));
    }

    fn claims(exp_in: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            sub: Uuid::now_v7(),
            email: "ada@example.test".into(),
            name: None,
            phone: None,
            roles: vec![Role::Traveller],
            iss: ISSUER.into(),
            aud: AUDIENCE.into(),
            iat: now,
            exp: now + exp_in,
        }
    }

    /// A real JWKS endpoint on loopback serving `signers`, like the user service does.
    async fn jwks_peer(signers: Vec<Arc<Signer>>) -> String {
        jwks_peer_serving(Arc::new(std::sync::Mutex::new(signers))).await
    }

    /// [`jwks_peer`] serving whatever `signers` holds at each request.
    async fn jwks_peer_serving(signers: Arc<std::sync::Mutex<Vec<Arc<Signer>>>>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr().expect("addr"));
        let app = axum::Router::new().route(
            "/.well-known/jwks.json",
            axum::routing::get(move || {
                let signers = signers.lock().expect("signers").clone();
                async move { axum::Json(jwks(signers.iter().map(|s| &**s))) }
            }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        url
    }

    #[tokio::test]
    async fn tokens_verify_against_the_jwks_and_tampering_or_expiry_fails() {
        let signer = Arc::new(Signer::generate("k1"));
        let verifier = JwksVerifier::new(jwks_peer(vec![signer.clone()]).await);
        let c = claims(300);
        assert_eq!(verifier.verify(&signer.issue(&c)).await.expect("valid"), c);

        let expired = signer.issue(&claims(-60));
        assert!(verifier.verify(&expired).await.expect_err("expired").to_string().contains("expired"));

        let other = Signer::generate("k1"); // same kid, different key
        assert_eq!(verifier.verify(&other.issue(&c)).await.expect_err("forged").status(), 401);

        let mut wrong_aud = claims(300);
        wrong_aud.aud = "someone-else".into();
        assert_eq!(verifier.verify(&signer.issue(&wrong_aud)).await.expect_err("audience").status(), 401);
    }

    #[tokio::test]
    async fn a_rotated_key_is_picked_up_without_restart() {
        let old = Arc::new(Signer::generate("old"));
        let new = Arc::new(Signer::generate("new"));
        let url = jwks_peer(vec![new.clone(), old.clone()]).await;
        let verifier = JwksVerifier::new(url);
        assert!(verifier.verify(&old.issue(&claims(60))).await.is_ok());
        // `new` was not used yet, but the first refresh fetched the whole set.
        assert!(verifier.verify(&new.issue(&claims(60))).await.is_ok());
    }

    #[test]
    fn a_remembered_token_expires_and_memory_is_bounded() {
        let mut verified = Verified::default();
        let c = claims(10);
        verified.keep("t0", c.clone());
        assert_eq!(verified.get("t0", c.exp - 1), Some(c.clone()));
        assert_eq!(verified.get("t0", c.exp), None, "expired: verified again (and refused)");
        for i in 1..=2 * VERIFIED_HELD {
            verified.keep(&format!("t{i}"), c.clone());
        }
        assert_eq!(verified.get("t0", c.exp - 1), None, "the oldest is forgotten");
        assert!(verified.newer.len() + verified.older.len() <= 2 * VERIFIED_HELD);
        assert!(verified.get(&format!("t{}", 2 * VERIFIED_HELD), c.exp - 1).is_some());
    }

    #[tokio::test]
    async fn a_refresh_forgets_the_tokens_it_verified_so_a_retired_key_stops_verifying() {
        let (old, new) = (Arc::new(Signer::generate("old")), Arc::new(Signer::generate("new")));
        let served = Arc::new(std::sync::Mutex::new(vec![old.clone()]));
        let mut verifier = JwksVerifier::new(jwks_peer_serving(served.clone()).await);
        verifier.min_refresh = Duration::ZERO;
        let before = old.issue(&claims(300));
        verifier.verify(&before).await.expect("the old key verifies");
        verifier.verify(&before).await.expect("and again, remembered");
        // The user service retires the old key; the first token of the new one makes the
        // verifier refresh.
        *served.lock().expect("signers") = vec![new.clone()];
        verifier.verify(&new.issue(&claims(300))).await.expect("the new key verifies");
        assert_eq!(verifier.verify(&before).await.expect_err("retired").status(), 401);
    }

    #[test]
    fn a_stored_secret_recreates_the_same_key() {
        let a = Signer::generate("k");
        let b = Signer::from_secret("k", &a.secret());
        assert_eq!(serde_json::to_value(a.jwk()).expect("jwk"), serde_json::to_value(b.jwk()).expect("jwk"));
    }

    #[tokio::test]
    async fn optional_caller_is_none_without_a_token_and_401_with_a_bad_one() {
        use axum::{extract::FromRequestParts, http::Request};
        let signer = Arc::new(Signer::generate("k1"));
        let verifier = Arc::new(JwksVerifier::new(jwks_peer(vec![signer.clone()]).await));
        let extract = |auth: Option<String>| {
            let verifier = verifier.clone();
            async move {
                let mut req = Request::get("/recommendations");
                if let Some(value) = auth {
                    req = req.header(AUTHORIZATION, value);
                }
                let (mut parts, ()) = req.body(()).expect("request").into_parts();
                OptionalCaller::from_request_parts(&mut parts, &verifier).await
            }
        };
        assert!(extract(None).await.expect("anonymous is fine").0.is_none());
        let c = claims(60);
        let signed_in = extract(Some(format!("Bearer {}", signer.issue(&c)))).await.expect("valid token");
        assert_eq!(signed_in.0, Some(c));
        let expired = extract(Some(format!("Bearer {}", signer.issue(&claims(-60))))).await.expect_err("expired");
        assert_eq!(expired.status(), 401);
        assert_eq!(extract(Some("Basic abc".into())).await.expect_err("not bearer").status(), 401);
    }

    #[tokio::test]
    async fn garbage_tokens_are_401_without_a_network_call() {
        let v = JwksVerifier::new("http://127.0.0.1:9/jwks");
        let err = v.verify("not-a-jwt").await.expect_err("garbage");
        assert_eq!(err.status(), 401);
    }
}
