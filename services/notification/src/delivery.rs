//! Sending each notification once per (causing event, channel), recording it, and announcing
//! it. The protocol is described in the crate documentation; in short: claim the row in its own
//! committed transaction, send, then mark it sent and enqueue `notification.sent` together (one
//! statement).

use crate::{
    NAME,
    channels::{Mailer, SendError, SmsProvider},
    templates::{Notification, Outgoing},
};
use std::{sync::Arc, time::Duration};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    Event,
    kafka::{HandlerError, backoff},
    outbox::{self, Outbox},
    saga::{Channel, NotificationSent, Stay},
};
use uuid::Uuid;

/// Mark the claimed row ($6, attempt $7) sent and queue `notification.sent` if it was still
/// ours to mark.
static MARK_SENT: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
    outbox::after(
        "marked AS (UPDATE notifications SET status = 'sent', sent_at = now(), last_error = NULL \
           WHERE id = $6 AND attempts = $7 AND status = 'sending' RETURNING 1)",
        "EXISTS (SELECT FROM marked)",
    )
});

/// Attempts to record a send that already happened before giving up on this delivery.
const RECORD_ATTEMPTS: u32 = 6;
/// Longest `last_error` kept.
const MAX_ERROR_CHARS: usize = 1000;

/// The event a notification answers.
#[derive(Debug, Clone, Copy)]
pub struct Cause<'a> {
    /// The CloudEvent id: with the channel, the deduplication key.
    pub event_id: Uuid,
    /// The booking it is about.
    pub stay: &'a Stay,
    /// Trace context to carry onto `notification.sent`.
    pub traceparent: Option<&'a str>,
}

/// Our hold on one notification row: its id and the attempt number that fences later writes.
#[derive(Debug, Clone, Copy)]
struct Claim {
    id: Uuid,
    attempt: i32,
}

/// Sends notifications over the configured channels, at most once per event and channel.
pub struct Notifier {
    outbox: Outbox,
    mailer: Mailer,
    sms: Option<Arc<dyn SmsProvider>>,
    lease: Duration,
    shutdown: CancellationToken,
}

impl Notifier {
    /// A notifier; `sms: None` skips SMS. `lease` must outlast one send (see [`crate::Config::claim_lease`]).
    pub fn new(outbox: Outbox, mailer: Mailer, sms: Option<Arc<dyn SmsProvider>>, lease: Duration, shutdown: CancellationToken) -> Self {
        Self { outbox, mailer, sms, lease, shutdown }
    }

