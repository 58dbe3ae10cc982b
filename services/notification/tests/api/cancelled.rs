use crate::helpers::{cancelled, contact, spawn_app, stay};
use tripnest_common::saga::{CancelReason, PaymentFailure};

#[tokio::test]
async fn a_cancellation_after_a_declined_payment_says_so_and_that_nothing_was_charged() {
    let app = spawn_app().await;
    let guest = contact(false);
    let event = cancelled(stay("Riverside Lisbon", guest.clone()), CancelReason::PaymentFailed, false, Some(PaymentFailure::Declined));

    app.publish(&event).await;

    let mail = app.mail.wait_for_mail_to(&guest.email).await;
    assert_eq!(mail["Subject"], "Your booking at Riverside Lisbon was cancelled");
    let text = mail["Text"].as_str().expect("Text");
    assert!(text.contains("Your payment was declined by your card issuer, so we cancelled the booking"), "{text}");
    assert!(text.contains("You have not been charged.") && !text.contains("refund"), "{text}");
    assert!(mail["HTML"].as_str().expect("HTML").contains("Your payment was declined"));
    let sent = app.wait_sent(&event, &["email"]).await;
    assert_eq!(sent[0].template, "booking_cancelled");
}

#[tokio::test]
async fn a_cancellation_by_the_guest_says_the_refund_is_on_its_way() {
    let app = spawn_app().await;
    let guest = contact(false);
    let event = cancelled(stay("Riverside Lisbon", guest.clone()), CancelReason::Guest, true, None);

    app.publish(&event).await;

    let mail = app.mail.wait_for_mail_to(&guest.email).await;
    assert_eq!(mail["Subject"], "Your booking at Riverside Lisbon was cancelled");
    for part in ["Text", "HTML"] {
        let body = mail[part].as_str().expect(part);
        assert!(body.contains("We cancelled this booking at your request."), "{part}: {body}");
        assert!(body.contains("A refund of EUR 240.00 is on its way to your original payment method"), "{part}: {body}");
    }
}

#[tokio::test]
async fn an_expired_hold_is_explained() {
    let app = spawn_app().await;
    let guest = contact(false);

    app.publish(&cancelled(stay("Riverside Lisbon", guest.clone()), CancelReason::Expired, false, None)).await;

    let mail = app.mail.wait_for_mail_to(&guest.email).await;
    let text = mail["Text"].as_str().expect("Text");
    assert!(text.contains("The hold on your room expired before the payment was completed"), "{text}");
    assert!(text.contains("You have not been charged."), "{text}");
}
