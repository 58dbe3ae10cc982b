//! Each public path reaches its service with the path, query, body and headers intact; nothing
//! else is reachable.

use crate::helpers::{header, parts, spawn_gateway};
use reqwest::{Method, StatusCode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test]
async fn each_public_path_reaches_its_service_with_its_query_string() {
    let gw = spawn_gateway().await;
    let (_, token) = gw.traveller();
    // (method, public path, service, upstream path and query)
    let table = [
        ("POST", "/api/auth/login", "user", "/auth/login"),
        ("POST", "/api/auth/refresh", "user", "/auth/refresh"),
        ("GET", "/api/me", "user", "/me"),
        ("GET", "/api/bookings?page=2&pageSize=5", "booking", "/bookings?page=2&pageSize=5"),
        ("POST", "/api/bookings", "booking", "/bookings"),
        ("GET", "/api/bookings/0193e5b0-0000-7000-8000-000000000001", "booking", "/bookings/0193e5b0-0000-7000-8000-000000000001"),
        ("POST", "/api/bookings/b-1/cancel", "booking", "/bookings/b-1/cancel"),
        (
            "GET",
            "/api/hotels?city=Lisbon&checkIn=2030-01-10&checkOut=2030-01-12&amenities=wifi,pool&sort=price&page=2",
            "search",
            "/hotels?city=Lisbon&checkIn=2030-01-10&checkOut=2030-01-12&amenities=wifi,pool&sort=price&page=2",
        ),
        ("GET", "/api/hotels/h-lisbon-1", "search", "/hotels/h-lisbon-1"),
        (
            "GET",
            "/api/hotels/h-lisbon-1/availability?checkIn=2030-01-10&checkOut=2030-01-12&guests=2&rooms=1",
            "booking",
            "/hotels/h-lisbon-1/availability?checkIn=2030-01-10&checkOut=2030-01-12&guests=2&rooms=1",
        ),
        ("GET", "/api/hotels/h-lisbon-1/reviews?page=3", "review", "/hotels/h-lisbon-1/reviews?page=3"),
        ("POST", "/api/hotels/h-lisbon-1/reviews", "review", "/hotels/h-lisbon-1/reviews"),
        ("GET", "/api/recommendations?city=Porto", "recommendation", "/recommendations?city=Porto"),
        ("GET", "/api/notifications?pageSize=3", "notification", "/notifications?pageSize=3"),
        ("GET", "/api/hotels/caf%C3%A9%20lisboa", "search", "/hotels/caf%C3%A9%20lisboa"),
    ];
    for (method, path, service, upstream_path) in table {
        let method = Method::from_bytes(method.as_bytes()).expect("method");
        let resp = gw
            .http
            .request(method.clone(), format!("{}{path}", gw.url))
            .bearer_auth(&token)
            .json(&serde_json::json!({}))
            .send()
            .await
            .expect("send");
        let (status, headers, body) = parts(resp).await;
        assert!(status.is_success(), "{method} {path}: {status} {body}");
        assert_eq!((body["service"].as_str(), body["pathAndQuery"].as_str()), (Some(service), Some(upstream_path)), "{method} {path}");
        assert_eq!(body["method"], method.as_str());
        assert_eq!(header(&headers, "x-upstream"), Some(service), "upstream response headers pass through");
    }
    assert_eq!(gw.upstream_requests(), table.len());
}

#[tokio::test]
async fn bodies_idempotency_keys_and_trace_headers_pass_through() {
    let gw = spawn_gateway().await;
    let (user_id, token) = gw.traveller();
    let body = r#"{"hotelId":"h1","roomType":"double","checkIn":"2030-01-10","checkOut":"2030-01-12","guests":2,"rooms":1,"paymentMethod":"pm_card_visa"}"#;
    let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let resp = gw
        .post("/api/bookings")
        .bearer_auth(&token)
        .header("Idempotency-Key", "trip-42")
        .header("content-type", "application/json")
        .header("traceparent", traceparent)
        .header("x-request-id", "req-from-the-ui")
        .header("cookie", "session=secret")
        .body(body)
        .send()
        .await
        .expect("send");
    let (status, headers, echo) = parts(resp).await;
    assert_eq!(status, StatusCode::ACCEPTED, "the upstream's status passes through: {echo}");
    assert_eq!(header(&headers, "x-request-id"), Some("req-from-the-ui"));

    let seen = gw.booking.seen().pop().expect("booking got the request");
    assert_eq!((seen.method.as_str(), seen.path_and_query.as_str()), ("POST", "/bookings"));
    assert_eq!(seen.body.as_ref(), body.as_bytes());
    let h = |name: &str| seen.headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
    assert_eq!(h("idempotency-key").as_deref(), Some("trip-42"));
    assert_eq!(h("content-type").as_deref(), Some("application/json"));
    // The trace goes on with the gateway as the parent: same trace id and flags, a new parent id.
    let forwarded = h("traceparent").expect("traceparent forwarded");
    let (sent, got): (Vec<&str>, Vec<&str>) = (traceparent.split('-').collect(), forwarded.split('-').collect());
    assert_eq!((got.len(), got[0], got[1], got[3]), (4, sent[0], sent[1], sent[3]), "{forwarded}");
    assert_ne!(got[2], sent[2], "the gateway's own span is the parent: {forwarded}");
    assert_eq!(h("x-request-id").as_deref(), Some("req-from-the-ui"));
    assert_eq!(h("authorization"), Some(format!("Bearer {token}")), "services verify the token too");
    assert_eq!(h("x-user-id"), Some(user_id.to_string()));
    assert_eq!(h("x-user-roles").as_deref(), Some("traveller"));
    assert_eq!(h("x-forwarded-for").as_deref(), Some("127.0.0.1"));
    assert_eq!(h("cookie"), None, "headers outside the allowlist stay at the gateway");
}

