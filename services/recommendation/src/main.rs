//! `tripnest-recommendation` binary; see the library for what it does.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg: tripnest_recommendation::Config = tripnest_common::config::load()?;
    tripnest_common::service::run(tripnest_recommendation::NAME, &cfg.common.log.clone(), cfg, tripnest_recommendation::start).await
}
