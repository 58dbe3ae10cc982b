//! The CronJob an `Inventory` owns: on `spec.schedule` it runs the booking image's
//! `roll-inventory --hotel H --room-type R`, which re-applies the stored spec from today so the
//! sale window keeps rolling forward. The pod runs as uid 10001 on a read-only root
//! filesystem with booking's settings from `env_secret`; without that Secret it does not start
//! (`CreateContainerConfigError` says which) rather than run against no database.

use super::{child_meta, container_security, labels, pod_security};
use crate::resources::{Inventory, service_deployment::PullPolicy};
use k8s_openapi::{api::batch::v1::CronJob, apimachinery::pkg::apis::meta::v1::OwnerReference};
use kube::ResourceExt;

/// `app.kubernetes.io/name` of the CronJob, its Jobs and their Pods.
pub const ROLL_COMPONENT: &str = "inventory-roll";

/// Where the roll job gets booking's settings (`APP_DATABASE_URL`, …) from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollJobSettings {
    /// The booking image (it has the `roll-inventory` subcommand).
    pub image: String,
    /// A Secret in the Inventory's namespace whose keys become the job's environment.
    pub env_secret: String,
    /// When the kubelet pulls `image` (Kubernetes' default when `None`).
    pub pull_policy: Option<PullPolicy>,
    /// Secrets (in the Inventory's namespace) with registry credentials for `image`.
    pub pull_secrets: Vec<String>,
}

