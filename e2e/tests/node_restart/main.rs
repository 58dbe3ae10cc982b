//! A kubelet or containerd restart leaves running Pods running: their containers keep their ids
//! and restart counts, and they keep serving. Ignored by a plain `cargo test`: restarting the
//! node's processes stalls every Pod for seconds, which other tests running at the same time (or
//! just after, like the saga's latency test) would feel. `dev/test.sh` runs it alone, last, with
//! `--ignored`. In processes mode (no node) it returns.

use k8s_openapi::api::core::v1::Pod;
use kube::{Api, ResourceExt, api::ListParams};
use std::{collections::BTreeMap, process::Command, time::Duration};
use tripnest_e2e::{
    Stack,
    cluster::{kube_client, node_available},
    repo_root, wait_until,
};

/// Container id and restart count of every container of every Pod in kube-system.
async fn containers(pods: &Api<Pod>) -> BTreeMap<String, (String, i32)> {
    let list = pods.list(&ListParams::default()).await.expect("list pods");
    list.items
        .iter()
        .flat_map(|p| {
            let statuses = p.status.as_ref().and_then(|s| s.container_statuses.clone()).unwrap_or_default();
            statuses
                .into_iter()
                .map(move |c| (format!("{}/{}", p.name_any(), c.name), (c.container_id.unwrap_or_default(), c.restart_count)))
        })
        .collect()
}

/// Kill one of the node's processes (SIGKILL, by its pidfile), then bring the node up again with
/// the same command `make up` uses.
fn crash_and_restart(process: &str) {
    let root = repo_root();
    let pid = std::fs::read_to_string(root.join(format!(".tripnest/run/{process}.pid"))).expect("pidfile").trim().to_owned();
    assert!(Command::new("kill").args(["-KILL", &pid]).status().expect("kill").success());
    let out = Command::new("bash").arg(root.join("dev/stack.sh")).args(["up", "node"]).output().expect("dev/stack.sh up node");
    assert!(out.status.success(), "restart {process}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test]
#[ignore = "restarts kubelet and containerd: dev/test.sh runs it alone, after every other test"]
async fn restarting_kubelet_or_containerd_leaves_running_pods_running() {
    if !node_available() {
        return;
    }
    let stack = Stack::load();
    let client = kube_client(&stack).await;
    let pods: Api<Pod> = Api::namespaced(client, "kube-system");
    let before = containers(&pods).await;
    assert!(before.len() >= 2, "CoreDNS and metrics-server run: {before:?}");
    for process in ["kubelet", "containerd"] {
        crash_and_restart(process);
        // The node reports again, and nothing was restarted or replaced.
        let after = wait_until(&format!("Pods reported after the {process} restart"), Duration::from_secs(120), || async {
            let now = containers(&pods).await;
            (now.len() == before.len() && now.values().all(|(id, _)| !id.is_empty())).then_some(now)
        })
        .await;
        assert_eq!(after, before, "containers changed across a {process} restart");
        // And they are still Ready: kubelet probes them again.
        wait_until("CoreDNS and metrics-server Ready", Duration::from_secs(60), || async {
            let list = pods.list(&ListParams::default()).await.ok()?;
            list.items
                .iter()
                .all(|p| {
                    p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
                })
                .then_some(())
        })
        .await;
    }
}
