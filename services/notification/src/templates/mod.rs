//! The messages, compiled in: what a guest reads when a booking is confirmed or cancelled, as an
//! email (plain text and HTML alternatives) and, when the guest gave a phone number, as an SMS.
//!
//! Every value that comes from an event (hotel and guest names, room type, currency) is put into
//! a `Facts`; the HTML alternative is rendered only from `Facts::escaped`, so user text never
//! reaches HTML unescaped. Wording is chosen per cancellation reason so the guest learns, in
//! plain words, what happened to the booking and to their money.

mod layout;

pub use layout::escape_html;

use layout::{Body, Facts};
use tripnest_common::saga::{BookingCancelled, BookingConfirmed, CancelReason, Channel, PaymentFailure, Stay};

/// Template name of the confirmation (email and SMS).
pub const BOOKING_CONFIRMED: &str = "booking_confirmed";
/// Template name of the cancellation (email and SMS).
pub const BOOKING_CANCELLED: &str = "booking_cancelled";

/// An email ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email {
    /// Recipient address.
    pub to: String,
    /// Recipient display name, when known.
    pub to_name: Option<String>,
    /// Subject line.
    pub subject: String,
    /// Plain-text alternative.
    pub text: String,
    /// HTML alternative.
    pub html: String,
}

/// An SMS ready to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sms {
    /// Phone number (E.164).
    pub to: String,
    /// Message text.
    pub body: String,
}

/// A message on one channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outgoing {
    /// Over SMTP.
    Email(Email),
    /// Over the SMS provider.
    Sms(Sms),
}

impl Outgoing {
    /// The channel it goes out on.
    pub fn channel(&self) -> Channel {
        match self {
            Self::Email(_) => Channel::Email,
            Self::Sms(_) => Channel::Sms,
        }
    }
    /// Address or phone number.
    pub fn recipient(&self) -> &str {
        match self {
            Self::Email(e) => &e.to,
            Self::Sms(s) => &s.to,
        }
    }
    /// Subject line (emails only).
    pub fn subject(&self) -> Option<&str> {
        match self {
            Self::Email(e) => Some(&e.subject),
            Self::Sms(_) => None,
        }
    }
    /// The text a person reads (email text part, or the SMS).
    pub fn body_text(&self) -> &str {
        match self {
            Self::Email(e) => &e.text,
            Self::Sms(s) => &s.body,
        }
    }
}

/// A rendered message and the template it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// Template name, recorded and published.
    pub template: &'static str,
    /// The message.
    pub message: Outgoing,
}

/// The notifications for `booking.confirmed`: an email, and an SMS when there is a phone.
pub fn booking_confirmed(event: &BookingConfirmed) -> Vec<Notification> {
    let stay = &event.stay;
    let body = |f: &Facts| Body {
        greeting: f.greeting(),
        lead: format!("Your stay at {} is confirmed.", f.hotel),
        paragraphs: vec![format!("We have received your payment of {}. Here are the details of your booking:", f.total)],
        rows: f.rows(),
        closing: "You can see or cancel this booking at any time under My bookings. We look forward to welcoming you.",
    };
    let facts = Facts::of(stay);
    let subject = format!("Your stay at {} is confirmed", stay.hotel_name);
    let sms = format!("TripNest: your stay at {} ({}) is confirmed. Details are in your email.", stay.hotel_name, facts.short_dates);
    messages(BOOKING_CONFIRMED, stay, &facts, subject, body, sms)
}

/// The notifications for `booking.cancelled`, worded for its reason.
pub fn booking_cancelled(event: &BookingCancelled) -> Vec<Notification> {
    let stay = &event.stay;
    let body = |f: &Facts| Body {
        greeting: f.greeting(),
        lead: format!("Your booking at {} was cancelled.", f.hotel),
        paragraphs: vec![why_cancelled(event), money_after_cancelling(event, &f.total)],
        rows: f.rows(),
        closing: "We are sorry to see this booking go, and you are welcome to book again at any time.",
    };
    let facts = Facts::of(stay);
    let subject = format!("Your booking at {} was cancelled", stay.hotel_name);
    let sms = format!(
        "TripNest: your booking at {} ({}) was cancelled. {} {}",
        stay.hotel_name,
        facts.short_dates,
        why_cancelled(event),
        money_after_cancelling(event, &facts.total)
    );
    messages(BOOKING_CANCELLED, stay, &facts, subject, body, sms)
}

fn messages(
    template: &'static str,
    stay: &Stay,
    facts: &Facts,
    subject: String,
    body: impl Fn(&Facts) -> Body,
    sms: String,
) -> Vec<Notification> {
    let email = Email {
        to: stay.contact.email.clone(),
        to_name: stay.contact.name.clone(),
        text: body(facts).text(),
        html: body(&facts.escaped()).html(&escape_html(&subject)),
        subject,
    };
    let mut out = vec![Notification { template, message: Outgoing::Email(email) }];
    if let Some(phone) = stay.contact.phone.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
        out.push(Notification { template, message: Outgoing::Sms(Sms { to: phone.to_owned(), body: sms }) });
    }
    out
}

