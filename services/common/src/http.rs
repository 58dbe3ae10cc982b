//! HTTP plumbing shared by every service: the extractors ([`ApiPath`], [`ApiQuery`],
//! [`ApiJson`]) whose rejections are [`ApiError`]s, the request [`limits`], the probe routes
//! (`/healthz`, `/readyz`), the operations app ([`ops_app`]: the probes plus Prometheus
//! `/metrics`, served on its own listener so that metrics never share a port with the API),
//! the [`observe`] middleware (request metrics by matched route, 5xx cause logging, request
//! id) and [`serve`], which answers heads hyper would refuse in the error shape and drains
//! in-flight requests on shutdown.
//!
//! Every answer the framework gives on its own is the error shape too: 404 `not_found` for an
//! unknown path, 405 `method_not_allowed` (with `Allow`) for a known path with another method.

mod extract;
pub mod limits;
mod server;

pub use extract::{ApiJson, ApiPath, ApiQuery};
pub use server::{CLIENT_POOL_IDLE, serve};

use crate::{
    config::HttpLimits,
    error::{ApiError, InternalErrorReport},
};
use axum::{
    Json, Router,
    extract::{MatchedPath, Request, State},
    http::{HeaderName, HeaderValue, StatusCode},
    middleware::{self, Next},
    response::{IntoResponse, Response},
    routing::get,
};
use futures::future::BoxFuture;
use metrics_exporter_prometheus::PrometheusHandle;
use std::{
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::{Duration, Instant},
};
use tracing::Instrument as _;

/// The header carrying the request id, set by the gateway and echoed by every service.
pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A named readiness check: resolves to `Err(reason)` when a dependency is not usable.
pub type ReadinessCheck = Arc<dyn Fn() -> BoxFuture<'static, Result<(), String>> + Send + Sync>;

/// What `/readyz` reports: not ready while draining, or while any check fails.
#[derive(Clone, Default)]
pub struct Readiness {
    draining: Arc<AtomicBool>,
    checks: Vec<(&'static str, ReadinessCheck)>,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<_> = self.checks.iter().map(|(n, _)| *n).collect();
        f.debug_struct("Readiness").field("draining", &self.is_draining()).field("checks", &names).finish()
    }
}

impl Readiness {
    /// Add a check (e.g. `SELECT 1` on the pool) that must pass for the process to be ready.
    pub fn with_check<F, Fut>(mut self, name: &'static str, check: F) -> Self
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), String>> + Send + 'static,
    {
        self.checks.push((name, Arc::new(move || Box::pin(check()))));
        self
    }
    /// Mark the process as draining: `/readyz` answers 503 from now on.
    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::SeqCst);
    }
    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::SeqCst)
    }
}

/// `/healthz` (the process is alive) and `/readyz` (it can take traffic): on the service's
/// port, where the kubelet probes them, and on the operations port.
pub fn probe_router(readiness: Readiness) -> Router {
    Router::new()
        .route("/healthz", get(|| async { Json(serde_json::json!({ "status": "ok" })) }))
        .route("/readyz", get(readyz))
        .with_state(readiness)
}

/// The operations listener's app: the probes and `/metrics`, for Prometheus inside the
/// cluster; never routed to from outside. Unknown paths get a 404 in the shared error shape.
pub fn ops_app(readiness: Readiness, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/metrics", get(render_metrics))
        .with_state(metrics)
        .merge(probe_router(readiness))
        .fallback(|| async { ApiError::not_found("route") })
}

async fn readyz(State(readiness): State<Readiness>) -> Response {
    if readiness.is_draining() {
        return (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "draining" }))).into_response();
    }
    let mut failed = serde_json::Map::new();
    for (name, check) in &readiness.checks {
        let outcome = tokio::time::timeout(Duration::from_secs(2), check()).await;
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err(reason)) => {
                failed.insert((*name).to_owned(), reason.into());
            }
            Err(_) => {
                failed.insert((*name).to_owned(), "timed out".into());
            }
        }
    }
    if failed.is_empty() {
        Json(serde_json::json!({ "status": "ready" })).into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, Json(serde_json::json!({ "status": "not_ready", "failed": failed }))).into_response()
    }
}

async fn render_metrics(State(metrics): State<PrometheusHandle>) -> impl IntoResponse {
    metrics.run_upkeep();
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], metrics.render())
}

