//! The skeleton every service binary runs: bind (port 0 allowed, the real port is returned),
//! serve the service's routes next to the probes, serve `/metrics` (and the probes) on a
//! separate operations listener that only the cluster reaches, and on SIGTERM mark not-ready,
//! drain in-flight requests, wait for background workers (consumers finish their current
//! message, the outbox relay lets go), then run cleanups (flush the producer, close the pool).

use crate::{
    config::{CommonConfig, LogConfig},
    http::{self, Readiness},
    shutdown, telemetry,
};
use axum::Router;
use futures::future::BoxFuture;
use std::{net::SocketAddr, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// A started service: its HTTP server, background workers and cleanups.
pub struct Running {
    /// The address actually bound.
    pub addr: SocketAddr,
    /// The operations listener's address (`/metrics`, `/healthz`, `/readyz`).
    pub ops_addr: SocketAddr,
    /// Cancel to begin a graceful shutdown.
    pub shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
    ops_server: JoinHandle<std::io::Result<()>>,
    workers: Vec<JoinHandle<()>>,
    cleanups: Vec<BoxFuture<'static, ()>>,
}

impl std::fmt::Debug for Running {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Running")
            .field("addr", &self.addr)
            .field("ops_addr", &self.ops_addr)
            .field("workers", &self.workers.len())
            .finish_non_exhaustive()
    }
}

impl Running {
    /// Base URL, e.g. `http://127.0.0.1:43125`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Base URL of the operations listener, e.g. `http://127.0.0.1:43126`.
    pub fn ops_url(&self) -> String {
        format!("http://{}", self.ops_addr)
    }

    /// A background task (consumer, relay, sweeper) that stops on `shutdown` and must finish
    /// before the process exits.
    pub fn with_worker(mut self, worker: JoinHandle<()>) -> Self {
        self.workers.push(worker);
        self
    }

    /// Work to do once the server and every worker stopped (flush, close pools), in order.
    pub fn with_cleanup(mut self, cleanup: impl Future<Output = ()> + Send + 'static) -> Self {
        self.cleanups.push(Box::pin(cleanup));
        self
    }

    /// Wait until everything stopped (after `shutdown` is cancelled), then run the cleanups.
    pub async fn stopped(self) -> std::io::Result<()> {
        let served = self.server.await.map_err(std::io::Error::other)?;
        let ops_served = self.ops_server.await.map_err(std::io::Error::other)?;
        for worker in self.workers {
            if let Err(e) = worker.await {
                tracing::error!(error = %e, "a background task panicked");
            }
        }
        for cleanup in self.cleanups {
            cleanup.await;
        }
        served.and(ops_served)
    }
}

/// Bind and start serving `routes` for `service`; returns at once with the bound address.
pub async fn start(
    service: &'static str,
    cfg: &CommonConfig,
    routes: Router,
    readiness: Readiness,
    shutdown: CancellationToken,
) -> std::io::Result<Running> {
    let metrics = telemetry::prometheus(service);
    let bind = |addr: SocketAddr, var: &'static str| async move {
        TcpListener::bind(addr)
            .await
            .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e} (set {var} to choose another port)")))
    };
    let listener = bind(cfg.http.addr(), "APP_HTTP__PORT").await?;
    let ops_listener = bind(cfg.ops.addr(), "APP_OPS__PORT").await?;
    let (addr, ops_addr) = (listener.local_addr()?, ops_listener.local_addr()?);
    tracing::info!(service, %addr, %ops_addr, "listening");
    let limits = cfg.http.limits;
    let app = http::app(routes, readiness.clone(), limits);
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    let ops_server = tokio::spawn(http::serve(ops_listener, http::ops_app(readiness.clone(), metrics), limits, shutdown.clone(), grace));
    let token = shutdown.clone();
    let server = tokio::spawn(async move {
        let drain = token.clone();
        let readiness = readiness.clone();
        tokio::spawn(async move {
            drain.cancelled().await;
            readiness.start_draining();
        });
        http::serve(listener, app, limits, token, grace).await
    });
    Ok(Running { addr, ops_addr, shutdown, server, ops_server, workers: Vec::new(), cleanups: Vec::new() })
}

/// `main` for a service: logs, then `start` (with a token SIGTERM/SIGINT cancels), then serve
/// until that signal and drain. Every service binary's `main` is this one call.
pub async fn run<C, F, Fut>(service: &'static str, log: &LogConfig, cfg: C, start: F) -> anyhow::Result<()>
where
    F: FnOnce(C, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<Running>>,
{
    telemetry::init(service, log);
    let running = start(cfg, shutdown::on_signal()).await?;
    running.stopped().await?;
    tracing::info!(service, "stopped");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn port_zero_binds_a_real_port_and_shutdown_drains() {
        let cfg = CommonConfig::default();
        let running = start("svc-test", &cfg, Router::new(), Readiness::default(), CancellationToken::new()).await.expect("start");
        assert_ne!(running.addr.port(), 0);
        let mut s = tokio::net::TcpStream::connect(running.addr).await.expect("connect");
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.expect("write");
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.expect("read");
        assert!(buf.starts_with("HTTP/1.1 200"), "{buf}");
        assert_ne!(running.ops_addr.port(), running.addr.port(), "metrics listen apart from the API");
        let mut s = tokio::net::TcpStream::connect(running.ops_addr).await.expect("connect ops");
        s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await.expect("write");
        let mut buf = String::new();
        s.read_to_string(&mut buf).await.expect("read");
        assert!(buf.starts_with("HTTP/1.1 200") && buf.contains("text/plain"), "{buf}");
        let (worker_done, cleaned) = (
            std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
            std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false)),
        );
        let (token, w, c, w2) = (running.shutdown.clone(), worker_done.clone(), cleaned.clone(), worker_done.clone());
        let running = running
            .with_worker(tokio::spawn(async move {
                token.cancelled().await;
                w.store(true, std::sync::atomic::Ordering::SeqCst);
            }))
            .with_cleanup(async move {
                // Cleanups run only after every worker finished.
                c.store(w2.load(std::sync::atomic::Ordering::SeqCst), std::sync::atomic::Ordering::SeqCst);
            });
        running.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), running.stopped()).await.expect("stops in time").expect("clean stop");
        assert!(worker_done.load(std::sync::atomic::Ordering::SeqCst) && cleaned.load(std::sync::atomic::Ordering::SeqCst));
    }

    #[tokio::test]
    async fn a_taken_port_is_named_in_the_error() {
        let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let taken = holder.local_addr().expect("addr").port();
        let mut cfg = CommonConfig::default();
        cfg.http.port = taken;
        let err = start("svc-test", &cfg, Router::new(), Readiness::default(), CancellationToken::new()).await.expect_err("port taken");
        let msg = err.to_string();
        assert!(msg.contains(&taken.to_string()) && msg.contains("APP_HTTP__PORT"), "{msg}");
        let mut cfg = CommonConfig::default();
        cfg.ops.port = taken;
        let err = start("svc-test", &cfg, Router::new(), Readiness::default(), CancellationToken::new()).await.expect_err("ops port taken");
        assert!(err.to_string().contains("APP_OPS__PORT"), "{err}");
    }
}