/// Why the booking was cancelled, in the guest's terms.
fn why_cancelled(event: &BookingCancelled) -> String {
    match event.reason {
        CancelReason::PaymentFailed => {
            let detail = match event.payment_failure {
                Some(PaymentFailure::Declined) | None => "Your payment was declined by your card issuer",
                Some(PaymentFailure::InsufficientFunds) => "Your payment was declined because the card did not have enough funds",
                Some(PaymentFailure::InvalidPaymentMethod) => "Your payment was declined because we could not accept that payment method",
                Some(PaymentFailure::ProcessorError) => "Your payment could not be processed because the payment provider kept failing",
            };
            format!("{detail}, so we cancelled the booking and released the room.")
        }
        CancelReason::Guest => "We cancelled this booking at your request.".to_owned(),
        CancelReason::Expired => "The hold on your room expired before the payment was completed, so the room was released.".to_owned(),
    }
}

/// What happens to the guest's money; `total` is already in the output's format.
fn money_after_cancelling(event: &BookingCancelled, total: &str) -> String {
    if event.refund_due {
        format!(
            "A refund of {total} is on its way to your original payment method; depending on your bank it can take 5 to 10 business days to appear."
        )
    } else {
        "You have not been charged.".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;
    use tripnest_common::saga::Contact;
    use uuid::Uuid;

    fn stay(hotel: &str, phone: Option<&str>) -> Stay {
        Stay {
            booking_id: Uuid::nil(),
            user_id: Uuid::nil(),
            hotel_id: "h".into(),
            hotel_name: hotel.into(),
            room_type: "double".into(),
            check_in: NaiveDate::from_ymd_opt(2027, 5, 1).expect("date"),
            check_out: NaiveDate::from_ymd_opt(2027, 5, 3).expect("date"),
            guests: 2,
            rooms: 1,
            amount_cents: 24_000,
            currency: "EUR".into(),
            contact: Contact { email: "ada@example.test".into(), phone: phone.map(Into::into), name: Some("Ada".into()) },
        }
    }

    fn email(n: &[Notification]) -> &Email {
        match &n[0].message {
            Outgoing::Email(e) => e,
            Outgoing::Sms(_) => panic!("email first"),
        }
    }

    #[test]
    fn confirmation_has_subject_text_and_html_and_sms_only_with_a_phone() {
        let n = booking_confirmed(&BookingConfirmed { stay: stay("Riverside", None), payment_id: Uuid::nil(), popularity: None });
        assert_eq!(n.len(), 1);
        let e = email(&n);
        assert_eq!(e.subject, "Your stay at Riverside is confirmed");
        assert!(e.text.contains("Hello Ada,") && e.text.contains("Sat 1 May 2027") && e.text.contains("2 nights"), "{}", e.text);
        assert!(e.text.contains("EUR 240.00") && e.text.contains("1 × double, 2 guests"), "{}", e.text);
        assert!(e.html.contains("<h1") && e.html.contains("EUR 240.00"), "{}", e.html);

        let n = booking_confirmed(&BookingConfirmed {
            stay: stay("Riverside", Some("+351911111111")),
            payment_id: Uuid::nil(),
            popularity: None,
        });
        assert_eq!(n[1].message, Outgoing::Sms(Sms { to: "+351911111111".into(), body: n[1].message.body_text().to_owned() }));
        assert!(n[1].message.body_text().contains("Riverside (1 May to 3 May 2027) is confirmed"));
    }

    #[test]
    fn user_text_is_escaped_in_html_only() {
        let mut s = stay("<script>alert('x')</script> & Co", None);
        s.contact.name = Some("\"Ada\"".into());
        let n = booking_confirmed(&BookingConfirmed { stay: s, payment_id: Uuid::nil(), popularity: None });
        let e = email(&n);
        assert!(!e.html.contains("<script>"), "{}", e.html);
        assert!(e.html.contains("&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; Co"), "{}", e.html);
        assert!(e.html.contains("Hello &quot;Ada&quot;,"));
        assert!(e.text.contains("<script>alert('x')</script> & Co"), "text stays as written");
    }

    #[test]
    fn cancellations_explain_the_reason_and_the_money() {
        let cancelled = |reason, refund_due, payment_failure| {
            let n = booking_cancelled(&BookingCancelled {
                stay: stay("Riverside", Some("+1")),
                reason,
                refund_due,
                payment_failure,
                popularity: None,
            });
            (email(&n).clone(), n[1].message.body_text().to_owned())
        };
        let (e, sms) = cancelled(CancelReason::PaymentFailed, false, Some(PaymentFailure::Declined));
        assert_eq!(e.subject, "Your booking at Riverside was cancelled");
        assert!(e.text.contains("Your payment was declined") && e.text.contains("You have not been charged."), "{}", e.text);
        assert!(sms.contains("payment was declined"), "{sms}");

        let (e, sms) = cancelled(CancelReason::Guest, true, None);
        assert!(e.text.contains("at your request") && e.text.contains("A refund of EUR 240.00 is on its way"), "{}", e.text);
        assert!(sms.contains("refund of EUR 240.00 is on its way"), "{sms}");

        let (e, _) = cancelled(CancelReason::Expired, false, None);
        assert!(e.text.contains("hold on your room expired") && e.text.contains("not been charged"), "{}", e.text);
    }
}
