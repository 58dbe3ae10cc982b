//! Forwarding to the services: one pooled HTTP/1.1 client, an allowlist of request headers,
//! and upstream failures turned into the shared error shape (connect failure → 502, no answer
//! in time → 504).
//!
//! A request body is read whole before anything is sent upstream, within the gateway's own
//! limits (`http.limits`: size and deadline, see `tripnest_common::http::limits`). API bodies
//! are small JSON, so this costs little, and it means a body cut short or trickled in is the
//! client's 408 / 400 / 413 at the gateway instead of a service left waiting and a 504 that
//! blames it. Response bodies are streamed through without buffering.

use crate::routes::{Service, upstream_path_and_query};
use anyhow::Context;
use axum::{
    body::Body,
    extract::Request,
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri, header},
    response::{IntoResponse, Response},
};
use hyper_util::{
    client::legacy::{Client, connect::HttpConnector},
    rt::TokioExecutor,
};
use std::{collections::HashMap, net::IpAddr, time::Duration};
use tripnest_common::{
    ApiError,
    http::{REQUEST_ID, limits::read_body},
};

/// Request headers a client may send through to a service. Everything else is dropped,
/// including any `x-user-*` identity header the client made up.
static FORWARDED_REQUEST_HEADERS: [HeaderName; 12] = [
    header::ACCEPT,
    header::ACCEPT_LANGUAGE,
    header::AUTHORIZATION,
    header::CONTENT_LENGTH,
    header::CONTENT_TYPE,
    header::IF_MATCH,
    header::IF_NONE_MATCH,
    header::USER_AGENT,
    HeaderName::from_static("idempotency-key"),
    HeaderName::from_static("traceparent"),
    HeaderName::from_static("tracestate"),
    REQUEST_ID,
];

/// Response headers that describe one hop, or that the gateway decides itself (CORS).
fn is_hop_or_gateway_header(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection" | "keep-alive" | "proxy-connection" | "proxy-authenticate" | "te" | "trailer" | "transfer-encoding" | "upgrade"
    ) || name.as_str().starts_with("access-control-")
}

/// The largest upstream 5xx body the gateway reads to check its shape.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The services behind the gateway and the client that reaches them.
#[derive(Debug)]
pub struct Upstreams {
    client: Client<HttpConnector, Body>,
    bases: HashMap<Service, String>,
    timeout: Duration,
}

impl Upstreams {
    /// A pool for `bases` (service → base URL); fails on a URL that is not `http://host[:port][/prefix]`.
    pub fn new(bases: HashMap<Service, String>, timeout: Duration, connect_timeout: Duration) -> anyhow::Result<Self> {
        for (service, base) in &bases {
            let uri: Uri = base.parse().with_context(|| format!("upstream URL for {} is invalid: {base}", service.name()))?;
            anyhow::ensure!(
                uri.scheme_str() == Some("http") && uri.host().is_some(),
                "upstream URL for {} must be http://host[:port]: {base}",
                service.name()
            );
        }
        let bases = bases.into_iter().map(|(s, b)| (s, b.trim_end_matches('/').to_owned())).collect();
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(connect_timeout));
        connector.set_nodelay(true);
        let client = Client::builder(TokioExecutor::new()).pool_idle_timeout(tripnest_common::http::CLIENT_POOL_IDLE).build(connector);
        Ok(Self { client, bases, timeout })
    }

    /// Send `req` (a public `/api/...` request) to `service` with `extra` headers added, and
    /// stream back its answer.
    pub async fn forward(
        &self,
        service: Service,
        req: Request,
        client_ip: Option<IpAddr>,
        extra: &[(HeaderName, HeaderValue)],
    ) -> Response {
        let (parts, body) = req.into_parts();
        let body = match read_body(body).await {
            Ok(bytes) if bytes.is_empty() => Body::empty(),
            Ok(bytes) => Body::from(bytes),
            Err(refused) => return refused.into_response(),
        };
        let base = self.bases.get(&service).map_or("", String::as_str);
        let target = format!("{base}{}", upstream_path_and_query(parts.uri.path_and_query().map_or("/", |p| p.as_str())));
        let Ok(uri) = target.parse::<Uri>() else {
            return ApiError::bad_request("invalid_path", "the request path cannot be forwarded").into_response();
        };
        let mut outbound = Request::new(body);
        *outbound.method_mut() = parts.method;
        *outbound.uri_mut() = uri;
        copy_forwarded_headers(&parts.headers, outbound.headers_mut());
        if let Some(ip) = client_ip.and_then(|ip| HeaderValue::from_str(&ip.to_string()).ok()) {
            outbound.headers_mut().insert(HeaderName::from_static("x-forwarded-for"), ip);
        }
        for (name, value) in extra {
            outbound.headers_mut().insert(name.clone(), value.clone());
        }

        let upstream = service.name();
        let answer = match tokio::time::timeout(self.timeout, self.client.request(outbound)).await {
            Ok(Ok(answer)) => answer,
            Ok(Err(e)) => {
                let kind = if e.is_connect() { "connect" } else { "io" };
                metrics::counter!("gateway_upstream_failures_total", "upstream" => upstream, "kind" => kind).increment(1);
                tracing::warn!(upstream, kind, error = format!("{e:#}"), "upstream request failed");
                return ApiError::BadGateway.into_response();
            }
            Err(_) => {
                metrics::counter!("gateway_upstream_failures_total", "upstream" => upstream, "kind" => "timeout").increment(1);
                tracing::warn!(upstream, timeout_ms = self.timeout.as_millis() as u64, "upstream did not answer in time");
                return ApiError::GatewayTimeout.into_response();
            }
        };
        let (mut head, body) = answer.into_parts();
        head.headers.retain_not(is_hop_or_gateway_header);
        let response = Response::from_parts(head, Body::new(body));
        if response.status().is_server_error() { only_shaped_errors(upstream, response, self.timeout).await } else { response }
    }
}

