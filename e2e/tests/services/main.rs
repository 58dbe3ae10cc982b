//! Every service binary, run as the real process: it starts on a free port, answers
//! `/healthz`, `/readyz` and `/metrics`, keeps the error shape for unknown routes, and on
//! SIGTERM stops taking work and exits 0. Binaries come from `cargo build --workspace --bins`
//! (`make test` does that first).

use std::{
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, Stdio},
    time::Duration,
};
use tripnest_e2e::Stack;

const SERVICES: &[&str] = &["gateway", "user", "booking", "payment", "notification", "search", "recommendation", "review", "operator"];

fn binary(name: &str) -> PathBuf {
    // target/<profile>/deps/services-<hash> → target/<profile>/<binary>
    let exe = std::env::current_exe().expect("test exe");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target profile dir");
    let bin = dir.join(format!("tripnest-{name}"));
    assert!(bin.exists(), "{} is missing: run `cargo build --workspace --bins` first", bin.display());
    bin
}

struct Proc {
    child: Child,
    url: String,
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// Start a service binary on port 0 and read its bound address from the JSON "listening" log line.
fn spawn(name: &str) -> Proc {
    let stack = Stack::load();
    // Each run gets its own database (created on start) and topic prefix.
    let database = tripnest_e2e::with_database(stack.database_url(), &format!("t_{}_{}", name, &tripnest_e2e::unique("db")[3..]).replace('-', "_"));
    let mut child = Command::new(binary(name))
        .env("APP_HTTP__PORT", "0")
        .env("APP_DATABASE_URL", database)
        .env("APP_KAFKA__BOOTSTRAP_SERVERS", stack.get("KAFKA_BOOTSTRAP_SERVERS"))
        .env("APP_KAFKA__TOPIC_PREFIX", format!("{}.", tripnest_e2e::unique("svc")))
        .env("APP_INTERNAL_TOKEN", "services-test-token")
        .env("APP_LOG__FORMAT", "json")
        .env("RUST_LOG", "info")
        .env("KUBECONFIG", stack.get("KUBECONFIG"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn service");
    let stdout = child.stdout.take().expect("stdout");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                && v["message"] == "listening"
            {
                let _ = tx.send(v["addr"].as_str().unwrap_or_default().to_owned());
            }
        }
    });
    let addr = rx.recv_timeout(Duration::from_secs(30)).unwrap_or_else(|_| panic!("{name} did not log its listening address"));
    Proc { child, url: format!("http://{addr}") }
}

fn sigterm(p: &Proc) {
    let status = Command::new("kill").args(["-TERM", &p.child.id().to_string()]).status().expect("kill");
    assert!(status.success());
}

#[tokio::test]
async fn every_service_binary_serves_health_metrics_and_stops_on_sigterm() {
    let http = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().expect("client");
    for name in SERVICES {
        let mut p = spawn(name);
        let health = http.get(format!("{}/healthz", p.url)).send().await.expect("healthz");
        assert_eq!(health.status(), 200, "{name} /healthz");
        let ready = http.get(format!("{}/readyz", p.url)).send().await.expect("readyz");
        assert_eq!(ready.status(), 200, "{name} /readyz: {:?}", ready.text().await);

        let missing = http.get(format!("{}/no-such-route", p.url)).send().await.expect("404");
        assert_eq!(missing.status(), 404);
        let body: serde_json::Value = missing.json().await.expect("error json");
        assert_eq!(body["error"]["code"], "not_found", "{name}");

        let metrics = http.get(format!("{}/metrics", p.url)).send().await.expect("metrics").text().await.expect("text");
        assert!(metrics.contains("http_requests_total{") && metrics.contains(&format!("service=\"{name}\"")), "{name} metrics:\n{metrics}");
        assert!(metrics.contains("http_request_duration_seconds_bucket"), "{name} exports latency histograms");

        sigterm(&p);
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Some(s) = p.child.try_wait().expect("wait") {
                break s;
            }
            assert!(std::time::Instant::now() < deadline, "{name} did not exit after SIGTERM");
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        assert!(status.success(), "{name} exits 0 after SIGTERM, got {status}");
    }
}
