//! `spawn_app()`: a payment service on a fresh database and a unique topic prefix, with a
//! recorder of every event it publishes and probes for the Kafka and sandbox state.

use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    consumer::{BaseConsumer, Consumer, StreamConsumer},
};
use serde::de::DeserializeOwned;
use sqlx::PgPool;
use std::{
    sync::{Arc, Mutex},
    time::Duration,
};
use tokio_util::sync::CancellationToken;
use tripnest_common::service::Running;
use tripnest_common::{
    Event,
    events::{Payload, topics},
    kafka::Producer,
    saga::{BookingCancelled, BookingCreated, CancelReason, Contact, Stay},
};
use tripnest_e2e::{Stack, TestDatabase, TestTopics, http_client, unique, wait_until};
use tripnest_payment::Config;
use uuid::Uuid;

/// The service token tests present.
pub const TOKEN: &str = "test-internal-token";
pub use tripnest_e2e::WAIT;
/// The topics whose messages the recorder keeps.
const RECORDED: &[&str] = &[topics::PAYMENT_SUCCESS, topics::PAYMENT_FAILED, topics::PAYMENT_REFUNDED, "booking.created.dlq"];

/// One message the service published (or parked), as read back from Kafka.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// Logical topic (without the prefix).
    pub topic: String,
    /// Kafka key.
    pub key: Option<Vec<u8>>,
    /// Raw bytes.
    pub payload: Vec<u8>,
}

/// A payment service under test.
pub struct TestApp {
    /// The configuration it runs with (reused by restarts).
    pub cfg: Config,
    /// The test's own pool on the service's database.
    pub pool: PgPool,
    /// Publishes on the prefixed topics, as booking would.
    pub producer: Producer,
    /// HTTP client.
    pub http: reqwest::Client,
    running: Option<Running>,
    recorded: Arc<Mutex<Vec<Recorded>>>,
    _db: TestDatabase,
    _topics: TestTopics,
}

/// A service on a fresh database and topic prefix, with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Like [`spawn_app`], after `tweak` adjusted the configuration.
pub async fn spawn_app_with(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let mut app = prepare_app(tweak).await;
    app.restart().await;
    app
}

/// The database, topics and recorder of a test, without a running service yet.
pub async fn prepare_app(tweak: impl FnOnce(&mut Config)) -> TestApp {
    let stack = Stack::load();
    let (db, topics) = (stack.fresh_database().await, TestTopics::create(&stack).await.kept());
    let mut cfg = Config::default();
    cfg.common.database_url = Some(db.url.clone().into());
    cfg.common.kafka.bootstrap_servers = topics.bootstrap.clone();
    cfg.common.kafka.topic_prefix = topics.prefix.clone();
    cfg.common.kafka.group_id = unique("payment");
    cfg.common.shutdown_grace_secs = 5;
    cfg.internal_token = Some(TOKEN.into());
    tweak(&mut cfg);

    let recorded = Arc::new(Mutex::new(Vec::new()));
    tokio::spawn(record(cfg.clone(), recorded.clone()));
    let producer = Producer::new(&cfg.common.kafka).expect("producer");
    TestApp { cfg, pool: db.pool.clone(), producer, http: http_client(), running: None, recorded, _db: db, _topics: topics }
}

/// Read every recorded topic from the beginning into `into`, for as long as the test runs.
async fn record(cfg: Config, into: Arc<Mutex<Vec<Recorded>>>) {
    let prefix = cfg.common.kafka.topic_prefix.clone();
    let reader: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cfg.common.kafka.bootstrap_servers)
        .set("group.id", unique("recorder"))
        .set("auto.offset.reset", "earliest")
        .set("enable.auto.commit", "false")
        .create()
        .expect("recorder");
    let names: Vec<String> = RECORDED.iter().map(|t| format!("{prefix}{t}")).collect();
    reader.subscribe(&names.iter().map(String::as_str).collect::<Vec<_>>()).expect("subscribe recorder");
    loop {
        match reader.recv().await {
            Ok(m) => into.lock().expect("recorder lock").push(Recorded {
                topic: m.topic().strip_prefix(&prefix).unwrap_or(m.topic()).to_owned(),
                key: m.key().map(<[u8]>::to_vec),
                payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            }),
            Err(e) => eprintln!("recorder: {e}"),
        }
    }
}

