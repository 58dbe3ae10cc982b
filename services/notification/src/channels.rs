//! The ways a message leaves TripNest: email over SMTP ([`Mailer`]) and SMS through an
//! [`SmsProvider`] ([`HttpSmsProvider`] in production). Each send classifies its failure:
//! [`SendError::Transient`] is worth retrying (the message did not go out, or we cannot tell),
//! [`SendError::Permanent`] will fail the same way again (bad address, refused by the provider).

use crate::{
    config::Config,
    templates::{Email, Sms},
};
use anyhow::Context;
use futures::future::BoxFuture;
use lettre::{
    Address, Message,
    address::Envelope,
    message::{Mailbox, MultiPart},
    transport::smtp::{
        self,
        authentication::{Credentials, DEFAULT_MECHANISMS},
        client::AsyncSmtpConnection,
        extension::ClientId,
    },
};
use secrecy::{ExposeSecret, SecretString};
use std::time::Duration;

/// Why a send failed.
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// Try again later: timeouts, unreachable servers, 4xx SMTP replies, 5xx HTTP answers.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// Never going to work: invalid address, 5xx SMTP replies, 4xx HTTP answers.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
}

/// Sends email through the configured SMTP server: a connection per message (connect, EHLO,
/// AUTH when configured, the message, QUIT) on a socket with Nagle's algorithm off. lettre
/// writes a message and its closing `.` as two writes, and with Nagle on the second waits for
/// the server's delayed ACK of the first: 40 ms a mail on Linux, which held notification to
/// about 22 mails a second (a bench run's backlog drained at that rate, the machine idle).
#[derive(Clone)]
pub struct Mailer {
    host: String,
    port: u16,
    credentials: Option<Credentials>,
    from: Mailbox,
    timeout: Duration,
}

impl Mailer {
    /// A mailer for `cfg.smtp_url`, sending as `cfg.mail_from`.
    pub fn new(cfg: &Config) -> anyhow::Result<Self> {
        let url = reqwest::Url::parse(&cfg.smtp_url).with_context(|| format!("invalid smtp_url {:?} (set APP_SMTP_URL)", cfg.smtp_url))?;
        // lettre is built without TLS here; a TLS relay needs one of its TLS features.
        anyhow::ensure!(url.scheme() == "smtp", "smtp_url must be smtp://host:port (TLS is not built in); got {:?}", cfg.smtp_url);
        let host = url.host_str().with_context(|| format!("smtp_url {:?} has no host", cfg.smtp_url))?;
        let credentials = match (&cfg.smtp_username, &cfg.smtp_password) {
            (Some(user), Some(password)) => Some(Credentials::new(user.clone(), password.expose_secret().to_owned())),
            _ => None,
        };
        let from = cfg.mail_from.parse().with_context(|| format!("invalid mail_from {:?} (set APP_MAIL_FROM)", cfg.mail_from))?;
        Ok(Self {
            host: host.trim_start_matches('[').trim_end_matches(']').to_owned(),
            port: url.port().unwrap_or(smtp::SMTP_PORT),
            credentials,
            from,
            timeout: cfg.send_timeout(),
        })
    }

    /// Send `email` as a text + HTML alternative; resolves once the server accepted it, or
    /// fails transiently when the whole exchange takes longer than the send timeout.
    pub async fn send(&self, email: &Email) -> Result<(), SendError> {
        let address: Address =
            email.to.parse().map_err(|e| SendError::Permanent(anyhow::anyhow!("invalid email address {:?}: {e}", email.to)))?;
        let message = Message::builder()
            .from(self.from.clone())
            .to(Mailbox::new(email.to_name.clone(), address))
            .subject(&email.subject)
            .multipart(MultiPart::alternative_plain_html(email.text.clone(), email.html.clone()))
            .map_err(|e| SendError::Permanent(anyhow::anyhow!("cannot build the message: {e}")))?;
        // The claim lease needs a bound on the whole exchange, not only on each step.
        match tokio::time::timeout(self.timeout, self.exchange(message.envelope(), &message.formatted())).await {
            Ok(sent) => sent,
            Err(_) => Err(SendError::Transient(anyhow::anyhow!("SMTP send took longer than {:?}", self.timeout))),
        }
    }

    async fn exchange(&self, envelope: &Envelope, message: &[u8]) -> Result<(), SendError> {
        let unreachable =
            |e: std::io::Error| SendError::Transient(anyhow::anyhow!("cannot reach the SMTP server {}:{}: {e}", self.host, self.port));
        let stream = tokio::net::TcpStream::connect((self.host.as_str(), self.port)).await.map_err(unreachable)?;
        stream.set_nodelay(true).map_err(unreachable)?;
        let mut connection = AsyncSmtpConnection::connect_with_transport(Box::new(stream), &ClientId::default()).await.map_err(refused)?;
        if let Some(credentials) = &self.credentials {
            connection.auth(DEFAULT_MECHANISMS, credentials).await.map_err(refused)?;
        }
        let sent = connection.send(envelope, message).await.map_err(refused);
        connection.abort().await; // QUIT and close, whatever the answer was
        sent.map(drop)
    }
}

/// An SMTP failure: 5xx replies and client-side refusals will not change on a retry.
fn refused(e: smtp::Error) -> SendError {
    if e.is_permanent() || e.is_client() {
        SendError::Permanent(anyhow::anyhow!("SMTP refused the message: {e}"))
    } else {
        SendError::Transient(anyhow::anyhow!("SMTP send failed: {e}"))
    }
}

