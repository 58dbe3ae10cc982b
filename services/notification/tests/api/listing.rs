use crate::helpers::{confirmed, contact, spawn_app, stay};
use tripnest_common::saga::Stay;
use tripnest_e2e::TokenIssuer;

#[tokio::test]
async fn users_see_only_their_own_notifications_newest_first_in_pages() {
    // Arrange: one booking with a phone gives two notifications (email, then SMS).
    let app = spawn_app().await;
    let guest = contact(true);
    let (user_id, token) = app.tokens.traveller(&guest.email);
    let event = confirmed(Stay { user_id, ..stay("Riverside Lisbon", guest) });
    app.publish(&event).await;
    app.wait_sent(&event, &["email", "sms"]).await;

    // Act + Assert: pages of one, newest first.
    let (status, first) = app.list_notifications(Some(&token), "?page=1&pageSize=1").await;
    assert_eq!(status, 200, "{first}");
    assert_eq!((first["total"].as_i64(), first["page"].as_i64(), first["pageSize"].as_i64()), (Some(2), Some(1), Some(1)));
    assert_eq!(first["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(first["items"][0]["channel"], "sms", "the SMS went out after the email");
    assert!(first["items"][0]["subject"].is_null(), "an SMS has no subject");
    let (_, second) = app.list_notifications(Some(&token), "?page=2&pageSize=1").await;
    assert_eq!(second["items"][0]["channel"], "email");
    let (_, beyond) = app.list_notifications(Some(&token), "?page=3&pageSize=1").await;
    assert_eq!((beyond["items"].as_array().map(Vec::len), beyond["total"].as_i64()), (Some(0), Some(2)));

    // Someone else sees nothing.
    let (_, someone_else) = app.tokens.traveller("grace@example.test");
    let (status, other) = app.list_notifications(Some(&someone_else), "").await;
    assert_eq!((status.as_u16(), other["total"].as_i64(), other["items"].as_array().map(Vec::len)), (200, Some(0), Some(0)));
}

#[tokio::test]
async fn listing_needs_a_valid_token() {
    let app = spawn_app().await;

    let (status, body) = app.list_notifications(None, "").await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = app.list_notifications(Some("not-a-token"), "").await;
    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (_, valid) = app.tokens.traveller("ada@example.test");
    let unknown_key = TokenIssuer::start().await;
    let (_, forged) = unknown_key.traveller("ada@example.test");
    let (status, _) = app.list_notifications(Some(&valid), "").await;
    assert_eq!(status.as_u16(), 200);
    let (status, _) = app.list_notifications(Some(&forged), "").await;
    assert_eq!(status.as_u16(), 401, "a token signed by an unknown key");
}

#[tokio::test]
async fn bad_pagination_is_a_422_naming_the_fields() {
    let app = spawn_app().await;
    let (_, token) = app.tokens.traveller("ada@example.test");

    let (status, body) = app.list_notifications(Some(&token), "?page=0&pageSize=500").await;

    assert_eq!((status.as_u16(), body["error"]["code"].as_str()), (422, Some("validation_failed")), "{body}");
    let fields: Vec<&str> = body["error"]["details"].as_array().expect("details").iter().filter_map(|d| d["field"].as_str()).collect();
    assert_eq!(fields, ["page", "pageSize"]);
    let (status, _) = app.list_notifications(Some(&token), "?pageSize=ten").await;
    assert_eq!(status.as_u16(), 422);
}

#[tokio::test]
async fn the_largest_documented_page_is_empty_not_an_error() {
    use tripnest_common::page::{MAX_PAGE, MAX_PAGE_SIZE};
    let app = spawn_app().await;
    let (_, token) = app.tokens.traveller("ada@example.test");

    let (status, body) = app.list_notifications(Some(&token), &format!("?page={MAX_PAGE}&pageSize={MAX_PAGE_SIZE}")).await;
    assert_eq!(status.as_u16(), 200, "{body}");
    assert_eq!((body["items"].as_array().map(Vec::len), body["page"].as_u64()), (Some(0), Some(MAX_PAGE.into())));
    let (status, _) = app.list_notifications(Some(&token), &format!("?page={}", u64::from(MAX_PAGE) + 1)).await;
    assert_eq!(status.as_u16(), 422);
}
