//! Kafka through `tripnest_common::kafka`: the producer, the consumer-group runner, committed
//! offsets and the dead-letter topic, all against the real broker.

use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    consumer::{BaseConsumer, Consumer, StreamConsumer},
    message::Headers,
};
use std::{sync::Arc, time::Duration};
use tokio::sync::{Notify, mpsc};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    Event,
    config::KafkaConfig,
    events::Payload,
    kafka::{ConsumerSettings, HandlerError, Producer, run_consumer},
};
use tripnest_e2e::{Stack, unique, wait_until};

/// What these tests publish, on its own (logical) topic.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Probe {
    n: u64,
}

impl Payload for Probe {
    const TOPIC: &'static str = "e2e.probe";
}

/// A config whose topics are apart from every other test's (a prefix of its own).
pub(super) fn isolated_kafka_config() -> KafkaConfig {
    let bootstrap_servers = Stack::load().get("KAFKA_BOOTSTRAP_SERVERS").to_owned();
    KafkaConfig { bootstrap_servers, topic_prefix: unique("e2e-"), ..KafkaConfig::default() }
}

/// [`isolated_kafka_config`], and the physical name of [`Probe`]'s topic under it.
fn kafka_config() -> (KafkaConfig, String) {
    let cfg = isolated_kafka_config();
    let topic = cfg.topic(Probe::TOPIC);
    (cfg, topic)
}

/// Creates `topic` with one partition.
pub(super) async fn create_topic(cfg: &KafkaConfig, topic: &str) {
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &cfg.bootstrap_servers).create().expect("admin client");
    let results =
        admin.create_topics(&[NewTopic::new(topic, 1, TopicReplication::Fixed(1))], &AdminOptions::new()).await.expect("create topics");
    for r in results {
        r.expect("topic created");
    }
}

/// The offset committed by `group` on partition 0 of `topic`, if any.
fn committed(cfg: &KafkaConfig, group: &str, topic: &str) -> Option<i64> {
    let probe: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &cfg.bootstrap_servers).set("group.id", group).create().expect("probe");
    let mut tpl = TopicPartitionList::new();
    tpl.add_partition(topic, 0);
    let got = probe.committed_offsets(tpl, Duration::from_secs(5)).ok()?;
    match got.find_partition(topic, 0)?.offset() {
        Offset::Offset(o) => Some(o),
        _ => None,
    }
}

/// Wait until `group` has committed `offset` on partition 0 of `topic`.
async fn wait_committed(cfg: &KafkaConfig, group: &str, topic: &str, offset: i64) -> i64 {
    wait_until(&format!("offset {offset} committed"), Duration::from_secs(15), || async move {
        committed(cfg, group, topic).filter(|o| *o == offset)
    })
    .await
}

fn spawn_consumer<F, Fut>(cfg: &KafkaConfig, group: &str, handler: F) -> (CancellationToken, tokio::task::JoinHandle<()>)
where
    F: Fn(tripnest_common::kafka::Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    spawn_consumer_with(cfg, ConsumerSettings::new(group, &[Probe::TOPIC]), handler)
}

fn spawn_consumer_with<F, Fut>(
    cfg: &KafkaConfig,
    settings: ConsumerSettings,
    handler: F,
) -> (CancellationToken, tokio::task::JoinHandle<()>)
where
    F: Fn(tripnest_common::kafka::Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), HandlerError>> + Send + 'static,
{
    let token = CancellationToken::new();
    let (cfg, stop) = (cfg.clone(), token.clone());
    let dlq = Producer::new(&cfg).expect("dlq producer");
    let task = tokio::spawn(async move { run_consumer(&cfg, settings, dlq, stop, handler).await.expect("consumer runs") });
    (token, task)
}

#[tokio::test]
async fn kafka_produces_consumes_in_a_group_and_commits_offsets() {
    let ((cfg, topic), group) = (kafka_config(), unique("e2e-group"));
    create_topic(&cfg, &topic).await;
    let producer = Producer::new(&cfg).expect("producer");
    let mut sent = Vec::new();
    for n in 0..3 {
        let event = Event::new("e2e", format!("bk-{n}"), Probe { n });
        producer.publish(&event, Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).await.expect("publish");
        sent.push(event.id);
    }

    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop, task) = spawn_consumer(&cfg, &group, move |d| {
        let tx = tx.clone();
        async move {
            let event = d.event::<Probe>()?;
            assert_eq!(d.header("traceparent").map(<[u8]>::len), Some(55), "traceparent travels as a header");
            tx.send((event.id, d.key.clone())).map_err(|e| HandlerError::Transient(e.into()))
        }
    });

    let mut received = Vec::new();
    for _ in 0..3 {
        let (id, key) = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.expect("consumed in time").expect("channel");
        assert!(key.is_some_and(|k| k.starts_with(b"bk-")), "keyed by subject");
        received.push(id);
    }
    assert_eq!(received, sent, "one partition keeps order");

    let offset = wait_committed(&cfg, &group, &topic, 3).await;
    assert_eq!(offset, 3);
    stop.cancel();
    task.await.expect("consumer stops cleanly");
}

