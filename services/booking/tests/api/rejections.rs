//! Input booking cannot use is a 4xx in the shared error shape — never axum's text/plain, and
//! never a 500 from PostgreSQL refusing a NUL byte.

use crate::helpers::*;
use serde_json::Value;
use std::time::Duration;
use tripnest_common::config::HttpLimits;
use tripnest_e2e::raw_http::{assert_head_limits, exchange, expect_error};

fn field_of(error: &Value) -> &str {
    error["error"]["details"][0]["field"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn an_unparsable_path_is_a_400_and_bad_paging_a_422_in_the_error_shape() {
    let app = spawn_app().await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let get = |path: &str| app.http.get(format!("{}{path}", app.url)).bearer_auth(&token).send();
    expect_error(get("/bookings/not-a-uuid").await.expect("get"), 400, "invalid_path").await;
    // Paging parameters are read as text and checked by `PageQuery`, so even a non-number is
    // a 422 naming the field rather than a parse error.
    for (query, field) in [("page=-1", "page"), ("page=abc", "page"), ("pageSize=many", "pageSize")] {
        let error = expect_error(get(&format!("/bookings?{query}")).await.expect("get"), 422, "validation_failed").await;
        assert_eq!(field_of(&error), field);
    }
    // Pagination (`?page=`) has its own checks; any other parameter serde cannot parse is this.
    for query in ["checkIn=someday&checkOut=2030-01-02", "checkIn=2030-01-01&checkOut=2030-01-02&guests=many"] {
        expect_error(get(&format!("/hotels/{}/availability?{query}", app.hotel)).await.expect("get"), 400, "invalid_query").await;
    }
}

#[tokio::test]
async fn a_nul_in_a_body_path_or_query_string_is_a_422_naming_the_field() {
    let app = spawn_app().await;
    app.seed_hotel(1).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    for field in ["hotelId", "roomType", "paymentMethod"] {
        let mut body = booking(&app.hotel, 7, 1, 1);
        body[field] = Value::from(format!("{}\u{0}", body[field].as_str().expect("string")));
        let resp = app.http.post(format!("{}/bookings", app.url)).bearer_auth(&token).header("Idempotency-Key", field).json(&body);
        let error = expect_error(resp.send().await.expect("post"), 422, "validation_failed").await;
        assert_eq!(field_of(&error), field);
    }
    let stay = format!("checkIn={}&checkOut={}", days_from_now(7), days_from_now(8));
    let get = |path: String| app.http.get(format!("{}{path}", app.url)).send();
    let error = expect_error(get(format!("/hotels/ab%00c/availability?{stay}")).await.expect("get"), 422, "validation_failed").await;
    assert_eq!(field_of(&error), "id");
    let error =
        expect_error(get(format!("/hotels/{}/availability?{stay}&x=%00", app.hotel)).await.expect("get"), 422, "validation_failed").await;
    assert_eq!(field_of(&error), "x");
    expect_error(get("/hotels/ab%00c".to_owned()).await.expect("get"), 422, "validation_failed").await;
}

#[tokio::test]
async fn wrong_methods_are_405_with_allow_and_unknown_routes_404() {
    let app = spawn_app().await;
    let resp = app.http.delete(format!("{}/bookings", app.url)).send().await.expect("delete");
    let allow = resp.headers().get("allow").and_then(|v| v.to_str().ok()).map(str::to_owned).unwrap_or_default();
    expect_error(resp, 405, "method_not_allowed").await;
    assert!(allow.contains("GET") && allow.contains("POST"), "{allow}");
    expect_error(app.http.get(format!("{}/nowhere", app.url)).send().await.expect("get"), 404, "not_found").await;
}

#[tokio::test]
async fn oversized_slow_and_short_requests_are_413_408_414_431() {
    let limits = HttpLimits { header_timeout_ms: 300, body_timeout_ms: 300, max_body_bytes: 1024, ..HttpLimits::default() };
    let app = spawn_app_with(|cfg| cfg.common.http.limits = limits).await;
    let (_, token) = app.issuer.traveller("ada@example.test");
    let mut big = booking(&app.hotel, 7, 1, 1);
    big["paymentMethod"] = Value::from("x".repeat(2048));
    let resp = app.http.post(format!("{}/bookings", app.url)).bearer_auth(&token).header("Idempotency-Key", "big").json(&big);
    expect_error(resp.send().await.expect("post"), 413, "payload_too_large").await;

    let short = format!(
        "POST /bookings HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\nidempotency-key: short\r\ncontent-type: application/json\r\ncontent-length: 100\r\n\r\n{{\"hotelId\":"
    );
    exchange(&app.url, short.as_bytes(), Duration::from_secs(10)).await.expect("answered").assert_error(408, "request_timeout");
    assert_head_limits(&app.url, "/bookings", &limits).await;
}
