//! The operator at scale: N Hotels and N Inventories `kubectl apply`ed into a fresh namespace
//! until all are Ready, with the bench's own operator (scoped to that namespace, own Lease,
//! own topic prefix) and its own booking service; the operator's memory from `/proc`.
//!
//! The ceiling is `kubectl apply` of the same objects with no operator: the same manifests
//! under a copy of the CRDs in the group `bench.tripnest.io` (same schema and CEL rules, so
//! the API server does the same validation and storage work), which no operator watches.
//! A copy is needed because an operator started by `make up` may watch every namespace.

use futures::{StreamExt, stream};
use k8s_openapi::{api::core::v1::Namespace, apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition};
use kube::{
    Api, Client, Resource,
    api::{DeleteParams, ListParams, Patch, PatchParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    runtime::wait::{await_condition, conditions},
};
use serde_json::{Value, json};
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};
use tripnest_e2e::{Stack, process::ServiceProcess, unique, with_database};
use tripnest_operator::resources::{Hotel, Inventory, conditions::Condition};

/// The group of the CRD copies no operator watches.
const BASELINE_GROUP: &str = "bench.tripnest.io";

/// One size's figures.
#[derive(Debug, Clone)]
pub struct Scale {
    /// `kubectl apply` of the 2N objects, then until all are Ready, in s.
    pub ready_s: f64,
    /// The same `kubectl apply` under the unwatched copies, in s.
    pub baseline_apply_s: f64,
    /// Operator resident memory once all are Ready, MiB.
    pub rss_mib: f64,
    /// Operator peak resident memory, MiB.
    pub peak_rss_mib: f64,
}

/// A client from the stack's kubeconfig.
pub async fn client(stack: &Stack) -> anyhow::Result<Client> {
    let kubeconfig = Kubeconfig::read_from(stack.get("KUBECONFIG"))?;
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

/// Install the CRDs and their unwatched copies, and wait until all are served.
pub async fn install_crds(client: &Client) -> anyhow::Result<()> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (_, crd) in tripnest_operator::resources::crds() {
        let mut copy = serde_json::to_value(&crd)?;
        let plural = copy["spec"]["names"]["plural"].as_str().unwrap_or_default().to_owned();
        copy["spec"]["group"] = BASELINE_GROUP.into();
        copy["metadata"] = json!({ "name": format!("{plural}.{BASELINE_GROUP}") });
        let copy: CustomResourceDefinition = serde_json::from_value(copy)?;
        for crd in [crd, copy] {
            let name = crd.metadata.name.clone().unwrap_or_default();
            api.patch(&name, &PatchParams::apply("tripnest-bench").force(), &Patch::Apply(&crd)).await?;
            tokio::time::timeout(Duration::from_secs(60), await_condition(api.clone(), &name, conditions::is_crd_established())).await??;
        }
    }
    Ok(())
}

/// Delete the unwatched copies [`install_crds`] made (their objects go with them).
pub async fn remove_baseline_crds(client: &Client) {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for (_, crd) in tripnest_operator::resources::crds() {
        let name = format!("{}.{BASELINE_GROUP}", crd.spec.names.plural);
        if let Err(e) = api.delete(&name, &DeleteParams::background()).await {
            eprintln!("[4] could not delete the baseline CRD {name}: {e}");
        }
    }
}

async fn namespace(client: &Client) -> anyhow::Result<String> {
    let name = unique("bench-op");
    let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": name, "labels": { "tripnest.io/bench": "operator" } } }))?;
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await?;
    Ok(name)
}

/// Strip Hotel finalizers (their operator is gone) and delete the namespace.
async fn drop_namespace(client: &Client, ns: &str) {
    let hotels: Api<Hotel> = Api::namespaced(client.clone(), ns);
    let names: Vec<String> = hotels
        .list(&ListParams::default())
        .await
        .map(|l| l.items)
        .unwrap_or_default()
        .iter()
        .filter_map(|h| h.meta().name.clone())
        .collect();
    stream::iter(names)
        .for_each_concurrent(16, |name| {
            let hotels = hotels.clone();
            async move {
                let _ = hotels.patch(&name, &PatchParams::default(), &Patch::Merge(json!({ "metadata": { "finalizers": null } }))).await;
            }
        })
        .await;
    let _ = Api::<Namespace>::all(client.clone()).delete(ns, &DeleteParams::background()).await;
}