/// `HeaderMap::retain` for names, which `http` does not have.
trait RetainNot {
    fn retain_not(&mut self, drop: fn(&HeaderName) -> bool);
}

impl RetainNot for HeaderMap {
    fn retain_not(&mut self, drop: fn(&HeaderName) -> bool) {
        let doomed: Vec<HeaderName> = self.keys().filter(|n| drop(n)).cloned().collect();
        for name in doomed {
            self.remove(name);
        }
    }
}

fn copy_forwarded_headers(from: &HeaderMap, to: &mut HeaderMap) {
    for name in &FORWARDED_REQUEST_HEADERS {
        for value in from.get_all(name) {
            to.append(name.clone(), value.clone());
        }
    }
}

/// A 5xx keeps its status, but its body goes out only if it is the shared error shape; any
/// other body (a stack trace, a proxy's HTML page) is replaced, so internal text never leaks.
async fn only_shaped_errors(upstream: &'static str, response: Response, timeout: Duration) -> Response {
    let (mut head, body) = response.into_parts();
    let read = tokio::time::timeout(timeout, axum::body::to_bytes(body, MAX_ERROR_BODY)).await;
    let bytes = read.ok().and_then(Result::ok).unwrap_or_default();
    let shaped = serde_json::from_slice::<serde_json::Value>(&bytes)
        .is_ok_and(|v| v["error"]["code"].is_string() && v["error"]["message"].is_string());
    if shaped {
        return Response::from_parts(head, Body::from(bytes));
    }
    tracing::warn!(upstream, status = head.status.as_u16(), "upstream error body replaced: not in the shared error shape");
    let generic = match head.status {
        StatusCode::BAD_GATEWAY => ApiError::BadGateway,
        StatusCode::SERVICE_UNAVAILABLE => ApiError::Unavailable,
        StatusCode::GATEWAY_TIMEOUT => ApiError::GatewayTimeout,
        _ => ApiError::Internal(anyhow::anyhow!("{upstream} answered {} without the error shape", head.status)),
    };
    let mut replacement = generic.into_response();
    *replacement.status_mut() = head.status;
    head.headers.remove(header::CONTENT_LENGTH);
    head.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    for (name, value) in &head.headers {
        replacement.headers_mut().insert(name.clone(), value.clone());
    }
    replacement
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_allowlisted_request_headers_are_forwarded() {
        let mut from = HeaderMap::new();
        for (k, v) in [
            ("authorization", "Bearer t"),
            ("idempotency-key", "k1"),
            ("x-user-id", "spoofed"),
            ("x-user-roles", "admin"),
            ("cookie", "s=1"),
            ("traceparent", "00-abc-def-01"),
        ] {
            from.insert(HeaderName::from_static(k), HeaderValue::from_static(v));
        }
        let mut to = HeaderMap::new();
        copy_forwarded_headers(&from, &mut to);
        assert_eq!(to.len(), 3);
        assert!(to.get("x-user-id").is_none() && to.get("x-user-roles").is_none() && to.get("cookie").is_none());
    }

    #[test]
    fn hop_by_hop_and_cors_response_headers_are_dropped() {
        let mut h = HeaderMap::new();
        for name in ["connection", "transfer-encoding", "access-control-allow-origin", "content-type", "x-request-id"] {
            h.insert(HeaderName::from_static(name), HeaderValue::from_static("x"));
        }
        h.retain_not(is_hop_or_gateway_header);
        let mut left: Vec<&str> = h.keys().map(HeaderName::as_str).collect();
        left.sort_unstable();
        assert_eq!(left, ["content-type", "x-request-id"]);
    }

    #[test]
    fn upstream_urls_must_be_plain_http() {
        let build =
            |url: &str| Upstreams::new(HashMap::from([(Service::User, url.to_owned())]), Duration::from_secs(1), Duration::from_secs(1));
        assert!(build("http://127.0.0.1:8081").is_ok());
        assert!(build("http://user:8080/").is_ok());
        assert!(build("ftp://user").is_err());
        assert!(build("not a url").is_err());
    }
}
