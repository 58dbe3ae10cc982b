//! Kafka on rdkafka: one [`Producer`] and one consumer-group runner, [`run_consumer`].
//!
//! The runner handles messages one at a time per process in partition order, or, with
//! `concurrency` above 1, several at once with one at a time per ordering key
//! ([`crate::lanes`]); [`run_batch_consumer`] hands a handler the messages of one key that
//! piled up while it ran, to apply together. It commits a partition's offset only after every
//! message before it was handled (or parked on the dead-letter topic). Commits are batched and
//! asynchronous — every 100 ms or 500 messages — and synchronous on shutdown and when a
//! rebalance revokes partitions ([`crate::offsets`]). A crash between a handler's effect and
//! the commit redelivers the messages since the last commit, which is why handlers record the
//! event id in the same transaction as their effect (see DESIGN.md): delivery is
//! at-least-once, effects are exactly-once. The runner also reports the group's lag and the age
//! of applied events as metrics.
//!
//! Fetches: the saga's consumers ([`ConsumerSettings::saga`]) get each message as soon as it is
//! produced; consumers off the booking's critical path ([`ConsumerSettings::follower`]:
//! notification, review and the read models) let the broker hold a fetch up to
//! `kafka.follower_fetch_wait_ms` to gather messages, which saves the broker a fetch response
//! per message per group.
//!
//! Failures are classified by the handler: [`HandlerError::Transient`] is retried with
//! exponential backoff up to `max_attempts`, then parked; [`HandlerError::Permanent`]
//! (unparseable, semantically impossible) is parked at once. Parking publishes the original
//! bytes, key and headers to `<topic>.dlq` with `dlq-*` headers saying why, so a poison
//! message never blocks its partition and never crash-loops the consumer.

use crate::{
    config::KafkaConfig,
    events::{Event, Payload, topics},
    lanes::{Lanes, Watermarks},
    offsets::Progress,
};
use futures::{StreamExt, stream::FuturesUnordered};
use rdkafka::{
    ClientConfig, Message,
    consumer::{CommitMode, Consumer, StreamConsumer},
    error::KafkaError,
    message::{BorrowedMessage, Header, Headers, OwnedHeaders},
    producer::{FutureProducer, FutureRecord, Producer as _},
    util::Timeout,
};
use serde::Serialize;
use std::time::Duration;
use tokio_util::sync::CancellationToken;
use tracing::Instrument as _;

/// The Kafka header that carries the W3C trace context (the same name as the HTTP header).
pub use crate::trace::TRACEPARENT;

/// Publishes events. Cheap to clone.
#[derive(Clone)]
pub struct Producer {
    inner: FutureProducer,
    timeout: Duration,
    prefix: String,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer").finish_non_exhaustive()
    }
}

impl Producer {
    /// An idempotent producer (`acks=all`, `enable.idempotence=true`).
    pub fn new(cfg: &KafkaConfig) -> Result<Self, KafkaError> {
        let inner = ClientConfig::new()
            .set("bootstrap.servers", &cfg.bootstrap_servers)
            .set("acks", "all")
            .set("enable.idempotence", "true")
            .set("linger.ms", "2")
            .set("message.timeout.ms", cfg.message_timeout_ms.to_string())
            .create()?;
        Ok(Self { inner, timeout: Duration::from_millis(cfg.message_timeout_ms), prefix: cfg.topic_prefix.clone() })
    }

    /// Publish raw bytes to a logical topic (the configured prefix is added); resolves once the
    /// broker acknowledged them, with (partition, offset).
    pub async fn send(&self, topic: &str, key: &[u8], payload: &[u8], headers: &[(&str, &[u8])]) -> Result<(i32, i64), KafkaError> {
        let mut owned = OwnedHeaders::new_with_capacity(headers.len());
        for (name, value) in headers {
            owned = owned.insert(Header { key: name, value: Some(*value) });
        }
        let topic = format!("{}{topic}", self.prefix);
        let record = FutureRecord::to(&topic).key(key).payload(payload).headers(owned);
        let delivery = self.inner.send(record, Timeout::After(self.timeout)).await.map_err(|(e, _)| e)?;
        Ok((delivery.partition, delivery.offset))
    }