/// Whether an operator outside this bench reconciles Hotels in new namespaces (e.g. the one
/// `make up` starts, when it watches every namespace): one probe Hotel, 10 s to be touched.
pub async fn foreign_operator(client: &Client) -> anyhow::Result<bool> {
    let ns = namespace(client).await?;
    let hotels: Api<Hotel> = Api::namespaced(client.clone(), &ns);
    let mut probe = manifests(1, "tripnest.io").swap_remove(0);
    probe["metadata"]["name"] = "probe".into();
    if let Err(e) = hotels.patch("probe", &PatchParams::apply("tripnest-bench"), &Patch::Apply(&probe)).await {
        drop_namespace(client, &ns).await;
        return Err(e.into());
    }
    let touched = tokio::time::timeout(
        Duration::from_secs(10),
        await_condition(hotels.clone(), "probe", |h: Option<&Hotel>| {
            h.is_some_and(|h| h.status.is_some() || h.meta().finalizers.is_some())
        }),
    )
    .await
    .is_ok();
    if touched {
        // Let that operator take its hotel off sale again before the namespace goes.
        let _ = hotels.delete("probe", &DeleteParams::default()).await;
        let _ = tokio::time::timeout(Duration::from_secs(20), await_condition(hotels, "probe", |h: Option<&Hotel>| h.is_none())).await;
    }
    drop_namespace(client, &ns).await;
    Ok(touched)
}

/// N Hotels named `hotel-0000…` and their Inventories (10–29 rooms, 30 nights), as
/// manifests of `group`.
fn manifests(n: usize, group: &str) -> Vec<Value> {
    let api_version = format!("{group}/v1alpha1");
    (0..n)
        .flat_map(|i| {
            let name = format!("hotel-{i:04}");
            [
                json!({ "apiVersion": api_version, "kind": "Hotel", "metadata": { "name": name },
                    "spec": { "displayName": format!("Bench Hotel {i}"), "city": "Benchville", "country": "PT", "address": "Rua do Rio 1",
                        "location": { "lat": 38.7, "lon": -9.1 }, "stars": 4, "amenities": ["wifi"], "currency": "EUR",
                        "description": "A benchmark hotel.", "roomTypes": [{ "name": "double", "capacity": 2, "baseRateCents": 10000 }] } }),
                json!({ "apiVersion": api_version, "kind": "Inventory", "metadata": { "name": format!("{name}-double") },
                    "spec": { "hotelRef": name, "roomType": "double", "rooms": 10 + (i % 20), "horizonDays": 30, "schedule": "15 3 * * *",
                        "pricing": { "weekendMultiplier": 1.25 } } }),
            ]
        })
        .collect()
}

/// `kubectl apply --server-side` of `objects` into `ns`; returns the seconds it took.
fn kubectl_apply(stack: &Stack, ns: &str, objects: &[Value]) -> anyhow::Result<f64> {
    let file = std::env::temp_dir().join(format!("{}.yaml", unique("tripnest-bench")));
    let docs: Vec<String> = objects.iter().map(serde_yaml::to_string).collect::<Result<_, _>>()?;
    std::fs::write(&file, docs.join("---\n"))?;
    let started = Instant::now();
    let out = std::process::Command::new("kubectl")
        .args(["--kubeconfig", stack.get("KUBECONFIG"), "apply", "--server-side", "--field-manager", "tripnest-bench", "-n", ns, "-f"])
        .arg(&file)
        .output();
    let took = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_file(&file);
    let out = out?;
    anyhow::ensure!(out.status.success(), "kubectl apply failed: {}", String::from_utf8_lossy(&out.stderr));
    Ok(took)
}

fn ready(c: &[Condition]) -> bool {
    c.iter().any(|c| c.type_ == "Ready" && c.status == "True")
}

/// (VmRSS, VmHWM) of a process, MiB.
fn memory_mib(pid: u32) -> (f64, f64) {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    let field = |key: &str| -> f64 {
        status.lines().find_map(|l| l.strip_prefix(key)).and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok()).unwrap_or(0.0)
            / 1024.0
    };
    (field("VmRSS:"), field("VmHWM:"))
}