/// A `booking.created` payload for a fresh booking paid with `payment_method`.
pub fn booking(payment_method: &str) -> BookingCreated {
    let check_in = chrono::Utc::now().date_naive() + chrono::Days::new(30);
    BookingCreated {
        stay: Stay {
            booking_id: Uuid::now_v7(),
            user_id: Uuid::now_v7(),
            hotel_id: "lisbon-riverside".into(),
            hotel_name: "Riverside".into(),
            room_type: "double".into(),
            check_in,
            check_out: check_in + chrono::Days::new(2),
            guests: 2,
            rooms: 1,
            amount_cents: 24_000,
            currency: "EUR".into(),
            contact: Contact { email: "ada@example.test".into(), phone: None, name: Some("Ada".into()) },
        },
        payment_method: payment_method.into(),
        hold_expires_at: chrono::Utc::now() + chrono::Duration::minutes(15),
    }
}

/// The `booking.cancelled` payload booking would send for `created`.
pub fn cancellation(created: &BookingCreated, reason: CancelReason, refund_due: bool) -> BookingCancelled {
    BookingCancelled { stay: created.stay.clone(), reason, refund_due, payment_failure: None, popularity: None }
}

/// A booking event as booking's outbox would publish it.
pub fn booking_event<T: Payload>(booking_id: Uuid, data: T) -> Event<T> {
    Event::new("booking", booking_id.to_string(), data)
}

impl TestApp {
    /// The running instance.
    pub fn running(&self) -> &Running {
        self.running.as_ref().expect("the service is running")
    }

    /// Publish an event on its (prefixed) topic.
    pub async fn publish<T: serde::Serialize>(&self, event: &Event<T>) {
        self.producer.publish(event, None).await.expect("publish");
    }

    /// Publish `booking.created` for `created`; returns the event.
    pub async fn create_booking(&self, created: &BookingCreated) -> Event<BookingCreated> {
        let event = booking_event(created.stay.booking_id, created.clone());
        self.publish(&event).await;
        event
    }

    /// The recorded events of `topic` about `booking_id`.
    pub fn events<T: DeserializeOwned>(&self, topic: &str, booking_id: Uuid) -> Vec<Event<T>> {
        let key = booking_id.to_string();
        let recorded = self.recorded.lock().expect("recorder lock");
        recorded
            .iter()
            .filter(|r| r.topic == topic && r.key.as_deref() == Some(key.as_bytes()))
            .map(|r| Event::from_slice(topic, &r.payload).expect("a well-formed event"))
            .collect()
    }

    /// Wait for the first event of `topic` about `booking_id`.
    pub async fn wait_for_event<T: DeserializeOwned>(&self, topic: &str, booking_id: Uuid) -> Event<T> {
        wait_until(&format!("{topic} for {booking_id}"), WAIT, || async { self.events::<T>(topic, booking_id).into_iter().next() }).await
    }

    /// The raw messages recorded on `topic`.
    pub fn recorded(&self, topic: &str) -> Vec<Recorded> {
        self.recorded.lock().expect("recorder lock").iter().filter(|r| r.topic == topic).cloned().collect()
    }

