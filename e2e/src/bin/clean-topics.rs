//! `clean-topics`: delete the Kafka topics that in-process API tests kept (their prefix is
//! `t-<12 hex digits>.`, see `tripnest_e2e::harness::TestTopics::kept`). Run by
//! `dev/clean.sh --topics`, the last step of `make test`, when no test runs any more.
//!
//!     clean-topics BOOTSTRAP_SERVERS

use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions},
    client::DefaultClientContext,
};
use std::time::Duration;

/// Whether `topic` is under a test prefix `t-<12 hex>.`.
fn is_test_topic(topic: &str) -> bool {
    let Some(rest) = topic.strip_prefix("t-") else { return false };
    rest.len() > 13 && rest.as_bytes()[12] == b'.' && rest[..12].bytes().all(|b| b.is_ascii_hexdigit())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let bootstrap = std::env::args().nth(1).ok_or_else(|| anyhow::anyhow!("usage: clean-topics BOOTSTRAP_SERVERS"))?;
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", &bootstrap).create()?;
    let metadata = admin.inner().fetch_metadata(None, Duration::from_secs(10))?;
    let names: Vec<String> = metadata.topics().iter().map(|t| t.name().to_owned()).filter(|n| is_test_topic(n)).collect();
    for chunk in names.chunks(200) {
        let chunk: Vec<&str> = chunk.iter().map(String::as_str).collect();
        admin.delete_topics(&chunk, &AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)))).await?;
    }
    println!("{} test topics deleted", names.len());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::is_test_topic;

    #[test]
    fn only_test_prefixes_match() {
        assert!(is_test_topic("t-0123456789ab.booking.created"));
        assert!(!is_test_topic("booking.created"));
        assert!(!is_test_topic("t-0123456789ab"));
        assert!(!is_test_topic("t-xyz456789abc.booking.created"));
        assert!(!is_test_topic("bench_small_v1.booking.created"));
    }
}
