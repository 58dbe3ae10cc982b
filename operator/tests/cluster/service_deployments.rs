use crate::helpers::{TIMEOUT, TestEnv, has_condition};
use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    core::v1::{ConfigMap, Pod, Service},
    events::v1::Event,
    policy::v1::PodDisruptionBudget,
};
use kube::{
    Resource, ResourceExt,
    api::{DeleteParams, ListParams, Patch, PatchParams},
};
use rdkafka::{
    ClientConfig,
    consumer::{BaseConsumer, Consumer},
};
use serde_json::{Value, json};
use std::{collections::BTreeMap, time::Duration};
use tripnest_e2e::{Stack, wait_until};
use tripnest_operator::resources::ServiceDeployment;

/// Partition counts of the topics under `prefix`, read straight from the broker.
async fn partitions(prefix: &str) -> BTreeMap<String, usize> {
    let bootstrap = Stack::load().get("KAFKA_BOOTSTRAP_SERVERS").to_owned();
    let prefix = prefix.to_owned();
    tokio::task::spawn_blocking(move || {
        let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &bootstrap).create().expect("consumer");
        let md = consumer.fetch_metadata(None, Duration::from_secs(10)).expect("metadata");
        md.topics().iter().filter_map(|t| t.name().strip_prefix(&prefix).map(|n| (n.to_owned(), t.partitions().len()))).collect()
    })
    .await
    .expect("join")
}

fn booking_sd(replicas: i32, created_partitions: i32, extra: Value) -> Value {
    let mut spec = json!({
        "service": "booking", "image": "ghcr.io/tripnest/booking:1.0.0", "replicas": replicas,
        "env": { "APP_HOLD_SECONDS": "900" }, "secretRefs": ["booking-db"],
        "resources": { "requests": { "cpu": "100m", "memory": "128Mi" } },
        "topics": [
            { "name": "booking.created", "partitions": created_partitions, "retentionMs": 604800000 },
            { "name": "booking.confirmed", "partitions": 2, "config": { "cleanup.policy": "delete" } }
        ]
    });
    spec.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
    json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "ServiceDeployment", "metadata": { "name": "booking" }, "spec": spec })
}

fn owned_by(meta: &kube::api::ObjectMeta, uid: &str) -> bool {
    meta.owner_references.iter().flatten().any(|o| o.uid == uid && o.controller == Some(true))
}

#[tokio::test]
async fn a_service_deployment_owns_its_workload_follows_changes_and_creates_topics() {
    let env = TestEnv::start().await;
    let sd = env.apply::<ServiceDeployment>(booking_sd(2, 3, json!({}))).await;
    let uid = sd.meta().uid.clone().expect("uid");

    let d = env.wait_for::<Deployment>("booking", "the Deployment", |d| owned_by(&d.metadata, &uid)).await;
    assert_eq!(d.spec.as_ref().and_then(|s| s.replicas), Some(2));
    let svc = env.wait_for::<Service>("booking", "the Service", |s| owned_by(&s.metadata, &uid)).await;
    assert_eq!(svc.spec.expect("spec").ports.expect("ports")[0].port, 80);
    let cm = env.wait_for::<ConfigMap>("booking-config", "the ConfigMap", |c| owned_by(&c.metadata, &uid)).await;
    let data = cm.data.expect("data");
    assert_eq!(data["APP_HOLD_SECONDS"], "900");
    assert_eq!(data["APP_KAFKA__TOPIC_PREFIX"], env.topic_prefix);

    let sd = env
        .wait_for::<ServiceDeployment>("booking", "topics ready", |sd| {
            sd.status.as_ref().is_some_and(|s| s.topics_ready == "2/2" && has_condition(&s.conditions, "TopicsReady", "True"))
        })
        .await;
    let status = sd.status.expect("status");
    assert_eq!(status.replicas, 2);
    assert!(has_condition(&status.conditions, "Applied", "True"));
    assert!(has_condition(&status.conditions, "Ready", "False"), "no kubelet here, so no pod is ever ready: {status:?}");
    let topics = partitions(&env.topic_prefix).await;
    assert_eq!((topics.get("booking.created"), topics.get("booking.confirmed")), (Some(&3), Some(&2)), "{topics:?}");

    // Replicas and partitions follow the spec; autoscaling and a budget add an HPA and a PDB.
    env.apply::<ServiceDeployment>(booking_sd(4, 6, json!({}))).await;
    env.wait_for::<Deployment>("booking", "replicas to follow", |d| d.spec.as_ref().and_then(|s| s.replicas) == Some(4)).await;
    wait_until("partitions to grow", Duration::from_secs(30), || async {
        (partitions(&env.topic_prefix).await.get("booking.created") == Some(&6)).then_some(())
    })
    .await;
    let scaled = json!({ "autoscaling": { "minReplicas": 2, "maxReplicas": 5, "targetCpuUtilization": 70 },
        "disruptionBudget": { "maxUnavailable": 1 } });
    env.apply::<ServiceDeployment>(booking_sd(4, 6, scaled)).await;
    let hpa = env.wait_for::<HorizontalPodAutoscaler>("booking", "the HPA", |h| owned_by(&h.metadata, &uid)).await;
    assert_eq!(hpa.spec.expect("spec").max_replicas, 5);
    env.wait_for::<PodDisruptionBudget>("booking", "the PDB", |p| owned_by(&p.metadata, &uid)).await;

    // Shrinking partitions is refused with a clear condition, not an error loop; dropping
    // autoscaling removes the HPA.
    env.apply::<ServiceDeployment>(booking_sd(4, 1, json!({}))).await;
    let sd = env
        .wait_for::<ServiceDeployment>("booking", "a PartitionDecreaseRefused condition", |sd| {
            sd.status.as_ref().is_some_and(|s| s.conditions.iter().any(|c| c.reason == "PartitionDecreaseRefused"))
        })
        .await;
    let c = sd.status.expect("status").conditions.into_iter().find(|c| c.type_ == "TopicsReady").expect("topics");
    assert!(c.message.contains("booking.created") && c.message.contains("only grow"), "{}", c.message);
    env.wait_gone::<HorizontalPodAutoscaler>("booking", "the HPA to be removed").await;
    assert_eq!(partitions(&env.topic_prefix).await.get("booking.created"), Some(&6), "never shrunk");

    // Deleting the ServiceDeployment lets the garbage collector remove its children.
    env.api::<ServiceDeployment>().delete("booking", &DeleteParams::background()).await.expect("delete");
    env.wait_gone::<Deployment>("booking", "the Deployment to be collected").await;
    env.wait_gone::<Service>("booking", "the Service to be collected").await;
    env.wait_gone::<ConfigMap>("booking-config", "the ConfigMap to be collected").await;
    env.wait_gone::<PodDisruptionBudget>("booking", "the PDB to be collected").await;
    env.teardown().await;
}

