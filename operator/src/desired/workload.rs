//! The workload a `ServiceDeployment` owns: Deployment, Service and ConfigMap, plus a
//! HorizontalPodAutoscaler (autoscaling/v2) and a PodDisruptionBudget when the spec asks.
//!
//! Rollouts drop nothing: a new pod must pass `/readyz` before an old one goes (surge 1,
//! unavailable 0), and a stopping pod first sleeps [`PRE_STOP_SECS`] in `preStop` so the
//! endpoints controller and kube-proxy take it out of the Service before SIGTERM makes it stop
//! accepting connections; then it drains for up to its `APP_SHUTDOWN_GRACE_SECS`.
//!
//! Prometheus `/metrics` is served on a separate operations port ([`ops_port`], the container
//! port `metrics`), announced to Prometheus by the `prometheus.io/*` pod annotations and never
//! part of the Service, so nothing routed to a service (least of all the public gateway) can
//! read it. The kubelet probes stay on the `http` port.

use super::{child_meta, container_security, labels, pod_security};
use crate::resources::ServiceDeployment;
use k8s_openapi::{
    api::{
        apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, core::v1::ConfigMap, core::v1::Service,
        policy::v1::PodDisruptionBudget,
    },
    apimachinery::pkg::apis::meta::v1::OwnerReference,
};
use kube::ResourceExt;
use serde_json::json;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// Pod template annotation holding a hash of the ConfigMap, so a config change rolls the pods.
pub const CONFIG_HASH: &str = "tripnest.io/config-hash";

/// Pod label naming the `ServiceDeployment` a pod runs for (the operator watches pods by it).
pub const POD_LABEL: &str = "tripnest.io/service-deployment";

/// Seconds a stopping pod waits in `preStop` before it gets SIGTERM, so it has left the
/// Service's endpoints (and every node's kube-proxy rules) by the time it stops accepting.
pub const PRE_STOP_SECS: i64 = 5;

/// The operations port of a pod (`/metrics`, and the probes again) unless the service's own
/// port is that number.
pub const OPS_PORT: i32 = 9090;

/// The operations port for a service listening on `http_port`: [`OPS_PORT`], or the next one
/// when the service itself is on 9090.
pub fn ops_port(http_port: i32) -> i32 {
    if http_port == OPS_PORT { OPS_PORT + 1 } else { OPS_PORT }
}

/// Slack on top of `preStop` plus the service's drain time before the kubelet kills the pod.
const KILL_SLACK_SECS: i64 = 5;

/// Everything a `ServiceDeployment` turns into.
#[derive(Debug, Clone, PartialEq)]
pub struct Workload {
    /// The pods.
    pub deployment: Deployment,
    /// Their stable address (port 80 → the service's HTTP port).
    pub service: Service,
    /// Their plain settings, loaded with `envFrom`.
    pub config: ConfigMap,
    /// Present when `spec.autoscaling` is set.
    pub autoscaler: Option<HorizontalPodAutoscaler>,
    /// Present when `spec.disruptionBudget` is set.
    pub disruption_budget: Option<PodDisruptionBudget>,
}

/// Name of the ConfigMap of a `ServiceDeployment`.
pub fn config_name(sd: &ServiceDeployment) -> String {
    format!("{}-config", sd.name_any())
}

/// The labels pods are selected by.
fn selector(sd: &ServiceDeployment) -> BTreeMap<String, String> {
    labels(sd.spec.service.as_str(), &sd.name_any()).into_iter().filter(|(k, _)| k.ends_with("/name") || k.ends_with("/instance")).collect()
}

/// The Deployment's pod selector as a label selector string (`k=v,k=v`), to list its pods.
pub fn pod_selector(sd: &ServiceDeployment) -> String {
    selector(sd).iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(",")
}

/// `terminationGracePeriodSeconds`: `preStop`, then the service's drain time
/// (`APP_SHUTDOWN_GRACE_SECS` from the spec's env, else the services' default), then slack.
pub fn termination_grace_secs(sd: &ServiceDeployment) -> i64 {
    let default = i64::try_from(tripnest_common::config::CommonConfig::default().shutdown_grace_secs).unwrap_or(20);
    let drain = sd.spec.env.get("APP_SHUTDOWN_GRACE_SECS").and_then(|v| v.trim().parse::<i64>().ok()).unwrap_or(default);
    PRE_STOP_SECS + drain.clamp(0, 3600) + KILL_SLACK_SECS
}

