//! `ServiceDeployment`: one TripNest service as a platform team runs it. The operator turns it
//! into a Deployment, Service and ConfigMap (plus an HPA and a PodDisruptionBudget when asked)
//! and creates the Kafka topics the service needs.

use super::conditions::Condition;
use k8s_openapi::api::core::v1::ResourceRequirements;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The TripNest services a `ServiceDeployment` can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ServiceName {
    /// The public entry point.
    Gateway,
    /// Accounts and tokens.
    User,
    /// Catalog, inventory and bookings.
    Booking,
    /// Charges and refunds.
    Payment,
    /// Email and SMS.
    Notification,
    /// The hotel search read model.
    Search,
    /// Personal suggestions.
    Recommendation,
    /// Guest reviews and ratings.
    Review,
}

impl ServiceName {
    /// The name as written in YAML, e.g. `booking`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Gateway => "gateway",
            Self::User => "user",
            Self::Booking => "booking",
            Self::Payment => "payment",
            Self::Notification => "notification",
            Self::Search => "search",
            Self::Recommendation => "recommendation",
            Self::Review => "review",
        }
    }
}

/// When the kubelet pulls an image (`imagePullPolicy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum PullPolicy {
    /// On every container start.
    Always,
    /// Only when the node does not have it.
    IfNotPresent,
    /// Never: the image must already be on the node (images loaded into a local cluster).
    Never,
}

impl PullPolicy {
    /// The value as Kubernetes writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Always => "Always",
            Self::IfNotPresent => "IfNotPresent",
            Self::Never => "Never",
        }
    }
}

fn one() -> i32 {
    1
}

fn http_port() -> i32 {
    8080
}

/// The spec of a `ServiceDeployment`.
#[derive(CustomResource, KubeSchema, Debug, Clone, PartialEq, Serialize, Deserialize)]
#[kube(
    group = "tripnest.io",
    version = "v1alpha1",
    kind = "ServiceDeployment",
    namespaced,
    status = "ServiceDeploymentStatus",
    derive = "PartialEq",
    shortname = "sd",
    shortname = "svcdep",
    category = "tripnest",
    doc = "A TripNest service: its workload, configuration, scaling and Kafka topics.",
    printcolumn = r#"{"name": "Service", "type": "string", "jsonPath": ".spec.service"}"#,
    printcolumn = r#"{"name": "Ready Replicas", "type": "integer", "jsonPath": ".status.readyReplicas"}"#,
    printcolumn = r#"{"name": "Desired", "type": "integer", "jsonPath": ".status.replicas"}"#,
    printcolumn = r#"{"name": "Topics", "type": "string", "jsonPath": ".status.topicsReady"}"#,
    printcolumn = r#"{"name": "Ready", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].status"}"#,
    printcolumn = r#"{"name": "Reason", "type": "string", "jsonPath": ".status.conditions[?(@.type==\"Ready\")].reason"}"#,
    printcolumn = r#"{"name": "Age", "type": "date", "jsonPath": ".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeploymentSpec {
    /// Which TripNest service this runs. Immutable.
    #[x_kube(validation = Rule::new("self == oldSelf").message("service is immutable"))]
    pub service: ServiceName,
    /// Container image, e.g. `ghcr.io/tripnest/booking:1.4.0`.
    #[schemars(length(min = 1, max = 512))]
    pub image: String,
    /// When the kubelet pulls `image`; Kubernetes' default when absent (`Always` for
    /// `:latest`, else `IfNotPresent`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_pull_policy: Option<PullPolicy>,
    /// Secrets (in this namespace) holding registry credentials for `image`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 10), inner(length(min = 1, max = 253)))]
    pub image_pull_secrets: Vec<String>,
    /// Pods to run (ignored while `autoscaling` is set).
    #[serde(default = "one")]
    #[schemars(range(min = 0, max = 100))]
    pub replicas: i32,
    /// The port the service's HTTP server listens on.
    #[serde(default = "http_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// CPU and memory requests and limits.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
    /// Plain environment variables (`APP_…`), put in the ConfigMap.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// Secrets whose keys become environment variables (database URLs, tokens).
    #[serde(default)]
    #[schemars(length(max = 20), inner(length(min = 1, max = 253)))]
    #[x_kube(validation = Rule::new("self.all(s, self.exists_one(o, o == s))").message("secret names must be unique"))]
    pub secret_refs: Vec<String>,
    /// Scale on CPU with a HorizontalPodAutoscaler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub autoscaling: Option<Autoscaling>,
    /// Keep a share of pods up through voluntary disruptions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disruption_budget: Option<DisruptionBudget>,
    /// Kafka topics the service produces or consumes (without the environment prefix).
    #[serde(default)]
    #[schemars(length(max = 100))]
    #[x_kube(validation = Rule::new("self.all(t, self.exists_one(o, o.name == t.name))").message("topic names must be unique"))]
    pub topics: Vec<TopicSpec>,
}

/// HorizontalPodAutoscaler settings.
#[derive(KubeSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.minReplicas <= self.maxReplicas").message("minReplicas must not exceed maxReplicas"))]
pub struct Autoscaling {
    /// Fewest pods.
    #[schemars(range(min = 1, max = 100))]
    pub min_replicas: i32,
    /// Most pods.
    #[schemars(range(min = 1, max = 100))]
    pub max_replicas: i32,
    /// Average CPU utilisation to aim for, in percent of requests.
    #[schemars(range(min = 1, max = 100))]
    pub target_cpu_utilization: i32,
}

/// PodDisruptionBudget settings: exactly one of the two.
#[derive(KubeSchema, Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.minAvailable) != has(self.maxUnavailable)").message("set exactly one of minAvailable and maxUnavailable"))]
pub struct DisruptionBudget {
    /// Pods that must stay up.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub min_available: Option<i32>,
    /// Pods that may be down at once.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 0, max = 100))]
    pub max_unavailable: Option<i32>,
}

/// A Kafka topic the service needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TopicSpec {
    /// Logical name (the operator adds the environment's prefix).
    #[schemars(length(min = 1, max = 200), regex(pattern = r"^[a-zA-Z0-9._-]{1,200}$"))]
    pub name: String,
    /// Partitions; may grow, never shrink.
    #[serde(default = "one")]
    #[schemars(range(min = 1, max = 1000))]
    pub partitions: i32,
    /// Replicas of each partition (the operator's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 10))]
    pub replication_factor: Option<i32>,
    /// How long messages are kept, in milliseconds (-1 = forever).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = -1))]
    pub retention_ms: Option<i64>,
    /// Other topic configs (`cleanup.policy`, …).
    #[serde(default)]
    pub config: BTreeMap<String, String>,
}

/// What the operator observed about a `ServiceDeployment`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ServiceDeploymentStatus {
    /// The generation last reconciled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    /// `Applied`, `TopicsReady`, `Available` and `Ready`.
    #[serde(default)]
    pub conditions: Vec<Condition>,
    /// Pods wanted.
    #[serde(default)]
    pub replicas: i32,
    /// Pods ready (the Deployment's `readyReplicas`).
    #[serde(default)]
    pub ready_replicas: i32,
    /// Topics in place, as `ready/wanted`.
    #[serde(default)]
    pub topics_ready: String,
}
