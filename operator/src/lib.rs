//! The TripNest operator: reconciles `Hotel`, `Inventory` and `ServiceDeployment` resources
//! (`tripnest.io/v1alpha1`). Today it is the skeleton — it connects to the API server, reports
//! readiness from a real API call and serves metrics; the controllers arrive with issue 4.

use axum::Router;
use tripnest_common::{config::CommonConfig, http::Readiness};

/// Name used in logs and metrics.
pub const NAME: &str = "operator";

/// Serve health and metrics until SIGTERM. Ready while the API server answers.
pub async fn run(cfg: CommonConfig) -> anyhow::Result<()> {
    let client = kube::Client::try_default().await?;
    let readiness = Readiness::default().with_check("kube-apiserver", move || {
        let client = client.clone();
        async move { client.apiserver_version().await.map(|_| ()).map_err(|e| e.to_string()) }
    });
    tripnest_common::service::run(NAME, &cfg, Router::new(), readiness).await
}
