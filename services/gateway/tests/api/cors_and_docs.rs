//! CORS for the web UI, and the OpenAPI document checked against the real route table.

use crate::helpers::{header, parts, spawn_gateway};
use reqwest::{Method, StatusCode};
use serde_json::Value;
use tripnest_gateway::routes::{PUBLIC_ROUTES, PublicRoute};

#[tokio::test]
async fn a_preflight_from_the_web_ui_is_answered_by_the_gateway() {
    let gw = spawn_gateway().await;
    let preflight = |origin: &'static str| {
        gw.http
            .request(Method::OPTIONS, format!("{}/api/bookings", gw.url))
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "authorization,content-type,idempotency-key")
    };
    for origin in ["http://localhost:3000", "http://127.0.0.1:3000"] {
        let (status, headers, _) = parts(preflight(origin).send().await.expect("preflight")).await;
        assert!(status.is_success(), "{status}");
        assert_eq!(header(&headers, "access-control-allow-origin"), Some(origin));
        let allowed = header(&headers, "access-control-allow-headers").expect("allow-headers").to_lowercase();
        assert!(allowed.contains("idempotency-key") && allowed.contains("authorization"), "{allowed}");
        assert!(header(&headers, "access-control-allow-methods").expect("allow-methods").contains("POST"));
    }
    let (_, headers, _) = parts(preflight("https://evil.example").send().await.expect("preflight")).await;
    assert_eq!(header(&headers, "access-control-allow-origin"), None, "other origins are not allowed");
    assert_eq!(gw.upstream_requests(), 0, "preflights never reach a service");

    // The real request: the browser may read the request id and the rate-limit headers.
    let resp = gw.get("/api/hotels?city=Lisbon").header("origin", "http://localhost:3000").send().await.expect("get");
    let (_, headers, _) = parts(resp).await;
    assert_eq!(header(&headers, "access-control-allow-origin"), Some("http://localhost:3000"));
    let exposed = header(&headers, "access-control-expose-headers").expect("expose-headers").to_lowercase();
    for name in ["x-request-id", "retry-after", "ratelimit-remaining"] {
        assert!(exposed.contains(name), "{name} not exposed: {exposed}");
    }
}

/// Whether an OpenAPI path (`/api/hotels/{id}`) is served by a route template.
fn serves(route: &PublicRoute, spec_path: &str) -> bool {
    let (mut want, mut have) = (route.path.split('/'), spec_path.split('/'));
    loop {
        match (want.next(), have.next()) {
            (None, None) => return true,
            (Some(w), Some(_)) if w.starts_with("{*") => return true,
            (Some(w), Some(h)) if w == h || (w.starts_with('{') && h.starts_with('{')) => {}
            _ => return false,
        }
    }
}

fn requires_bearer(op: &Value) -> bool {
    let alternatives = op["security"].as_array().expect("every operation states its security");
    !alternatives.is_empty() && alternatives.iter().all(|a| a.get("bearerAuth").is_some())
}