    /// Deliver every notification of one event. All are attempted; if any failed transiently the
    /// result is transient, and a redelivery sends only what is still outstanding.
    pub async fn deliver_all(&self, cause: Cause<'_>, notifications: &[Notification]) -> Result<(), HandlerError> {
        let mut first_error = None;
        for n in notifications {
            if matches!(n.message, Outgoing::Sms(_)) && self.sms.is_none() {
                tracing::debug!(event_id = %cause.event_id, "no SMS provider configured; skipping SMS");
                continue;
            }
            if let Err(e) = self.deliver(cause, n).await {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    #[tracing::instrument(skip_all, fields(event_id = %cause.event_id, channel = channel_name(n.message.channel()), template = n.template))]
    async fn deliver(&self, cause: Cause<'_>, n: &Notification) -> Result<(), HandlerError> {
        let Some(claim) = self.claim(cause, n).await? else { return Ok(()) };
        let channel = channel_name(n.message.channel());
        match self.send(&n.message).await {
            Ok(()) => {
                metrics::counter!("notifications_total", "channel" => channel, "outcome" => "sent").increment(1);
                self.record_sent(claim, cause, n).await
            }
            Err(SendError::Permanent(e)) => {
                metrics::counter!("notifications_total", "channel" => channel, "outcome" => "failed").increment(1);
                tracing::warn!(notification_id = %claim.id, error = format!("{e:#}"), "notification refused for good; recorded as failed");
                self.settle(claim, "failed", &e).await?;
                Ok(())
            }
            Err(SendError::Transient(e)) => {
                metrics::counter!("notifications_total", "channel" => channel, "outcome" => "retry").increment(1);
                tracing::warn!(notification_id = %claim.id, attempt = claim.attempt, error = format!("{e:#}"), "send failed; will retry");
                self.settle(claim, "pending", &e).await?;
                Err(HandlerError::Transient(e))
            }
        }
    }

    async fn send(&self, message: &Outgoing) -> Result<(), SendError> {
        match (message, &self.sms) {
            (Outgoing::Email(email), _) => self.mailer.send(email).await,
            (Outgoing::Sms(sms), Some(provider)) => provider.send(sms).await,
            (Outgoing::Sms(_), None) => Err(SendError::Permanent(anyhow::anyhow!("no SMS provider configured"))),
        }
    }

    /// Take the row for (event, channel), or learn that there is nothing to do. A claim held by
    /// another delivery is waited for until it settles or its lease expires.
    async fn claim(&self, cause: Cause<'_>, n: &Notification) -> Result<Option<Claim>, HandlerError> {
        let channel = channel_name(n.message.channel());
        let poll = self.lease.div_f64(4.0).min(Duration::from_secs(1));
        let mut waiting = false;
        loop {
            if let Some(claim) = self.try_claim(cause, n).await? {
                if claim.attempt > 1 {
                    tracing::info!(notification_id = %claim.id, attempt = claim.attempt, "claimed a notification that was not sent yet");
                }
                return Ok(Some(claim));
            }
            let status: Option<String> = sqlx::query_scalar("SELECT status FROM notifications WHERE cause_event_id = $1 AND channel = $2")
                .bind(cause.event_id)
                .bind(channel)
                .fetch_optional(self.outbox.pool())
                .await?;
            match status.as_deref() {
                Some("sent" | "failed") => {
                    tracing::info!("event already notified on this channel; nothing to send");
                    return Ok(None);
                }
                Some("sending") => {
                    if !waiting {
                        tracing::info!(
                            lease_secs = self.lease.as_secs(),
                            "another delivery holds this send; waiting for it to settle or expire"
                        );
                        waiting = true;
                    }
                    tokio::select! {
                        () = self.shutdown.cancelled() => {
                            return Err(HandlerError::Transient(anyhow::anyhow!("shutting down while another delivery holds the send")));
                        }
                        () = tokio::time::sleep(poll) => {}
                    }
                }
                _ => {} // released or claimed and released in between: try again
            }
        }
    }

    /// Insert the row as `sending`, or re-claim it when it is `pending` or its claim is older
    /// than the lease. Commits on its own, before anything is sent.
    async fn try_claim(&self, cause: Cause<'_>, n: &Notification) -> sqlx::Result<Option<Claim>> {
        let row: Option<(Uuid, i32)> = sqlx::query_as(
            "INSERT INTO notifications (id, user_id, booking_id, channel, template, recipient, subject, body_text, status, \
                                        cause_event_id, attempts, claimed_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'sending', $9, 1, now()) \
             ON CONFLICT ON CONSTRAINT notifications_once_per_event_and_channel DO UPDATE \
                SET status = 'sending', attempts = notifications.attempts + 1, claimed_at = now(), \
                    template = EXCLUDED.template, recipient = EXCLUDED.recipient, subject = EXCLUDED.subject, \
                    body_text = EXCLUDED.body_text \
              WHERE notifications.status = 'pending' \
                 OR (notifications.status = 'sending' AND notifications.claimed_at < now() - make_interval(secs => $10)) \
             RETURNING id, attempts",
        )
        .bind(Uuid::now_v7())
        .bind(cause.stay.user_id)
        .bind(cause.stay.booking_id)
        .bind(channel_name(n.message.channel()))
        .bind(n.template)
        .bind(n.message.recipient())
        .bind(n.message.subject())
        .bind(n.message.body_text())
        .bind(cause.event_id)
        .bind(self.lease.as_secs_f64())
        .fetch_optional(self.outbox.pool())
        .await?;
        Ok(row.map(|(id, attempt)| Claim { id, attempt }))
    }

    /// Mark the row sent and enqueue `notification.sent` in one transaction. The message is out,
    /// so a failing database is retried here rather than by a redelivery (which would resend).
    async fn record_sent(&self, claim: Claim, cause: Cause<'_>, n: &Notification) -> Result<(), HandlerError> {
        let sent = NotificationSent {
            notification_id: claim.id,
            booking_id: cause.stay.booking_id,
            user_id: cause.stay.user_id,
            channel: n.message.channel(),
            cause_event_id: cause.event_id,
            template: n.template.to_owned(),
        };
        let event = Event::new(NAME, cause.stay.booking_id.to_string(), sent);
        let mut attempt = 0;
        loop {
            attempt += 1;
            match self.try_record_sent(claim, &event, cause.traceparent).await {
                Ok(true) => {
                    tracing::info!(notification_id = %claim.id, "notification sent");
                    return Ok(());
                }
                Ok(false) => {
                    tracing::warn!(notification_id = %claim.id, "the send outlived its lease and was taken over; the new holder records it");
                    return Ok(());
                }
                Err(e) if attempt < RECORD_ATTEMPTS => {
                    tracing::warn!(notification_id = %claim.id, attempt, error = %e, "recording a sent notification failed; retrying");
                    tokio::time::sleep(backoff(attempt, Duration::from_millis(200), Duration::from_secs(2))).await;
                }
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// One statement, its own transaction: the mark, and the event only if the mark took.
    async fn try_record_sent(&self, claim: Claim, event: &Event<NotificationSent>, traceparent: Option<&str>) -> sqlx::Result<bool> {
        let events = [outbox::Outgoing::new(event).map_err(|e| sqlx::Error::Encode(e.into()))?];
        self.outbox.enqueue_alone(&events, traceparent, &MARK_SENT, |q| q.bind(claim.id).bind(claim.attempt)).await
    }

    /// Leave a claim as `pending` (retry allowed) or `failed` (final), with the reason.
    async fn settle(&self, claim: Claim, status: &'static str, error: &anyhow::Error) -> sqlx::Result<()> {
        let reason: String = format!("{error:#}").chars().take(MAX_ERROR_CHARS).collect();
        sqlx::query("UPDATE notifications SET status = $3, last_error = $4 WHERE id = $1 AND attempts = $2 AND status = 'sending'")
            .bind(claim.id)
            .bind(claim.attempt)
            .bind(status)
            .bind(reason)
            .execute(self.outbox.pool())
            .await?;
        Ok(())
    }
}

/// The stored and published name of a channel.
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => "email",
        Channel::Sms => "sms",
    }
}
