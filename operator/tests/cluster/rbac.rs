//! The operator does its whole job with nothing but the permissions the chart grants it
//! (`charts/tripnest/templates/operator-rbac.yaml`, the one copy of those rules): the test
//! renders them with `helm template`, binds them to a ServiceAccount in a fresh namespace and
//! runs the operator impersonating it.

use crate::helpers::{TestEnv, has_condition, hotel, inventory};
use k8s_openapi::api::{
    autoscaling::v2::HorizontalPodAutoscaler,
    batch::v1::CronJob,
    core::v1::ServiceAccount,
    rbac::v1::{ClusterRole, Role, RoleBinding},
};
use kube::{
    Api, Client,
    api::{Patch, PatchParams, PostParams},
    config::{KubeConfigOptions, Kubeconfig},
};
use serde_json::{Value, json};
use tripnest_e2e::Stack;
use tripnest_operator::resources::{Hotel, Inventory, ServiceDeployment};

/// The chart's operator RBAC with its default values (cluster-wide: a ClusterRole, and the Role
/// for its Lease).
fn rbac_documents() -> Vec<Value> {
    let chart = concat!(env!("CARGO_MANIFEST_DIR"), "/../charts/tripnest");
    let out = std::process::Command::new(tripnest_e2e::cluster::helm())
        .args(["template", "rbac", chart, "--show-only", "templates/operator-rbac.yaml"])
        .output()
        .expect("run helm (HELM or helm on PATH)");
    assert!(out.status.success(), "helm template: {}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8(out.stdout).expect("utf-8");
    serde_yaml::Deserializer::from_str(&text).map(|d| serde::Deserialize::deserialize(d).expect("yaml")).collect()
}

fn kind<'a>(docs: &'a [Value], kind: &str) -> &'a Value {
    docs.iter().find(|d| d["kind"] == kind).unwrap_or_else(|| panic!("the chart's operator RBAC has a {kind}"))
}

/// Grant the operator's ServiceAccount in `ns` exactly what the chart grants, and return a
/// client that impersonates it.
async fn operator_client(admin: Client, ns: String) -> Client {
    let docs = rbac_documents();
    let rules = |v: &Value| v["rules"].as_array().expect("rules").clone();
    for d in &docs {
        for rule in d["rules"].as_array().into_iter().flatten() {
            for field in ["apiGroups", "resources", "verbs"] {
                assert!(!rule[field].as_array().expect(field).iter().any(|v| v == "*"), "no wildcards: {rule}");
            }
        }
    }
    let pp = PatchParams::apply("rbac-test").force();
    let cluster_role = json!({ "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
        "metadata": { "name": "tripnest-operator" }, "rules": rules(kind(&docs, "ClusterRole")) });
    Api::<ClusterRole>::all(admin.clone()).patch("tripnest-operator", &pp, &Patch::Apply(&cluster_role)).await.expect("cluster role");
    let sa: ServiceAccount = serde_json::from_value(json!({ "metadata": { "name": "tripnest-operator" } })).expect("sa");
    Api::<ServiceAccount>::namespaced(admin.clone(), &ns).create(&PostParams::default(), &sa).await.expect("service account");
    let role = json!({ "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
        "metadata": { "name": "tripnest-operator-leader-election" }, "rules": rules(kind(&docs, "Role")) });
    Api::<Role>::namespaced(admin.clone(), &ns).patch("tripnest-operator-leader-election", &pp, &Patch::Apply(&role)).await.expect("role");
    let subject = json!([{ "kind": "ServiceAccount", "name": "tripnest-operator", "namespace": ns }]);
    for (name, role_kind) in [("tripnest-operator", "ClusterRole"), ("tripnest-operator-leader-election", "Role")] {
        let binding = json!({ "apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding", "metadata": { "name": name },
            "roleRef": { "apiGroup": "rbac.authorization.k8s.io", "kind": role_kind, "name": name }, "subjects": subject });
        Api::<RoleBinding>::namespaced(admin.clone(), &ns).patch(name, &pp, &Patch::Apply(&binding)).await.expect("binding");
    }
    impersonating(&ns).await
}

/// A client acting as the operator's ServiceAccount in `ns`.
async fn impersonating(ns: &str) -> Client {
    let kubeconfig = Kubeconfig::read_from(Stack::load().get("KUBECONFIG")).expect("kubeconfig");
    let mut config = kube::Config::from_custom_kubeconfig(kubeconfig, &KubeConfigOptions::default()).await.expect("config");
    config.auth_info.impersonate = Some(format!("system:serviceaccount:{ns}:tripnest-operator"));
    config.auth_info.impersonate_groups =
        Some(vec!["system:serviceaccounts".into(), format!("system:serviceaccounts:{ns}"), "system:authenticated".into()]);
    Client::try_from(config).expect("impersonating client")
}

#[tokio::test]
async fn the_operator_needs_nothing_beyond_its_rbac() {
    let admin = crate::helpers::client().await;
    let env = TestEnv::start_with(admin.clone(), |ns| operator_client(admin, ns)).await;
    let denied =
        Api::<k8s_openapi::api::core::v1::Secret>::namespaced(impersonating(&env.ns).await, &env.ns).list(&Default::default()).await;
    assert!(denied.is_err(), "the operator may not read Secrets");

    env.apply::<Hotel>(hotel("riverside", &["double"])).await;
    env.apply::<Inventory>(inventory("riverside-double", "riverside", "double", 3)).await;
    env.wait_for::<Inventory>("riverside-double", "the Inventory to be Ready", |i| {
        i.status.as_ref().is_some_and(|s| has_condition(&s.conditions, "Ready", "True"))
    })
    .await;
    env.api::<CronJob>().get("riverside-double-roll").await.expect("cronjob");
    let sd = json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "ServiceDeployment", "metadata": { "name": "review" },
        "spec": { "service": "review", "image": "ghcr.io/tripnest/review:1.0.0", "disruptionBudget": { "minAvailable": 1 },
            "autoscaling": { "minReplicas": 1, "maxReplicas": 3, "targetCpuUtilization": 80 }, "topics": [{ "name": "review.created" }] } });
    env.apply::<ServiceDeployment>(sd.clone()).await;
    env.wait_for::<ServiceDeployment>("review", "the ServiceDeployment to be applied", |s| {
        s.status.as_ref().is_some_and(|s| has_condition(&s.conditions, "Applied", "True") && s.topics_ready == "1/1")
    })
    .await;
    env.wait_for::<HorizontalPodAutoscaler>("review", "the HPA", |_| true).await;
    let mut without_hpa = sd;
    without_hpa["spec"].as_object_mut().expect("spec").remove("autoscaling");
    env.apply::<ServiceDeployment>(without_hpa).await;
    env.wait_gone::<HorizontalPodAutoscaler>("review", "the HPA to be deleted").await;
    env.teardown().await;
}
