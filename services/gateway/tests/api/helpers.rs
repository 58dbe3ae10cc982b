//! `spawn_gateway()`: the gateway on a free port, in front of stand-in services that record
//! every request they get (so a test can prove a refused request reached nobody), with a
//! loopback JWKS from `TokenIssuer`, the stack's real Redis and a unique rate-limit prefix.

use axum::{
    Json, Router,
    body::Bytes,
    extract::{Request, State},
    http::{HeaderMap, StatusCode},
    response::{IntoResponse, Response},
};
use reqwest::Response as HttpResponse;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    ApiError,
    auth::{AUDIENCE, Claims, ISSUER, Role},
};
use tripnest_e2e::{Stack, TokenIssuer, unique};
use tripnest_gateway::{
    Config,
    config::{RateLimit, RateLimits, Upstreams},
};
use uuid::Uuid;

/// One request as a stand-in service received it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP method the upstream received.
    pub method: String,
    /// Path and query, as sent upstream.
    pub path_and_query: String,
    /// Headers, as sent upstream.
    pub headers: HeaderMap,
    /// Body bytes.
    pub body: Bytes,
}

/// A stand-in for a TripNest service: it records requests and echoes what it saw. Some paths
/// misbehave on purpose: `*/slow` never answers, `*/crash` is a 500 with internal text,
/// `*/unavailable` is a 503 in the shared error shape.
#[derive(Debug, Clone)]
pub struct StandIn {
    /// Base URL.
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl StandIn {
    /// Start one named stand-in on a free loopback port.
    pub async fn start(service: &'static str) -> Self {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let app = Router::new().fallback(record_and_echo).with_state((service, seen.clone()));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind stand-in");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, seen }
    }

    /// Every request received so far.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().expect("lock").clone()
    }
}

