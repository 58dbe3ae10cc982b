use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::MultiPart};
use std::time::Duration;
use tripnest_e2e::{MailApi, Stack, unique, wait_until};

#[tokio::test]
async fn smtp_delivers_a_mail_that_can_be_read_back() {
    let stack = Stack::load();
    let smtp = reqwest::Url::parse(stack.get("SMTP_URL")).expect("SMTP_URL");
    let mailer =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host_str().expect("host")).port(smtp.port().expect("port")).build();
    let subject = format!("Your stay is confirmed {}", unique("bk"));
    let to = format!("ada+{}@example.test", unique("smtp"));
    let mail = Message::builder()
        .from("TripNest <bookings@tripnest.test>".parse().expect("from"))
        .to(format!("Ada <{to}>").parse().expect("to"))
        .subject(&subject)
        .multipart(MultiPart::alternative_plain_html(
            "Booking confirmed: 2 nights.".to_owned(),
            "<p>Booking <b>confirmed</b>: 2 nights.</p>".to_owned(),
        ))
        .expect("message");
    mailer.send(mail).await.expect("SMTP send");

    let mail = MailApi::new(&stack, reqwest::Client::new());
    let id = wait_until("the mail to arrive", Duration::from_secs(10), || async {
        mail.messages_to(&to)
            .await
            .iter()
            .find(|m| m["Subject"] == subject.as_str())
            .map(|m| m["ID"].as_str().unwrap_or_default().to_owned())
    })
    .await;
    let msg = mail.message(&id).await;
    assert!(msg["Text"].as_str().expect("Text").contains("Booking confirmed: 2 nights."), "{msg}");
    assert!(msg["HTML"].as_str().expect("HTML").contains("<b>confirmed</b>"), "{msg}");
    assert!(msg["To"].to_string().contains(&to), "{msg}");
}
