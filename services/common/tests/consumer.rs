//! `run_consumer` against the real Kafka of the local stack: consumers that join and leave a
//! group mid-stream lose no message, offsets are committed in batches (far fewer commits than
//! messages, and everything handled is committed on shutdown), and the lag gauge drains to 0.
//! With `concurrency` above 1, each key keeps its order and what finished is committed; with
//! `batch` above 1, what piled up behind a key is handed over together, and a poisoned message
//! in a batch is parked alone.

use rdkafka::{
    ClientConfig, Offset, TopicPartitionList,
    admin::{AdminClient, AdminOptions, NewTopic, TopicReplication},
    client::DefaultClientContext,
    consumer::{BaseConsumer, Consumer},
};
use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};
use tokio_util::sync::CancellationToken;
use tripnest_common::{
    Event,
    config::KafkaConfig,
    events::Payload,
    kafka::{ConsumerSettings, Delivery, HandlerError, Producer, run_batch_consumer, run_consumer},
    telemetry,
};

const TOPIC: &str = Numbered::TOPIC;

/// What these tests publish.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct Numbered {
    n: u64,
}

impl Payload for Numbered {
    const TOPIC: &'static str = "progress.test";
}
const PARTITIONS: i32 = 3;
const MESSAGES: usize = 3000;

/// The bootstrap servers of the local stack: `TRIPNEST_STACK_ENV`, else the repository's
/// `.tripnest/stack.env` (where `make up` and `make test` write it), else the environment.
fn bootstrap() -> String {
    let path = std::env::var("TRIPNEST_STACK_ENV")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/../../.tripnest/stack.env").to_owned());
    let from_file = std::fs::read_to_string(path).ok().and_then(|text| {
        text.lines().find_map(|l| l.strip_prefix("KAFKA_BOOTSTRAP_SERVERS=").map(|v| v.trim().trim_matches('"').to_owned()))
    });
    from_file.or_else(|| std::env::var("KAFKA_BOOTSTRAP_SERVERS").ok()).expect("set TRIPNEST_STACK_ENV or KAFKA_BOOTSTRAP_SERVERS")
}

/// A config with a prefix of its own, and [`TOPIC`] created under it with [`PARTITIONS`].
async fn fresh_topic() -> (KafkaConfig, String) {
    let cfg = KafkaConfig {
        bootstrap_servers: bootstrap(),
        topic_prefix: format!("t{}.", uuid::Uuid::now_v7().simple()),
        create_missing_topics: true,
        ..KafkaConfig::default()
    };
    let admin: AdminClient<DefaultClientContext> =
        ClientConfig::new().set("bootstrap.servers", &cfg.bootstrap_servers).create().expect("admin");
    let physical = cfg.topic(TOPIC);
    let created = admin
        .create_topics(&[NewTopic::new(&physical, PARTITIONS, TopicReplication::Fixed(1))], &AdminOptions::new())
        .await
        .expect("create topic");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
    (cfg, physical)
}

/// Asserts that `group` committed every partition of `physical` through its end; returns the
/// number of messages in the topic.
fn committed_through_the_end(cfg: &KafkaConfig, group: &str, physical: &str) -> i64 {
    let probe: BaseConsumer =
        ClientConfig::new().set("bootstrap.servers", &cfg.bootstrap_servers).set("group.id", group).create().expect("probe");
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition(physical, p);
    }
    let committed = probe.committed_offsets(tpl, Duration::from_secs(10)).expect("committed offsets");
    let mut sum = 0;
    for e in committed.elements() {
        let (_, high) = probe.fetch_watermarks(physical, e.partition(), Duration::from_secs(10)).expect("watermarks");
        if high > 0 {
            assert_eq!(e.offset(), Offset::Offset(high), "partition {} is committed through its end", e.partition());
        }
        sum += high;
    }
    sum
}

/// Every message number each handler call saw, in order.
type Seen = Arc<Mutex<Vec<usize>>>;

fn start(cfg: &KafkaConfig, group: &str, seen: Seen, producer: &Producer) -> (CancellationToken, tokio::task::JoinHandle<()>) {
    let shutdown = CancellationToken::new();
    let (cfg, settings, dlq, token) = (cfg.clone(), ConsumerSettings::new(group, &[TOPIC]), producer.clone(), shutdown.clone());
    let task = tokio::spawn(async move {
        run_consumer(&cfg, settings, dlq, token, move |d: Delivery| {
            let seen = seen.clone();
            async move {
                let n = d.event::<Numbered>()?.data.n;
                seen.lock().expect("lock").push(n as usize);
                Ok(())
            }
        })
        .await
        .expect("consumer runs");
    });
    (shutdown, task)
}

