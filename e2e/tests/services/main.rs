//! Every service binary, run as the real process: it starts on a free port, answers
//! `/healthz`, `/readyz` and `/metrics`, keeps the error shape for unknown routes, and on
//! SIGTERM stops taking work and exits 0.

use std::{collections::BTreeMap, time::Duration};
use tripnest_e2e::{Stack, process::ServiceProcess, unique, with_database};

const SERVICES: &[&str] = &["gateway", "user", "booking", "payment", "notification", "search", "recommendation", "review", "operator"];

fn settings(name: &str) -> BTreeMap<String, String> {
    let stack = Stack::load();
    // Each run gets its own database (created on start) and topic prefix.
    let database = with_database(stack.database_url(), &format!("t_{name}_{}", unique("db").replace('-', "_")));
    BTreeMap::from([
        ("APP_DATABASE_URL".into(), database),
        ("APP_KAFKA__BOOTSTRAP_SERVERS".into(), stack.get("KAFKA_BOOTSTRAP_SERVERS").into()),
        ("APP_KAFKA__TOPIC_PREFIX".into(), format!("{}.", unique("svc"))),
        // A group of its own: a killed member of a shared group stalls everyone's rebalance.
        ("APP_KAFKA__GROUP_ID".into(), unique(&format!("svc-{name}"))),
        ("APP_INTERNAL_TOKEN".into(), "services-test-token".into()),
        ("APP_SMTP_URL".into(), stack.get("SMTP_URL").into()),
        ("APP_REDIS_URL".into(), stack.get("REDIS_URL").into()),
        ("APP_MONGODB_URI".into(), stack.get("MONGODB_URI").into()),
        ("APP_MONGODB_DATABASE".into(), format!("t_{name}_{}", unique("m").replace('-', "_"))),
        ("KUBECONFIG".into(), stack.get("KUBECONFIG").into()),
        // The operator watches a namespace of its own and elects itself on its own Lease, so it
        // neither touches nor waits for anything else on the cluster.
        ("APP_WATCH_NAMESPACE".into(), unique("svc-ns")),
        ("APP_LEADER__LEASE_NAME".into(), unique("svc-lease")),
    ])
}

#[tokio::test]
async fn every_service_binary_serves_health_metrics_and_stops_on_sigterm() {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    for name in SERVICES {
        let mut p = ServiceProcess::spawn(name, settings(name));
        let health = http.get(format!("{}/healthz", p.url)).send().await.expect("healthz");
        assert_eq!(health.status(), 200, "{name} /healthz");
        let ready = http.get(format!("{}/readyz", p.url)).send().await.expect("readyz");
        assert_eq!(ready.status(), 200, "{name} /readyz: {:?}", ready.text().await);

        let on_api_port = http.get(format!("{}/metrics", p.url)).send().await.expect("metrics on the API port");
        assert_eq!(on_api_port.status(), 404, "{name} keeps /metrics off its API port");
        let missing = http.get(format!("{}/no-such-route", p.url)).send().await.expect("404");
        assert_eq!(missing.status(), 404);
        let body: serde_json::Value = missing.json().await.expect("error json");
        assert_eq!(body["error"]["code"], "not_found", "{name}");

        let metrics = http.get(format!("{}/metrics", p.ops_url)).send().await.expect("metrics").text().await.expect("text");
        assert!(metrics.contains("http_requests_total{") && metrics.contains(&format!("service=\"{name}\"")), "{name} metrics:\n{metrics}");
        assert!(metrics.contains("http_request_duration_seconds_bucket"), "{name} exports latency histograms");

        let status = p.terminate().await;
        assert!(status.success(), "{name} exits 0 after SIGTERM, got {status}");
    }
}