/// Warning Events about the ServiceDeployment `name` with `reason`.
async fn warnings(env: &TestEnv, name: &str, reason: &str) -> usize {
    let events = env.api::<Event>().list(&ListParams::default()).await.expect("events").items;
    events
        .iter()
        .filter(|e| e.reason.as_deref() == Some(reason) && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name))
        .count()
}

#[tokio::test]
async fn a_pod_stuck_on_its_image_turns_ready_false_with_one_warning() {
    let env = TestEnv::start().await;
    let image = "registry.test/tripnest/review:not-loaded";
    let sd = |replicas: i32| {
        json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "ServiceDeployment", "metadata": { "name": "review" },
            "spec": { "service": "review", "image": image, "imagePullPolicy": "Never", "replicas": replicas } })
    };
    env.apply::<ServiceDeployment>(sd(1)).await;
    // kube-controller-manager creates the ReplicaSet's Pod. Where no kubelet runs, the test
    // writes the status a kubelet writes for an image that is not on the node (a real kubelet
    // writes the same reason).
    let pods = env.api::<Pod>();
    let pod = wait_until("the Deployment's Pod", TIMEOUT, || async {
        pods.list(&ListParams::default().labels("tripnest.io/service-deployment=review")).await.ok()?.items.into_iter().next()
    })
    .await;
    let pod_name = pod.name_any();
    assert_eq!(pod.spec.as_ref().and_then(|s| s.containers[0].image_pull_policy.as_deref()), Some("Never"));
    let status = json!({ "status": { "phase": "Pending", "containerStatuses": [{ "name": "review", "image": image, "imageID": "",
        "ready": false, "restartCount": 0, "started": false, "state": { "waiting": { "reason": "ErrImageNeverPull",
            "message": format!("Container image \"{image}\" is not present with pull policy of Never") } } }] } });
    pods.patch_status(&pod_name, &PatchParams::default(), &Patch::Merge(status)).await.expect("pod status");

    let sd_now = env
        .wait_for::<ServiceDeployment>("review", "Ready=False with ErrImageNeverPull", |sd| {
            sd.status
                .as_ref()
                .and_then(|s| s.conditions.iter().find(|c| c.type_ == "Ready"))
                .is_some_and(|c| c.reason == "ErrImageNeverPull")
        })
        .await;
    let ready = sd_now.status.expect("status").conditions.into_iter().find(|c| c.type_ == "Ready").expect("ready");
    assert_eq!(ready.status, "False");
    assert!(
        ready.message.starts_with(&format!("container \"review\" of pod {pod_name}: ErrImageNeverPull: Container image")),
        "{}",
        ready.message
    );
    wait_until("the Warning Event", TIMEOUT, || async { (warnings(&env, "review", "ErrImageNeverPull").await == 1).then_some(()) }).await;

    // More reconciles with the same cause record no more Events. Reconciles of one object never
    // overlap, so once generation 3 is in status, the whole reconcile of generation 2 is done.
    for replicas in [2, 3] {
        let generation = env.apply::<ServiceDeployment>(sd(replicas)).await.meta().generation;
        env.wait_for::<ServiceDeployment>("review", "the new generation reconciled", |sd| {
            sd.status.as_ref().is_some_and(|s| s.observed_generation == generation)
        })
        .await;
    }
    assert_eq!(warnings(&env, "review", "ErrImageNeverPull").await, 1, "one Warning per cause, not per reconcile");
    env.teardown().await;
}
