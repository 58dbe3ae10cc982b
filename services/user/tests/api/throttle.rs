//! The sign-in throttle: failed logins per account, per source and across sources, on the
//! real PostgreSQL. Sources are told apart by `X-Forwarded-For`, as the gateway sends them.

use crate::helpers::{PASSWORD, TestApp, spawn_app_with, status_and_json};
use reqwest::StatusCode;
use serde_json::json;
use std::time::{Duration, Instant};
use tripnest_user::{LoginBudget, LoginThrottleConfig};

impl TestApp {
    /// `POST /auth/login` as seen from the client address `source`.
    async fn login_from(&self, source: &str, email: &str, password: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/auth/login", self.url))
            .header("x-forwarded-for", source)
            .json(&json!({ "email": email, "password": password }))
            .send()
            .await
            .expect("request")
    }
}

/// The service with these failed-login budgets and one registered account.
async fn app_with_account(per_source: LoginBudget, per_account: LoginBudget) -> (TestApp, String) {
    let app = spawn_app_with(|cfg| cfg.login_throttle = LoginThrottleConfig { per_source, per_account }).await;
    let email = crate::helpers::email();
    app.register_user(&email).await;
    (app, email)
}

fn retry_after(resp: &reqwest::Response) -> u64 {
    resp.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(|v| v.parse().ok()).expect("Retry-After")
}

/// Wrong guesses at one account from one source for `window`, four at a time; returns how
/// many were checked (401) rather than refused (429).
async fn guesses_checked_in(app: &TestApp, email: &str, window: Duration) -> usize {
    let started = Instant::now();
    let mut checked = 0;
    while started.elapsed() < window {
        let batch = futures::future::join_all((0..4).map(|_| app.login_from("203.0.113.66", email, "wrong guess 0001"))).await;
        for resp in batch {
            match resp.status() {
                StatusCode::UNAUTHORIZED => checked += 1,
                StatusCode::TOO_MANY_REQUESTS => {}
                other => panic!("unexpected {other}"),
            }
        }
    }
    checked
}

#[tokio::test]
async fn one_attacker_gets_a_handful_of_guesses_a_minute_not_thousands() {
    let window = Duration::from_secs(10);
    let off = LoginBudget { per_minute: 0, burst: 0 };
    let unthrottled = spawn_app_with(|cfg| cfg.login_throttle = LoginThrottleConfig { per_source: off, per_account: off }).await;
    let email = crate::helpers::email();
    unthrottled.register_user(&email).await;
    let before = guesses_checked_in(&unthrottled, &email, window).await;

    let throttled = spawn_app_with(|_| {}).await;
    throttled.register_user(&email).await;
    let after = guesses_checked_in(&throttled, &email, window).await;

    let per_minute = |n: usize| n as f64 * 60.0 / window.as_secs_f64();
    println!(
        "guesses at one account from one source: throttle off {before} in {window:?} (~{:.0}/min); on {after} in {window:?} (5 at once, then 6/min)",
        per_minute(before)
    );
    let defaults = LoginThrottleConfig::default().per_source;
    let allowed = defaults.burst as usize + (defaults.per_minute as f64 * window.as_secs_f64() / 60.0).ceil() as usize;
    assert!(after <= allowed, "{after} guesses checked in {window:?}; at most {allowed} allowed");
    assert!(after >= defaults.burst as usize, "the burst is usable: {after}");
    assert!(before > 2 * allowed, "without the throttle the same client gets far more ({before}); the measurement means something");
}