#[tokio::test]
async fn kafka_parks_a_poison_message_on_the_dead_letter_topic_and_moves_on() {
    let ((cfg, topic), group) = (kafka_config(), unique("e2e-group"));
    create_topic(&cfg, &topic).await;
    let producer = Producer::new(&cfg).expect("producer");
    producer.send(Probe::TOPIC, b"bk-bad", b"{not json", &[]).await.expect("send poison");
    let good = Event::new("e2e", "bk-good", Probe { n: 0 });
    producer.publish(&good, None).await.expect("send good");

    let (tx, mut rx) = mpsc::unbounded_channel();
    let (stop, task) = spawn_consumer(&cfg, &group, move |d| {
        let tx = tx.clone();
        async move {
            let event = d.event::<Probe>()?;
            tx.send(event.id).map_err(|e| HandlerError::Transient(e.into()))
        }
    });
    let handled = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.expect("good event handled").expect("channel");
    assert_eq!(handled, good.id, "the consumer moved past the poison message");
    wait_committed(&cfg, &group, &topic, 2).await;
    stop.cancel();
    task.await.expect("consumer stops");

    let dlq: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", &cfg.bootstrap_servers)
        .set("group.id", unique("dlq-reader"))
        .set("auto.offset.reset", "earliest")
        .create()
        .expect("dlq reader");
    dlq.subscribe(&[&format!("{topic}.dlq")]).expect("subscribe dlq");
    let parked = tokio::time::timeout(Duration::from_secs(30), dlq.recv()).await.expect("parked message arrives").expect("recv");
    assert_eq!(parked.payload(), Some(&b"{not json"[..]), "original bytes kept");
    assert_eq!(parked.key(), Some(&b"bk-bad"[..]), "original key kept");
    let headers = parked.headers().expect("headers");
    let reason = headers.iter().find(|h| h.key == "dlq-reason").and_then(|h| h.value).expect("dlq-reason header");
    assert!(String::from_utf8_lossy(reason).contains("not a valid CloudEvent"), "{}", String::from_utf8_lossy(reason));
}

#[tokio::test]
async fn kafka_offset_is_committed_only_after_the_handler_finishes() {
    let ((cfg, topic), group) = (kafka_config(), unique("e2e-group"));
    create_topic(&cfg, &topic).await;
    Producer::new(&cfg).expect("producer").publish(&Event::new("e2e", "bk-1", Probe { n: 1 }), None).await.expect("publish");

    let (started, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
    let (s, r) = (started.clone(), release.clone());
    let (stop, task) = spawn_consumer(&cfg, &group, move |_| {
        let (s, r) = (s.clone(), r.clone());
        async move {
            s.notify_one();
            r.notified().await;
            Ok(())
        }
    });
    tokio::time::timeout(Duration::from_secs(30), started.notified()).await.expect("handler started");
    assert_eq!(committed(&cfg, &group, &topic), None, "nothing committed while the handler runs");
    release.notify_one();
    wait_committed(&cfg, &group, &topic, 1).await;
    stop.cancel();
    task.await.expect("consumer stops");
}

/// A follower's consumer (`ConsumerSettings::follower`) lets the broker hold its fetches to
/// gather messages, so a steady trickle reaches it in a few bursts, while a saga consumer
/// (`ConsumerSettings::new`) gets each message as it is produced. Both read the same trickle;
/// a burst is a run of messages handled less than 50 ms after the one before.
#[tokio::test]
async fn a_followers_consumer_reads_a_trickle_in_a_few_batched_fetches_and_a_saga_consumer_at_once() {
    const TRICKLE: usize = 30;
    let (cfg, topic) = kafka_config();
    create_topic(&cfg, &topic).await;
    let follower_cfg = KafkaConfig { follower_fetch_wait_ms: 1_000, ..cfg.clone() };
    let consumers = [
        ("saga", ConsumerSettings::new(unique("e2e-saga"), &[Probe::TOPIC]), &cfg),
        ("follower", ConsumerSettings::follower(&follower_cfg, unique("e2e-follower"), &[Probe::TOPIC]), &follower_cfg),
    ];
    let producer = Producer::new(&cfg).expect("producer");
    let mut running = Vec::new();
    for (name, settings, cfg) in consumers {
        let (tx, rx) = mpsc::unbounded_channel();
        let consumer = spawn_consumer_with(cfg, settings, move |d| {
            let tx = tx.clone();
            async move {
                let n = d.event::<Probe>()?.data.n;
                tx.send((n, tokio::time::Instant::now())).map_err(|e| HandlerError::Transient(e.into()))
            }
        });
        running.push((name, rx, consumer));
    }
    // A first message both have read: both are fetching before the trickle starts.
    producer.publish(&Event::new("e2e", "warm", Probe { n: 0 }), None).await.expect("publish");
    for (name, rx, _) in &mut running {
        let got = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.expect(name).expect("channel");
        assert_eq!(got.0, 0, "{name}");
    }
    for n in 1..=TRICKLE {
        producer.publish(&Event::new("e2e", format!("t-{n}"), Probe { n: n as u64 }), None).await.expect("publish");
        tokio::time::sleep(Duration::from_millis(100)).await; // the trickle's pace, not a wait for a result
    }
    let mut bursts = std::collections::HashMap::new();
    for (name, mut rx, (stop, task)) in running {
        let mut times = Vec::new();
        while times.len() < TRICKLE {
            let (n, at) = tokio::time::timeout(Duration::from_secs(30), rx.recv()).await.expect(name).expect("channel");
            assert_eq!(n as usize, times.len() + 1, "{name} reads the trickle in order");
            times.push(at);
        }
        let count = 1 + times.windows(2).filter(|w| w[1] - w[0] >= Duration::from_millis(50)).count();
        bursts.insert(name, count);
        stop.cancel();
        task.await.expect("consumer stops");
    }
    // 3 s of trickle: the follower's fetches end at most once a second (plus the edges).
    assert!(bursts["follower"] <= 6, "the follower read {TRICKLE} messages in {} bursts", bursts["follower"]);
    assert!(bursts["saga"] >= 20, "the saga consumer read {TRICKLE} messages in {} bursts", bursts["saga"]);
}
