//! Credentials worth having: guessable passwords are refused with a reason, and no email
//! trick (invisible characters, fullwidth letters, another script's look-alikes) makes a
//! second account for an address that already has one.

use crate::helpers::{PASSWORD, email, spawn_app, status_and_json};
use reqwest::StatusCode;
use serde_json::{Value, json};

fn field_error<'a>(body: &'a Value, field: &str) -> Option<&'a str> {
    body["error"]["details"].as_array()?.iter().find(|d| d["field"] == field)?["message"].as_str()
}

#[tokio::test]
async fn common_and_email_derived_passwords_are_refused_naming_the_password() {
    let app = spawn_app().await;
    let address = "grace.hopper@navy-example.com";
    for weak in ["1234567890", "password12", "          ", "qwertyuiop", "gracehopper1", "navyexample!"] {
        let (status, body) = status_and_json(app.register(&json!({ "email": address, "password": weak })).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{weak:?} → {body}");
        let why = field_error(&body, "password").unwrap_or_else(|| panic!("{weak:?}: no password error in {body}"));
        assert!(why.starts_with("is too easy to guess"), "{weak:?}: {why}");
    }
    let (status, body) = status_and_json(app.register(&json!({ "email": address, "password": "password12" })).await).await;
    assert!(field_error(&body, "password").is_some_and(|w| w.contains("common")), "{status} {body}");
    let stored: i64 = sqlx::query_scalar("SELECT count(*) FROM users").fetch_one(&app.pool).await.expect("count");
    assert_eq!(stored, 0);

    let (status, body) = status_and_json(app.register(&json!({ "email": address, "password": PASSWORD })).await).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
}

#[tokio::test]
async fn no_email_trick_makes_a_second_account() {
    let app = spawn_app().await;
    let local = crate::helpers::email().split('@').next().expect("local").replace('-', "");
    let original = format!("{local}@example.com");
    app.register_user(&original).await;

    let fullwidth: String = original
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { char::from_u32(c as u32 - 0x21 + 0xFF01).expect("fullwidth") } else { c })
        .collect();
    let cyrillic_a = original.replacen('a', "\u{430}", 1);
    assert_ne!(cyrillic_a, original, "the address has an `a` to swap");
    let tricks = [
        (format!("{original}\u{200b}"), "trailing zero-width space"),
        (format!("\u{feff}{original}"), "leading byte-order mark"),
        (original.replacen('@', "\u{200d}@", 1), "zero-width joiner"),
        (fullwidth, "fullwidth letters"),
        (original.to_uppercase(), "upper case"),
        (cyrillic_a, "Cyrillic а in a Latin name"),
        (original.replace("example.com", "ex\u{430}mple.com"), "Cyrillic а in the domain"),
    ];
    for (trick, what) in tricks {
        let (status, body) = status_and_json(app.register(&json!({ "email": trick, "password": PASSWORD })).await).await;
        match status {
            StatusCode::CONFLICT => assert_eq!(body["error"]["code"], "email_taken", "{what}: {body}"),
            StatusCode::UNPROCESSABLE_ENTITY => assert!(field_error(&body, "email").is_some(), "{what}: {body}"),
            other => panic!("{what}: {trick:?} answered {other}: {body}"),
        }
    }
    let stored: Vec<String> = sqlx::query_scalar("SELECT email FROM users").fetch_all(&app.pool).await.expect("emails");
    assert_eq!(stored, std::slice::from_ref(&original), "still one account");

    // The folding tricks are the same address at login too.
    let fullwidth_login: String = original.to_uppercase().chars().map(|c| if c == '@' { '＠' } else { c }).collect();
    let (status, body) = status_and_json(app.login(&fullwidth_login, PASSWORD).await).await;
    assert_eq!(status, StatusCode::OK, "{body}");
}

#[tokio::test]
async fn invisible_and_mixed_script_emails_are_refused_with_the_reason() {
    let app = spawn_app().await;
    let cases = [(format!("{}\u{200b}", email()), "invisible"), ("p\u{430}ypal@example.com".to_owned(), "one script")];
    for (address, reason) in cases {
        let (status, body) = status_and_json(app.register(&json!({ "email": address, "password": PASSWORD })).await).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{address:?}: {body}");
        assert!(field_error(&body, "email").is_some_and(|m| m.contains(reason)), "{address:?}: {body}");
    }
}
