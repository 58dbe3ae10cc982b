//! Two operator processes on one Lease: only the leader reconciles; when it stops, the other
//! takes over. Each process talks to its own booking, so "who reconciled" is visible.

use crate::helpers::{INTERNAL_TOKEN, TIMEOUT, client, hotel, install_crds, namespace, start_booking};
use k8s_openapi::api::coordination::v1::Lease;
use kube::{
    Api,
    api::{Patch, PatchParams},
};
use std::collections::BTreeMap;
use tripnest_e2e::{Stack, process::ServiceProcess, unique, wait_until};
use tripnest_operator::resources::Hotel;

fn operator_env(ns: &str, identity: &str, booking_url: &str, prefix: &str) -> BTreeMap<String, String> {
    let stack = Stack::load();
    [
        ("KUBECONFIG", stack.get("KUBECONFIG")),
        ("APP_KAFKA__BOOTSTRAP_SERVERS", stack.get("KAFKA_BOOTSTRAP_SERVERS")),
        ("APP_KAFKA__TOPIC_PREFIX", prefix),
        ("APP_KAFKA__GROUP_ID", &unique("operator")),
        ("APP_BOOKING_URL", booking_url),
        ("APP_INTERNAL_TOKEN", INTERNAL_TOKEN),
        ("APP_WATCH_NAMESPACE", ns),
        ("APP_LEADER__LEASE_NAMESPACE", ns),
        ("APP_LEADER__IDENTITY", identity),
        ("APP_LEADER__LEASE_DURATION_SECS", "4"),
        ("APP_LEADER__RENEW_DEADLINE_SECS", "3"),
        ("APP_LEADER__RETRY_PERIOD_SECS", "1"),
        ("APP_MAX_BACKOFF_SECS", "3"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect()
}

async fn has_hotel(http: &reqwest::Client, booking: &str, id: &str) -> bool {
    http.get(format!("{booking}/hotels/{id}")).send().await.is_ok_and(|r| r.status() == 200)
}

async fn reconciles(http: &reqwest::Client, operator: &str) -> f64 {
    let text = http.get(format!("{operator}/metrics")).send().await.expect("metrics").text().await.expect("text");
    text.lines().filter(|l| l.starts_with("operator_reconciliations_total")).filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok()).sum()
}

#[tokio::test]
async fn with_two_operator_processes_only_the_leader_reconciles_and_the_other_takes_over() {
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client).await;
    let prefix = format!("{}.", unique("t"));
    let (booking_a, _, _stop_a) = start_booking(&prefix).await;
    let (booking_b, _, _stop_b) = start_booking(&prefix).await;
    let mut first = ServiceProcess::spawn("operator", operator_env(&ns, "replica-a", &booking_a, &prefix));
    let leases: Api<Lease> = Api::namespaced(client.clone(), &ns);
    let holder = |leases: Api<Lease>| async move {
        leases.get_opt("tripnest-operator").await.ok().flatten().and_then(|l| l.spec?.holder_identity).filter(|h| !h.is_empty())
    };
    let leader = wait_until("replica-a to lead", TIMEOUT, || holder(leases.clone())).await;
    assert_eq!(leader, "replica-a");
    let second = ServiceProcess::spawn("operator", operator_env(&ns, "replica-b", &booking_b, &prefix));

    let hotels: Api<Hotel> = Api::namespaced(client.clone(), &ns);
    hotels.patch("riverside", &PatchParams::apply("kubectl-test"), &Patch::Apply(hotel("riverside", &["double"]))).await.expect("apply");
    let http = reqwest::Client::new();
    wait_until("the leader to put the hotel in its booking", TIMEOUT, || async {
        has_hotel(&http, &booking_a, "riverside").await.then_some(())
    })
    .await;
    assert!(reconciles(&http, &first.ops_url).await >= 1.0);
    assert_eq!(reconciles(&http, &second.ops_url).await, 0.0, "the standby reconciled nothing");
    assert!(!has_hotel(&http, &booking_b, "riverside").await, "the standby never wrote to its booking");
    assert_eq!(holder(leases.clone()).await.as_deref(), Some("replica-a"));

    // The leader stops (SIGTERM releases the Lease): the standby takes over and reconciles.
    first.terminate().await;
    wait_until("replica-b to lead", TIMEOUT, || async { (holder(leases.clone()).await.as_deref() == Some("replica-b")).then_some(()) })
        .await;
    wait_until("the new leader to reconcile into its booking", TIMEOUT, || async {
        has_hotel(&http, &booking_b, "riverside").await.then_some(())
    })
    .await;
    let lease = leases.get("tripnest-operator").await.expect("lease");
    assert!(lease.spec.and_then(|s| s.lease_transitions).unwrap_or(0) >= 1, "the takeover is counted");
    drop(second);
}
