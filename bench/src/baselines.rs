//! The ceilings every TripNest figure is compared with, measured in the same run: a bare axum
//! handler (HTTP), pgbench running booking's own SQL (database), a bare Kafka produce→consume
//! round trip (broker). The API server ceiling lives with the operator scenario.

use crate::load::{Load, Step, open_loop};
use rdkafka::{
    ClientConfig, Message, Offset, TopicPartitionList,
    consumer::{Consumer, StreamConsumer},
};
use std::{
    collections::HashMap,
    path::Path,
    process::Command,
    sync::{Arc, Mutex},
};
use tokio::sync::oneshot;
use tripnest_common::{config::KafkaConfig, kafka::Producer};
use tripnest_e2e::unique;

/// A bare axum server answering `GET /hotels` with `body`, on its own two-thread runtime
/// (as a separate service process would have); returns its URL. Lives until the bench exits.
pub fn bare_handler(body: serde_json::Value) -> String {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("bare runtime");
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind bare handler");
            tx.send(format!("http://{}/hotels", listener.local_addr().expect("addr"))).expect("send url");
            let body = Arc::new(body);
            let app = axum::Router::new().route("/hotels", axum::routing::get(move || async move { axum::Json((*body).clone()) }));
            axum::serve(listener, app).await.expect("bare handler serves");
        });
    });
    rx.recv().expect("bare handler url")
}

/// What pgbench reported.
#[derive(Debug, Clone, Copy)]
pub struct Pgbench {
    /// Transactions per second.
    pub tps: f64,
    /// Mean latency per transaction, ms.
    pub latency_ms: f64,
}

/// Run `script` with pgbench (`-M prepared`, `clients` connections, `transactions` each)
/// against `url`.
pub fn pgbench(url: &str, script: &str, clients: u32, transactions: u32) -> anyhow::Result<Pgbench> {
    let file = std::env::temp_dir().join(format!("{}.sql", unique("tripnest-pgbench")));
    std::fs::write(&file, script)?;
    let out = Command::new(pgbench_binary())
        .args(["-n", "-M", "prepared", "-j", "2", "-c", &clients.to_string(), "-t", &transactions.to_string(), "-f"])
        .arg(&file)
        .arg(url)
        .output();
    let _ = std::fs::remove_file(&file);
    let out = out.map_err(|e| anyhow::anyhow!("pgbench did not start ({e}); install postgresql-contrib or set PGBENCH"))?;
    let text = String::from_utf8_lossy(&out.stdout);
    anyhow::ensure!(out.status.success(), "pgbench failed: {}{}", text, String::from_utf8_lossy(&out.stderr));
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .and_then(|v| v.trim_start_matches([' ', '=']).split_whitespace().next()?.parse::<f64>().ok())
    };
    Ok(Pgbench {
        tps: field("tps").ok_or_else(|| anyhow::anyhow!("no tps in pgbench output: {text}"))?,
        latency_ms: field("latency average").unwrap_or(0.0),
    })
}

/// `$PGBENCH`, the one on `PATH`, or the newest under `/usr/lib/postgresql`.
fn pgbench_binary() -> String {
    if let Ok(p) = std::env::var("PGBENCH") {
        return p;
    }
    if Command::new("pgbench").arg("--version").output().is_ok_and(|o| o.status.success()) {
        return "pgbench".into();
    }
    let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.flatten().map(|e| e.path().join("bin/pgbench")).filter(|p| Path::new(p).exists()).collect())
        .unwrap_or_default();
    found.sort();
    found.pop().map_or_else(|| "pgbench".into(), |p| p.display().to_string())
}

/// Produce→consume round trips on a fresh topic at `load`, with the services' own producer
/// settings (`acks=all`, idempotent, `linger.ms=2`); latency from each message's intended
/// send time to its arrival at the consumer. The topic is deleted afterwards.
pub async fn kafka_round_trip(bootstrap: &str, load: Load) -> anyhow::Result<Step> {
    let cfg = KafkaConfig { bootstrap_servers: bootstrap.into(), topic_prefix: format!("{}.", unique("bench")), ..KafkaConfig::default() };
    tripnest_common::kafka::ensure_topics(&cfg, &["roundtrip".to_owned()]).await?;
    let topic = cfg.topic("roundtrip");
    let consumer: StreamConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", unique("bench-rtt"))
        .set("enable.auto.commit", "false")
        .set("enable.partition.eof", "false")
        .create()?;
    let mut assignment = TopicPartitionList::new();
    assignment.add_partition_offset(&topic, 0, Offset::Beginning)?;
    consumer.assign(&assignment)?;
    let waiting: Arc<Mutex<HashMap<u64, oneshot::Sender<()>>>> = Arc::default();
    let arrivals = waiting.clone();
    let reader = tokio::spawn(async move {
        while let Ok(m) = consumer.recv().await {
            let i = m.payload().and_then(|p| std::str::from_utf8(p).ok()?.parse::<u64>().ok());
            if let Some(tx) = i.and_then(|i| arrivals.lock().expect("arrivals").remove(&i)) {
                let _ = tx.send(());
            }
        }
    });
    let producer = Arc::new(Producer::new(&cfg)?);
    // Warm up: metadata, connections and the consumer's first fetch.
    producer.send("roundtrip", b"k", b"warm-up", &[]).await?;
    let step = open_loop(load, |i| {
        let (producer, waiting) = (producer.clone(), waiting.clone());
        async move {
            let (tx, rx) = oneshot::channel();
            waiting.lock().expect("waiting").insert(i, tx);
            producer
                .send("roundtrip", i.to_string().as_bytes(), i.to_string().as_bytes(), &[])
                .await
                .map_err(|_| "produce failed".to_owned())?;
            tokio::time::timeout(std::time::Duration::from_secs(10), rx)
                .await
                .map_err(|_| "not consumed in 10 s".to_owned())?
                .map_err(|_| "lost".to_owned())
        }
    })
    .await;
    reader.abort();
    // The topic goes with the run: a broker keeps a cost for every partition it holds.
    crate::seed::drop_kafka_under(bootstrap, &cfg.topic_prefix).await?;
    Ok(step)
}