/// The desired children of `sd`; `topic_prefix` is the environment's Kafka topic prefix.
pub fn workload(sd: &ServiceDeployment, owner: &OwnerReference, topic_prefix: &str) -> Workload {
    let (name, ns, spec) = (sd.name_any(), sd.namespace().unwrap_or_default(), &sd.spec);
    let labels = labels(spec.service.as_str(), &name);
    let meta = |n: &str| child_meta(n, &ns, labels.clone(), owner);

    let mut data = BTreeMap::from([
        ("APP_HTTP__HOST".to_owned(), "0.0.0.0".to_owned()),
        ("APP_HTTP__PORT".to_owned(), spec.port.to_string()),
        ("APP_OPS__HOST".to_owned(), "0.0.0.0".to_owned()),
        ("APP_OPS__PORT".to_owned(), ops_port(spec.port).to_string()),
        ("APP_KAFKA__TOPIC_PREFIX".to_owned(), topic_prefix.to_owned()),
    ]);
    // Environments sharing one Kafka keep their consumer groups apart as well as their topics
    // (without a prefix the services' default, their own name, is the same group).
    if !topic_prefix.is_empty() {
        data.insert("APP_KAFKA__GROUP_ID".to_owned(), format!("{topic_prefix}{}", spec.service.as_str()));
    }
    data.extend(spec.env.clone());
    let config_hash = hex::encode(Sha256::digest(serde_json::to_vec(&data).expect("strings serialise")));
    let config = ConfigMap { metadata: meta(&config_name(sd)), data: Some(data), ..Default::default() };

    let mut env_from = vec![json!({ "configMapRef": { "name": config_name(sd) } })];
    env_from.extend(spec.secret_refs.iter().map(|s| json!({ "secretRef": { "name": s } })));
    let probe = |path: &str, period: i32, failures: i32| json!({ "httpGet": { "path": path, "port": "http" }, "periodSeconds": period, "timeoutSeconds": 2, "failureThreshold": failures });
    let mut container = json!({
        "name": spec.service.as_str(),
        "image": spec.image,
        "ports": [
            { "name": "http", "containerPort": spec.port, "protocol": "TCP" },
            { "name": "metrics", "containerPort": ops_port(spec.port), "protocol": "TCP" }
        ],
        "envFrom": env_from,
        // Up to two minutes to start (migrations run first); liveness only counts after that.
        "startupProbe": probe("/healthz", 2, 60),
        "readinessProbe": probe("/readyz", 5, 2),
        "livenessProbe": probe("/healthz", 10, 3),
        // The images have no shell: the kubelet's own sleep, not `sh -c sleep`.
        "lifecycle": { "preStop": { "sleep": { "seconds": PRE_STOP_SECS } } },
        // A crash's last log lines become the termination message (and the operator's report).
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": container_security(),
    });
    if let Some(policy) = spec.image_pull_policy {
        container["imagePullPolicy"] = json!(policy.as_str());
    }
    if let Some(resources) = &spec.resources {
        container["resources"] = serde_json::to_value(resources).expect("resources serialise");
    }
    let mut pod_labels = labels.clone();
    pod_labels.insert(POD_LABEL.to_owned(), name.clone());
    let mut pod_spec = json!({
        "containers": [container],
        "securityContext": pod_security(),
        "terminationGracePeriodSeconds": termination_grace_secs(sd),
        // The services never call the Kubernetes API.
        "automountServiceAccountToken": false,
    });
    if !spec.image_pull_secrets.is_empty() {
        pod_spec["imagePullSecrets"] = spec.image_pull_secrets.iter().map(|n| json!({ "name": n })).collect();
    }
    let mut deployment_spec = json!({
        "selector": { "matchLabels": selector(sd) },
        "strategy": { "type": "RollingUpdate", "rollingUpdate": { "maxSurge": 1, "maxUnavailable": 0 } },
        "template": {
            "metadata": { "labels": pod_labels, "annotations": {
                CONFIG_HASH: config_hash,
                "prometheus.io/scrape": "true",
                "prometheus.io/port": ops_port(spec.port).to_string(),
                "prometheus.io/path": "/metrics",
            } },
            "spec": pod_spec
        }
    });
    // With an autoscaler the HPA owns the replica count; leaving the field out of the apply
    // hands it over instead of fighting it.
    if spec.autoscaling.is_none() {
        deployment_spec["replicas"] = json!(spec.replicas);
    }
    let deployment = Deployment {
        metadata: meta(&name),
        spec: Some(serde_json::from_value(deployment_spec).expect("the Deployment spec literal matches the schema")),
        status: None,
    };

    let service_spec = json!({
        "selector": selector(sd),
        "ports": [{ "name": "http", "port": 80, "targetPort": "http", "protocol": "TCP" }]
    });
    let service =
        Service { metadata: meta(&name), spec: Some(serde_json::from_value(service_spec).expect("Service spec literal")), status: None };

    let autoscaler = spec.autoscaling.as_ref().map(|a| HorizontalPodAutoscaler {
        metadata: meta(&name),
        spec: Some(
            serde_json::from_value(json!({
                "scaleTargetRef": { "apiVersion": "apps/v1", "kind": "Deployment", "name": name },
                "minReplicas": a.min_replicas,
                "maxReplicas": a.max_replicas,
                "metrics": [{ "type": "Resource", "resource": { "name": "cpu",
                    "target": { "type": "Utilization", "averageUtilization": a.target_cpu_utilization } } }]
            }))
            .expect("HPA spec literal"),
        ),
        status: None,
    });
    let disruption_budget = spec.disruption_budget.as_ref().map(|b| {
        let mut pdb = json!({ "selector": { "matchLabels": selector(sd) } });
        if let Some(n) = b.min_available {
            pdb["minAvailable"] = json!(n);
        }
        if let Some(n) = b.max_unavailable {
            pdb["maxUnavailable"] = json!(n);
        }
        PodDisruptionBudget { metadata: meta(&name), spec: Some(serde_json::from_value(pdb).expect("PDB spec literal")), status: None }
    });
    Workload { deployment, service, config, autoscaler, disruption_budget }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    fn sd(extra: serde_json::Value) -> ServiceDeployment {
        let mut spec = json!({ "service": "booking", "image": "tripnest/booking:1.0", "replicas": 3,
            "env": { "APP_HOLD_SECONDS": "900" }, "secretRefs": ["booking-db"] });
        spec.as_object_mut().expect("object").extend(extra.as_object().expect("object").clone());
        serde_json::from_value(json!({
            "apiVersion": "tripnest.io/v1alpha1", "kind": "ServiceDeployment",
            "metadata": { "name": "booking", "namespace": "platform", "uid": "sd-1" }, "spec": spec
        }))
        .expect("sd")
    }

    fn build(sd: &ServiceDeployment) -> Workload {
        workload(sd, &sd.controller_owner_ref(&()).expect("owner"), "prod.")
    }

    #[test]
    fn a_service_deployment_becomes_an_owned_deployment_service_and_configmap() {
        let w = build(&sd(json!({})));
        for meta in [&w.deployment.metadata, &w.service.metadata, &w.config.metadata] {
            let owner = &meta.owner_references.as_ref().expect("owner")[0];
            assert_eq!((owner.uid.as_str(), owner.kind.as_str(), owner.controller), ("sd-1", "ServiceDeployment", Some(true)));
            assert_eq!(meta.namespace.as_deref(), Some("platform"));
        }
        let spec = w.deployment.spec.as_ref().expect("spec");
        assert_eq!(spec.replicas, Some(3));
        let selector = spec.selector.match_labels.as_ref().expect("selector");
        let pod_labels = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref()).expect("labels");
        assert!(selector.iter().all(|(k, v)| pod_labels.get(k) == Some(v)), "the selector matches the pods");
        let c = &spec.template.spec.as_ref().expect("pod").containers[0];
        assert_eq!(c.image.as_deref(), Some("tripnest/booking:1.0"));
        let sc = c.security_context.as_ref().expect("container security");
        assert_eq!((sc.read_only_root_filesystem, sc.allow_privilege_escalation), (Some(true), Some(false)));
        let pod = spec.template.spec.as_ref().and_then(|p| p.security_context.as_ref()).expect("pod security");
        assert_eq!(pod.run_as_non_root, Some(true));
        let sources: Vec<_> = c
            .env_from
            .iter()
            .flatten()
            .map(|e| e.config_map_ref.as_ref().map(|r| r.name.clone()).or(e.secret_ref.as_ref().map(|r| r.name.clone())))
            .collect();
        assert_eq!(sources, [Some("booking-config".to_owned()), Some("booking-db".to_owned())]);
        let data = w.config.data.as_ref().expect("data");
        assert_eq!(data["APP_HOLD_SECONDS"], "900");
        assert_eq!(data["APP_KAFKA__TOPIC_PREFIX"], "prod.");
        assert_eq!(data["APP_KAFKA__GROUP_ID"], "prod.booking", "the consumer group carries the prefix too");
        assert_eq!(w.service.spec.as_ref().expect("svc").selector.as_ref(), Some(selector));
        assert!(w.autoscaler.is_none() && w.disruption_budget.is_none());
    }

    #[test]
    fn autoscaling_hands_replicas_to_the_hpa_and_a_budget_adds_a_pdb() {
        let w = build(&sd(json!({
            "autoscaling": { "minReplicas": 2, "maxReplicas": 6, "targetCpuUtilization": 70 },
            "disruptionBudget": { "minAvailable": 1 }
        })));
        assert_eq!(w.deployment.spec.as_ref().expect("spec").replicas, None, "replicas left to the HPA");
        let hpa = w.autoscaler.expect("hpa").spec.expect("spec");
        assert_eq!((hpa.min_replicas, hpa.max_replicas, hpa.scale_target_ref.name.as_str()), (Some(2), 6, "booking"));
        let pdb = w.disruption_budget.expect("pdb").spec.expect("spec");
        assert_eq!(pdb.min_available, Some(k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int(1)));
    }

    #[test]
    fn a_config_change_changes_the_pod_template_hash() {
        let hash = |w: &Workload| {
            w.deployment.spec.as_ref().and_then(|s| s.template.metadata.as_ref()).and_then(|m| m.annotations.as_ref()).expect("ann")
                [CONFIG_HASH]
                .clone()
        };
        let a = build(&sd(json!({})));
        let b = build(&sd(json!({ "env": { "APP_HOLD_SECONDS": "600" } })));
        assert_ne!(hash(&a), hash(&b));
        assert_eq!(hash(&a), hash(&build(&sd(json!({})))), "stable for the same config");
    }

    #[test]
    fn rollouts_surge_one_pod_and_stopping_pods_leave_the_service_before_sigterm() {
        let w = build(&sd(json!({})));
        let spec = w.deployment.spec.as_ref().expect("spec");
        let strategy = spec.strategy.as_ref().expect("strategy");
        let rolling = strategy.rolling_update.as_ref().expect("rolling update");
        assert_eq!(strategy.type_.as_deref(), Some("RollingUpdate"));
        use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::Int;
        assert_eq!((rolling.max_surge.clone(), rolling.max_unavailable.clone()), (Some(Int(1)), Some(Int(0))));
        let pod = spec.template.spec.as_ref().expect("pod");
        let c = &pod.containers[0];
        let path = |p: Option<&k8s_openapi::api::core::v1::Probe>| p.and_then(|p| p.http_get.as_ref()).map(|h| h.path.clone());
        assert_eq!(path(c.readiness_probe.as_ref()), Some(Some("/readyz".into())));
        assert_eq!(path(c.liveness_probe.as_ref()), Some(Some("/healthz".into())));
        assert_eq!(path(c.startup_probe.as_ref()), Some(Some("/healthz".into())));
        let sleep = c.lifecycle.as_ref().and_then(|l| l.pre_stop.as_ref()).and_then(|h| h.sleep.as_ref()).expect("preStop sleep");
        assert_eq!(sleep.seconds, PRE_STOP_SECS);
        assert_eq!(pod.termination_grace_period_seconds, Some(PRE_STOP_SECS + 20 + 5), "preStop, the default 20 s drain, slack");
        assert_eq!(c.termination_message_policy.as_deref(), Some("FallbackToLogsOnError"));
        assert_eq!(c.image_pull_policy, None, "Kubernetes' default unless the spec says");
        assert_eq!(pod.automount_service_account_token, Some(false));
    }

    #[test]
    fn metrics_are_on_the_ops_port_which_prometheus_scrapes_and_the_service_does_not_expose() {
        let w = build(&sd(json!({})));
        let spec = w.deployment.spec.as_ref().expect("spec");
        let c = &spec.template.spec.as_ref().expect("pod").containers[0];
        let ports: Vec<(Option<&str>, i32)> = c.ports.iter().flatten().map(|p| (p.name.as_deref(), p.container_port)).collect();
        assert_eq!(ports, [(Some("http"), 8080), (Some("metrics"), OPS_PORT)]);
        let data = w.config.data.as_ref().expect("data");
        assert_eq!((data["APP_OPS__HOST"].as_str(), data["APP_OPS__PORT"].as_str()), ("0.0.0.0", "9090"));
        let annotations = spec.template.metadata.as_ref().and_then(|m| m.annotations.as_ref()).expect("annotations");
        assert_eq!(annotations["prometheus.io/scrape"], "true");
        assert_eq!(annotations["prometheus.io/port"], "9090");
        assert_eq!(annotations["prometheus.io/path"], "/metrics");
        let probe_port = |p: Option<&k8s_openapi::api::core::v1::Probe>| p.and_then(|p| p.http_get.as_ref()).map(|h| h.port.clone());
        use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString::String as Named;
        assert_eq!(probe_port(c.readiness_probe.as_ref()), Some(Named("http".into())), "probes stay on the service's port");
        let service_ports: Vec<_> =
            w.service.spec.as_ref().and_then(|s| s.ports.as_ref()).expect("ports").iter().map(|p| p.name.clone()).collect();
        assert_eq!(service_ports, [Some("http".to_owned())], "the Service never exposes metrics");
        assert_eq!(ops_port(9090), 9091, "a service on 9090 keeps its port");
    }

    #[test]
    fn without_a_prefix_the_group_is_the_services_default_and_the_spec_may_name_one() {
        let sd = sd(json!({}));
        let w = workload(&sd, &sd.controller_owner_ref(&()).expect("owner"), "");
        assert!(!w.config.data.as_ref().expect("data").contains_key("APP_KAFKA__GROUP_ID"));
        let w = build(&self::sd(json!({ "env": { "APP_KAFKA__GROUP_ID": "booking-blue" } })));
        assert_eq!(w.config.data.as_ref().expect("data")["APP_KAFKA__GROUP_ID"], "booking-blue");
    }

    #[test]
    fn the_grace_period_follows_the_services_drain_time() {
        let w = build(&sd(json!({ "env": { "APP_SHUTDOWN_GRACE_SECS": "45" } })));
        let pod = w.deployment.spec.as_ref().and_then(|s| s.template.spec.as_ref()).expect("pod");
        assert_eq!(pod.termination_grace_period_seconds, Some(PRE_STOP_SECS + 45 + 5));
    }

    #[test]
    fn pods_run_as_10001_locked_down_pull_as_asked_and_are_labelled_for_the_pod_watch() {
        let w = build(&sd(json!({ "imagePullPolicy": "Never", "imagePullSecrets": ["registry"] })));
        let spec = w.deployment.spec.as_ref().expect("spec");
        let pod = spec.template.spec.as_ref().expect("pod");
        let security = pod.security_context.as_ref().expect("pod security");
        assert_eq!((security.run_as_non_root, security.run_as_user, security.run_as_group), (Some(true), Some(10001), Some(10001)));
        assert_eq!(security.seccomp_profile.as_ref().map(|p| p.type_.as_str()), Some("RuntimeDefault"));
        let c = &pod.containers[0];
        let sc = c.security_context.as_ref().expect("container security");
        assert_eq!(sc.capabilities.as_ref().and_then(|c| c.drop.as_deref()), Some(&["ALL".to_owned()][..]));
        assert_eq!(sc.read_only_root_filesystem, Some(true));
        assert_eq!(c.image_pull_policy.as_deref(), Some("Never"));
        assert_eq!(pod.image_pull_secrets.as_ref().expect("pull secrets")[0].name, "registry");
        let labels = spec.template.metadata.as_ref().and_then(|m| m.labels.as_ref()).expect("labels");
        assert_eq!(labels.get(POD_LABEL).map(String::as_str), Some("booking"));
        assert!(!spec.selector.match_labels.as_ref().expect("selector").contains_key(POD_LABEL), "the selector is unchanged");
        assert_eq!(pod_selector(&sd(json!({}))), "app.kubernetes.io/instance=booking,app.kubernetes.io/name=booking");
    }
}
