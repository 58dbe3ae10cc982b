//! `tripnest-booking` binary; see the library for what it does.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tripnest_booking::run(tripnest_common::config::load()?).await
}
