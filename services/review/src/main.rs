//! `tripnest-review` binary; see the library for what it does.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg: tripnest_review::Config = tripnest_common::config::load()?;
    tripnest_common::service::run(tripnest_review::NAME, &cfg.common.log.clone(), cfg, tripnest_review::start).await
}
