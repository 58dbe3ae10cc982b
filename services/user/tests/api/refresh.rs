//! Refresh tokens rotate, reuse revokes the family, logout revokes.

use crate::helpers::{into_session, spawn_app, status_and_json};
use reqwest::StatusCode;

#[tokio::test]
async fn refresh_rotates_and_the_old_token_stops_working() {
    let app = spawn_app().await;
    let first = app.signed_in_user().await;

    let second = into_session(app.refresh(&first.refresh_token).await).await;
    assert_ne!(second.refresh_token, first.refresh_token);
    assert_eq!(second.body["user"], first.body["user"]);
    assert_eq!(app.me(&second.access_token).await.status(), StatusCode::OK);

    let (status, body) = status_and_json(app.refresh(&first.refresh_token).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_refresh_token")), "{body}");
    let stored: Vec<Vec<u8>> = sqlx::query_scalar("SELECT token_hash FROM refresh_tokens").fetch_all(&app.pool).await.expect("hashes");
    assert!(stored.iter().all(|h| h.len() == 32 && *h != first.refresh_token.as_bytes()), "only SHA-256 hashes are stored");
}

#[tokio::test]
async fn reusing_a_rotated_token_revokes_the_whole_family() {
    let app = spawn_app().await;
    let first = app.signed_in_user().await;
    let second = into_session(app.refresh(&first.refresh_token).await).await;
    let third = into_session(app.refresh(&second.refresh_token).await).await;
    let other_login = app.session(first.body["user"]["email"].as_str().expect("email")).await;

    // Someone replays the stolen first token: that revokes the family...
    assert_eq!(app.refresh(&first.refresh_token).await.status(), StatusCode::UNAUTHORIZED);
    // ...so the newest token of that family stops working too,
    let (status, body) = status_and_json(app.refresh(&third.refresh_token).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_refresh_token")));
    // while another login of the same user is untouched.
    assert_eq!(app.refresh(&other_login.refresh_token).await.status(), StatusCode::OK);
}

#[tokio::test]
async fn concurrent_refreshes_of_one_token_let_exactly_one_through() {
    let app = spawn_app().await;
    let session = app.signed_in_user().await;
    let (a, b) = tokio::join!(app.refresh(&session.refresh_token), app.refresh(&session.refresh_token));
    let mut statuses = [a.status(), b.status()];
    statuses.sort();
    assert_eq!(statuses, [StatusCode::OK, StatusCode::UNAUTHORIZED]);
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = spawn_app().await;
    let session = app.signed_in_user().await;

    let resp = app.logout(&session.refresh_token).await;
    assert_eq!(resp.status(), StatusCode::NO_CONTENT);
    let (status, body) = status_and_json(app.refresh(&session.refresh_token).await).await;
    assert_eq!((status, body["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_refresh_token")));

    assert_eq!(app.logout(&session.refresh_token).await.status(), StatusCode::NO_CONTENT, "logging out twice is fine");
    assert_eq!(app.logout("never-issued").await.status(), StatusCode::NO_CONTENT);
}
