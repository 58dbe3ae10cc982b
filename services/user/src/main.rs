//! `tripnest-user` binary; see the library for what it does.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cfg: tripnest_user::Config = tripnest_common::config::load()?;
    tripnest_common::service::run(tripnest_user::NAME, &cfg.common.log.clone(), cfg, tripnest_user::start).await
}