async fn wait_until(what: &str, deadline: Duration, mut done: impl FnMut() -> bool) {
    let until = Instant::now() + deadline;
    while !done() {
        assert!(Instant::now() < until, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Values of metric `name` whose labels include `group="<group>"`, by their full label set.
fn metric(text: &str, name: &str, group: &str) -> HashMap<String, f64> {
    let tag = format!("group=\"{group}\"");
    text.lines()
        .filter(|l| l.starts_with(&format!("{name}{{")) && l.contains(&tag))
        .filter_map(|l| l.rsplit_once(' ').and_then(|(k, v)| Some((k.to_owned(), v.parse().ok()?))))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consumers_joining_and_leaving_mid_stream_lose_nothing_and_commit_in_batches() {
    let metrics = telemetry::prometheus("consumer-test");
    let (cfg, physical) = fresh_topic().await;
    let group = format!("progress-{}", uuid::Uuid::now_v7().simple());

    // Publish at about 600 messages/s while the consumers come and go, so they do so mid-stream.
    let producer = Producer::new(&cfg).expect("producer");
    let publishing = tokio::spawn({
        let producer = producer.clone();
        async move {
            let mut pace = tokio::time::interval(Duration::from_millis(50));
            for chunk in (0..MESSAGES).collect::<Vec<_>>().chunks(30) {
                pace.tick().await;
                let sends = chunk.iter().map(|&n| {
                    let event = Event::new("/test", format!("key-{}", n % 11), Numbered { n: n as u64 });
                    let producer = producer.clone();
                    async move { producer.publish(&event, None).await.expect("publish") }
                });
                futures::future::join_all(sends).await;
            }
        }
    });

    // A starts alone; B joins after a third (a rebalance); A leaves after two thirds (another).
    let (seen_a, seen_b): (Seen, Seen) = (Seen::default(), Seen::default());
    let (stop_a, task_a) = start(&cfg, &group, seen_a.clone(), &producer);
    wait_until("A to handle a third", Duration::from_secs(60), || seen_a.lock().expect("lock").len() >= MESSAGES / 3).await;
    let (stop_b, task_b) = start(&cfg, &group, seen_b.clone(), &producer);
    let total = || seen_a.lock().expect("lock").len() + seen_b.lock().expect("lock").len();
    wait_until("two thirds handled", Duration::from_secs(60), || total() >= 2 * MESSAGES / 3).await;
    stop_a.cancel();
    task_a.await.expect("A stops");
    let distinct = || {
        let mut all: Vec<usize> = seen_a.lock().expect("lock").iter().chain(seen_b.lock().expect("lock").iter()).copied().collect();
        all.sort_unstable();
        all.dedup();
        all.len()
    };
    wait_until("every message handled", Duration::from_secs(90), || distinct() == MESSAGES).await;
    publishing.await.expect("published");

    // The lag gauge reports every partition and drains to 0.
    wait_until("the lag gauge to drain to 0", Duration::from_secs(30), || {
        let lag = metric(&metrics.render(), "kafka_consumer_lag_messages", &group);
        let live = lag.iter().filter(|(_, v)| **v > 0.0).count();
        lag.len() >= PARTITIONS as usize && live == 0
    })
    .await;
    stop_b.cancel();
    task_b.await.expect("B stops");

    let text = metrics.render();
    let commits: f64 = metric(&text, "kafka_consumer_commits_total", &group).values().sum();
    let handled = total();
    let (by_a, by_b) = (seen_a.lock().expect("lock").len(), seen_b.lock().expect("lock").len());
    println!("handled {handled} deliveries (A {by_a}, B {by_b}) of {MESSAGES} messages with {commits} commits");
    assert!(by_a >= MESSAGES / 3 && by_b > 0, "both consumers took part");
    assert!(handled >= MESSAGES, "at least once");
    assert!(commits > 0.0 && commits < (MESSAGES / 10) as f64, "commits are batched: {commits} for {MESSAGES} messages");
    let ages = metric(&text, "kafka_consumer_event_age_seconds_count", &group);
    assert_eq!(ages.values().sum::<f64>(), handled as f64, "every applied event's age is recorded: {ages:?}");

    // Stopping committed everything handled: the group's offsets are the high watermarks.
    assert_eq!(committed_through_the_end(&cfg, &group, &physical), MESSAGES as i64);
}

/// With `concurrency` above 1, messages of different keys are handled at once, each key's in
/// the order published, and stopping commits everything handled.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_handling_keeps_each_keys_order_and_commits_what_finished() {
    const KEYS: usize = 6;
    const COUNT: usize = 600;
    const CONCURRENCY: usize = 8;
    let (cfg, physical) = fresh_topic().await;
    let group = format!("lanes-{}", uuid::Uuid::now_v7().simple());
    let producer = Producer::new(&cfg).expect("producer");
    let sends = (0..COUNT).map(|n| {
        let event = Event::new("/test", format!("key-{}", n % KEYS), Numbered { n: n as u64 });
        let producer = producer.clone();
        async move { producer.publish(&event, None).await.expect("publish") }
    });
    futures::future::join_all(sends).await;

    // Per key, the numbers in the order handled; how many handlers ran at once, at most.
    let by_key: Arc<Mutex<HashMap<usize, Vec<usize>>>> = Arc::default();
    let (running, most) = (Arc::new(std::sync::atomic::AtomicUsize::new(0)), Arc::new(std::sync::atomic::AtomicUsize::new(0)));
    let shutdown = CancellationToken::new();
    let settings = ConsumerSettings { concurrency: CONCURRENCY, ..ConsumerSettings::new(&group, &[TOPIC]) };
    let task = tokio::spawn({
        let (cfg, dlq, token, by_key, running, most) =
            (cfg.clone(), producer.clone(), shutdown.clone(), by_key.clone(), running.clone(), most.clone());
        async move {
            run_consumer(&cfg, settings, dlq, token, move |d: Delivery| {
                let (by_key, running, most) = (by_key.clone(), running.clone(), most.clone());
                async move {
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = running.fetch_add(1, SeqCst) + 1;
                    most.fetch_max(now, SeqCst);
                    let n = d.event::<Numbered>()?.data.n as usize;
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    by_key.lock().expect("lock").entry(n % KEYS).or_default().push(n);
                    running.fetch_sub(1, SeqCst);
                    Ok(())
                }
            })
            .await
            .expect("consumer runs");
        }
    });
    let handled = || by_key.lock().expect("lock").values().map(Vec::len).sum::<usize>();
    wait_until("every message handled", Duration::from_secs(90), || handled() >= COUNT).await;
    shutdown.cancel();
    task.await.expect("consumer stops");

    let most = most.load(std::sync::atomic::Ordering::SeqCst);
    assert!((2..=CONCURRENCY).contains(&most), "handlers ran at once, at most {CONCURRENCY}: {most}");
    for (key, ns) in by_key.lock().expect("lock").iter() {
        assert!(ns.windows(2).all(|w| w[0] < w[1]), "key {key} was handled in order: {ns:?}");
        assert_eq!(ns.len(), COUNT / KEYS, "key {key} was handled once per message");
    }
    assert_eq!(committed_through_the_end(&cfg, &group, &physical), COUNT as i64);
}

/// With `batch` above 1, the messages of one key that piled up are handed over together, in
/// order, never more than `batch` and never more than `concurrency` batches at once; a batch
/// with a poisoned message is handed over again one message at a time, so only that one is
/// parked and every other is handled once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn what_piles_up_behind_a_key_is_handled_as_one_batch_and_a_poisoned_one_is_parked_alone() {
    const KEYS: usize = 4;
    const COUNT: usize = 400;
    const BATCH: usize = 16;
    const CONCURRENCY: usize = 2;
    let (cfg, physical) = fresh_topic().await;
    let group = format!("batches-{}", uuid::Uuid::now_v7().simple());
    let producer = Producer::new(&cfg).expect("producer");
    // Published before the consumer starts, so they pile up behind their keys.
    for n in 0..COUNT {
        producer.publish(&Event::new("/test", format!("key-{}", n % KEYS), Numbered { n: n as u64 }), None).await.expect("publish");
        if n == COUNT / 2 {
            producer.send(TOPIC, b"key-1", b"not an event", &[]).await.expect("publish the poisoned message");
        }
    }

    let recorded = Recorded::default();
    let shutdown = CancellationToken::new();
    let settings = ConsumerSettings { concurrency: CONCURRENCY, batch: BATCH, ..ConsumerSettings::new(&group, &[TOPIC]) };
    let task = recorded.consume(&cfg, settings, &producer, &shutdown, KEYS);
    wait_until("every message handled", Duration::from_secs(90), || recorded.handled() >= COUNT).await;
    let dlq: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &cfg.bootstrap_servers).create().expect("probe");
    let parked = cfg.topic(&tripnest_common::events::topics::dead_letter(TOPIC));
    wait_until("the poisoned message parked", Duration::from_secs(30), || {
        dlq.fetch_watermarks(&parked, 0, Duration::from_secs(5)).is_ok_and(|(_, high)| high == 1)
    })
    .await;
    shutdown.cancel();
    task.await.expect("consumer stops");

    recorded.assert_each_key_in_order_once(COUNT / KEYS);
    let sizes = recorded.sizes.lock().expect("lock").clone();
    assert!(sizes.iter().all(|s| (1..=BATCH).contains(s)), "at most {BATCH} a batch: {sizes:?}");
    assert!(sizes.iter().any(|s| *s > 1), "what piled up was handed over together: {sizes:?}");
    assert!(sizes.len() < COUNT / 2, "{} batches for {COUNT} messages", sizes.len());
    let most = recorded.most.load(std::sync::atomic::Ordering::SeqCst);
    assert!(most <= CONCURRENCY, "at most {CONCURRENCY} batches at once: {most}");
    assert_eq!(committed_through_the_end(&cfg, &group, &physical), COUNT as i64 + 1, "the parked message is committed too");
}

/// With many more keys than `concurrency × batch`, batches still form, because the consumer
/// holds up to `held` messages: each key's messages pile up while the other keys run (a read
/// model behind on 1,000 hotels held 1,024 messages, about one per hotel, and wrote every event
/// on its own).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_many_keys_batches_form_from_the_messages_held() {
    const KEYS: usize = 300;
    const COUNT: usize = 2400;
    const BATCH: usize = 16;
    const CONCURRENCY: usize = 2;
    let (cfg, physical) = fresh_topic().await;
    let group = format!("many-keys-{}", uuid::Uuid::now_v7().simple());
    let producer = Producer::new(&cfg).expect("producer");
    for n in 0..COUNT {
        producer.publish(&Event::new("/test", format!("key-{}", n % KEYS), Numbered { n: n as u64 }), None).await.expect("publish");
    }
    let recorded = Recorded::default();
    let shutdown = CancellationToken::new();
    let settings = ConsumerSettings { concurrency: CONCURRENCY, batch: BATCH, held: COUNT, ..ConsumerSettings::new(&group, &[TOPIC]) };
    let task = recorded.consume(&cfg, settings, &producer, &shutdown, KEYS);
    wait_until("every message handled", Duration::from_secs(90), || recorded.handled() >= COUNT).await;
    shutdown.cancel();
    task.await.expect("consumer stops");

    recorded.assert_each_key_in_order_once(COUNT / KEYS);
    let sizes = recorded.sizes.lock().expect("lock").clone();
    // Held to `concurrency × batch` (32 messages over 300 keys) nearly every batch would be one
    // message: 2,400 batches.
    assert!(sizes.len() <= COUNT / 3, "{} batches for {COUNT} messages over {KEYS} keys: {sizes:?}", sizes.len());
    assert!(sizes.iter().all(|s| (1..=BATCH).contains(s)), "at most {BATCH} a batch: {sizes:?}");
    assert_eq!(committed_through_the_end(&cfg, &group, &physical), COUNT as i64);
}