    /// Publish an event on the topic named by its `type`, keyed by its `subject`.
    pub async fn publish<T: Serialize>(&self, event: &Event<T>, traceparent: Option<&str>) -> Result<(i32, i64), KafkaError> {
        let headers: Vec<(&str, &[u8])> = traceparent.map(|t| (TRACEPARENT, t.as_bytes())).into_iter().collect();
        self.send(&event.kind, event.subject.as_bytes(), &event.to_bytes(), &headers).await
    }

    /// A real round trip to the cluster (metadata request), for readiness checks.
    pub async fn check(&self) -> Result<(), String> {
        let client = self.inner.clone();
        tokio::task::spawn_blocking(move || client.client().fetch_metadata(None, Duration::from_secs(2)).map(|_| ()))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| e.to_string())
    }

    /// [`Self::check`] as a readiness check: `Readiness::with_check("kafka", producer.readiness())`.
    pub fn readiness(&self) -> impl Fn() -> futures::future::BoxFuture<'static, Result<(), String>> + Send + Sync + 'static {
        let producer = self.clone();
        move || {
            let producer = producer.clone();
            Box::pin(async move { producer.check().await })
        }
    }

    /// Wait for queued messages to be delivered (call before exit).
    pub fn flush(&self, timeout: Duration) {
        if let Err(e) = self.inner.flush(Timeout::After(timeout)) {
            tracing::warn!(error = %e, "producer flush did not complete");
        }
    }
}

/// A message handed to a handler, detached from the consumer's buffers.
#[derive(Debug, Clone)]
pub struct Delivery {
    /// Logical source topic (without the environment prefix).
    pub topic: String,
    /// Physical topic name on the broker.
    pub physical_topic: String,
    /// Source partition.
    pub partition: i32,
    /// Offset within the partition.
    pub offset: i64,
    /// Message key (the aggregate id).
    pub key: Option<Vec<u8>>,
    /// Message bytes.
    pub payload: Vec<u8>,
    /// Headers in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

impl Delivery {
    fn from_message(m: &BorrowedMessage<'_>, prefix: &str) -> Self {
        let headers = m
            .headers()
            .map(|hs| hs.iter().map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec).unwrap_or_default())).collect())
            .unwrap_or_default();
        Self {
            topic: m.topic().strip_prefix(prefix).unwrap_or(m.topic()).to_owned(),
            physical_topic: m.topic().to_owned(),
            partition: m.partition(),
            offset: m.offset(),
            key: m.key().map(<[u8]>::to_vec),
            payload: m.payload().map(<[u8]>::to_vec).unwrap_or_default(),
            headers,
        }
    }

    /// The first header named `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_slice())
    }

    /// Parse the payload as an event of this topic; a bad envelope is a permanent failure.
    /// The `message` span its handling runs in: topic, partition, offset, the event's id (when
    /// the payload has one) and the trace id of its `traceparent` header (a new trace when it
    /// has none; see [`crate::trace`]).
    pub fn span(&self) -> tracing::Span {
        #[derive(serde::Deserialize)]
        struct Id {
            id: Option<uuid::Uuid>,
        }
        let event_id = serde_json::from_slice::<Id>(&self.payload).ok().and_then(|e| e.id);
        let incoming = self.header(TRACEPARENT).and_then(|v| std::str::from_utf8(v).ok());
        let trace = crate::trace::TraceParent::continue_or_start(incoming);
        tracing::info_span!(
            "message",
            topic = self.topic,
            partition = self.partition,
            offset = self.offset,
            event_id = event_id.map(tracing::field::display),
            trace_id = trace.trace_id_hex()
        )
    }

    /// The event, read as `T`: refused (permanently, so it is parked) when this delivery's
    /// topic is not `T`'s, or when the bytes are not an event of that topic.
    pub fn event<T: Payload>(&self) -> Result<Event<T>, HandlerError> {
        if self.topic != T::TOPIC {
            let wanted = std::any::type_name::<T>();
            return Err(HandlerError::Permanent(anyhow::anyhow!("a {wanted} is not what topic {:?} carries", self.topic)));
        }
        Event::from_slice(&self.topic, &self.payload).map_err(|e| HandlerError::Permanent(e.into()))
    }
}

/// How a handler failed, which decides retry or parking.
#[derive(Debug, thiserror::Error)]
pub enum HandlerError {
    /// Might succeed later (database or broker unavailable): retry with backoff.
    #[error("transient: {0:#}")]
    Transient(anyhow::Error),
    /// Will never succeed (unparseable, impossible): park on the DLQ at once.
    #[error("permanent: {0:#}")]
    Permanent(anyhow::Error),
}

