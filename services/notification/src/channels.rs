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
    Address, AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{Mailbox, MultiPart},
    transport::smtp::authentication::Credentials,
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

/// Sends email through the configured SMTP server.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
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
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(url.port().unwrap_or(lettre::transport::smtp::SMTP_PORT))
            .timeout(Some(cfg.send_timeout()));
        if let (Some(user), Some(password)) = (&cfg.smtp_username, &cfg.smtp_password) {
            builder = builder.credentials(Credentials::new(user.clone(), password.expose_secret().to_owned()));
        }
        let from = cfg.mail_from.parse().with_context(|| format!("invalid mail_from {:?} (set APP_MAIL_FROM)", cfg.mail_from))?;
        Ok(Self { transport: builder.build(), from, timeout: cfg.send_timeout() })
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
        // lettre's timeout bounds each step; the claim lease needs a bound on the whole send.
        let Ok(sent) = tokio::time::timeout(self.timeout, self.transport.send(message)).await else {
            return Err(SendError::Transient(anyhow::anyhow!("SMTP send took longer than {:?}", self.timeout)));
        };
        match sent {
            Ok(_) => Ok(()),
            // 5xx replies and client-side refusals will not change on a retry.
            Err(e) if e.is_permanent() || e.is_client() => Err(SendError::Permanent(anyhow::anyhow!("SMTP refused the message: {e}"))),
            Err(e) => Err(SendError::Transient(anyhow::anyhow!("SMTP send failed: {e}"))),
        }
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