#[tokio::test]
async fn forty_four_wrong_passwords_lock_the_guesser_out_and_the_owner_waits_seconds_at_most() {
    // One failure refills every 10 s: far longer than a guess takes, even on a loaded machine,
    // so the refusals below do not depend on how fast the guesses go.
    let (app, email) = app_with_account(LoginBudget { per_minute: 6, burst: 5 }, LoginBudget { per_minute: 120, burst: 10 }).await;

    let started = Instant::now();
    let mut statuses = Vec::new();
    for _ in 0..44 {
        statuses.push(app.login_from("198.51.100.7", &email, "hunter2 hunter2").await.status().as_u16());
    }
    // The burst, plus one guess per refill that fell within the run: the budget's contract.
    let refills = (started.elapsed().as_secs_f64() / 10.0).ceil() as usize;
    let checked = statuses.iter().filter(|s| **s == 401).count();
    assert!(statuses[..5].iter().all(|s| *s == 401), "the burst is usable: {statuses:?}");
    assert!(checked <= 5 + refills, "{checked} guesses checked with {refills} refills: {statuses:?}");
    assert!(statuses.iter().all(|s| *s == 401 || *s == 429), "{statuses:?}");

    // The right password from the guesser's address is refused too: the budget is checked first.
    let resp = app.login_from("198.51.100.7", &email, PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
    let wait = retry_after(&resp);
    assert!((1..=10).contains(&wait), "one failure refills every 10 s here: {wait}");
    let (_, body) = status_and_json(resp).await;
    assert_eq!(
        (body["error"]["code"].as_str(), body["error"]["details"]["retryAfterSeconds"].as_u64()),
        (Some("rate_limited"), Some(wait))
    );

    // The owner, from another address, is not locked out at all.
    let (status, body) = status_and_json(app.login_from("192.0.2.10", &email, PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");

    // Waiting Retry-After is the contract under test; then the right password works.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (status, body) = status_and_json(app.login_from("198.51.100.7", &email, PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn many_sources_drain_the_account_budget_only_for_seconds_and_successes_cost_nothing() {
    let (app, email) = app_with_account(LoginBudget { per_minute: 6, burst: 2 }, LoginBudget { per_minute: 12, burst: 6 }).await;
    for _ in 0..5 {
        let (status, _) = status_and_json(app.login_from("192.0.2.10", &email, PASSWORD).await).await;
        assert_eq!(status, StatusCode::OK, "the owner's own successful logins spend nothing");
    }

    let mut checked = 0;
    for source in 1..=10 {
        for _ in 0..3 {
            if app.login_from(&format!("10.9.0.{source}"), &email, "wrong guess 0002").await.status() == StatusCode::UNAUTHORIZED {
                checked += 1;
            }
        }
    }
    assert_eq!(checked, 6, "ten sources together get the account's burst, not ten bursts");
    let resp = app.login_from("192.0.2.10", &email, PASSWORD).await;
    assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS, "the account's budget is spent");
    let wait = retry_after(&resp);
    assert!(wait <= 5, "a drained account refills one attempt within 60/12 = 5 s: {wait}");
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let (status, body) = status_and_json(app.login_from("192.0.2.10", &email, PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn unknown_emails_are_throttled_exactly_like_known_ones() {
    let app = spawn_app_with(|cfg| cfg.login_throttle.per_source = LoginBudget { per_minute: 1, burst: 2 }).await;
    let known = crate::helpers::email();
    app.register_user(&known).await;
    for email in [known.as_str(), "nobody-here@example.test"] {
        let statuses: Vec<u16> = futures::future::join_all((0..3).map(|_| app.login_from("198.51.100.9", email, "wrong guess 0003")))
            .await
            .iter()
            .map(|r| r.status().as_u16())
            .collect();
        let mut sorted = statuses.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, [401, 401, 429], "{email}: {statuses:?} (concurrent guesses cannot overspend)");
    }
    let budgets: i64 = sqlx::query_scalar("SELECT count(*) FROM login_throttle").fetch_one(&app.pool).await.expect("count");
    assert_eq!(budgets, 4, "a per-source and a per-account budget for each address tried");

    // An address no account can have (PostgreSQL refuses NUL) is refused before it is looked up.
    let (status, body) = status_and_json(app.login_from("198.51.100.9", "nul\u{0}@example.test", "wrong guess 0003").await).await;
    assert_eq!((status, body["error"]["details"][0]["field"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("email")), "{body}");
}
