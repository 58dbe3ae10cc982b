//! Service binaries run as real processes: [`ServiceProcess`] starts one on a free port with
//! `APP_…` settings, reads its bound address from the `listening` log line, and can stop it
//! gracefully (SIGTERM), kill it (SIGKILL) or start it again with the same settings. Its JSON
//! log lines are kept (the last [`KEPT_LOG_LINES`]) for tests that follow a trace through them.
//! Binaries come from `cargo build --workspace --bins`, which `make test` runs first.

use std::{
    collections::{BTreeMap, VecDeque},
    io::{BufRead, BufReader},
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    sync::{Arc, Mutex},
    time::Duration,
};

/// Log lines a [`ServiceProcess`] keeps (the oldest are dropped first).
pub const KEPT_LOG_LINES: usize = 20_000;

/// The built binary `tripnest-<name>` in the running executable's profile directory (next to
/// a binary such as `tripnest-bench`, or one up from a test in `deps/`).
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test exe");
    // target/<profile>/deps/<test>-<hash> or target/<profile>/<bin> → target/<profile>/tripnest-<name>
    let mut dir = exe.parent().expect("target profile dir");
    if dir.file_name().is_some_and(|n| n == "deps") {
        dir = dir.parent().expect("target profile dir");
    }
    let bin = dir.join(format!("tripnest-{name}"));
    assert!(bin.exists(), "{} is missing: run `cargo build --workspace --bins` first", bin.display());
    bin
}

/// A running service binary.
#[derive(Debug)]
pub struct ServiceProcess {
    /// Service name (`booking`).
    pub name: String,
    /// Base URL, e.g. `http://127.0.0.1:41234`.
    pub url: String,
    /// Base URL of the operations listener (`/metrics`), e.g. `http://127.0.0.1:41235`.
    pub ops_url: String,
    env: BTreeMap<String, String>,
    child: Child,
    logs: Arc<Mutex<VecDeque<String>>>,
}

impl ServiceProcess {
    /// Start `tripnest-<name>` with these settings (on port 0 unless `APP_HTTP__PORT` is set).
    pub fn spawn(name: &str, env: BTreeMap<String, String>) -> Self {
        let mut child = Command::new(binary(name))
            .env("APP_HTTP__PORT", "0")
            .env("APP_OPS__PORT", "0")
            .env("APP_LOG__FORMAT", "json")
            .env("RUST_LOG", std::env::var("TEST_SERVICE_LOG").unwrap_or_else(|_| "warn,tripnest=info".into()))
            .envs(&env)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn service");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let label = name.to_owned();
        let logs: Arc<Mutex<VecDeque<String>>> = Arc::default();
        let kept = logs.clone();
        // The reader keeps lines as text and parses only until the listening address is found:
        // under the bench's load the services log thousands of lines a second, and parsing each
        // one here would take the cores the bench measures the services on.
        std::thread::spawn(move || {
            let mut tx = Some(tx);
            let echo_all = std::env::var_os("TEST_SERVICE_ECHO").is_some();
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.is_some()
                    && let Ok(v) = serde_json::from_str::<serde_json::Value>(&line)
                    && v["message"] == "listening"
                    && let Some(tx) = tx.take()
                {
                    let addr = |field: &str| v[field].as_str().unwrap_or_default().to_owned();
                    let _ = tx.send((addr("addr"), addr("ops_addr")));
                }
                // Keep warnings and errors visible in the test output (everything with TEST_SERVICE_ECHO=1).
                if echo_all || line.contains(r#""level":"WARN""#) || line.contains(r#""level":"ERROR""#) {
                    eprintln!("[{label}] {line}");
                }
                let mut kept = kept.lock().expect("logs");
                if kept.len() == KEPT_LOG_LINES {
                    kept.pop_front();
                }
                kept.push_back(line);
            }
        });
        let (addr, ops_addr) =
            rx.recv_timeout(Duration::from_secs(60)).unwrap_or_else(|_| panic!("{name} did not log its listening address"));
        Self { name: name.to_owned(), url: format!("http://{addr}"), ops_url: format!("http://{ops_addr}"), env, child, logs }
    }

    /// The JSON log lines this process wrote so far (the last [`KEPT_LOG_LINES`]).
    pub fn logs(&self) -> Vec<serde_json::Value> {
        self.logs.lock().expect("logs").iter().filter_map(|line| serde_json::from_str(line).ok()).collect()
    }

    /// OS process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Send SIGTERM and wait (up to 20 s) for the exit status.
    pub async fn terminate(&mut self) -> ExitStatus {
        self.signal("TERM");
        self.wait_exit(Duration::from_secs(20)).await
    }

    /// SIGKILL: a crash, with no chance to finish anything.
    pub async fn kill(&mut self) {
        self.signal("KILL");
        self.wait_exit(Duration::from_secs(10)).await;
    }

    /// SIGSTOP: the process keeps its state, ports and connections but runs nothing until
    /// [`Self::resume`] (its Kafka consumers leave their groups when their sessions time out,
    /// and rejoin from the committed offsets).
    pub fn pause(&self) {
        self.signal("STOP");
    }

    /// SIGCONT after [`Self::pause`].
    pub fn resume(&self) {
        self.signal("CONT");
    }

    /// Start the same binary again with the same settings (on a new port).
    pub fn restart(&self) -> Self {
        Self::spawn(&self.name, self.env.clone())
    }

    fn signal(&self, sig: &str) {
        let status = Command::new("kill").args([&format!("-{sig}"), &self.pid().to_string()]).status().expect("kill");
        assert!(status.success(), "kill -{sig} {}", self.pid());
    }

    async fn wait_exit(&mut self, timeout: Duration) -> ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(std::time::Instant::now() < deadline, "{} did not exit in {timeout:?}", self.name);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