/// The CronJob for `inv`, owned by it.
pub fn roll_cronjob(inv: &Inventory, owner: &OwnerReference, settings: &RollJobSettings) -> CronJob {
    let ns = inv.namespace().unwrap_or_default();
    let mut labels = labels(ROLL_COMPONENT, &inv.name_any());
    labels.insert("tripnest.io/hotel".into(), inv.spec.hotel_ref.clone());
    labels.insert("tripnest.io/room-type".into(), inv.spec.room_type.clone());
    let mut container = serde_json::json!({
        "name": "roll-inventory",
        "image": settings.image,
        "args": ["roll-inventory", "--hotel", inv.spec.hotel_ref, "--room-type", inv.spec.room_type],
        "envFrom": [{ "secretRef": { "name": settings.env_secret } }],
        "resources": { "requests": { "cpu": "50m", "memory": "64Mi" }, "limits": { "memory": "256Mi" } },
        "terminationMessagePolicy": "FallbackToLogsOnError",
        "securityContext": container_security()
    });
    if let Some(policy) = settings.pull_policy {
        container["imagePullPolicy"] = serde_json::json!(policy.as_str());
    }
    let mut pod = serde_json::json!({
        "restartPolicy": "OnFailure",
        "automountServiceAccountToken": false,
        "securityContext": pod_security(),
        "containers": [container]
    });
    if !settings.pull_secrets.is_empty() {
        pod["imagePullSecrets"] = settings.pull_secrets.iter().map(|n| serde_json::json!({ "name": n })).collect();
    }
    let spec = serde_json::json!({
        "schedule": inv.spec.schedule,
        "concurrencyPolicy": "Forbid",
        "startingDeadlineSeconds": 600,
        "successfulJobsHistoryLimit": 1,
        "failedJobsHistoryLimit": 3,
        "jobTemplate": { "metadata": { "labels": labels }, "spec": {
            "backoffLimit": 3,
            "activeDeadlineSeconds": 900,
            "ttlSecondsAfterFinished": 86400,
            "template": { "metadata": { "labels": labels }, "spec": pod }
        }}
    });
    CronJob {
        metadata: child_meta(&inv.cronjob_name(), &ns, labels, owner),
        spec: Some(serde_json::from_value(spec).expect("the CronJob spec literal matches the schema")),
        status: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kube::Resource;

    fn inventory() -> Inventory {
        let mut inv: Inventory = serde_json::from_value(serde_json::json!({
            "apiVersion": "tripnest.io/v1alpha1", "kind": "Inventory",
            "metadata": { "name": "riverside-double", "namespace": "hotels", "uid": "u-1" },
            "spec": { "hotelRef": "riverside", "roomType": "double", "rooms": 10, "schedule": "30 2 * * *" }
        }))
        .expect("inventory");
        inv.meta_mut().generation = Some(1);
        inv
    }

    #[test]
    fn the_cronjob_runs_roll_inventory_for_the_room_type_on_the_schedule() {
        let inv = inventory();
        let owner = inv.controller_owner_ref(&()).expect("owner");
        let settings = RollJobSettings {
            image: "tripnest/booking:1.2".into(),
            env_secret: "booking-db".into(),
            pull_policy: None,
            pull_secrets: vec![],
        };
        let cj = roll_cronjob(&inv, &owner, &settings);
        assert_eq!(cj.metadata.name.as_deref(), Some("riverside-double-roll"));
        assert_eq!(cj.metadata.namespace.as_deref(), Some("hotels"));
        assert_eq!(cj.metadata.owner_references.as_ref().expect("owners")[0].uid, "u-1");
        let spec = cj.spec.expect("spec");
        assert_eq!(spec.schedule, "30 2 * * *");
        assert_eq!(spec.concurrency_policy.as_deref(), Some("Forbid"));
        let pod = spec.job_template.spec.expect("job").template.spec.expect("pod");
        let c = &pod.containers[0];
        assert_eq!(c.image.as_deref(), Some("tripnest/booking:1.2"));
        assert_eq!(c.args.as_deref().expect("args"), ["roll-inventory", "--hotel", "riverside", "--room-type", "double"]);
        let secret = c.env_from.as_ref().expect("envFrom")[0].secret_ref.as_ref().expect("secret");
        assert_eq!(secret.name, "booking-db");
        assert_eq!(c.security_context.as_ref().and_then(|s| s.read_only_root_filesystem), Some(true));
        assert_eq!(pod.security_context.as_ref().and_then(|s| s.run_as_non_root), Some(true));
    }

    #[test]
    fn the_roll_pod_runs_as_10001_read_only_with_the_required_secret_and_pull_settings() {
        let inv = inventory();
        let owner = inv.controller_owner_ref(&()).expect("owner");
        let settings = RollJobSettings {
            image: "tripnest/booking:dev".into(),
            env_secret: "booking-env".into(),
            pull_policy: Some(PullPolicy::Never),
            pull_secrets: vec!["registry".into()],
        };
        let pod = roll_cronjob(&inv, &owner, &settings).spec.expect("spec").job_template.spec.expect("job").template.spec.expect("pod");
        let security = pod.security_context.as_ref().expect("pod security");
        assert_eq!((security.run_as_user, security.run_as_group), (Some(10001), Some(10001)));
        assert_eq!(security.seccomp_profile.as_ref().map(|p| p.type_.as_str()), Some("RuntimeDefault"));
        assert_eq!(pod.automount_service_account_token, Some(false));
        assert_eq!(pod.image_pull_secrets.as_ref().expect("pull secrets")[0].name, "registry");
        let c = &pod.containers[0];
        assert_eq!(c.image_pull_policy.as_deref(), Some("Never"));
        assert_eq!(c.termination_message_policy.as_deref(), Some("FallbackToLogsOnError"));
        let secret = c.env_from.as_ref().expect("envFrom")[0].secret_ref.as_ref().expect("secret");
        assert_eq!((secret.name.as_str(), secret.optional), ("booking-env", None), "a missing Secret stops the pod, visibly");
        let sc = c.security_context.as_ref().expect("container security");
        assert_eq!(sc.capabilities.as_ref().and_then(|c| c.drop.as_deref()), Some(&["ALL".to_owned()][..]));
        assert_eq!((sc.read_only_root_filesystem, sc.allow_privilege_escalation), (Some(true), Some(false)));
    }
}
