//! `tripnest-notification` binary; see the library for what it does.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg: tripnest_notification::Config = tripnest_common::config::load()?;
    tripnest_common::service::run(tripnest_notification::NAME, &cfg.common.log.clone(), cfg, tripnest_notification::start).await
}