/// How a consumer group runs.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// Consumer group id (one per service).
    pub group_id: String,
    /// Topics to subscribe to.
    pub topics: Vec<String>,
    /// Attempts for a transient failure before the message is parked.
    pub max_attempts: u32,
    /// First retry delay; doubles each attempt.
    pub initial_backoff: Duration,
    /// Upper bound of the retry delay.
    pub max_backoff: Duration,
    /// Longest a handled offset waits before an (asynchronous) commit.
    pub commit_interval: Duration,
    /// Handled messages that trigger a commit before `commit_interval` is up.
    pub commit_every: usize,
    /// How often librdkafka reports statistics, which refresh the lag gauge.
    pub stats_interval: Duration,
    /// Messages held at once ([`crate::lanes`]): messages of different ordering keys are
    /// handled concurrently, those of one key one after another in offset order. 1 (the
    /// default) handles one message at a time.
    pub concurrency: usize,
    /// Most messages of one ordering key handed to a batch handler at once
    /// ([`run_batch_consumer`]); messages pile up behind a running key only while the consumer
    /// is behind, so a consumer that keeps up still handles one at a time. 1 (the default, and
    /// always for [`run_consumer`]) hands over one message at a time.
    pub batch: usize,
    /// Most messages held at once, received and not finished (never fewer than
    /// `concurrency × batch`). Batches can only form from what is held: a read model behind on
    /// 1,000 hotels that held 1,024 messages had about one per hotel, so it wrote every event on
    /// its own; holding several times the number of keys lets each key's events pile up while
    /// the others run. A crash redelivers at most this many handled messages.
    pub held: usize,
    /// A message's ordering key: by default its Kafka key (the aggregate id). A consumer whose
    /// handler writes another aggregate names that one, so its writers never overlap. Called once
    /// per message, on receipt.
    pub order_key: fn(&Delivery) -> Vec<u8>,
    /// How long the broker may hold a fetch to gather messages. `None` (the default, for the
    /// saga's steps, whose latency is the booking's): a fetch is answered as soon as one message
    /// is there, so every message is a fetch response of its own to every group that reads it.
    /// `Some(wait)`: a fetch is answered when `wait` passed or [`BATCHED_FETCH_MIN_BYTES`] piled
    /// up, so a consumer off the booking's critical path costs the broker a few fetches a
    /// second however many messages it reads ([`ConsumerSettings::follower`]).
    pub fetch_wait: Option<Duration>,
}

/// What a batched fetch ([`ConsumerSettings::fetch_wait`]) waits for at most: about 500 events.
pub const BATCHED_FETCH_MIN_BYTES: usize = 256 * 1024;

impl ConsumerSettings {
    /// Defaults: 5 attempts, 200 ms doubling to at most 5 s; commits every 100 ms or 500
    /// messages; statistics every second; one message at a time, in batches of one.
    pub fn new(group_id: impl Into<String>, topics: &[&str]) -> Self {
        Self {
            group_id: group_id.into(),
            topics: topics.iter().map(|t| (*t).to_owned()).collect(),
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(5),
            commit_interval: Duration::from_millis(100),
            commit_every: 500,
            stats_interval: Duration::from_secs(1),
            concurrency: 1,
            batch: 1,
            held: 1,
            order_key: |d| d.key.clone().unwrap_or_default(),
            fetch_wait: None,
        }
    }

    /// A saga step's consumer (payment, booking): [`Self::new`] that handles up to
    /// `kafka.saga_concurrency` bookings at once, each booking's events one after another in
    /// offset order (they are keyed by the booking). One at a time, a step waits out every
    /// card-network answer in turn: a payment replica charges one booking per answer time. (On
    /// the saturated 2-core bench, whose sandbox answers at once, 8 at once measured no faster
    /// and no slower than one at a time: the machine, not the order, was the limit there.)
    pub fn saga(kafka: &KafkaConfig, group_id: impl Into<String>, topics: &[&str]) -> Self {
        Self { concurrency: kafka.saga_concurrency, ..Self::new(group_id, topics) }
    }