/// A third-party SMS gateway.
pub trait SmsProvider: Send + Sync {
    /// Send `sms`; resolves once the provider accepted it.
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), SendError>>;
}

/// An SMS provider reached over HTTP: `POST {url}` with `{"to", "body"}` and a bearer token.
/// 2xx is sent; 5xx, 408, 429 and network failures are transient; other answers are permanent.
pub struct HttpSmsProvider {
    http: reqwest::Client,
    url: String,
    token: Option<SecretString>,
}

impl HttpSmsProvider {
    /// The provider configured by `sms_url` / `sms_token`, or `None` when `sms_url` is empty.
    pub fn from_config(cfg: &Config) -> anyhow::Result<Option<Self>> {
        if cfg.sms_url.trim().is_empty() {
            return Ok(None);
        }
        let url = reqwest::Url::parse(&cfg.sms_url).with_context(|| format!("invalid sms_url {:?} (set APP_SMS_URL)", cfg.sms_url))?;
        let http = reqwest::Client::builder().timeout(cfg.send_timeout()).connect_timeout(Duration::from_secs(5)).build()?;
        Ok(Some(Self { http, url: url.into(), token: cfg.sms_token.clone() }))
    }
}

impl SmsProvider for HttpSmsProvider {
    fn send<'a>(&'a self, sms: &'a Sms) -> BoxFuture<'a, Result<(), SendError>> {
        Box::pin(async move {
            let mut request = self.http.post(&self.url).json(&serde_json::json!({ "to": sms.to, "body": sms.body }));
            if let Some(token) = &self.token {
                request = request.bearer_auth(token.expose_secret());
            }
            let response = match request.send().await {
                Ok(r) => r,
                Err(e) if e.is_builder() => return Err(SendError::Permanent(anyhow::anyhow!("cannot build the SMS request: {e}"))),
                Err(e) => return Err(SendError::Transient(anyhow::anyhow!("SMS provider unreachable: {e}"))),
            };
            let status = response.status();
            if status.is_success() {
                return Ok(());
            }
            let detail: String = response.text().await.unwrap_or_default().chars().take(200).collect();
            let error = anyhow::anyhow!("SMS provider answered {status}: {detail}");
            let retry_later = status.is_server_error()
                || status == reqwest::StatusCode::TOO_MANY_REQUESTS
                || status == reqwest::StatusCode::REQUEST_TIMEOUT;
            Err(if retry_later { SendError::Transient(error) } else { SendError::Permanent(error) })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

    /// An SMTP peer on loopback that answers `RCPT TO` with `rcpt_reply` and returns what it
    /// received in the DATA of each message.
    async fn peer(rcpt_reply: &'static str) -> (u16, tokio::task::JoinHandle<Vec<String>>) {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let port = listener.local_addr().expect("addr").port();
        let served = tokio::spawn(async move {
            let (socket, _) = listener.accept().await.expect("accept");
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            write.write_all(b"220 peer ready\r\n").await.expect("greet");
            let (mut messages, mut data) = (Vec::new(), None::<String>);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(body) = data.as_mut() {
                    if line == "." {
                        messages.push(data.take().unwrap_or_default());
                        write.write_all(b"250 queued\r\n").await.expect("queued");
                    } else {
                        body.push_str(&line);
                        body.push('\n');
                    }
                    continue;
                }
                let reply = match line.get(..4).unwrap_or_default().to_ascii_uppercase().as_str() {
                    "EHLO" | "HELO" => "250 peer\r\n",
                    "MAIL" => "250 ok\r\n",
                    "RCPT" => rcpt_reply,
                    "DATA" => {
                        data = Some(String::new());
                        "354 go on\r\n"
                    }
                    "QUIT" => {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        break;
                    }
                    _ => "500 what\r\n",
                };
                write.write_all(reply.as_bytes()).await.expect("reply");
            }
            messages
        });
        (port, served)
    }

    fn mailer(port: u16) -> Mailer {
        Mailer::new(&Config { smtp_url: format!("smtp://127.0.0.1:{port}"), ..Config::default() }).expect("mailer")
    }

    fn email() -> Email {
        Email {
            to: "guest@example.test".into(),
            to_name: Some("Guest".into()),
            subject: "Your stay".into(),
            text: "See you soon".into(),
            html: "<p>See you soon</p>".into(),
        }
    }

    #[tokio::test]
    async fn an_accepted_message_is_sent_whole() {
        let (port, served) = peer("250 ok\r\n").await;
        mailer(port).send(&email()).await.expect("sent");
        let messages = served.await.expect("peer");
        assert_eq!(messages.len(), 1);
        assert!(messages[0].contains("Subject: Your stay") && messages[0].contains("See you soon"), "{}", messages[0]);
    }

    #[tokio::test]
    async fn a_5xx_is_permanent_a_4xx_and_an_unreachable_server_are_transient() {
        let (port, _served) = peer("550 no such mailbox\r\n").await;
        assert!(matches!(mailer(port).send(&email()).await, Err(SendError::Permanent(_))));
        let (port, _served) = peer("451 try later\r\n").await;
        assert!(matches!(mailer(port).send(&email()).await, Err(SendError::Transient(_))));
        let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind").local_addr().expect("addr").port();
        assert!(matches!(mailer(closed).send(&email()).await, Err(SendError::Transient(_))));
    }
}
