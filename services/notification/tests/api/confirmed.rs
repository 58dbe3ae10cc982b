use crate::helpers::{confirmed, contact, spawn_app, stay};
use tripnest_common::saga::Stay;

#[tokio::test]
async fn a_confirmed_booking_is_emailed_recorded_announced_and_listed() {
    // Arrange
    let app = spawn_app().await;
    let guest = contact(false);
    let (user_id, token) = app.tokens.traveller(&guest.email);
    let event = confirmed(Stay { user_id, ..stay("Riverside Lisbon", guest.clone()) });
    let booking_id = event.data.stay.booking_id;

    // Act
    app.publish(&event).await;

    // Assert: the mail reached the SMTP server, with both alternatives.
    let mail = app.mail.wait_for_mail_to(&guest.email).await;
    assert_eq!(mail["Subject"], "Your stay at Riverside Lisbon is confirmed");
    let text = mail["Text"].as_str().expect("Text");
    assert!(text.contains("Hello Ada Lovelace,") && text.contains("Sat 1 May 2027") && text.contains("EUR 240.00"), "{text}");
    let html = mail["HTML"].as_str().expect("HTML");
    assert!(html.contains("<h1") && html.contains("Your stay at Riverside Lisbon is confirmed."), "{html}");
    assert!(mail["From"]["Address"] == "bookings@tripnest.test", "{}", mail["From"]);

    // ... it was announced ...
    let sent = app.wait_sent(&event, &["email"]).await;
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].booking_id, sent[0].user_id, sent[0].template.as_str()), (booking_id, user_id, "booking_confirmed"));

    // ... recorded, and its user can read it.
    assert_eq!(app.rows(event.id).await, [("email".to_owned(), "sent".to_owned(), 1)]);
    let (status, body) = app.list_notifications(Some(&token), "").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["total"], 1);
    let item = &body["items"][0];
    assert_eq!(item["id"], sent[0].notification_id.to_string());
    assert_eq!(item["bookingId"], booking_id.to_string());
    assert_eq!(item["causeEventId"], event.id.to_string());
    assert_eq!((item["channel"].as_str(), item["status"].as_str()), (Some("email"), Some("sent")));
    assert_eq!(item["recipient"], guest.email.as_str());
    assert_eq!(item["subject"], "Your stay at Riverside Lisbon is confirmed");
    assert_eq!(item["template"], "booking_confirmed");
    assert!(item["bodyText"].as_str().is_some_and(|t| t.contains("EUR 240.00")) && item["sentAt"].is_string(), "{item}");
    assert!(item.get("userId").is_none(), "the caller knows who they are: {item}");
}

#[tokio::test]
async fn hotel_names_are_escaped_in_the_html_email() {
    let app = spawn_app().await;
    let guest = contact(false);
    let hotel = r#"Riverside <script>alert("pwned")</script> & Spa"#;

    app.publish(&confirmed(stay(hotel, guest.clone()))).await;

    let mail = app.mail.wait_for_mail_to(&guest.email).await;
    let html = mail["HTML"].as_str().expect("HTML");
    assert!(!html.contains("<script>"), "{html}");
    assert!(html.contains("Riverside &lt;script&gt;alert(&quot;pwned&quot;)&lt;/script&gt; &amp; Spa"), "{html}");
    assert_eq!(mail["Subject"], format!("Your stay at {hotel} is confirmed"), "a subject is not HTML");
    assert!(mail["Text"].as_str().expect("Text").contains(hotel), "the text part shows the name as written");
}

#[tokio::test]
async fn an_unusable_email_address_is_recorded_as_failed_without_retrying() {
    let app = spawn_app().await;
    let mut guest = contact(false);
    guest.email = "not-an-email-address".into();
    let (user_id, token) = app.tokens.traveller("ada@example.test");
    let event = confirmed(Stay { user_id, ..stay("Riverside Lisbon", guest) });

    app.publish(&event).await;

    let attempts = app.wait_row(event.id, "email", "failed").await;
    assert_eq!(attempts, 1, "a permanent failure is not retried");
    let (status, body) = app.list_notifications(Some(&token), "").await;
    assert_eq!(status, 200);
    assert_eq!(body["items"][0]["status"], "failed");
    assert!(body["items"][0]["sentAt"].is_null());
    let error: String = sqlx::query_scalar("SELECT last_error FROM notifications WHERE cause_event_id = $1")
        .bind(event.id)
        .fetch_one(&app.db)
        .await
        .expect("row");
    assert!(error.contains("invalid email address"), "{error}");
}