    /// A consumer off the booking's critical path (notification, review, and the read models):
    /// [`Self::new`] with fetches batched for `kafka.follower_fetch_wait_ms`
    /// ([`Self::fetch_wait`]).
    pub fn follower(kafka: &KafkaConfig, group_id: impl Into<String>, topics: &[&str]) -> Self {
        let wait = (kafka.follower_fetch_wait_ms > 0).then(|| Duration::from_millis(kafka.follower_fetch_wait_ms));
        Self { fetch_wait: wait, ..Self::new(group_id, topics) }
    }

    /// A read model's consumer (search, recommendation): a [`Self::follower`] that handles
    /// `read_model_concurrency` hotels at once, batches of up to `read_model_batch` of one
    /// hotel's events, at most `read_model_held` messages held, ordered by the hotel the event
    /// writes ([`crate::saga::hotel_key`]).
    pub fn read_model(kafka: &KafkaConfig, group_id: impl Into<String>, topics: &[&str]) -> Self {
        Self {
            concurrency: kafka.read_model_concurrency,
            batch: kafka.read_model_batch,
            held: kafka.read_model_held,
            order_key: crate::saga::hotel_key,
            ..Self::follower(kafka, group_id, topics)
        }
    }
}

/// Delay before retry number `attempt` (1-based): `initial * 2^(attempt-1)`, capped at `max`.
pub fn backoff(attempt: u32, initial: Duration, max: Duration) -> Duration {
    let factor = 1u32.checked_shl(attempt.saturating_sub(1)).unwrap_or(u32::MAX);
    initial.saturating_mul(factor).min(max)
}

/// The headers that explain why a message was parked.
pub fn dead_letter_headers(d: &Delivery, reason: &str, attempts: u32) -> Vec<(String, Vec<u8>)> {
    let mut headers = d.headers.clone();
    headers.extend([
        ("dlq-reason".to_owned(), reason.as_bytes().to_vec()),
        ("dlq-source-topic".to_owned(), d.topic.as_bytes().to_vec()),
        ("dlq-source-partition".to_owned(), d.partition.to_string().into_bytes()),
        ("dlq-source-offset".to_owned(), d.offset.to_string().into_bytes()),
        ("dlq-attempts".to_owned(), attempts.to_string().into_bytes()),
        ("dlq-parked-at".to_owned(), chrono::Utc::now().to_rfc3339().into_bytes()),
    ]);
    headers
}

/// What happened to one message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Handled,
    Parked,
    Abandoned,
}

/// Run a consumer group as a background task of a service (see [`run_consumer`]). One rule
/// for every consumer: one that fails (the client, not a handler: a handler's errors are
/// retried or parked) cancels `shutdown`, so whatever runs under that token stops too. For a
/// service that is the whole process, which exits and is restarted by its supervisor: a
/// service without its consumer would answer from state that no longer moves. `name` says
/// which consumer it was in the log.
pub fn spawn_consumer<F, Fut>(
    name: &'static str,
    cfg: &KafkaConfig,
    settings: ConsumerSettings,
    dead_letters: Producer,
    shutdown: CancellationToken,
    handler: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let settings = ConsumerSettings { batch: 1, ..settings };
    spawn_batch_consumer(name, cfg, settings, dead_letters, shutdown, one_at_a_time(handler))
}

/// [`spawn_consumer`] for a handler of batches (see [`run_batch_consumer`]).
pub fn spawn_batch_consumer<F, Fut>(
    name: &'static str,
    cfg: &KafkaConfig,
    settings: ConsumerSettings,
    dead_letters: Producer,
    shutdown: CancellationToken,
    handler: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn(Vec<Delivery>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let cfg = cfg.clone();
    tokio::spawn(async move {
        let group = settings.group_id.clone();
        if let Err(e) = run_batch_consumer(&cfg, settings, dead_letters, shutdown.clone(), handler).await {
            tracing::error!(error = %e, consumer = name, group, "consumer failed; stopping");
            shutdown.cancel();
        }
    })
}

/// A handler of one message as a handler of batches of one.
fn one_at_a_time<F, Fut>(handler: F) -> impl Fn(Vec<Delivery>) -> Fut + Send + Sync
where
    F: Fn(Delivery) -> Fut + Send + Sync,
{
    move |mut batch: Vec<Delivery>| {
        debug_assert_eq!(batch.len(), 1, "a one-at-a-time consumer runs batches of one");
        handler(batch.swap_remove(0))
    }
}

/// Whether `e` only says that brokers cannot be reached right now (librdkafka reconnects by
/// itself, at its reconnect backoff, so these arrive at a bounded rate).
fn is_connection_error(e: &KafkaError) -> bool {
    use rdkafka::types::RDKafkaErrorCode::{AllBrokersDown, BrokerTransportFailure};
    matches!(e, KafkaError::MessageConsumption(AllBrokersDown | BrokerTransportFailure))
}

/// Run a consumer group until `shutdown` fires. Each message goes to `handler`; its offset is
/// committed (in batches, see [`crate::offsets`]) only after the handler succeeded or the
/// message was parked on `<topic>.dlq`.
pub async fn run_consumer<F, Fut>(
    cfg: &KafkaConfig,
    settings: ConsumerSettings,
    dead_letters: Producer,
    shutdown: CancellationToken,
    handler: F,
) -> Result<(), KafkaError>
where
    F: Fn(Delivery) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    let settings = ConsumerSettings { batch: 1, ..settings };
    run_batch_consumer(cfg, settings, dead_letters, shutdown, one_at_a_time(handler)).await
}