fn refs<'v>(value: &'v Value, out: &mut Vec<&'v str>) {
    match value {
        Value::Object(map) => {
            if let Some(Value::String(r)) = map.get("$ref") {
                out.push(r);
            }
            map.values().for_each(|v| refs(v, out));
        }
        Value::Array(items) => items.iter().for_each(|v| refs(v, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_documents_exactly_the_routes_the_gateway_serves() {
    let gw = spawn_gateway().await;
    let (status, headers, spec) = parts(gw.get("/api/openapi.json").send().await.expect("get")).await;
    assert_eq!((status, header(&headers, "content-type")), (StatusCode::OK, Some("application/json")));
    assert_eq!(spec["openapi"], "3.1.0");
    let paths = spec["paths"].as_object().expect("paths");
    let (_, token) = gw.traveller();

    for (path, item) in paths {
        let route = PUBLIC_ROUTES.iter().find(|r| serves(r, path)).unwrap_or_else(|| panic!("{path} is documented but not routed"));
        for (method, op) in item.as_object().expect("path item") {
            let method = Method::from_bytes(method.to_uppercase().as_bytes()).expect("method");
            assert_eq!(
                requires_bearer(op),
                route.access.requires_token(&method),
                "{method} {path}: documented security differs from the gateway's"
            );
            let responses = op["responses"].as_object().expect("responses");
            for status in ["429", "502", "504"] {
                assert!(responses.contains_key(status), "{method} {path} does not document {status}");
            }
            if requires_bearer(op) {
                assert!(responses.contains_key("401"), "{method} {path} does not document 401");
            }
            // The request goes to the service that documents it (its tag), through the real routes.
            let documented_by = op["tags"][0].as_str().unwrap_or_else(|| panic!("{method} {path} names no service"));
            let concrete = path.split('/').map(|s| if s.starts_with('{') { "0190a1b2-0000-7000-8000-000000000001" } else { s });
            let url = format!("{}{}", gw.url, concrete.collect::<Vec<_>>().join("/"));
            let resp = gw.http.request(method.clone(), url).bearer_auth(&token).json(&serde_json::json!({})).send().await.expect("send");
            assert_eq!(header(resp.headers(), "x-upstream"), Some(documented_by), "{method} {path} reached another service");
        }
    }
    for route in PUBLIC_ROUTES {
        assert!(paths.keys().any(|p| serves(route, p)), "{} is routed but not documented", route.path);
    }
    let mut all = Vec::new();
    refs(&spec, &mut all);
    assert!(all.len() > 50);
    for r in all {
        assert!(spec.pointer(r.trim_start_matches('#')).is_some(), "dangling $ref {r}");
    }
    let error = &spec["components"]["schemas"]["Error"]["properties"]["error"];
    assert_eq!(error["required"], serde_json::json!(["code", "message"]), "the shared error shape");
}

#[tokio::test]
async fn the_docs_page_is_self_contained_html_listing_every_path() {
    let gw = spawn_gateway().await;
    let spec: Value = gw.get("/api/openapi.json").send().await.expect("spec").json().await.expect("json");
    let resp = gw.get("/api/docs").send().await.expect("docs");
    assert!(header(resp.headers(), "content-type").expect("type").starts_with("text/html"));
    let page = resp.text().await.expect("html");
    for path in spec["paths"].as_object().expect("paths").keys() {
        assert!(page.contains(&format!("<code>{path}</code>")), "{path} not on the page");
    }
    assert!(page.contains("id=\"schema-Booking\"") && page.contains("href=\"#schema-Booking\""), "schemas are linked");
    assert!(!page.contains("<script") && !page.contains("src=\"http") && !page.contains("href=\"http"), "nothing loads from elsewhere");
}

fn hardened(headers: &reqwest::header::HeaderMap) -> Option<&str> {
    assert_eq!(header(headers, "x-content-type-options"), Some("nosniff"));
    assert_eq!(header(headers, "referrer-policy"), Some("no-referrer"));
    assert_eq!(header(headers, "x-frame-options"), Some("DENY"));
    header(headers, "content-security-policy")
}

#[tokio::test]
async fn every_answer_carries_the_browser_hardening_headers() {
    let gw = spawn_gateway().await;
    let strict = tripnest_common::security_headers::API_POLICY;
    for (path, expected) in [("/api/hotels?city=Lisbon", 200), ("/api/me", 401), ("/api/nowhere", 404), ("/api/openapi.json", 200)] {
        let (status, headers, _) = parts(gw.get(path).send().await.expect("send")).await;
        assert_eq!(status.as_u16(), expected, "{path}");
        assert_eq!(hardened(&headers), Some(strict), "{path}");
    }

    let resp = gw.get("/api/docs").send().await.expect("docs");
    let policy = hardened(resp.headers()).expect("CSP").to_owned();
    let page = resp.text().await.expect("html");
    let style = page.split("<style>").nth(1).and_then(|s| s.split("</style>").next()).expect("the page has its inline style");
    use base64::{Engine, engine::general_purpose::STANDARD};
    use sha2::{Digest, Sha256};
    let hash = format!("'sha256-{}'", STANDARD.encode(Sha256::digest(style.as_bytes())));
    assert!(policy.contains(&format!("style-src {hash}")), "the page's own style is allowed by hash: {policy}");
    assert!(policy.starts_with("default-src 'none'") && policy.contains("frame-ancestors 'none'"), "{policy}");
    assert!(!policy.contains("unsafe") && !policy.contains("script-src"), "no script runs: {policy}");
}

#[tokio::test]
async fn metrics_are_served_on_the_ops_port_and_not_on_the_public_one() {
    let gw = spawn_gateway().await;
    gw.get("/api/hotels").send().await.expect("one request to count");
    for path in ["/metrics", "/api/metrics", "/api/../metrics"] {
        let (status, headers, body) = parts(gw.get(path).send().await.expect("send")).await;
        assert!(status == StatusCode::NOT_FOUND || status == StatusCode::BAD_REQUEST, "{path}: {status}");
        assert!(body["error"]["code"].is_string(), "{path}: the error shape, not metrics: {body}");
        assert!(hardened(&headers).is_some());
    }
    let text = gw.http.get(format!("{}/metrics", gw.ops_url)).send().await.expect("ops").text().await.expect("text");
    assert!(text.contains("http_requests_total{"), "{text}");
}