    /// How many messages were ever written to `topic` (its high watermark).
    pub async fn published_count(&self, topic: &str) -> i64 {
        let (servers, physical) = (self.cfg.common.kafka.bootstrap_servers.clone(), self.cfg.common.kafka.topic(topic));
        tokio::task::spawn_blocking(move || {
            let probe: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &servers).create().expect("probe");
            // A partition can be without a leader for a moment after its topic was created
            // (NotLeaderForPartition): ask again until the broker answers, within a deadline.
            let deadline = std::time::Instant::now() + Duration::from_secs(30);
            loop {
                match probe.fetch_watermarks(&physical, 0, Duration::from_secs(5)) {
                    Ok((_, high)) => return high,
                    Err(e) if std::time::Instant::now() < deadline => {
                        eprintln!("watermarks of {physical} not known yet ({e}); asking again");
                        std::thread::sleep(Duration::from_millis(100));
                    }
                    Err(e) => panic!("watermarks of {physical}: {e}"),
                }
            }
        })
        .await
        .expect("probe task")
    }

    /// The offset the service's group committed on `topic`, if any.
    async fn committed(&self, topic: &str) -> Option<i64> {
        let (servers, group, physical) = (
            self.cfg.common.kafka.bootstrap_servers.clone(),
            self.cfg.common.kafka.group_or(tripnest_payment::NAME),
            self.cfg.common.kafka.topic(topic),
        );
        tokio::task::spawn_blocking(move || {
            let probe: BaseConsumer =
                ClientConfig::new().set("bootstrap.servers", &servers).set("group.id", &group).create().expect("probe");
            let mut tpl = TopicPartitionList::new();
            tpl.add_partition(&physical, 0);
            let got = probe.committed_offsets(tpl, Duration::from_secs(5)).ok()?;
            match got.find_partition(&physical, 0)?.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            }
        })
        .await
        .expect("probe task")
    }

    /// Wait until every message on the consumed topics has been handled and committed, and
    /// the outbox is empty: from then on, published counts are final.
    pub async fn wait_settled(&self) {
        for topic in [topics::BOOKING_CREATED, topics::BOOKING_CANCELLED] {
            let end = self.published_count(topic).await;
            if end > 0 {
                wait_until(&format!("{topic} consumed to offset {end}"), WAIT, || async {
                    self.committed(topic).await.filter(|o| *o >= end)
                })
                .await;
            }
        }
        wait_until("the outbox to drain", WAIT, || async {
            let pending: i64 = sqlx::query_scalar("SELECT count(*) FROM outbox").fetch_one(&self.pool).await.expect("count outbox");
            (pending == 0).then_some(())
        })
        .await;
    }

    /// Captures the sandbox (the card network) holds for `booking_id`.
    pub async fn sandbox_charges(&self, booking_id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM sandbox_charges WHERE idempotency_key = $1")
            .bind(booking_id.to_string())
            .fetch_one(&self.pool)
            .await
            .expect("count sandbox charges")
    }

    /// Charge calls the sandbox received for `booking_id`.
    pub async fn sandbox_attempts(&self, booking_id: Uuid) -> i32 {
        sqlx::query_scalar("SELECT attempts FROM sandbox_charge_attempts WHERE idempotency_key = $1")
            .bind(booking_id.to_string())
            .fetch_optional(&self.pool)
            .await
            .expect("read sandbox attempts")
            .unwrap_or(0)
    }

    /// Refunds the sandbox made for `booking_id`'s capture.
    pub async fn sandbox_refunds(&self, booking_id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM sandbox_refunds r JOIN sandbox_charges c USING (capture_id) WHERE c.idempotency_key = $1")
            .bind(booking_id.to_string())
            .fetch_one(&self.pool)
            .await
            .expect("count sandbox refunds")
    }

    /// Rows in `payments` for `booking_id`.
    pub async fn payment_rows(&self, booking_id: Uuid) -> i64 {
        sqlx::query_scalar("SELECT count(*) FROM payments WHERE booking_id = $1")
            .bind(booking_id)
            .fetch_one(&self.pool)
            .await
            .expect("count payments")
    }

    /// `GET /payments/{bookingId}` with the service token: (status, body).
    pub async fn get_payment(&self, booking_id: &str) -> (u16, serde_json::Value) {
        let response = self
            .http
            .get(format!("{}/payments/{booking_id}", self.running().url()))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("GET /payments");
        let status = response.status().as_u16();
        (status, response.json().await.expect("json body"))
    }

    /// Cancel the service's token and wait until it stopped gracefully.
    pub async fn stop(&mut self) {
        let running = self.running.take().expect("the service is running");
        running.shutdown.cancel();
        tokio::time::timeout(WAIT, running.stopped()).await.expect("stops in time").expect("stops cleanly");
    }

    /// Start an instance (again) on the same database and topics.
    pub async fn restart(&mut self) {
        assert!(self.running.is_none(), "stop the running instance first");
        self.running = Some(tripnest_payment::start(self.cfg.clone(), CancellationToken::new()).await.expect("payment service starts"));
    }
}
