//! The workload a `ServiceDeployment` owns: Deployment, Service and ConfigMap, plus a
//! HorizontalPodAutoscaler (autoscaling/v2) and a PodDisruptionBudget when the spec asks.

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

/// The desired children of `sd`; `topic_prefix` is the environment's Kafka topic prefix.
pub fn workload(sd: &ServiceDeployment, owner: &OwnerReference, topic_prefix: &str) -> Workload {
    let (name, ns, spec) = (sd.name_any(), sd.namespace().unwrap_or_default(), &sd.spec);
    let labels = labels(spec.service.as_str(), &name);
    let meta = |n: &str| child_meta(n, &ns, labels.clone(), owner);

    let mut data = BTreeMap::from([
        ("APP_HTTP__HOST".to_owned(), "0.0.0.0".to_owned()),
        ("APP_HTTP__PORT".to_owned(), spec.port.to_string()),
        ("APP_KAFKA__TOPIC_PREFIX".to_owned(), topic_prefix.to_owned()),
    ]);
    data.extend(spec.env.clone());
    let config_hash = hex::encode(Sha256::digest(serde_json::to_vec(&data).expect("strings serialise")));
    let config = ConfigMap { metadata: meta(&config_name(sd)), data: Some(data), ..Default::default() };

    let mut env_from = vec![json!({ "configMapRef": { "name": config_name(sd) } })];
    env_from.extend(spec.secret_refs.iter().map(|s| json!({ "secretRef": { "name": s } })));
    let probe =
        |path: &str, delay: i32| json!({ "httpGet": { "path": path, "port": "http" }, "initialDelaySeconds": delay, "periodSeconds": 10 });
    let mut container = json!({
        "name": spec.service.as_str(),
        "image": spec.image,
        "ports": [{ "name": "http", "containerPort": spec.port, "protocol": "TCP" }],
        "envFrom": env_from,
        "readinessProbe": probe("/readyz", 2),
        "livenessProbe": probe("/healthz", 10),
        "securityContext": container_security(),
    });
    if let Some(resources) = &spec.resources {
        container["resources"] = serde_json::to_value(resources).expect("resources serialise");
    }
    let mut deployment_spec = json!({
        "selector": { "matchLabels": selector(sd) },
        "template": {
            "metadata": { "labels": labels, "annotations": { CONFIG_HASH: config_hash } },
            "spec": { "containers": [container], "securityContext": pod_security(), "terminationGracePeriodSeconds": 30 }
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
}
