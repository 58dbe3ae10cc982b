//! `tripnest-search` binary; see the library for what it does.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg: tripnest_search::Config = tripnest_common::config::load()?;
    tripnest_common::service::run(tripnest_search::NAME, &cfg.common.log.clone(), cfg, tripnest_search::start).await
}
