//! `tripnest-notification` binary; see the library for what it does.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tripnest_notification::run(tripnest_common::config::load()?).await
}
