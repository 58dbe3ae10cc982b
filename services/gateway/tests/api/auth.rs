//! Bad tokens are refused at the gateway and reach no service; identity headers come only
//! from verified tokens.

use crate::helpers::{header, parts, spawn_gateway, tampered, traveller_claims};
use reqwest::StatusCode;
use serde_json::json;
use tripnest_common::auth::Signer;

#[tokio::test]
async fn missing_expired_tampered_and_unknown_key_tokens_are_401_and_reach_no_service() {
    let gw = spawn_gateway().await;
    let (_, valid) = gw.traveller();
    let expired = gw.tokens.issue(&traveller_claims(-120));
    let escalated = tampered(&valid, |claims| claims["roles"] = json!(["admin"]));
    let someone_else = tampered(&valid, |claims| claims["sub"] = json!("0193e5b0-0000-7000-8000-000000000666"));
    let unknown_key = Signer::generate("kid-nobody-published").issue(&traveller_claims(300));
    let bad_tokens = [
        ("expired", format!("Bearer {expired}")),
        ("tampered roles", format!("Bearer {escalated}")),
        ("tampered subject", format!("Bearer {someone_else}")),
        ("unknown key", format!("Bearer {unknown_key}")),
        ("garbage", "Bearer not.a.jwt".to_owned()),
        ("not bearer", "Basic YWRhOnNlY3JldA==".to_owned()),
    ];

    let (status, _, body) = parts(gw.get("/api/bookings").send().await.expect("send")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")), "missing token: {body}");
    for (what, authorization) in &bad_tokens {
        // Protected routes and public ones alike: an invalid token is never ignored.
        for path in ["/api/bookings", "/api/me", "/api/hotels?city=Lisbon", "/api/recommendations"] {
            let resp = gw.get(path).header("authorization", authorization).send().await.expect("send");
            let (status, _, body) = parts(resp).await;
            assert_eq!(
                (status, body["error"]["code"].as_str()),
                (StatusCode::UNAUTHORIZED, Some("unauthorized")),
                "{what} on {path}: {body}"
            );
        }
    }
    let (status, _, body) =
        parts(gw.get("/api/bookings").header("authorization", format!("Bearer {expired}")).send().await.expect("send")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body["error"]["message"].as_str().expect("message").contains("expired"), "{body}");
    assert_eq!(gw.upstream_requests(), 0, "no bad token reached a service");

    // The same counter moves for a good token, so the zero above means something.
    let (status, _, _) = parts(gw.get("/api/bookings").bearer_auth(&valid).send().await.expect("send")).await;
    assert_eq!((status, gw.upstream_requests()), (StatusCode::OK, 1));
}

#[tokio::test]
async fn protected_routes_need_a_token_and_public_reads_do_not() {
    let gw = spawn_gateway().await;
    for path in ["/api/me", "/api/bookings", "/api/bookings/b-1", "/api/notifications"] {
        let (status, _, _) = parts(gw.get(path).send().await.expect("send")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
    }
    let (status, _, _) = parts(gw.post("/api/hotels/h1/reviews").json(&json!({"rating": 5})).send().await.expect("send")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "writing a review needs a token");
    assert_eq!(gw.upstream_requests(), 0);

    for path in [
        "/api/hotels?city=Lisbon",
        "/api/hotels/h1",
        "/api/hotels/h1/availability?checkIn=2030-01-01&checkOut=2030-01-02",
        "/api/hotels/h1/reviews",
        "/api/recommendations?city=Lisbon",
    ] {
        let (status, _, body) = parts(gw.get(path).send().await.expect("send")).await;
        assert_eq!((status, &body["userId"]), (StatusCode::OK, &serde_json::Value::Null), "{path} is public: {body}");
    }
    let (status, _, _) =
        parts(gw.post("/api/auth/login").json(&json!({"email": "a@b.c", "password": "x"})).send().await.expect("send")).await;
    assert_eq!(status, StatusCode::ACCEPTED, "login is public (the stand-in answers 202 to POSTs)");
}

#[tokio::test]
async fn spoofed_identity_headers_are_replaced_by_the_verified_ones() {
    let gw = spawn_gateway().await;
    let (user_id, token) = gw.traveller();
    let spoof = |req: reqwest::RequestBuilder| {
        req.header("x-user-id", "0193e5b0-0000-7000-8000-000000000666").header("x-user-roles", "admin").header("X-User-Roles", "manager")
    };

    let (_, _, echo) = parts(spoof(gw.get("/api/bookings")).bearer_auth(&token).send().await.expect("send")).await;
    assert_eq!((echo["userId"].as_str(), echo["roles"].as_str()), (Some(user_id.to_string().as_str()), Some("traveller")), "{echo}");
    let seen = gw.booking.seen().pop().expect("booking got it");
    assert_eq!(seen.headers.get_all("x-user-id").iter().count(), 1);
    assert_eq!(seen.headers.get_all("x-user-roles").iter().count(), 1);

    // Anonymous on a public route: the spoofed headers are simply gone.
    let (_, _, echo) = parts(spoof(gw.get("/api/recommendations")).send().await.expect("send")).await;
    assert_eq!((&echo["userId"], &echo["roles"]), (&serde_json::Value::Null, &serde_json::Value::Null), "{echo}");
}

#[tokio::test]
async fn refusals_carry_the_error_shape_and_the_request_id() {
    let gw = spawn_gateway().await;
    let resp = gw.get("/api/me").header("x-request-id", "trace-me-401").send().await.expect("send");
    let (status, headers, body) = parts(resp).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(header(&headers, "x-request-id"), Some("trace-me-401"));
    assert!(body["error"]["message"].is_string() && body["error"].get("details").is_some(), "{body}");
}
