//! Spec → desired child objects, as pure functions: what the controllers server-side apply.
//! Each child carries the parent's controller owner reference, so deleting the parent lets the
//! garbage collector remove it.

pub mod cronjob;
pub mod workload;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use std::collections::BTreeMap;

/// The value of `app.kubernetes.io/managed-by` on every child.
pub const MANAGED_BY: &str = "tripnest-operator";

/// Standard labels for a child of `instance` running `component`.
pub fn labels(component: &str, instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        ("app.kubernetes.io/name".to_owned(), component.to_owned()),
        ("app.kubernetes.io/instance".to_owned(), instance.to_owned()),
        ("app.kubernetes.io/part-of".to_owned(), "tripnest".to_owned()),
        ("app.kubernetes.io/managed-by".to_owned(), MANAGED_BY.to_owned()),
    ])
}

/// The uid and gid TripNest's images run as (`USER 10001:10001` in their Dockerfiles).
pub const RUN_AS: i64 = 10001;

/// Pod-level security of every pod the operator creates: never root, as uid/gid [`RUN_AS`]
/// (stated, so a foreign image cannot pick another user), and the runtime's default seccomp
/// profile.
pub fn pod_security() -> serde_json::Value {
    serde_json::json!({ "runAsNonRoot": true, "runAsUser": RUN_AS, "runAsGroup": RUN_AS, "seccompProfile": { "type": "RuntimeDefault" } })
}

/// Container-level security: no privilege escalation, no capabilities, a read-only root
/// filesystem (the binaries write nothing to disk).
pub fn container_security() -> serde_json::Value {
    serde_json::json!({ "allowPrivilegeEscalation": false, "readOnlyRootFilesystem": true, "capabilities": { "drop": ["ALL"] } })
}

/// Metadata for a child named `name` in `namespace`, owned by `owner`.
pub fn child_meta(
    name: &str,
    namespace: &str,
    labels: BTreeMap<String, String>,
    owner: &OwnerReference,
) -> k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
    k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta {
        name: Some(name.to_owned()),
        namespace: Some(namespace.to_owned()),
        labels: Some(labels),
        owner_references: Some(vec![owner.clone()]),
        ..Default::default()
    }
}