/// Middleware: request id (kept or generated, echoed back), the trace (continued from the
/// caller's `traceparent` or started; the request carries this hop's, see [`crate::trace`]),
/// a `request` span around the handler, `http_requests_total` and
/// `http_request_duration_seconds` labelled by method, matched route and status, and one log
/// line per request, with the hidden cause of any 500.
pub async fn observe(mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", |p| p.as_str()).to_owned();
    let request_id = req
        .headers()
        .get(&REQUEST_ID)
        .filter(|v| v.len() <= 128)
        .cloned()
        .unwrap_or_else(|| HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).expect("uuid is ascii"));
    req.headers_mut().insert(REQUEST_ID, request_id.clone());
    let incoming = req.headers().get(crate::trace::TRACEPARENT).and_then(|v| v.to_str().ok());
    let trace = crate::trace::TraceParent::continue_or_start(incoming);
    let header = HeaderValue::from_str(&trace.to_string()).expect("traceparent is ascii");
    req.headers_mut().insert(HeaderName::from_static(crate::trace::TRACEPARENT), header);
    let span = tracing::info_span!(
        "request",
        %method,
        route,
        request_id = request_id.to_str().unwrap_or_default(),
        trace_id = trace.trace_id_hex()
    );

    let mut response = next.run(req).instrument(span.clone()).await;
    let status = response.status();
    let elapsed = started.elapsed();
    let labels = [("method", method.to_string()), ("route", route.clone()), ("status", status.as_u16().to_string())];
    metrics::counter!("http_requests_total", &labels).increment(1);
    metrics::histogram!("http_request_duration_seconds", &labels).record(elapsed.as_secs_f64());
    span.in_scope(|| {
        if let Some(InternalErrorReport(cause)) = response.extensions().get::<InternalErrorReport>() {
            tracing::error!(status = status.as_u16(), error = format!("{cause:#}"), "request failed");
        } else if route != "/healthz" && route != "/readyz" {
            tracing::info!(status = status.as_u16(), ms = elapsed.as_millis() as u64, "request");
        }
    });
    response.headers_mut().insert(REQUEST_ID, request_id);
    response
}

