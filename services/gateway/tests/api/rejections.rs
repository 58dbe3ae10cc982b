//! What the framework refuses is refused in the shared error shape too, by the gateway itself
//! and without troubling (or blaming) any service: unknown routes, wrong methods, slow or
//! oversized heads, bodies over the limit, and bodies cut short.

use crate::helpers::{spawn_gateway, spawn_gateway_with};
use std::time::{Duration, Instant};
use tripnest_common::config::HttpLimits;
use tripnest_e2e::raw_http::{assert_head_limits, exchange, expect_error};

fn short_timeouts() -> HttpLimits {
    HttpLimits { header_timeout_ms: 300, body_timeout_ms: 300, max_body_bytes: 1024, ..HttpLimits::default() }
}

#[tokio::test]
async fn unknown_routes_are_404_and_wrong_methods_405_with_allow() {
    let gw = spawn_gateway().await;
    expect_error(gw.get("/api/nowhere").send().await.expect("send"), 404, "not_found").await;
    let resp = gw.post("/api/openapi.json").send().await.expect("send");
    let allow = resp.headers().get("allow").and_then(|v| v.to_str().ok()).map(str::to_owned);
    expect_error(resp, 405, "method_not_allowed").await;
    assert!(allow.is_some_and(|a| a.contains("GET")), "Allow names the methods that work");
    assert_eq!(gw.upstream_requests(), 0);
}

#[tokio::test]
async fn slow_long_and_oversized_heads_are_408_414_431_in_the_error_shape() {
    let gw = spawn_gateway_with(|cfg| cfg.common.http.limits = short_timeouts()).await;
    assert_head_limits(&gw.url, "/api/hotels", &short_timeouts()).await;
    assert_eq!(gw.upstream_requests(), 0, "no refused head reached a service");
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_whether_declared_or_streamed() {
    let gw = spawn_gateway_with(|cfg| cfg.common.http.limits = short_timeouts()).await;
    let body = format!(r#"{{"email":"{}"}}"#, "a".repeat(2048));
    let resp = gw.post("/api/auth/login").header("content-type", "application/json").body(body.clone()).send().await.expect("send");
    let error = expect_error(resp, 413, "payload_too_large").await;
    assert_eq!(error["error"]["details"]["limitBytes"], 1024);

    let chunked = format!(
        "POST /api/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n{:x}\r\n{body}\r\n0\r\n\r\n",
        body.len()
    );
    exchange(&gw.url, chunked.as_bytes(), Duration::from_secs(10)).await.expect("answered").assert_error(413, "payload_too_large");
    assert_eq!(gw.user.seen().len(), 0, "the service never saw the oversized bodies");
}

#[tokio::test]
async fn a_body_cut_short_is_the_clients_408_not_a_504_from_the_service() {
    let gw = spawn_gateway_with(|cfg| {
        cfg.common.http.limits = short_timeouts();
        cfg.upstream_timeout_ms = 10_000;
    })
    .await;
    let started = Instant::now();
    let short = "POST /api/auth/login HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{\"email\":";
    exchange(&gw.url, short.as_bytes(), Duration::from_secs(10)).await.expect("answered").assert_error(408, "request_timeout");
    let took = started.elapsed();
    assert!(took < Duration::from_secs(5), "answered at the body deadline, not the upstream timeout: {took:?}");
    assert_eq!(gw.user.seen().len(), 0, "the service never waited for a body that was not coming");
}