async fn record_and_echo(State((service, seen)): State<(&'static str, Arc<Mutex<Vec<Seen>>>)>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, usize::MAX).await.expect("body");
    let path_and_query = parts.uri.path_and_query().map(ToString::to_string).unwrap_or_default();
    seen.lock().expect("lock").push(Seen {
        method: parts.method.to_string(),
        path_and_query: path_and_query.clone(),
        headers: parts.headers.clone(),
        body: body.clone(),
    });
    let path = parts.uri.path();
    if path.ends_with("/slow") {
        std::future::pending::<()>().await;
    }
    if path.ends_with("/crash") {
        return (StatusCode::INTERNAL_SERVER_ERROR, "thread 'main' panicked at src/store.rs:42: password=hunter2 host=db-primary")
            .into_response();
    }
    if path.ends_with("/unavailable") {
        return ApiError::Unavailable.into_response();
    }
    let status = if parts.method == "POST" { StatusCode::ACCEPTED } else { StatusCode::OK };
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let echo = json!({
        "service": service,
        "method": parts.method.as_str(),
        "pathAndQuery": path_and_query,
        "bodyBytes": body.len(),
        "userId": header("x-user-id"),
        "roles": header("x-user-roles"),
    });
    (status, [("x-upstream", service)], Json(echo)).into_response()
}

/// A running gateway, its stand-in services and a token issuer.
pub struct TestGateway {
    /// Base URL of the gateway.
    pub url: String,
    /// Base URL of its operations listener (`/metrics`).
    pub ops_url: String,
    /// HTTP client.
    pub http: reqwest::Client,
    /// Mints tokens the gateway accepts.
    pub tokens: TokenIssuer,
    /// The stand-ins, by service.
    pub user: StandIn,
    pub booking: StandIn,
    pub notification: StandIn,
    pub search: StandIn,
    pub recommendation: StandIn,
    pub review: StandIn,
    shutdown: CancellationToken,
}

impl Drop for TestGateway {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

impl TestGateway {
    /// Requests received by all stand-ins together.
    pub fn upstream_requests(&self) -> usize {
        [&self.user, &self.booking, &self.notification, &self.search, &self.recommendation, &self.review]
            .iter()
            .map(|s| s.seen().len())
            .sum()
    }

    /// `GET {gateway}{path}`.
    pub fn get(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.get(format!("{}{path}", self.url))
    }

    /// `POST {gateway}{path}`.
    pub fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(format!("{}{path}", self.url))
    }

    /// A valid token for a new traveller; returns (user id, token).
    pub fn traveller(&self) -> (Uuid, String) {
        self.tokens.traveller(&format!("{}@example.test", unique("ada")))
    }
}

/// Limits loose enough that only rate-limit tests ever meet them.
pub fn roomy() -> RateLimit {
    RateLimit { per_minute: 60_000, burst: 10_000 }
}

/// The config a test gateway runs with: these upstreams and JWKS (`None`: the user
/// upstream's), the stack's Redis under a unique prefix, roomy limits.
pub fn test_config(jwks_url: Option<String>, upstreams: Upstreams) -> Config {
    Config {
        upstreams,
        jwks_url,
        redis_url: Stack::load().get("REDIS_URL").to_owned(),
        redis_key_prefix: format!("{}:", unique("gw-test")),
        rate_limits: RateLimits { default: roomy(), auth: roomy(), bookings: roomy() },
        // The limiter's 250 ms default is production's; these tests are about the budgets, and
        // on a CI machine running every test binary at once a first call (connect, NOSCRIPT,
        // SCRIPT LOAD, EVALSHA) once took longer and failed open: no RateLimit headers.
        redis_timeout_ms: 5_000,
        ..Config::default()
    }
}

/// The gateway in front of fresh stand-ins, with roomy limits.
pub async fn spawn_gateway() -> TestGateway {
    spawn_gateway_with(|_| {}).await
}

/// The gateway with `adjust` applied to its config.
pub async fn spawn_gateway_with(adjust: impl FnOnce(&mut Config)) -> TestGateway {
    let tokens = TokenIssuer::start().await;
    let (user, booking, notification) =
        (StandIn::start("user").await, StandIn::start("booking").await, StandIn::start("notification").await);
    let (search, recommendation, review) =
        (StandIn::start("search").await, StandIn::start("recommendation").await, StandIn::start("review").await);
    let upstreams = Upstreams {
        user: user.url.clone(),
        booking: booking.url.clone(),
        notification: notification.url.clone(),
        search: search.url.clone(),
        recommendation: recommendation.url.clone(),
        review: review.url.clone(),
    };
    let mut cfg = test_config(Some(tokens.jwks_url.clone()), upstreams);
    adjust(&mut cfg);
    let running = tripnest_gateway::start(cfg, CancellationToken::new()).await.expect("gateway starts");
    TestGateway {
        url: running.url(),
        ops_url: running.ops_url(),
        http: client(),
        tokens,
        user,
        booking,
        notification,
        search,
        recommendation,
        review,
        shutdown: running.shutdown.clone(),
    }
}

pub use tripnest_e2e::http_client as client;

/// Claims of a traveller whose token expires `exp_in` seconds from now (negative: expired).
pub fn traveller_claims(exp_in: i64) -> Claims {
    let now = chrono::Utc::now().timestamp();
    Claims {
        sub: Uuid::now_v7(),
        email: format!("{}@example.test", unique("eve")),
        name: None,
        phone: None,
        roles: vec![Role::Traveller],
        iss: ISSUER.into(),
        aud: AUDIENCE.into(),
        iat: now - 60,
        exp: now + exp_in,
    }
}

/// `token` with its payload rewritten by `edit` and the original signature kept.
pub fn tampered(token: &str, edit: impl FnOnce(&mut Value)) -> String {
    use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
    let parts: Vec<&str> = token.split('.').collect();
    let mut payload: Value = serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[1]).expect("base64")).expect("json");
    edit(&mut payload);
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&payload).expect("json"));
    format!("{}.{payload}.{}", parts[0], parts[2])
}

/// Status, headers and JSON body (`Null` when empty).
pub async fn parts(resp: HttpResponse) -> (StatusCode, reqwest::header::HeaderMap, Value) {
    let status = resp.status();
    let headers = resp.headers().clone();
    let text = resp.text().await.expect("body");
    (status, headers, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) })
}

/// A header as text.
pub fn header<'h>(headers: &'h reqwest::header::HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}
