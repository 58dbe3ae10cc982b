use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor, message::MultiPart};
use std::time::Duration;
use tripnest_e2e::{Stack, unique, wait_until};

#[tokio::test]
async fn smtp_delivers_a_mail_that_can_be_read_back() {
    let stack = Stack::load();
    let smtp = reqwest::Url::parse(stack.get("SMTP_URL")).expect("SMTP_URL");
    let mailer =
        AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(smtp.host_str().expect("host")).port(smtp.port().expect("port")).build();
    let subject = format!("Your stay is confirmed {}", unique("bk"));
    let mail = Message::builder()
        .from("TripNest <bookings@tripnest.test>".parse().expect("from"))
        .to("Ada <ada@example.test>".parse().expect("to"))
        .subject(&subject)
        .multipart(MultiPart::alternative_plain_html(
            "Booking confirmed: 2 nights.".to_owned(),
            "<p>Booking <b>confirmed</b>: 2 nights.</p>".to_owned(),
        ))
        .expect("message");
    mailer.send(mail).await.expect("SMTP send");

    let api = stack.get("MAIL_API_URL").trim_end_matches('/').to_owned();
    let http = reqwest::Client::new();
    let id = wait_until("the mail to arrive", Duration::from_secs(10), || {
        let (http, api, subject) = (http.clone(), api.clone(), subject.clone());
        async move {
            let list: serde_json::Value = http.get(format!("{api}/api/v1/messages")).send().await.ok()?.json().await.ok()?;
            list["messages"]
                .as_array()?
                .iter()
                .find(|m| m["Subject"] == subject.as_str())
                .map(|m| m["ID"].as_str().unwrap_or_default().to_owned())
        }
    })
    .await;
    let msg: serde_json::Value =
        http.get(format!("{api}/api/v1/message/{id}")).send().await.expect("get message").json().await.expect("json");
    assert!(msg["Text"].as_str().expect("Text").contains("Booking confirmed: 2 nights."), "{msg}");
    assert!(msg["HTML"].as_str().expect("HTML").contains("<b>confirmed</b>"), "{msg}");
    assert!(msg["To"].to_string().contains("ada@example.test"), "{msg}");
}
