//! `spawn_app()`: the user service on a free port with its own fresh database, and a typed
//! client for its endpoints.

use reqwest::{Response, StatusCode};
use serde_json::{Value, json};
use sqlx::PgPool;
use tokio_util::sync::CancellationToken;
use tripnest_common::service::Running;
use tripnest_e2e::{Stack, TestDatabase, http_client, unique};
use tripnest_user::Config;

/// The internal service token every test app is configured with.
pub const INTERNAL_TOKEN: &str = "test-internal-token-0123456789";
/// A password that passes validation.
pub const PASSWORD: &str = "correct horse battery staple";

/// A running user service and what a test needs to talk to it.
pub struct TestApp {
    /// Base URL, e.g. `http://127.0.0.1:43125`.
    pub url: String,
    /// Base URL of the operations listener (`/metrics`).
    pub ops_url: String,
    /// The service's database (fresh for this test).
    pub pool: PgPool,
    /// Its connection URL, to start a second replica on the same database.
    pub database_url: String,
    /// HTTP client.
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    _db: TestDatabase,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// A signed-in session as returned by login and refresh.
#[derive(Debug, Clone)]
pub struct Session {
    pub access_token: String,
    pub refresh_token: String,
    pub body: Value,
}

/// The configuration a test replica runs with.
pub fn test_config(database_url: &str) -> Config {
    let mut cfg = Config::default();
    cfg.common.database_url = Some(database_url.into());
    cfg.common.kafka.topic_prefix = format!("{}.", unique("t"));
    cfg.internal_token = Some(INTERNAL_TOKEN.into());
    cfg
}

/// Start a replica on `database_url`.
pub async fn start_replica(database_url: &str) -> Running {
    tripnest_user::start(test_config(database_url), CancellationToken::new()).await.expect("user service starts")
}

/// The service with a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// The service with a fresh database and `adjust` applied to its configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let db = Stack::load().fresh_database().await;
    let mut cfg = test_config(&db.url);
    adjust(&mut cfg);
    let running = tripnest_user::start(cfg, CancellationToken::new()).await.expect("user service starts");
    TestApp {
        url: running.url(),
        ops_url: running.ops_url(),
        pool: db.pool.clone(),
        database_url: db.url.clone(),
        http: http_client(),
        shutdown: running.shutdown.clone(),
        _db: db,
    }
}

/// A unique email for one test.
pub fn email() -> String {
    format!("{}@example.test", unique("ada"))
}

/// Status and JSON body (`Null` when empty).
pub async fn status_and_json(resp: Response) -> (StatusCode, Value) {
    let status = resp.status();
    let text = resp.text().await.expect("body");
    (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

impl TestApp {
    /// POST a JSON body to `path`.
    pub async fn post(&self, path: &str, body: &Value) -> Response {
        self.http.post(format!("{}{path}", self.url)).json(body).send().await.expect("request")
    }

    /// `POST /auth/register`.
    pub async fn register(&self, body: &Value) -> Response {
        self.post("/auth/register", body).await
    }

    /// Register `email` with [`PASSWORD`]; returns the user JSON.
    pub async fn register_user(&self, email: &str) -> Value {
        let (status, body) = status_and_json(self.register(&json!({ "email": email, "password": PASSWORD })).await).await;
        assert_eq!(status, StatusCode::CREATED, "{body}");
        body["user"].clone()
    }

    /// `POST /auth/login`.
    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.post("/auth/login", &json!({ "email": email, "password": password })).await
    }

    /// Log in successfully.
    pub async fn session(&self, email: &str) -> Session {
        into_session(self.login(email, PASSWORD).await).await
    }

    /// Register a fresh user and log in.
    pub async fn signed_in_user(&self) -> Session {
        let email = email();
        self.register_user(&email).await;
        self.session(&email).await
    }

    /// `POST /auth/refresh`.
    pub async fn refresh(&self, refresh_token: &str) -> Response {
        self.post("/auth/refresh", &json!({ "refreshToken": refresh_token })).await
    }

    /// `POST /auth/logout`.
    pub async fn logout(&self, refresh_token: &str) -> Response {
        self.post("/auth/logout", &json!({ "refreshToken": refresh_token })).await
    }

    /// `GET /me` with a bearer token.
    pub async fn me(&self, access_token: &str) -> Response {
        self.http.get(format!("{}/me", self.url)).bearer_auth(access_token).send().await.expect("request")
    }

    /// The JWKS URL.
    pub fn jwks_url(&self) -> String {
        format!("{}/.well-known/jwks.json", self.url)
    }

    /// `GET /.well-known/jwks.json`, as JSON.
    pub async fn jwks(&self) -> Value {
        let resp = self.http.get(self.jwks_url()).send().await.expect("request");
        assert_eq!(resp.status(), StatusCode::OK);
        resp.json().await.expect("jwks json")
    }

    /// POST to an internal route, with `token` as the bearer (or none).
    pub async fn post_internal(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let req = self.http.post(format!("{}{path}", self.url)).json(body);
        let req = match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        };
        req.send().await.expect("request")
    }

    /// Rotate the signing key through the internal API; returns the new kid.
    pub async fn rotate_signing_key(&self) -> String {
        let (status, body) =
            status_and_json(self.post_internal("/internal/signing-keys/rotate", Some(INTERNAL_TOKEN), &json!({})).await).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body["kid"].as_str().expect("kid").to_owned()
    }
}

/// Parse a 200 login/refresh answer.
pub async fn into_session(resp: Response) -> Session {
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    Session {
        access_token: body["accessToken"].as_str().expect("accessToken").to_owned(),
        refresh_token: body["refreshToken"].as_str().expect("refreshToken").to_owned(),
        body,
    }
}

/// The `kid` in a JWT's header.
pub fn kid_of(token: &str) -> String {
    jsonwebtoken::decode_header(token).expect("jwt header").kid.expect("kid")
}
