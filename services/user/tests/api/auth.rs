//! Register, log in, `/me`, and the validation and credential errors.

use crate::helpers::{PASSWORD, email, spawn_app, status_and_json};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn register_login_and_me_happy_path() {
    let app = spawn_app().await;
    let email = email();

    let resp = app.register(&json!({ "email": email, "password": PASSWORD, "name": "Ada Lovelace", "phone": "+447700900123" })).await;
    let (status, body) = status_and_json(resp).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let user = &body["user"];
    assert_eq!(user["email"], email.as_str());
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["phone"], "+447700900123");
    assert_eq!(user["roles"], json!(["traveller"]));
    assert!(user["id"].as_str().is_some_and(|id| id.len() == 36) && user["createdAt"].is_string(), "{user}");

    let (status, session) = status_and_json(app.login(&email.to_uppercase(), PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{session}");
    assert_eq!(session["tokenType"], "Bearer");
    assert_eq!(session["expiresIn"], 900);
    assert_eq!(session["user"], *user);
    assert!(session["refreshToken"].as_str().is_some_and(|t| t.len() == 43), "32 bytes base64url: {session}");

    let (status, me) = status_and_json(app.me(session["accessToken"].as_str().expect("token")).await).await;
    assert_eq!(status, StatusCode::OK, "{me}");
    assert_eq!(me, *user);
}

#[tokio::test]
async fn me_without_a_valid_token_is_401() {
    let app = spawn_app().await;
    let resp = app.http.get(format!("{}/me", app.url)).send().await.expect("request");
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (status, body) = status_and_json(app.me("not-a-jwt").await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));
}

#[tokio::test]
async fn validation_errors_name_the_failing_field() {
    let app = spawn_app().await;
    let cases = [
        (json!({ "email": "not-an-email", "password": PASSWORD }), vec!["email"]),
        (json!({ "email": email(), "password": "123456789" }), vec!["password"]),
        (json!({ "email": email(), "password": "1234567890" }), vec!["password"]),
        (json!({ "email": email(), "password": PASSWORD, "phone": "07700 900123" }), vec!["phone"]),
        (json!({ "email": "ada@", "password": "short", "phone": "+1234" }), vec!["email", "password", "phone"]),
    ];
    for (body, fields) in cases {
        let (status, answer) = status_and_json(app.register(&body).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body} → {answer}");
        assert_eq!(answer["error"]["code"], "validation_failed");
        let named: Vec<&str> =
            answer["error"]["details"].as_array().expect("details").iter().map(|d| d["field"].as_str().expect("field")).collect();
        assert_eq!(named, fields, "{answer}");
    }
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.pool).await.expect("count");
    assert_eq!(stored, 0, "nothing invalid was stored");
}

#[tokio::test]
async fn an_email_registered_in_another_case_is_409_email_taken() {
    let app = spawn_app().await;
    let email = email();
    app.register_user(&email).await;

    let (status, body) =
        status_and_json(app.register(&json!({ "email": format!("  {}", email.to_uppercase()), "password": PASSWORD })).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("email_taken")), "{body}");
    let stored: Vec<String> = sqlx::query_scalar("SELECT email FROM users").fetch_all(&app.pool).await.expect("emails");
    assert_eq!(stored, [email], "stored once, lowercased");
}

#[tokio::test]
async fn wrong_password_and_unknown_email_get_identical_401s() {
    let app = spawn_app().await;
    let email = email();
    app.register_user(&email).await;

    let (wrong_status, wrong_password) = status_and_json(app.login(&email, "not the right password").await).await;
    let (unknown_status, unknown_email) = status_and_json(app.login("nobody@example.test", PASSWORD).await).await;
    assert_eq!(wrong_status, StatusCode::UNAUTHORIZED);
    assert_eq!(unknown_status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong_password["error"]["code"], "invalid_credentials");
    assert_eq!(wrong_password, unknown_email, "the answer does not tell whether the account exists");
}

#[tokio::test]
async fn public_registration_always_makes_a_traveller() {
    let app = spawn_app().await;
    let (status, body) =
        status_and_json(app.register(&json!({ "email": email(), "password": PASSWORD, "role": "admin", "roles": ["admin"] })).await).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body["user"]["roles"], json!(["traveller"]));
}