/// [`run_consumer`] with a handler of batches: the messages of one ordering key that piled up
/// while that key ran (at most `settings.batch`, in offset order), which the handler may apply
/// together — e.g. one write of a document that several events change. A batch succeeds or
/// fails as a whole: a transient failure retries it with backoff; a permanent one, or a
/// transient one that outlasts the attempts, hands its messages over again one at a time, so
/// only the message that fails alone is retried alone and parked.
pub async fn run_batch_consumer<F, Fut>(
    cfg: &KafkaConfig,
    settings: ConsumerSettings,
    dead_letters: Producer,
    shutdown: CancellationToken,
    handler: F,
) -> Result<(), KafkaError>
where
    F: Fn(Vec<Delivery>) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), HandlerError>> + Send,
{
    let mut client = ClientConfig::new();
    if let Some(wait) = settings.fetch_wait {
        client.set("fetch.wait.max.ms", wait.as_millis().max(1).to_string()).set("fetch.min.bytes", BATCHED_FETCH_MIN_BYTES.to_string());
    }
    let consumer: StreamConsumer<Progress> = client
        .set("bootstrap.servers", &cfg.bootstrap_servers)
        .set("group.id", &settings.group_id)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("auto.offset.reset", "earliest")
        .set("allow.auto.create.topics", "true")
        .set("session.timeout.ms", "10000")
        .set("enable.partition.eof", "false")
        // Notice topics created after we subscribed within seconds, not the default 5 minutes.
        .set("topic.metadata.refresh.interval.ms", "5000")
        .set("statistics.interval.ms", settings.stats_interval.as_millis().max(1).to_string())
        .create_with_context(Progress::new(&settings.group_id, &cfg.topic_prefix))?;
    if cfg.create_missing_topics {
        ensure_topics(cfg, &settings.topics).await?;
    }
    let physical: Vec<String> = settings.topics.iter().map(|t| cfg.topic(t)).collect();
    let topics: Vec<&str> = physical.iter().map(String::as_str).collect();
    consumer.subscribe(&topics)?;
    tracing::info!(group = settings.group_id, ?topics, "consumer started");

    let progress = consumer.context().clone();
    let mut tick = tokio::time::interval(settings.commit_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut since_commit = 0usize;
    let (running_max, batch_max, order_key) = (settings.concurrency.max(1), settings.batch.max(1), settings.order_key);
    let held_max = settings.held.max(running_max * batch_max);
    let mut lanes = Lanes::default();
    let mut marks = Watermarks::default();
    let mut running = FuturesUnordered::new();
    let (s, dlq, stop, handle) = (&settings, &dead_letters, &shutdown, &handler);
    // The ordering key is computed once, on receipt, and travels with the message.
    let run = move |(key, batch): (Vec<u8>, Vec<(Delivery, Option<i64>)>)| async move {
        let started = std::time::Instant::now();
        let deliveries: Vec<Delivery> = batch.iter().map(|(d, _)| d.clone()).collect();
        let span = deliveries[0].span();
        let outcomes = process_batch(deliveries, s, dlq, stop, handle).instrument(span).await;
        Finished { batch, key, outcomes, started }
    };
    loop {
        while let Some(next) = lanes.next_batch(running_max, batch_max) {
            running.push(run(next));
        }
        tokio::select! {
            biased; // shutdown first, so no new message starts once it fired
            () = shutdown.cancelled() => break,
            Some(done) = running.next(), if !running.is_empty() => {
                let done: Finished = done;
                if done.outcomes.contains(&Outcome::Abandoned) {
                    break; // shutting down mid-retry: leave these offsets uncommitted
                }
                done.account(&progress, &mut marks);
                lanes.finish(&done.key, done.batch.len());
                since_commit += done.batch.len();
                if since_commit >= settings.commit_every {
                    progress.commit(&consumer, CommitMode::Async, None);
                    since_commit = 0;
                }
            }
            _ = tick.tick() => {
                progress.commit(&consumer, CommitMode::Async, None);
                since_commit = 0;
            }
            m = consumer.recv(), if lanes.held() < held_max => match m {
                Ok(m) => {
                    let delivery = Delivery::from_message(&m, &cfg.topic_prefix);
                    marks.received(&delivery.physical_topic, delivery.partition, delivery.offset);
                    lanes.admit(&order_key(&delivery), (delivery, m.timestamp().to_millis()));
                }
                Err(e) => {
                    // Broker hiccups and not-yet-created topics surface here; librdkafka reconnects.
                    tracing::warn!(error = %e, "consumer poll error");
                    // A lost broker is reported as queued events, several a second while it is
                    // down: they are read at once, not one per pause, or the consumer would read
                    // a long outage's stale errors for minutes after the broker is back (it did:
                    // ci30 and ci32, a Kafka restart of ~20 s left payment and notification
                    // reading `AllBrokersDown` for over a minute). Other errors pause the loop.
                    if !is_connection_error(&e) {
                        tokio::select! { () = shutdown.cancelled() => break, () = tokio::time::sleep(Duration::from_millis(500)) => {} }
                    }
                }
            },
        }
    }
    // Let the batches already running finish (a retry's backoff ends at once on shutdown);
    // the queued ones stay uncommitted for the next owner.
    while let Some(done) = running.next().await {
        if !done.outcomes.contains(&Outcome::Abandoned) {
            done.account(&progress, &mut marks);
        }
    }
    progress.commit(&consumer, CommitMode::Sync, None);
    tracing::info!(group = settings.group_id, "consumer stopped");
    Ok(())
}

/// A batch the runner is done with.
struct Finished {
    /// The messages, with the broker's timestamp of each.
    batch: Vec<(Delivery, Option<i64>)>,
    /// Their ordering key.
    key: Vec<u8>,
    /// What happened to each message.
    outcomes: Vec<Outcome>,
    started: std::time::Instant,
}

impl Finished {
    /// Count the handled or parked messages, and advance their partitions' committable
    /// positions. The handling time is the batch's, shared out among its messages.
    fn account(&self, progress: &Progress, marks: &mut Watermarks) {
        let each = self.started.elapsed().as_secs_f64() / self.batch.len().max(1) as f64;
        for ((d, broker_millis), outcome) in self.batch.iter().zip(&self.outcomes) {
            let label = if *outcome == Outcome::Parked { "parked" } else { "handled" };
            metrics::counter!("consumer_messages_total", "topic" => d.topic.clone(), "outcome" => label).increment(1);
            metrics::histogram!("consumer_handle_duration_seconds", "topic" => d.topic.clone()).record(each);
            if let Some(last) = marks.finished(&d.physical_topic, d.partition, d.offset) {
                progress.handled(&d.physical_topic, d.partition, last);
            }
            if let Some(age) = event_age(&d.payload, *broker_millis) {
                progress.event_age(&d.topic, age);
            }
        }
        if self.batch.len() > 1 {
            metrics::histogram!("consumer_batch_messages").record(self.batch.len() as f64);
        }
    }
}

/// Seconds since the event happened: its CloudEvents `time`, else the broker timestamp (ms).
fn event_age(payload: &[u8], broker_millis: Option<i64>) -> Option<f64> {
    #[derive(serde::Deserialize)]
    struct Stamped {
        time: chrono::DateTime<chrono::Utc>,
    }
    let at = serde_json::from_slice::<Stamped>(payload)
        .ok()
        .map(|s| s.time)
        .or_else(|| broker_millis.and_then(chrono::DateTime::from_timestamp_millis))?;
    Some((chrono::Utc::now() - at).num_microseconds()? as f64 / 1e6)
}

/// Create `topics` (logical names) and their dead-letter topics if they do not exist yet, with
/// one partition each — the local-stack default; the operator sizes topics in a cluster.
pub async fn ensure_topics(cfg: &KafkaConfig, topics: &[String]) -> Result<(), KafkaError> {
    use rdkafka::{
        admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
        client::DefaultClientContext,
        types::RDKafkaErrorCode,
    };
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", &cfg.bootstrap_servers).create()?;
    let names: Vec<String> = topics.iter().flat_map(|t| [cfg.topic(t), cfg.topic(&topics::dead_letter(t))]).collect();
    let new: Vec<NewTopic<'_>> = names.iter().map(|n| NewTopic::new(n, 1, TopicReplication::Fixed(1))).collect();
    for result in admin.create_topics(&new, &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10)))).await? {
        match result {
            Ok(name) => tracing::info!(topic = name, "created topic"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => tracing::warn!(topic = name, %code, "could not create topic"),
        }
    }
    Ok(())
}

