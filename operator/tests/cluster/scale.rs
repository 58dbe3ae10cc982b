//! Scale measurement (ignored by default; run on purpose):
//! `SCALE_HOTELS=500 cargo test -p tripnest-operator --test cluster scale -- --ignored --nocapture`
//! Applies N Hotels and N Inventories, waits until all are Ready, and prints the time it took,
//! the operator process's RSS afterwards and its CPU use at rest.

use crate::helpers::{INTERNAL_TOKEN, client, drop_namespace, hotel, install_crds, inventory, namespace, start_booking};
use futures::{StreamExt, stream};
use kube::{
    Api,
    api::{ListParams, Patch, PatchParams},
};
use std::{collections::BTreeMap, time::Duration};
use tripnest_e2e::{Stack, process::ServiceProcess, unique, wait_until};
use tripnest_operator::resources::{Hotel, Inventory};

fn proc_stat(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("stat");
    let fields: Vec<&str> = stat.rsplit_once(')').expect("comm").1.split_whitespace().collect();
    let ticks = fields[11].parse::<u64>().expect("utime") + fields[12].parse::<u64>().expect("stime");
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("status");
    let rss_kb = status.lines().find_map(|l| l.strip_prefix("VmRSS:")).and_then(|v| v.split_whitespace().next()?.parse().ok()).unwrap_or(0);
    (ticks, rss_kb)
}

#[tokio::test]
#[ignore = "a measurement, not a check: run it on purpose"]
async fn scale_hotels_and_inventories_to_ready() {
    let n: usize = std::env::var("SCALE_HOTELS").ok().and_then(|v| v.parse().ok()).unwrap_or(100);
    let client = client().await;
    install_crds(&client).await;
    let ns = namespace(&client).await;
    let prefix = format!("{}.", unique("t"));
    let (booking, _, _stop) = start_booking(&prefix).await;
    let stack = Stack::load();
    let env: BTreeMap<String, String> = [
        ("KUBECONFIG", stack.get("KUBECONFIG")),
        ("APP_KAFKA__BOOTSTRAP_SERVERS", stack.get("KAFKA_BOOTSTRAP_SERVERS")),
        ("APP_KAFKA__TOPIC_PREFIX", &prefix),
        ("APP_KAFKA__GROUP_ID", &unique("operator")),
        ("APP_BOOKING_URL", &booking),
        ("APP_INTERNAL_TOKEN", INTERNAL_TOKEN),
        ("APP_WATCH_NAMESPACE", &ns),
        ("APP_LEADER__LEASE_NAMESPACE", &ns),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let operator = ServiceProcess::spawn("operator", env);
    let (hotels, inventories): (Api<Hotel>, Api<Inventory>) = (Api::namespaced(client.clone(), &ns), Api::namespaced(client.clone(), &ns));

    let started = std::time::Instant::now();
    let pp = PatchParams::apply("scale-test");
    stream::iter(0..n)
        .for_each_concurrent(16, |i| {
            let (hotels, inventories, pp) = (hotels.clone(), inventories.clone(), pp.clone());
            async move {
                let name = format!("hotel-{i:04}");
                hotels.patch(&name, &pp, &Patch::Apply(hotel(&name, &["double"]))).await.expect("hotel");
                let mut inv = inventory(&format!("{name}-double"), &name, "double", 10 + (i % 20) as i32);
                inv["spec"]["horizonDays"] = 180.into();
                inventories.patch(&format!("{name}-double"), &pp, &Patch::Apply(inv)).await.expect("inventory");
            }
        })
        .await;
    let applied = started.elapsed();
    let ready = |c: &[tripnest_operator::resources::conditions::Condition]| c.iter().any(|c| c.type_ == "Ready" && c.status == "True");
    wait_until(&format!("{n} hotels and {n} inventories Ready"), Duration::from_secs(1800), || async {
        let h = hotels.list(&ListParams::default()).await.ok()?;
        let i = inventories.list(&ListParams::default()).await.ok()?;
        let h_ready = h.items.iter().filter(|x| x.status.as_ref().is_some_and(|s| ready(&s.conditions))).count();
        let i_ready = i.items.iter().filter(|x| x.status.as_ref().is_some_and(|s| ready(&s.conditions))).count();
        (h_ready == n && i_ready == n).then_some(())
    })
    .await;
    let all_ready = started.elapsed();
    let (_, rss_kb) = proc_stat(operator.pid());
    let (t0, _) = proc_stat(operator.pid());
    let rest = Duration::from_secs(30);
    tokio::time::sleep(rest).await; // measuring idle CPU needs a fixed window
    let (t1, rss_after_rest) = proc_stat(operator.pid());
    let clk_tck = 100.0;
    let cpu = (t1 - t0) as f64 / clk_tck / rest.as_secs_f64() * 100.0;
    println!(
        "SCALE n={n}: applied in {:.1}s, all Ready after {:.1}s; operator RSS {:.1} MiB (after rest {:.1} MiB); CPU at rest {cpu:.2}% of one core",
        applied.as_secs_f64(),
        all_ready.as_secs_f64(),
        rss_kb as f64 / 1024.0,
        rss_after_rest as f64 / 1024.0
    );
    drop(operator);
    drop_namespace(&client, &ns).await;
}
