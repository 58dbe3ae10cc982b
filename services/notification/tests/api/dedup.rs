use crate::helpers::{confirmed, contact, spawn_app, stay};

#[tokio::test]
async fn the_same_event_delivered_twice_sends_one_email_and_one_announcement() {
    // Arrange: one event published twice, then a later event on the same booking as a marker:
    // the partition is processed in order, so once the marker is done the duplicate is too.
    let app = spawn_app().await;
    let guest = contact(false);
    let event = confirmed(stay("Riverside Lisbon", guest.clone()));
    let mut marker_stay = event.data.stay.clone();
    marker_stay.contact = contact(false);
    let marker = confirmed(marker_stay.clone());

    // Act
    app.publish(&event).await;
    app.publish(&event).await;
    app.publish(&marker).await;

    // Assert
    app.mail.wait_for_mail_to(&marker_stay.contact.email).await;
    app.wait_sent(&marker, &["email"]).await;
    // The marker's announcement is read, so any duplicate announcement (published before it) is too.
    let announced = app.sent_for(&event);
    assert_eq!(announced.len(), 1, "{announced:?}");
    assert_eq!(app.mail.messages_to(&guest.email).await.len(), 1, "exactly one email");
    assert_eq!(app.rows(event.id).await, [("email".to_owned(), "sent".to_owned(), 1)]);
}