/// Handle a batch: as a whole while that succeeds or fails transiently within the attempts,
/// else one message at a time (see [`run_batch_consumer`]). One outcome per message, in order.
async fn process_batch<F, Fut>(
    batch: Vec<Delivery>,
    s: &ConsumerSettings,
    dlq: &Producer,
    shutdown: &CancellationToken,
    handler: &F,
) -> Vec<Outcome>
where
    F: Fn(Vec<Delivery>) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    if let [d] = batch.as_slice() {
        return vec![process(d, s, dlq, shutdown, handler).await];
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match handler(batch.clone()).await {
            Ok(()) => return vec![Outcome::Handled; batch.len()],
            Err(HandlerError::Transient(e)) if attempt < s.max_attempts => {
                let delay = backoff(attempt, s.initial_backoff, s.max_backoff);
                tracing::warn!(
                    messages = batch.len(),
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    error = format!("{e:#}"),
                    "batch failed; retrying"
                );
                tokio::select! { () = shutdown.cancelled() => return vec![Outcome::Abandoned; batch.len()], () = tokio::time::sleep(delay) => {} }
            }
            Err(e) => {
                tracing::warn!(messages = batch.len(), error = %e, "batch failed; handling its messages one at a time");
                break;
            }
        }
    }
    let mut outcomes = Vec::with_capacity(batch.len());
    for d in &batch {
        let outcome = process(d, s, dlq, shutdown, handler).instrument(d.span()).await;
        outcomes.push(outcome);
        if outcome == Outcome::Abandoned {
            outcomes.resize(batch.len(), Outcome::Abandoned);
            break;
        }
    }
    outcomes
}

