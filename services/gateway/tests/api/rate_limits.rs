//! Rate limits through the gateway, on the stack's real Redis.

use crate::helpers::{header, parts, spawn_gateway_with};
use reqwest::StatusCode;
use std::time::Duration;
use tripnest_gateway::config::RateLimit;

#[tokio::test]
async fn anonymous_callers_get_exactly_the_burst_then_429_and_recover_after_retry_after() {
    let gw = spawn_gateway_with(|cfg| cfg.rate_limits.default = RateLimit { per_minute: 60, burst: 3 }).await;
    for expected_remaining in ["2", "1", "0"] {
        let (status, headers, _) = parts(gw.get("/api/hotels?city=Lisbon").send().await.expect("send")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(header(&headers, "ratelimit-limit"), Some("3"));
        assert_eq!(header(&headers, "ratelimit-remaining"), Some(expected_remaining));
        assert!(header(&headers, "ratelimit-reset").is_some());
        assert_eq!(header(&headers, "retry-after"), None);
    }
    let (status, headers, body) = parts(gw.get("/api/hotels?city=Lisbon").send().await.expect("send")).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::TOO_MANY_REQUESTS, Some("rate_limited")), "{body}");
    assert_eq!(header(&headers, "ratelimit-remaining"), Some("0"));
    let retry_after: u64 = header(&headers, "retry-after").expect("Retry-After").parse().expect("seconds");
    assert_eq!(retry_after, 1, "one request refills every second");
    assert_eq!(body["error"]["details"]["retryAfterSeconds"], retry_after);
    assert_eq!(gw.search.seen().len(), 3, "the refused request never reached search");

    // Waiting exactly Retry-After is the contract under test, so this sleep is the assertion's
    // subject rather than a guess at when something will be ready.
    tokio::time::sleep(Duration::from_secs(retry_after)).await;
    let (status, headers, _) = parts(gw.get("/api/hotels?city=Lisbon").send().await.expect("send")).await;
    assert_eq!((status, header(&headers, "ratelimit-remaining")), (StatusCode::OK, Some("0")));
}

#[tokio::test]
async fn signed_in_users_have_their_own_budget_per_route_class() {
    let gw = spawn_gateway_with(|cfg| {
        cfg.rate_limits.bookings = RateLimit { per_minute: 1, burst: 2 };
        cfg.rate_limits.default = RateLimit { per_minute: 1, burst: 1 };
    })
    .await;
    let (_, ada) = gw.traveller();
    let (_, bob) = gw.traveller();
    let status = |resp: reqwest::Response| resp.status();
    for _ in 0..2 {
        assert_eq!(status(gw.get("/api/bookings").bearer_auth(&ada).send().await.expect("send")), StatusCode::OK);
    }
    let resp = gw.get("/api/bookings").bearer_auth(&ada).send().await.expect("send");
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait: u64 = header(resp.headers(), "retry-after").expect("Retry-After").parse().expect("secs");
    assert!((59..=60).contains(&wait), "one request per minute refills in a minute, not {wait}s");

    assert_eq!(status(gw.get("/api/bookings").bearer_auth(&bob).send().await.expect("send")), StatusCode::OK, "bob has his own budget");
    assert_eq!(status(gw.get("/api/me").bearer_auth(&ada).send().await.expect("send")), StatusCode::OK, "another class, another budget");
    assert_eq!(status(gw.get("/api/hotels").send().await.expect("send")), StatusCode::OK, "anonymous callers spend the IP's budget");
    assert_eq!(status(gw.get("/api/hotels").send().await.expect("send")), StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(status(gw.get("/api/hotels").bearer_auth(&bob).send().await.expect("send")), StatusCode::OK, "signed in, bob is not the IP");
    assert_eq!(
        status(gw.get("/api/hotels").bearer_auth(&ada).send().await.expect("send")),
        StatusCode::TOO_MANY_REQUESTS,
        "ada spent hers on /api/me"
    );
}

#[tokio::test]
async fn bad_tokens_spend_the_client_ip_budget() {
    let gw = spawn_gateway_with(|cfg| cfg.rate_limits.bookings = RateLimit { per_minute: 1, burst: 2 }).await;
    let statuses: Vec<u16> = futures::future::join_all((0..4).map(|_| gw.get("/api/bookings").bearer_auth("forged.token.value").send()))
        .await
        .into_iter()
        .map(|r| r.expect("send").status().as_u16())
        .collect();
    let (unauthorized, limited) = (statuses.iter().filter(|s| **s == 401).count(), statuses.iter().filter(|s| **s == 429).count());
    assert_eq!((unauthorized, limited), (2, 2), "token guessing is rate limited: {statuses:?}");
    assert_eq!(gw.upstream_requests(), 0);
}

#[tokio::test]
async fn with_redis_down_requests_fail_open_and_are_counted() {
    let dead = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let dead_url = format!("redis://{}", dead.local_addr().expect("addr"));
    drop(dead);
    let gw = spawn_gateway_with(|cfg| {
        cfg.redis_url = dead_url;
        cfg.rate_limits.default = RateLimit { per_minute: 1, burst: 1 };
    })
    .await;
    for _ in 0..3 {
        let (status, headers, _) = parts(gw.get("/api/hotels").send().await.expect("send")).await;
        assert_eq!((status, header(&headers, "ratelimit-remaining")), (StatusCode::OK, None), "unlimited, and no made-up quota");
    }
    let metrics = gw.http.get(format!("{}/metrics", gw.ops_url)).send().await.expect("metrics").text().await.expect("text");
    let failures = metrics.lines().find(|l| l.starts_with("gateway_rate_limit_unavailable_total")).expect("the failure is counted");
    let count: f64 = failures.rsplit(' ').next().expect("value").parse().expect("number");
    assert!(count >= 3.0, "{failures}");
}

#[tokio::test]
async fn sign_in_budgets_follow_the_client_address_whatever_token_is_sent() {
    let gw = spawn_gateway_with(|cfg| cfg.rate_limits.auth = RateLimit { per_minute: 1, burst: 3 }).await;
    let tokens: Vec<String> = (0..6).map(|_| gw.traveller().1).collect();
    let login = |token: Option<&String>| {
        let req = gw.post("/api/auth/login").json(&serde_json::json!({ "email": "victim@example.test", "password": "guess" }));
        match token {
            Some(t) => req.bearer_auth(t),
            None => req,
        }
    };
    let mut statuses = Vec::new();
    for attempt in 0..6 {
        // Every guess carries a different account's valid token; the first one none at all.
        let resp = login(tokens.get(attempt).filter(|_| attempt > 0)).send().await.expect("send");
        statuses.push(resp.status().as_u16());
        if resp.status() == StatusCode::TOO_MANY_REQUESTS {
            let wait: u64 = header(resp.headers(), "retry-after").expect("Retry-After").parse().expect("secs");
            assert!((1..=60).contains(&wait), "{wait}");
            let (_, _, body) = parts(resp).await;
            assert_eq!(body["error"]["code"], "rate_limited", "{body}");
        }
    }
    assert_eq!(statuses, [202, 202, 202, 429, 429, 429], "tokens buy no extra sign-in attempts");
    assert_eq!(gw.user.seen().len(), 3, "refused guesses never reached the user service");

    let (_, ada) = gw.traveller();
    let status = gw.get("/api/me").bearer_auth(&ada).send().await.expect("send").status();
    assert_eq!(status, StatusCode::OK, "other classes still follow the signed-in user");
}