/// Measure one size: a booking and an operator of our own, the apply, Ready; then the
/// baseline apply of the same objects under the unwatched group.
/// With `foreign` (another operator watches this namespace too), the Hotels are deleted
/// while only that operator still runs, so its finalizer takes them off its catalog again.
pub async fn scale(stack: &Stack, client: &Client, n: usize, foreign: bool) -> anyhow::Result<Scale> {
    let ns = namespace(client).await?;
    let outcome = measure(stack, client, &ns, n).await;
    if foreign {
        let hotels: Api<Hotel> = Api::namespaced(client.clone(), &ns);
        let _ = hotels.delete_collection(&DeleteParams::default(), &ListParams::default()).await;
        let deadline = Instant::now() + Duration::from_secs(180);
        while Instant::now() < deadline && hotels.list(&ListParams::default()).await.is_ok_and(|l| !l.items.is_empty()) {
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
    drop_namespace(client, &ns).await;
    let (ready_s, rss_mib, peak_rss_mib) = outcome?;
    let baseline_ns = namespace(client).await?;
    let baseline = kubectl_apply(stack, &baseline_ns, &manifests(n, BASELINE_GROUP));
    drop_namespace(client, &baseline_ns).await;
    Ok(Scale { ready_s, baseline_apply_s: baseline?, rss_mib, peak_rss_mib })
}

async fn measure(stack: &Stack, client: &Client, ns: &str, n: usize) -> anyhow::Result<(f64, f64, f64)> {
    let prefix = format!("{}.", unique("bench"));
    let token = unique("internal");
    let settings = |pairs: &[(&str, &str)]| -> BTreeMap<String, String> { pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect() };
    let db_name = format!("t_bench_booking_{}", unique("db").replace('-', "_"));
    let db = with_database(stack.database_url(), &db_name);
    let bootstrap = stack.get("KAFKA_BOOTSTRAP_SERVERS");
    let booking = ServiceProcess::spawn(
        "booking",
        settings(&[
            ("APP_DATABASE_URL", &db),
            ("APP_KAFKA__BOOTSTRAP_SERVERS", bootstrap),
            ("APP_KAFKA__TOPIC_PREFIX", &prefix),
            ("APP_INTERNAL_TOKEN", &token),
        ]),
    );
    let operator = ServiceProcess::spawn(
        "operator",
        settings(&[
            ("KUBECONFIG", stack.get("KUBECONFIG")),
            ("APP_KAFKA__BOOTSTRAP_SERVERS", bootstrap),
            ("APP_KAFKA__TOPIC_PREFIX", &prefix),
            ("APP_KAFKA__GROUP_ID", &unique("bench-operator")),
            ("APP_BOOKING_URL", &booking.url),
            ("APP_INTERNAL_TOKEN", &token),
            ("APP_WATCH_NAMESPACE", ns),
            ("APP_LEADER__LEASE_NAMESPACE", ns),
            // Retries while an Inventory waits for its Hotel are expected here; keep errors only
            // (and the `listening` line the harness reads).
            ("RUST_LOG", "error,tripnest_common::service=info"),
        ]),
    );
    let started = Instant::now();
    kubectl_apply(stack, ns, &manifests(n, "tripnest.io"))?;
    let (hotels, inventories): (Api<Hotel>, Api<Inventory>) = (Api::namespaced(client.clone(), ns), Api::namespaced(client.clone(), ns));
    let deadline = started + Duration::from_secs(600);
    loop {
        let h = hotels.list(&ListParams::default()).await?.items;
        let i = inventories.list(&ListParams::default()).await?.items;
        let h_ready = h.iter().filter(|x| x.status.as_ref().is_some_and(|s| ready(&s.conditions))).count();
        let i_ready = i.iter().filter(|x| x.status.as_ref().is_some_and(|s| ready(&s.conditions))).count();
        if h_ready == n && i_ready == n {
            break;
        }
        anyhow::ensure!(Instant::now() < deadline, "only {h_ready} hotels and {i_ready} inventories of {n} Ready after 10 min");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let ready_s = started.elapsed().as_secs_f64();
    let (rss, peak) = memory_mib(operator.pid());
    drop(operator);
    drop(booking);
    // The run's topics and booking's database go with it (a broker keeps a cost for every
    // partition it holds); a failure to clean up is reported, not fatal.
    let mut admin = <sqlx::PgConnection as sqlx::Connection>::connect(stack.database_url()).await?;
    let cleaned = match crate::seed::drop_kafka_under(bootstrap, &prefix).await {
        Ok(_) => crate::seed::drop_database(&mut admin, &db_name).await,
        Err(e) => Err(e),
    };
    if let Err(e) = cleaned {
        eprintln!("[operator] cleaning up {prefix}* and {db_name}: {e:#}");
    }
    Ok((ready_s, rss, peak))
}