/// Handle one message (as a batch of one): retried with backoff while it fails transiently,
/// parked when it fails permanently or outlasts the attempts.
async fn process<F, Fut>(d: &Delivery, s: &ConsumerSettings, dlq: &Producer, shutdown: &CancellationToken, handler: &F) -> Outcome
where
    F: Fn(Vec<Delivery>) -> Fut,
    Fut: Future<Output = Result<(), HandlerError>>,
{
    let mut attempt = 0;
    let reason = loop {
        attempt += 1;
        match handler(vec![d.clone()]).await {
            Ok(()) => return Outcome::Handled,
            Err(HandlerError::Permanent(e)) => break format!("{e:#}"),
            Err(HandlerError::Transient(e)) if attempt >= s.max_attempts => {
                break format!("gave up after {attempt} attempts: {e:#}");
            }
            Err(HandlerError::Transient(e)) => {
                let delay = backoff(attempt, s.initial_backoff, s.max_backoff);
                tracing::warn!(
                    topic = d.topic,
                    offset = d.offset,
                    attempt,
                    delay_ms = delay.as_millis() as u64,
                    error = format!("{e:#}"),
                    "handler failed; retrying"
                );
                tokio::select! { () = shutdown.cancelled() => return Outcome::Abandoned, () = tokio::time::sleep(delay) => {} }
            }
        }
    };
    park(d, &reason, attempt, dlq, shutdown).await
}