/// What a batch consumer's handler saw: per key the numbers in the order handled, the size of
/// every batch, and the most batches that ran at once.
#[derive(Clone, Default)]
struct Recorded {
    by_key: Arc<Mutex<HashMap<usize, Vec<usize>>>>,
    sizes: Arc<Mutex<Vec<usize>>>,
    running: Arc<std::sync::atomic::AtomicUsize>,
    most: Arc<std::sync::atomic::AtomicUsize>,
}

impl Recorded {
    /// Run a batch consumer that records into `self`; each batch takes 2 ms and is all or
    /// nothing (an unparseable message fails it before anything is recorded).
    fn consume(
        &self,
        cfg: &KafkaConfig,
        settings: ConsumerSettings,
        dlq: &Producer,
        shutdown: &CancellationToken,
        keys: usize,
    ) -> tokio::task::JoinHandle<()> {
        let (cfg, dlq, token, recorded) = (cfg.clone(), dlq.clone(), shutdown.clone(), self.clone());
        tokio::spawn(async move {
            run_batch_consumer(&cfg, settings, dlq, token, move |batch: Vec<Delivery>| {
                let recorded = recorded.clone();
                async move {
                    use std::sync::atomic::Ordering::SeqCst;
                    let now = recorded.running.fetch_add(1, SeqCst) + 1;
                    recorded.most.fetch_max(now, SeqCst);
                    let numbers: Result<Vec<usize>, HandlerError> =
                        batch.iter().map(|d| Ok(d.event::<Numbered>()?.data.n as usize)).collect();
                    tokio::time::sleep(Duration::from_millis(2)).await;
                    recorded.running.fetch_sub(1, SeqCst);
                    let numbers = numbers?;
                    recorded.sizes.lock().expect("lock").push(numbers.len());
                    let mut by_key = recorded.by_key.lock().expect("lock");
                    for n in numbers {
                        by_key.entry(n % keys).or_default().push(n);
                    }
                    Ok(())
                }
            })
            .await
            .expect("consumer runs");
        })
    }

    fn handled(&self) -> usize {
        self.by_key.lock().expect("lock").values().map(Vec::len).sum()
    }

    fn assert_each_key_in_order_once(&self, per_key: usize) {
        for (key, ns) in self.by_key.lock().expect("lock").iter() {
            assert!(ns.windows(2).all(|w| w[0] < w[1]), "key {key} was handled in order, each once: {ns:?}");
            assert_eq!(ns.len(), per_key, "key {key} was handled once per message");
        }
    }
}