/// The service's app: its routes, the probes, [`limits::enforce_limits`], the [`observe`]
/// layer and the browser hardening headers ([`crate::security_headers`]); metrics are on the
/// operations listener, [`ops_app`]. Unknown paths and methods get 404 and 405 in the shared
/// error shape.
pub fn app(routes: Router, readiness: Readiness, limits: HttpLimits) -> Router {
    routes
        .merge(probe_router(readiness))
        .fallback(|| async { ApiError::not_found("route") })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed })
        .layer(middleware::from_fn_with_state(limits, limits::enforce_limits))
        .layer(middleware::from_fn(observe))
        .layer(middleware::from_fn(crate::security_headers::add))
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::{body::Body, routing::post};
    use http_body_util::BodyExt;
    use serde::Serialize;
    use tokio::net::TcpListener;
    use tokio_util::sync::CancellationToken;
    use tower::ServiceExt;

    fn test_app(routes: Router, readiness: Readiness) -> Router {
        app(routes, readiness, HttpLimits::default())
    }

    async fn call(app: &Router, req: axum::http::Request<Body>) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let resp = app.clone().oneshot(req).await.expect("infallible");
        let (parts, body) = resp.into_parts();
        let bytes = body.collect().await.expect("body").to_bytes();
        let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::String(String::from_utf8_lossy(&bytes).into()));
        (parts.status, parts.headers, json)
    }

    #[derive(serde::Deserialize, Serialize)]
    struct Guests {
        guests: u32,
    }

    fn echo_routes() -> Router {
        Router::new().route("/echo", post(|ApiJson(g): ApiJson<Guests>| async move { ApiJson(g) }))
    }

    fn post_json(body: &'static str) -> axum::http::Request<Body> {
        axum::http::Request::post("/echo").header("content-type", "application/json").body(Body::from(body)).expect("request")
    }

    #[tokio::test]
    async fn malformed_and_mistyped_bodies_get_the_error_shape() {
        let app = test_app(echo_routes(), Readiness::default());
        let (s, _, body) = call(&app, post_json(r#"{"guests": 2"#)).await;
        assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("malformed_json")));
        let (s, _, body) = call(&app, post_json(r#"{"guests": -1}"#)).await;
        assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("invalid_body")));
        assert!(body["error"]["message"].as_str().expect("message").contains("guests"));
        let (s, _, body) = call(&app, post_json(r#"{"guests": 2}"#)).await;
        assert_eq!((s, body["guests"].as_u64()), (StatusCode::OK, Some(2)));
        let no_type = axum::http::Request::post("/echo").body(Body::from("{}")).expect("request");
        let (s, _, body) = call(&app, no_type).await;
        assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("unsupported_media_type")));
    }

    #[derive(serde::Deserialize)]
    struct Paging {
        #[allow(dead_code)]
        page: Option<u32>,
    }

    #[tokio::test]
    async fn bad_path_and_query_parameters_get_the_error_shape() {
        let routes = Router::new().route(
            "/bookings/{id}",
            get(|ApiPath(_): ApiPath<uuid::Uuid>, ApiQuery(_): ApiQuery<Paging>| async { StatusCode::NO_CONTENT }),
        );
        let app = test_app(routes, Readiness::default());
        let get = |uri: &str| axum::http::Request::get(uri).body(Body::empty()).expect("req");
        let id = uuid::Uuid::nil();
        assert_eq!(call(&app, get(&format!("/bookings/{id}?page=2"))).await.0, StatusCode::NO_CONTENT);
        let (s, _, body) = call(&app, get("/bookings/not-a-uuid")).await;
        assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_path")));
        for page in ["-1", "abc"] {
            let (s, _, body) = call(&app, get(&format!("/bookings/{id}?page={page}"))).await;
            assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_query")), "{page}");
        }
        let (s, _, body) = call(&app, get("/bookings/a%00b")).await;
        assert_eq!((s, body["error"]["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("id")));
        let (s, _, body) = call(&app, get(&format!("/bookings/{id}?page=1&q=%00"))).await;
        assert_eq!((s, body["error"]["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("q")));
    }

    #[tokio::test]
    async fn unknown_routes_are_404_in_the_error_shape() {
        let app = test_app(Router::new(), Readiness::default());
        let (s, headers, body) = call(&app, axum::http::Request::get("/nope").body(Body::empty()).expect("req")).await;
        assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")));
        assert_eq!(headers["content-security-policy"], crate::security_headers::API_POLICY, "hardened, even when unrouted");
        assert_eq!(headers["x-content-type-options"], "nosniff");
    }

    #[tokio::test]
    async fn wrong_methods_are_405_with_allow_in_the_error_shape() {
        let app = test_app(echo_routes(), Readiness::default());
        let (s, headers, body) = call(&app, axum::http::Request::get("/echo").body(Body::empty()).expect("req")).await;
        assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::METHOD_NOT_ALLOWED, Some("method_not_allowed")));
        assert_eq!(headers["allow"], "POST");
    }

    #[tokio::test]
    async fn heads_that_passed_hyper_still_meet_our_limits() {
        // Later requests on a kept-alive connection are parsed by hyper, whose limits are higher.
        let app = test_app(echo_routes(), Readiness::default());
        let limits = HttpLimits::default();
        let long = format!("/echo?q={}", "a".repeat(limits.max_uri_bytes));
        let (s, _, body) = call(&app, axum::http::Request::get(long).body(Body::empty()).expect("req")).await;
        assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::URI_TOO_LONG, Some("uri_too_long")));
        let big = "b".repeat(limits.max_header_bytes);
        let (s, _, body) = call(&app, axum::http::Request::get("/echo").header("x-filler", big).body(Body::empty()).expect("req")).await;
        assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE, Some("headers_too_large")));
        let declared = axum::http::Request::post("/echo")
            .header("content-type", "application/json")
            .header("content-length", (limits.max_body_bytes + 1).to_string())
            .body(Body::empty())
            .expect("req");
        let (s, _, body) = call(&app, declared).await;
        assert_eq!((s, body["error"]["code"].as_str()), (StatusCode::PAYLOAD_TOO_LARGE, Some("payload_too_large")));
    }

    #[tokio::test]
    async fn request_ids_are_kept_or_generated_and_echoed() {
        let app = test_app(Router::new(), Readiness::default());
        let req = axum::http::Request::get("/healthz").header("x-request-id", "abc-123").body(Body::empty()).expect("req");
        let (_, headers, _) = call(&app, req).await;
        assert_eq!(headers[&REQUEST_ID], "abc-123");
        let (_, headers, _) = call(&app, axum::http::Request::get("/healthz").body(Body::empty()).expect("req")).await;
        assert_eq!(headers[&REQUEST_ID].len(), 36, "a fresh uuid");
    }

    #[tokio::test]
    async fn readyz_reports_failing_checks_and_draining() {
        let readiness = Readiness::default()
            .with_check("postgres", || async { Ok(()) })
            .with_check("kafka", || async { Err("broker unreachable".to_owned()) });
        let app = test_app(Router::new(), readiness.clone());
        let get = || axum::http::Request::get("/readyz").body(Body::empty()).expect("req");
        let (s, _, body) = call(&app, get()).await;
        assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(body["failed"]["kafka"], "broker unreachable");
        assert!(body["failed"].get("postgres").is_none());

        let healthy = Readiness::default().with_check("postgres", || async { Ok(()) });
        let app = test_app(Router::new(), healthy.clone());
        assert_eq!(call(&app, get()).await.0, StatusCode::OK);
        healthy.start_draining();
        let (s, _, body) = call(&app, get()).await;
        assert_eq!((s, body["status"].as_str()), (StatusCode::SERVICE_UNAVAILABLE, Some("draining")));
    }

    #[tokio::test]
    async fn metrics_count_requests_by_matched_route_and_are_served_only_on_the_ops_app() {
        let routes = Router::new().route("/hotels/{id}", get(|| async { "ok" }));
        let app = test_app(routes, Readiness::default());
        let ops = ops_app(Readiness::default(), crate::telemetry::prometheus("http-test"));
        for id in ["a", "b"] {
            let req = axum::http::Request::get(format!("/hotels/{id}")).body(Body::empty()).expect("req");
            assert_eq!(call(&app, req).await.0, StatusCode::OK);
        }
        let (status, _, body) = call(&app, axum::http::Request::get("/metrics").body(Body::empty()).expect("req")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "not on the service's port");
        for probe in ["/healthz", "/readyz"] {
            assert_eq!(call(&ops, axum::http::Request::get(probe).body(Body::empty()).expect("req")).await.0, StatusCode::OK, "{probe}");
        }
        let (_, _, text) = call(&ops, axum::http::Request::get("/metrics").body(Body::empty()).expect("req")).await;
        let text = text.as_str().expect("text").to_owned();
        assert!(text.contains(r#"route="/hotels/{id}""#), "labels use the route template, not the id: {text}");
        assert!(!text.contains("/hotels/a"));
    }

    #[tokio::test]
    async fn serve_finishes_in_flight_requests_after_shutdown() {
        // The handler tells the test it has started, then waits to be released after shutdown.
        let started = Arc::new(tokio::sync::Notify::new());
        let release = Arc::new(tokio::sync::Notify::new());
        let (s2, r2) = (started.clone(), release.clone());
        let slow = Router::new().route(
            "/slow",
            get(move || {
                let (started, release) = (s2.clone(), r2.clone());
                async move {
                    started.notify_one();
                    release.notified().await;
                    "done"
                }
            }),
        );
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let token = CancellationToken::new();
        let server = tokio::spawn(serve(
            listener,
            test_app(slow, Readiness::default()),
            HttpLimits::default(),
            token.clone(),
            Duration::from_secs(5),
        ));

        let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        stream.write_all(b"GET /slow HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.expect("write");
        tokio::time::timeout(Duration::from_secs(5), started.notified()).await.expect("handler started");
        token.cancel();
        release.notify_one();
        let mut buf = String::new();
        tokio::time::timeout(Duration::from_secs(5), stream.read_to_string(&mut buf)).await.expect("in time").expect("read");
        assert!(buf.starts_with("HTTP/1.1 200") && buf.ends_with("done"), "{buf}");
        tokio::time::timeout(Duration::from_secs(5), server).await.expect("server stops").expect("join").expect("serve ok");
        assert!(tokio::net::TcpStream::connect(addr).await.is_err(), "no longer accepting");
    }
}
