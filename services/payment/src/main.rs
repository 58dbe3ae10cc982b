//! `tripnest-payment` binary; see the library for what it does.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg: tripnest_payment::Config = tripnest_common::config::load()?;
    tripnest_common::service::run(tripnest_payment::NAME, &cfg.common.log.clone(), cfg, tripnest_payment::start).await
}
