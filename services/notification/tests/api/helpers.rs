//! `spawn_app()` and the peers a test talks to: the real stack (PostgreSQL, Kafka, Mailpit
//! and its Mailpit-compatible API), plus loopback stand-ins for the two third parties, the
//! user service's JWKS and the SMS provider.

use axum::{Json, extract::State, http::HeaderMap, http::StatusCode, routing::post};
use chrono::NaiveDate;
use serde_json::Value;
use sqlx::PgPool;
use std::{
    collections::VecDeque,
    sync::{Arc, Mutex},
};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    Event,
    config::{CommonConfig, KafkaConfig},
    events::topics,
    kafka::Producer,
    saga::{BookingCancelled, BookingConfirmed, CancelReason, Contact, NotificationSent, PaymentFailure, Stay},
};
use tripnest_e2e::{EventTap, MailApi, Stack, TestDatabase, TestTopics, TokenIssuer, http_client, unique, wait_until};
use tripnest_notification::Config;
use uuid::Uuid;

pub use tripnest_e2e::WAIT;

/// A running notification service with its own database and topic prefix.
pub struct TestApp {
    pub url: String,
    pub db: PgPool,
    pub producer: Producer,
    /// Mints user tokens; the service verifies them against its JWKS.
    pub tokens: TokenIssuer,
    pub sms: SmsPeer,
    pub mail: MailApi,
    pub http: reqwest::Client,
    /// `notification.sent` and the dead-letter topics, as published.
    pub events: EventTap,
    shutdown: CancellationToken,
    _db: TestDatabase,
    _topics: TestTopics,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Start the service with the test defaults.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Start the service after `adjust` changed its configuration.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    let stack = Stack::load();
    let (database, topics) = (stack.fresh_database().await, TestTopics::create(&stack).await.kept());
    let kafka = KafkaConfig {
        bootstrap_servers: topics.bootstrap.clone(),
        group_id: unique("notification"),
        topic_prefix: topics.prefix.clone(),
        ..KafkaConfig::default()
    };
    let tokens = TokenIssuer::start().await;
    let events = EventTap::start(
        &kafka.bootstrap_servers,
        &kafka.topic_prefix,
        &[topics::NOTIFICATION_SENT, "booking.confirmed.dlq", "booking.cancelled.dlq"],
    )
    .await;
    let sms = SmsPeer::start().await;
    let mut cfg = Config {
        common: CommonConfig { database_url: Some(database.url.clone().into()), kafka: kafka.clone(), ..CommonConfig::default() },
        smtp_url: stack.get("SMTP_URL").to_owned(),
        sms_url: sms.url.clone(),
        sms_token: Some("test-sms-token".into()),
        jwks_url: tokens.jwks_url.clone(),
        ..Config::default()
    };
    adjust(&mut cfg);
    let shutdown = CancellationToken::new();
    let running = tripnest_notification::start(cfg, shutdown.clone()).await.expect("service starts");
    let producer = Producer::new(&kafka).expect("producer");
    TestApp {
        url: running.url(),
        db: database.pool.clone(),
        producer,
        tokens,
        sms,
        mail: MailApi::new(&stack, http_client()),
        http: http_client(),
        events,
        shutdown,
        _db: database,
        _topics: topics,
    }
}

impl TestApp {
    /// Publish an event as booking would.
    pub async fn publish<T: serde::Serialize>(&self, event: &Event<T>) {
        self.producer.publish(event, None).await.expect("publish");
    }

    /// `GET /notifications{query}` with an optional bearer token.
    pub async fn list_notifications(&self, token: Option<&str>, query: &str) -> (StatusCode, Value) {
        let mut request = self.http.get(format!("{}/notifications{query}", self.url));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("GET /notifications");
        let status = StatusCode::from_u16(response.status().as_u16()).expect("status");
        (status, response.json().await.expect("json body"))
    }

    /// The `notification.sent` events caused by `event` seen so far.
    pub fn sent_for<T>(&self, event: &Event<T>) -> Vec<NotificationSent> {
        let all = self.events.about(topics::NOTIFICATION_SENT, &event.subject);
        let data =
            all.into_iter().map(|v| serde_json::from_value::<NotificationSent>(v["data"].clone()).expect("notification.sent payload"));
        data.filter(|e| e.cause_event_id == event.id).collect()
    }

    /// Wait until `event` was announced on each of `channels`; returns its announcements.
    pub async fn wait_sent<T>(&self, event: &Event<T>, channels: &[&str]) -> Vec<NotificationSent> {
        wait_until(&format!("notification.sent for {} on {channels:?}", event.id), WAIT, || async move {
            let sent = self.sent_for(event);
            channels.iter().all(|c| sent.iter().any(|e| channel(e) == *c)).then_some(sent)
        })
        .await
    }

