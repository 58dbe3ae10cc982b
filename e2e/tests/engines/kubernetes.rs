//! The local control plane is a real one: objects persist in etcd, CRDs are served, and the
//! controller manager reconciles (Deployment → ReplicaSet, garbage collection).

use k8s_openapi::{
    api::{
        apps::v1::{Deployment, ReplicaSet},
        core::v1::{ConfigMap, Namespace},
    },
    apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition,
};
use kube::{
    Api, Client,
    api::{DeleteParams, DynamicObject, GroupVersionKind, ListParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
    discovery::ApiResource,
    runtime::wait::{await_condition, conditions},
};
use serde_json::json;
use std::time::Duration;
use tripnest_e2e::{Stack, unique, wait_until};

async fn client() -> Client {
    let kubeconfig = Kubeconfig::read_from(Stack::load().get("KUBECONFIG")).expect("read kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("kubeconfig");
    Client::try_from(config).expect("client")
}

/// A fresh namespace, deleted (with everything in it) when the test is done.
async fn namespace(client: &Client) -> String {
    let name = unique("e2e");
    let ns: Namespace = serde_json::from_value(json!({ "metadata": { "name": name } })).expect("ns");
    Api::<Namespace>::all(client.clone()).create(&PostParams::default(), &ns).await.expect("create namespace");
    name
}

async fn drop_namespace(client: &Client, name: &str) {
    Api::<Namespace>::all(client.clone()).delete(name, &DeleteParams::default()).await.expect("delete namespace");
}

#[tokio::test]
async fn kubernetes_stores_and_reads_a_configmap() {
    let client = client().await;
    let ns = namespace(&client).await;
    let api: Api<ConfigMap> = Api::namespaced(client.clone(), &ns);
    let cm: ConfigMap = serde_json::from_value(json!({
        "metadata": { "name": "booking-config" },
        "data": { "HOLD_MINUTES": "15" }
    }))
    .expect("configmap");
    api.create(&PostParams::default(), &cm).await.expect("create configmap");
    let read = api.get("booking-config").await.expect("get configmap");
    assert_eq!(read.data.expect("data")["HOLD_MINUTES"], "15");
    assert!(read.metadata.resource_version.is_some(), "persisted by the API server");
    drop_namespace(&client, &ns).await;
}

#[tokio::test]
async fn kubernetes_serves_a_custom_resource_and_validates_it() {
    let client = client().await;
    let group = format!("{}.e2e.tripnest.io", unique("g"));
    let crd_name = format!("widgets.{group}");
    let crd: CustomResourceDefinition = serde_json::from_value(json!({
        "metadata": { "name": crd_name },
        "spec": {
            "group": group,
            "names": { "kind": "Widget", "plural": "widgets", "singular": "widget" },
            "scope": "Namespaced",
            "versions": [{
                "name": "v1", "served": true, "storage": true,
                "schema": { "openAPIV3Schema": {
                    "type": "object",
                    "properties": { "spec": {
                        "type": "object", "required": ["rooms"],
                        "properties": { "rooms": { "type": "integer", "minimum": 0 } },
                        "x-kubernetes-validations": [{ "rule": "self.rooms <= 500", "message": "rooms must be at most 500" }]
                    }}
                }}
            }]
        }
    }))
    .expect("crd");
    let crds: Api<CustomResourceDefinition> = Api::all(client.clone());
    crds.create(&PostParams::default(), &crd).await.expect("create crd");
    tokio::time::timeout(Duration::from_secs(30), await_condition(crds.clone(), &crd_name, conditions::is_crd_established()))
        .await
        .expect("crd established in time")
        .expect("watch");

    let ns = namespace(&client).await;
    let resource = ApiResource::from_gvk(&GroupVersionKind::gvk(&group, "v1", "Widget"));
    let widgets: Api<DynamicObject> = Api::namespaced_with(client.clone(), &ns, &resource);
    let make = |name: &str, rooms: i64| -> DynamicObject {
        serde_json::from_value(
            json!({ "apiVersion": format!("{group}/v1"), "kind": "Widget", "metadata": { "name": name }, "spec": { "rooms": rooms } }),
        )
        .expect("widget")
    };
    // The resource may need a moment to appear in discovery after Established.
    wait_until("the widget to be created", Duration::from_secs(20), || {
        let (widgets, w) = (widgets.clone(), make("w1", 12));
        async move { widgets.create(&PostParams::default(), &w).await.ok() }
    })
    .await;
    let read = widgets.get("w1").await.expect("get widget");
    assert_eq!(read.data["spec"]["rooms"], 12);

    let err = widgets.create(&PostParams::default(), &make("w2", 900)).await.expect_err("CEL rule rejects");
    assert!(err.to_string().contains("rooms must be at most 500"), "{err}");
    let err = widgets.create(&PostParams::default(), &make("w3", -1)).await.expect_err("schema rejects");
    assert!(err.to_string().contains("spec.rooms"), "{err}");

    drop_namespace(&client, &ns).await;
    crds.delete(&crd_name, &DeleteParams::default()).await.expect("delete crd");
}

#[tokio::test]
async fn kubernetes_controller_manager_creates_replicasets_and_collects_garbage() {
    let client = client().await;
    let ns = namespace(&client).await;
    let deployments: Api<Deployment> = Api::namespaced(client.clone(), &ns);
    let replicasets: Api<ReplicaSet> = Api::namespaced(client.clone(), &ns);
    let deployment: Deployment = serde_json::from_value(json!({
        "metadata": { "name": "booking" },
        "spec": {
            "replicas": 1,
            "selector": { "matchLabels": { "app": "booking" } },
            "template": {
                "metadata": { "labels": { "app": "booking" } },
                "spec": { "containers": [{ "name": "booking", "image": "tripnest/booking:dev" }] }
            }
        }
    }))
    .expect("deployment");
    let created = deployments.create(&PostParams::default(), &deployment).await.expect("create deployment");
    let uid = created.metadata.uid.expect("uid");

    let rs_name = wait_until("a ReplicaSet owned by the Deployment", Duration::from_secs(30), || {
        let (replicasets, uid) = (replicasets.clone(), uid.clone());
        async move {
            let list = replicasets.list(&ListParams::default()).await.ok()?;
            list.items
                .into_iter()
                .find(|rs| rs.metadata.owner_references.iter().flatten().any(|o| o.uid == uid))
                .and_then(|rs| rs.metadata.name)
        }
    })
    .await;

    deployments.delete("booking", &DeleteParams::background()).await.expect("delete deployment");
    wait_until("the garbage collector to delete the ReplicaSet", Duration::from_secs(30), || {
        let (replicasets, rs_name) = (replicasets.clone(), rs_name.clone());
        async move { replicasets.get_opt(&rs_name).await.ok()?.is_none().then_some(()) }
    })
    .await;
    drop_namespace(&client, &ns).await;
}