async fn park(d: &Delivery, reason: &str, attempts: u32, dlq: &Producer, shutdown: &CancellationToken) -> Outcome {
    let topic = topics::dead_letter(&d.topic);
    let headers = dead_letter_headers(d, reason, attempts);
    let borrowed: Vec<(&str, &[u8])> = headers.iter().map(|(k, v)| (k.as_str(), v.as_slice())).collect();
    let mut tries = 0;
    loop {
        tries += 1;
        match dlq.send(&topic, d.key.as_deref().unwrap_or_default(), &d.payload, &borrowed).await {
            Ok(_) => {
                tracing::error!(
                    topic = d.topic,
                    partition = d.partition,
                    offset = d.offset,
                    reason,
                    dlq = topic,
                    "message parked on dead-letter topic"
                );
                return Outcome::Parked;
            }
            Err(e) => {
                tracing::error!(error = %e, dlq = topic, "could not park message; retrying");
                let delay = backoff(tries, Duration::from_millis(200), Duration::from_secs(5));
                tokio::select! { () = shutdown.cancelled() => return Outcome::Abandoned, () = tokio::time::sleep(delay) => {} }
            }
        }
    }
}

impl From<sqlx::Error> for HandlerError {
    /// Database failures are transient by default (connection lost, serialization failure);
    /// a handler that knows better returns [`HandlerError::Permanent`] itself.
    fn from(e: sqlx::Error) -> Self {
        Self::Transient(e.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_and_caps() {
        let (i, m) = (Duration::from_millis(100), Duration::from_secs(1));
        let got: Vec<u128> = (1..=6).map(|a| backoff(a, i, m).as_millis()).collect();
        assert_eq!(got, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff(200, i, m), m, "huge attempt numbers do not overflow");
    }

    #[test]
    fn dead_letter_headers_keep_the_original_and_say_why() {
        let d = Delivery {
            topic: "booking.created".into(),
            physical_topic: "t1.booking.created".into(),
            partition: 2,
            offset: 41,
            key: Some(b"bk-1".to_vec()),
            payload: b"{oops".to_vec(),
            headers: vec![(TRACEPARENT.into(), b"00-abc-def-01".to_vec())],
        };
        let h = dead_letter_headers(&d, "not a valid CloudEvent", 1);
        let get = |k: &str| h.iter().find(|(n, _)| n == k).map(|(_, v)| String::from_utf8_lossy(v).into_owned());
        assert_eq!(get(TRACEPARENT).as_deref(), Some("00-abc-def-01"));
        assert_eq!(get("dlq-reason").as_deref(), Some("not a valid CloudEvent"));
        assert_eq!(get("dlq-source-topic").as_deref(), Some("booking.created"));
        assert_eq!(get("dlq-source-partition").as_deref(), Some("2"));
        assert_eq!(get("dlq-source-offset").as_deref(), Some("41"));
        assert_eq!(get("dlq-attempts").as_deref(), Some("1"));
    }

    #[test]
    fn a_bad_envelope_is_a_permanent_failure() {
        let d = Delivery {
            topic: "booking.created".into(),
            physical_topic: "booking.created".into(),
            partition: 0,
            offset: 0,
            key: None,
            payload: b"nope".to_vec(),
            headers: vec![],
        };
        assert!(matches!(d.event::<crate::saga::BookingCreated>(), Err(HandlerError::Permanent(_))));
    }

    #[test]
    fn a_payload_type_of_another_topic_is_refused_before_reading() {
        let created = crate::saga::BookingCreated {
            stay: crate::saga::Stay {
                booking_id: uuid::Uuid::nil(),
                user_id: uuid::Uuid::nil(),
                hotel_id: "h".into(),
                hotel_name: "H".into(),
                room_type: "double".into(),
                check_in: chrono::NaiveDate::MIN,
                check_out: chrono::NaiveDate::MIN,
                guests: 1,
                rooms: 1,
                amount_cents: 1,
                currency: "EUR".into(),
                contact: crate::saga::Contact { email: "a@example.test".into(), phone: None, name: None },
            },
            payment_method: "pm_card_visa".into(),
            hold_expires_at: chrono::DateTime::UNIX_EPOCH,
        };
        let event = Event::new("booking", "b", created);
        let d = Delivery {
            topic: event.kind.clone(),
            physical_topic: event.kind.clone(),
            partition: 0,
            offset: 0,
            key: None,
            payload: event.to_bytes(),
            headers: vec![],
        };
        assert!(d.event::<crate::saga::BookingCreated>().is_ok(), "its own topic's type reads");
        let Err(HandlerError::Permanent(e)) = d.event::<crate::saga::PaymentSucceeded>() else { panic!("another topic's type") };
        assert!(e.to_string().contains("booking.created") && e.to_string().contains("PaymentSucceeded"), "{e}");
    }
}
