use crate::helpers::{WAIT, confirmed, contact, spawn_app, stay};

#[tokio::test]
async fn a_contact_with_a_phone_also_gets_an_sms() {
    let app = spawn_app().await;
    let guest = contact(true);
    let phone = guest.phone.clone().expect("phone");
    let event = confirmed(stay("Riverside Lisbon", guest.clone()));

    app.publish(&event).await;

    let sent = app.wait_sent(&event, &["email", "sms"]).await;
    assert_eq!(sent.len(), 2, "one announcement per channel");
    let sms = app.sms.received_for(&phone);
    assert_eq!(sms.len(), 1, "{sms:?}");
    assert_eq!(sms[0].body, "TripNest: your stay at Riverside Lisbon (1 May to 3 May 2027) is confirmed. Details are in your email.");
    assert_eq!(sms[0].authorization.as_deref(), Some("Bearer test-sms-token"));
    assert_eq!(app.mail.messages_to(&guest.email).await.len(), 1);
}

#[tokio::test]
async fn a_503_from_the_sms_provider_is_retried_and_the_sms_delivered_once() {
    let app = spawn_app().await;
    app.sms.answer_next(&[503]);
    let guest = contact(true);
    let phone = guest.phone.clone().expect("phone");
    let event = confirmed(stay("Riverside Lisbon", guest.clone()));

    app.publish(&event).await;

    let attempts = app.wait_row(event.id, "sms", "sent").await;
    assert_eq!(attempts, 2, "sent on the retry");
    let answers: Vec<u16> = app.sms.received_for(&phone).iter().map(|r| r.answered).collect();
    assert_eq!(answers, [503, 200], "one failed try, one delivery");
    let sent = app.wait_sent(&event, &["email", "sms"]).await;
    assert_eq!(sent.len(), 2, "one announcement per channel, none for the failed try");
    assert_eq!(app.mail.messages_to(&guest.email).await.len(), 1, "the retry did not resend the email");
    assert_eq!(app.rows(event.id).await[0], ("email".to_owned(), "sent".to_owned(), 1));
}

#[tokio::test]
async fn a_refused_sms_is_recorded_as_failed_and_the_email_still_goes_out() {
    let app = spawn_app().await;
    app.sms.answer_next(&[400]);
    let guest = contact(true);
    let phone = guest.phone.clone().expect("phone");
    let event = confirmed(stay("Riverside Lisbon", guest.clone()));

    app.publish(&event).await;

    assert_eq!(app.wait_row(event.id, "sms", "failed").await, 1, "a 4xx is not retried");
    assert_eq!(app.sms.received_for(&phone).len(), 1);
    app.mail.wait_for_mail_to(&guest.email).await;
    let sent = app.wait_sent(&event, &["email"]).await;
    assert!(sent.iter().all(|e| crate::helpers::channel(e) == "email"), "nothing announced for the failed SMS");
}

#[tokio::test]
async fn an_sms_provider_that_keeps_failing_parks_the_event_on_the_dead_letter_topic() {
    let app = spawn_app().await;
    app.sms.answer_next(&[503; 20]);
    let guest = contact(true);
    let event = confirmed(stay("Riverside Lisbon", guest.clone()));

    app.publish(&event).await;

    let parked = app.events.wait_for("booking.confirmed.dlq", &event.subject, WAIT).await;
    assert_eq!(parked["id"], event.id.to_string(), "the original event is parked");
    let rows = app.rows(event.id).await;
    assert_eq!(rows, [("email".to_owned(), "sent".to_owned(), 1), ("sms".to_owned(), "pending".to_owned(), 5)]);
    assert_eq!(app.mail.messages_to(&guest.email).await.len(), 1);
    let error: String = sqlx::query_scalar("SELECT last_error FROM notifications WHERE cause_event_id = $1 AND channel = 'sms'")
        .bind(event.id)
        .fetch_one(&app.db)
        .await
        .expect("row");
    assert!(error.contains("503"), "{error}");
}
