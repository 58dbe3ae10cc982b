//! The skeleton every service binary runs: bind (port 0 allowed, the real port is returned),
//! serve the service's routes next to the operational ones, and on SIGTERM mark not-ready,
//! drain in-flight requests and return so `main` can close pools.

use crate::{
    config::CommonConfig,
    http::{self, Readiness},
    shutdown, telemetry,
};
use axum::Router;
use std::{net::SocketAddr, time::Duration};
use tokio::{net::TcpListener, task::JoinHandle};
use tokio_util::sync::CancellationToken;

/// A started HTTP service.
#[derive(Debug)]
pub struct Running {
    /// The address actually bound.
    pub addr: SocketAddr,
    /// Cancel to begin a graceful shutdown.
    pub shutdown: CancellationToken,
    server: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// Base URL, e.g. `http://127.0.0.1:43125`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
    /// Wait for the server to stop (after `shutdown` is cancelled).
    pub async fn stopped(self) -> std::io::Result<()> {
        self.server.await.map_err(std::io::Error::other)?
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
    let listener = TcpListener::bind(cfg.http.addr()).await.map_err(|e| {
        std::io::Error::new(e.kind(), format!("cannot listen on {}: {e} (set APP_HTTP__PORT to choose another port)", cfg.http.addr()))
    })?;
    let addr = listener.local_addr()?;
    tracing::info!(service, %addr, "listening");
    let app = http::app(routes, readiness.clone(), metrics);
    let grace = Duration::from_secs(cfg.shutdown_grace_secs);
    let token = shutdown.clone();
    let server = tokio::spawn(async move {
        let drain = token.clone();
        let readiness = readiness.clone();
        tokio::spawn(async move {
            drain.cancelled().await;
            readiness.start_draining();
        });
        http::serve(listener, app, token, grace).await
    });
    Ok(Running { addr, shutdown, server })
}

/// `main` for a service: telemetry, serve until SIGTERM/SIGINT, then drain.
pub async fn run(service: &'static str, cfg: &CommonConfig, routes: Router, readiness: Readiness) -> anyhow::Result<()> {
    telemetry::init(service, &cfg.log);
    let running = start(service, cfg, routes, readiness, shutdown::on_signal()).await?;
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
        running.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(5), running.stopped()).await.expect("stops in time").expect("clean stop");
    }

    #[tokio::test]
    async fn a_taken_port_is_named_in_the_error() {
        let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let mut cfg = CommonConfig::default();
        cfg.http.port = holder.local_addr().expect("addr").port();
        let err = start("svc-test", &cfg, Router::new(), Readiness::default(), CancellationToken::new()).await.expect_err("port taken");
        let msg = err.to_string();
        assert!(msg.contains(&cfg.http.port.to_string()) && msg.contains("APP_HTTP__PORT"), "{msg}");
    }
}