#[tokio::test]
async fn a_request_id_is_generated_when_the_client_sends_none_and_forwarded() {
    let gw = spawn_gateway().await;
    let (_, headers, _) = parts(gw.get("/api/hotels/h1").send().await.expect("send")).await;
    let id = header(&headers, "x-request-id").expect("generated id").to_owned();
    assert_eq!(id.len(), 36, "a uuid: {id}");
    let seen = gw.search.seen().pop().expect("search got it");
    assert_eq!(seen.headers.get("x-request-id").and_then(|v| v.to_str().ok()), Some(id.as_str()));
}

#[tokio::test]
async fn a_body_as_large_as_the_limit_passes_through_unchanged() {
    let gw = spawn_gateway().await;
    let (_, token) = gw.traveller();
    let limit = tripnest_common::config::HttpLimits::default().max_body_bytes;
    let big: Vec<u8> = (0..limit).map(|i| (i % 251) as u8).collect();
    let resp = gw.post("/api/hotels/h1/reviews").bearer_auth(&token).body(big.clone()).send().await.expect("send");
    let (status, _, echo) = parts(resp).await;
    assert_eq!((status, echo["bodyBytes"].as_u64()), (StatusCode::ACCEPTED, Some(big.len() as u64)));
    assert_eq!(gw.review.seen().pop().expect("review got it").body.as_ref(), big.as_slice());
}

#[tokio::test]
async fn internal_and_unknown_paths_are_404_and_reach_no_service() {
    let gw = spawn_gateway().await;
    let (_, token) = gw.traveller();
    for path in [
        "/internal/users",
        "/api/internal/users",
        "/api/internal/hotels/h1",
        "/api/payments/b-1",
        "/api/auth",
        "/api/hotels/h1/rooms",
        "/api",
    ] {
        let (status, _, body) = parts(gw.get(path).bearer_auth(&token).send().await.expect("send")).await;
        assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{path}");
    }
    assert_eq!(gw.upstream_requests(), 0);
}

/// Sends a raw request line, since HTTP clients normalise `..` away before sending.
async fn raw_get(url: &str, path: &str) -> String {
    let addr = url.trim_start_matches("http://");
    let mut stream = tokio::net::TcpStream::connect(addr).await.expect("connect");
    stream.write_all(format!("GET {path} HTTP/1.1\r\nhost: {addr}\r\nconnection: close\r\n\r\n").as_bytes()).await.expect("write");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    answer
}

#[tokio::test]
async fn dot_segments_cannot_climb_out_of_an_exposed_subtree() {
    let gw = spawn_gateway().await;
    for path in ["/api/bookings/../internal/bookings/x", "/api/bookings/%2e%2e/%2E%2E/internal/users", "/api/auth/./login"] {
        let answer = raw_get(&gw.url, path).await;
        assert!(answer.starts_with("HTTP/1.1 400") && answer.contains("invalid_path"), "{path}: {answer}");
    }
    assert_eq!(gw.upstream_requests(), 0);
}

#[tokio::test]
async fn services_get_the_token_in_the_canonical_bearer_form() {
    let gw = spawn_gateway().await;
    let (_, token) = gw.traveller();
    let (status, _, _) = parts(gw.get("/api/me").header("authorization", format!("bearer   {token}")).send().await.expect("send")).await;
    assert_eq!(status, StatusCode::OK);
    let seen = gw.user.seen().pop().expect("user got it");
    assert_eq!(seen.headers.get("authorization").and_then(|v| v.to_str().ok()), Some(format!("Bearer {token}").as_str()));
    assert_eq!(seen.headers.get_all("authorization").iter().count(), 1);
}
