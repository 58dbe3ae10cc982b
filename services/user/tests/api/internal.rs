//! `/internal/users`: managers and admins, only with the service token.

use crate::helpers::{INTERNAL_TOKEN, PASSWORD, email, spawn_app, status_and_json};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn managers_are_created_only_with_the_service_token() {
    let app = spawn_app().await;
    let manager = email();
    let body = json!({ "email": manager, "password": PASSWORD, "name": "Grace", "role": "manager" });

    for token in [None, Some("wrong-token")] {
        let (status, answer) = status_and_json(app.post_internal("/internal/users", token, &body).await).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{token:?}: {answer}");
    }
    let (status, created) = status_and_json(app.post_internal("/internal/users", Some(INTERNAL_TOKEN), &body).await).await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    assert_eq!(created["user"]["roles"], json!(["manager"]));

    let session = app.session(&manager).await;
    assert_eq!(session.body["user"]["roles"], json!(["manager"]));
    let claims: serde_json::Value = {
        let payload = session.access_token.split('.').nth(1).expect("payload");
        use base64::Engine;
        serde_json::from_slice(&base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(payload).expect("base64")).expect("claims")
    };
    assert_eq!(claims["roles"], json!(["manager"]));
    assert_eq!(claims["name"], "Grace");

    let (status, answer) = status_and_json(
        app.post_internal("/internal/users", Some(INTERNAL_TOKEN), &json!({ "email": email(), "password": PASSWORD, "role": "root" }))
            .await,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{answer}");
}

#[tokio::test]
async fn key_rotation_needs_the_service_token() {
    let app = spawn_app().await;
    let (status, _) = status_and_json(app.post_internal("/internal/signing-keys/rotate", Some("wrong-token"), &json!({})).await).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}