    /// `(channel, status, attempts)` of every row caused by `event_id`, email first.
    pub async fn rows(&self, event_id: Uuid) -> Vec<(String, String, i32)> {
        sqlx::query_as("SELECT channel, status, attempts FROM notifications WHERE cause_event_id = $1 ORDER BY channel")
            .bind(event_id)
            .fetch_all(&self.db)
            .await
            .expect("rows")
    }

    /// Wait until the row of (`event_id`, `channel`) has `status`; returns its attempts.
    pub async fn wait_row(&self, event_id: Uuid, channel: &str, status: &str) -> i32 {
        wait_until(&format!("{channel} row of {event_id} to be {status}"), WAIT, || async move {
            self.rows(event_id).await.into_iter().find(|(c, s, _)| c == channel && s == status).map(|(_, _, a)| a)
        })
        .await
    }
}

/// The channel of a `notification.sent` as text.
pub fn channel(e: &NotificationSent) -> String {
    serde_json::to_value(e.channel).expect("channel").as_str().expect("string").to_owned()
}

/// A contact with a unique address (and phone, when asked).
pub fn contact(with_phone: bool) -> Contact {
    let tag = unique("m");
    let phone = with_phone.then(|| format!("+3519{}", &Uuid::new_v4().as_u128().to_string()[..8]));
    Contact { email: format!("ada+{tag}@example.test"), phone, name: Some("Ada Lovelace".into()) }
}

/// A two-night stay at `hotel` for `contact`, with fresh booking and user ids.
pub fn stay(hotel: &str, contact: Contact) -> Stay {
    Stay {
        booking_id: Uuid::now_v7(),
        user_id: Uuid::now_v7(),
        hotel_id: "lisbon-riverside".into(),
        hotel_name: hotel.into(),
        room_type: "double".into(),
        check_in: NaiveDate::from_ymd_opt(2027, 5, 1).expect("date"),
        check_out: NaiveDate::from_ymd_opt(2027, 5, 3).expect("date"),
        guests: 2,
        rooms: 1,
        amount_cents: 24_000,
        currency: "EUR".into(),
        contact,
    }
}

/// A `booking.confirmed` event.
pub fn confirmed(stay: Stay) -> Event<BookingConfirmed> {
    let subject = stay.booking_id.to_string();
    Event::new("booking", subject, BookingConfirmed { stay, payment_id: Uuid::now_v7(), popularity: None })
}

/// A `booking.cancelled` event.
pub fn cancelled(stay: Stay, reason: CancelReason, refund_due: bool, payment_failure: Option<PaymentFailure>) -> Event<BookingCancelled> {
    let subject = stay.booking_id.to_string();
    Event::new("booking", subject, BookingCancelled { stay, reason, refund_due, payment_failure, popularity: None })
}

/// What the SMS peer received.
#[derive(Debug, Clone)]
pub struct SmsRequest {
    pub to: String,
    pub body: String,
    pub authorization: Option<String>,
    pub answered: u16,
}

#[derive(Default)]
struct SmsPeerState {
    received: Mutex<Vec<SmsRequest>>,
    script: Mutex<VecDeque<u16>>,
}

/// A loopback SMS provider that records requests and answers from a script (then 200).
#[derive(Clone)]
pub struct SmsPeer {
    pub url: String,
    state: Arc<SmsPeerState>,
}

impl SmsPeer {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/v1/messages", listener.local_addr().expect("addr"));
        let state = Arc::new(SmsPeerState::default());
        let app = axum::Router::new().route("/v1/messages", post(receive_sms)).with_state(state.clone());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, state }
    }

    /// Answer the next requests with these statuses, in order.
    pub fn answer_next(&self, statuses: &[u16]) {
        self.state.script.lock().expect("lock").extend(statuses);
    }

    /// Requests received for `to`, in order.
    pub fn received_for(&self, to: &str) -> Vec<SmsRequest> {
        self.state.received.lock().expect("lock").iter().filter(|r| r.to == to).cloned().collect()
    }
}

async fn receive_sms(State(state): State<Arc<SmsPeerState>>, headers: HeaderMap, Json(body): Json<Value>) -> (StatusCode, Json<Value>) {
    let answered = state.script.lock().expect("lock").pop_front().unwrap_or(200);
    state.received.lock().expect("lock").push(SmsRequest {
        to: body["to"].as_str().unwrap_or_default().to_owned(),
        body: body["body"].as_str().unwrap_or_default().to_owned(),
        authorization: headers.get("authorization").and_then(|v| v.to_str().ok()).map(str::to_owned),
        answered,
    });
    let status = StatusCode::from_u16(answered).expect("status");
    (status, Json(serde_json::json!({ "id": Uuid::new_v4() })))
}
