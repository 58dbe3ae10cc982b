//! A crash between claiming a send and recording it leaves the row `sending`. Redeliveries wait
//! for a fresh claim and take over an expired one (see the crate docs).

use crate::helpers::{TestApp, confirmed, contact, spawn_app, spawn_app_with, stay};
use chrono::{DateTime, Utc};
use tripnest_common::{Event, saga::BookingConfirmed};

/// Leave the email row of `event` as a delivery that claimed it `age_secs` ago would.
async fn claimed_earlier(app: &TestApp, event: &Event<BookingConfirmed>, age_secs: f64) -> DateTime<Utc> {
    let stay = &event.data.stay;
    sqlx::query_scalar(
        "INSERT INTO notifications (id, user_id, booking_id, channel, template, recipient, subject, body_text, status, cause_event_id, claimed_at) \
         VALUES (gen_random_uuid(), $1, $2, 'email', 'booking_confirmed', $3, 's', 'b', 'sending', $4, now() - make_interval(secs => $5)) \
         RETURNING claimed_at",
    )
    .bind(stay.user_id)
    .bind(stay.booking_id)
    .bind(&stay.contact.email)
    .bind(event.id)
    .bind(age_secs)
    .fetch_one(&app.db)
    .await
    .expect("claimed row")
}

#[tokio::test]
async fn a_claim_abandoned_longer_than_the_lease_is_taken_over_and_sent() {
    let app = spawn_app().await;
    let guest = contact(false);
    let event = confirmed(stay("Riverside Lisbon", guest.clone()));
    claimed_earlier(&app, &event, 3600.0).await;

    app.publish(&event).await;

    let mail = app.mail.wait_for_mail_to(&guest.email).await;
    assert_eq!(mail["Subject"], "Your stay at Riverside Lisbon is confirmed");
    assert_eq!(app.wait_row(event.id, "email", "sent").await, 2, "the second claim sent it");
    assert_eq!(app.wait_sent(&event, &["email"]).await.len(), 1);
}

#[tokio::test]
async fn a_fresh_claim_is_waited_for_until_its_lease_expires() {
    let app = spawn_app_with(|cfg| {
        cfg.claim_lease_secs = 3;
        cfg.send_timeout_secs = 1;
    })
    .await;
    let guest = contact(false);
    let event = confirmed(stay("Riverside Lisbon", guest.clone()));
    let claimed_at = claimed_earlier(&app, &event, 0.0).await;

    app.publish(&event).await;

    app.mail.wait_for_mail_to(&guest.email).await;
    assert_eq!(app.wait_row(event.id, "email", "sent").await, 2);
    let sent_at: DateTime<Utc> = sqlx::query_scalar("SELECT sent_at FROM notifications WHERE cause_event_id = $1")
        .bind(event.id)
        .fetch_one(&app.db)
        .await
        .expect("row");
    assert!(sent_at - claimed_at >= chrono::Duration::seconds(3), "not sent again within the lease: claimed {claimed_at}, sent {sent_at}");
    assert_eq!(app.mail.messages_to(&guest.email).await.len(), 1);
}

#[tokio::test]
async fn a_claim_that_settles_while_waited_for_is_not_sent_again() {
    let app = spawn_app_with(|cfg| cfg.claim_lease_secs = 600).await;
    let guest = contact(false);
    let event = confirmed(stay("Riverside Lisbon", guest.clone()));
    claimed_earlier(&app, &event, 0.0).await;
    let mut marker_stay = event.data.stay.clone();
    marker_stay.contact = contact(false);
    let marker = confirmed(marker_stay.clone());

    app.publish(&event).await;
    app.publish(&marker).await;
    // The live holder finishes; the waiting delivery must then leave it alone.
    sqlx::query("UPDATE notifications SET status = 'sent', sent_at = now() WHERE cause_event_id = $1")
        .bind(event.id)
        .execute(&app.db)
        .await
        .expect("settle");

    app.mail.wait_for_mail_to(&marker_stay.contact.email).await;
    assert!(app.mail.messages_to(&guest.email).await.is_empty(), "the held send was not repeated");
    assert_eq!(app.rows(event.id).await, [("email".to_owned(), "sent".to_owned(), 1)]);
}
