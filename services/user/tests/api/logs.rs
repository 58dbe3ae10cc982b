//! Passwords never reach a log line or a response.

use crate::helpers::{email, spawn_app, status_and_json};
use serde_json::json;
use std::{
    io::Write,
    sync::{Arc, Mutex, OnceLock},
};

/// Collects everything the subscriber writes.
#[derive(Clone, Default)]
struct CapturedLogs(Arc<Mutex<Vec<u8>>>);

impl Write for CapturedLogs {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything this test process logs at any level. A process-wide subscriber, because a
/// thread-scoped one misses events whose callsites other tests' threads registered first.
fn captured_logs() -> &'static CapturedLogs {
    static LOGS: OnceLock<CapturedLogs> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = CapturedLogs::default();
        let writer = logs.clone();
        let subscriber =
            tracing_subscriber::fmt().json().with_max_level(tracing::Level::TRACE).with_writer(move || writer.clone()).finish();
        tracing::subscriber::set_global_default(subscriber).expect("no other global subscriber in this test binary");
        logs
    })
}

#[tokio::test]
async fn passwords_never_appear_in_logs_or_responses() {
    let logs = captured_logs();
    let app = spawn_app().await;
    let (email, password, wrong) = (email(), "Tr0ub4dor&3-unique-secret", "Tr0ub4dor&3-wrong-secret");
    let mut responses = Vec::new();
    responses.push(status_and_json(app.register(&json!({ "email": email, "password": password })).await).await);
    responses.push(status_and_json(app.register(&json!({ "email": email, "password": password })).await).await);
    responses.push(status_and_json(app.register(&json!({ "email": "bad", "password": "short-pw" })).await).await);
    responses.push(status_and_json(app.login(&email, wrong).await).await);
    responses.push(status_and_json(app.login(&email, password).await).await);
    responses.push(status_and_json(app.login("nobody@example.test", password).await).await);

    let logged = String::from_utf8(logs.0.lock().expect("lock").clone()).expect("utf8");
    let user_id = responses[0].1["user"]["id"].as_str().expect("registered").to_owned();
    assert!(logged.lines().any(|l| l.contains("account created") && l.contains(&user_id)), "the capture works");
    for secret in [password, wrong, "short-pw"] {
        assert!(!logged.contains(secret), "a password was logged");
        for (status, body) in &responses {
            assert!(!body.to_string().contains(secret), "a password was answered with {status}: {body}");
        }
    }
    for (_, body) in &responses {
        assert!(!body.to_string().contains("argon2"), "no password hash in responses: {body}");
    }
}
