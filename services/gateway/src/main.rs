//! `tripnest-gateway` binary; see the library for what it does.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg: tripnest_gateway::Config = tripnest_common::config::load()?;
    tripnest_common::service::run(tripnest_gateway::NAME, &cfg.common.log.clone(), cfg, tripnest_gateway::start).await
}
