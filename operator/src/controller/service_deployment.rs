//! The ServiceDeployment controller: server-side applies the workload (Deployment, Service,
//! ConfigMap, and an HPA/PDB when asked; deletes those two when the spec drops them), then
//! brings the Kafka topics in line. A partition decrease or replication change is reported as
//! `TopicsReady=False` and left alone — not retried as an error.

use super::{Context, Error, Result, error_policy, namespace, observe, resync};
use crate::{
    desired::{MANAGED_BY, workload::workload},
    resources::{
        ServiceDeployment, ServiceDeploymentStatus,
        conditions::{self, Condition},
    },
    topics::{self, Problem},
};
use futures::StreamExt;
use k8s_openapi::api::{
    apps::v1::Deployment, autoscaling::v2::HorizontalPodAutoscaler, core::v1::ConfigMap, core::v1::Service, policy::v1::PodDisruptionBudget,
};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, Patch},
    runtime::{
        Controller,
        controller::{Action, Config as ControllerConfig},
        watcher,
    },
};
use serde::{Serialize, de::DeserializeOwned};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const CONTROLLER: &str = "servicedeployment";

/// Run the controller until `stop` fires.
pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let owned = || watcher::Config::default().labels(&format!("app.kubernetes.io/managed-by={MANAGED_BY}")).any_semantic();
    Controller::new(ctx.watched::<ServiceDeployment>(), watcher::Config::default().any_semantic())
        .owns(ctx.watched::<Deployment>(), owned())
        .owns(ctx.watched::<Service>(), owned())
        .owns(ctx.watched::<ConfigMap>(), owned())
        .owns(ctx.watched::<HorizontalPodAutoscaler>(), owned())
        .owns(ctx.watched::<PodDisruptionBudget>(), owned())
        .with_config(ControllerConfig::default().concurrency(ctx.cfg.concurrency))
        .graceful_shutdown_on(stop.cancelled_owned())
        .run(reconcile, |sd, e, ctx| error_policy(CONTROLLER, sd.as_ref(), e, &ctx), ctx)
        .for_each(|_| futures::future::ready(()))
        .await;
}

async fn reconcile(sd: Arc<ServiceDeployment>, ctx: Arc<Context>) -> Result<Action> {
    observe(CONTROLLER, sd.as_ref(), &ctx, sync(&sd, &ctx)).await
}

async fn apply<K>(ctx: &Context, ns: &str, obj: &K) -> Result<K>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + Serialize + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), ns);
    Ok(api.patch(obj.meta().name.as_deref().unwrap_or_default(), &Context::apply(), &Patch::Apply(obj)).await?)
}

/// Delete `name` if this `ServiceDeployment` owns it (a child the spec no longer asks for).
async fn remove_leftover<K>(ctx: &Context, ns: &str, name: &str, owner_uid: &str) -> Result<()>
where
    K: Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(ctx.client.clone(), ns);
    if let Some(obj) = api.get_opt(name).await?
        && obj.owner_references().iter().any(|o| o.uid == owner_uid)
    {
        api.delete(name, &DeleteParams::background()).await?;
    }
    Ok(())
}

/// The outcome of bringing the topics in line.
#[derive(Debug, Default)]
pub struct TopicOutcome {
    /// Topics that match the spec.
    pub ready: usize,
    /// Differences left alone, by topic.
    pub problems: Vec<(String, Problem)>,
    /// Kafka could not be reached or refused a change.
    pub failure: Option<String>,
}

async fn sync_topics(sd: &ServiceDeployment, ctx: &Context) -> TopicOutcome {
    let prefix = &ctx.cfg.common.kafka.topic_prefix;
    let physical: Vec<String> = sd.spec.topics.iter().map(|t| format!("{prefix}{}", t.name)).collect();
    let mut outcome = TopicOutcome::default();
    if physical.is_empty() {
        return outcome;
    }
    let observed = match ctx.topics.observe(&physical).await {
        Ok(o) => o,
        Err(e) => return TopicOutcome { failure: Some(e), ..outcome },
    };
    for (spec, name) in sd.spec.topics.iter().zip(&physical) {
        let (steps, problems) = topics::plan(spec, ctx.cfg.default_replication_factor, observed.get(name));
        let mut ok = problems.is_empty();
        for step in &steps {
            if let Err(e) = ctx.topics.apply(name, step).await {
                ok = false;
                outcome.failure.get_or_insert(e);
            }
        }
        outcome.problems.extend(problems.into_iter().map(|p| (spec.name.clone(), p)));
        outcome.ready += usize::from(ok);
    }
    outcome
}

/// The status after a reconcile (pure).
pub fn status_after(sd: &ServiceDeployment, deployment: &Deployment, topics: &TopicOutcome) -> ServiceDeploymentStatus {
    let previous = sd.status.clone().unwrap_or_default();
    let generation = sd.meta().generation;
    let desired = deployment.spec.as_ref().and_then(|s| s.replicas).unwrap_or(sd.spec.replicas);
    let ready_replicas = deployment.status.as_ref().and_then(|s| s.ready_replicas).unwrap_or(0);
    let available = deployment
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.type_ == "Available"))
        .is_some_and(|c| c.status == "True");
    let wanted = sd.spec.topics.len();
    let (topics_ok, topics_reason, topics_message) = match (&topics.failure, topics.problems.first()) {
        (Some(e), _) => (false, "KafkaUnavailable", e.clone()),
        (None, Some((name, p @ Problem::PartitionDecrease { .. }))) => (false, "PartitionDecreaseRefused", format!("topic {name:?} {p}")),
        (None, Some((name, p))) => (false, "ReplicationChangeRefused", format!("topic {name:?} {p}")),
        (None, None) => (true, "TopicsInPlace", format!("{wanted} topics match the spec")),
    };
    let avail_message = format!("{ready_replicas}/{desired} replicas ready");
    let ready = topics_ok && available;
    let ready_reason = if !topics_ok {
        topics_reason
    } else if available {
        "Ready"
    } else {
        "Unavailable"
    };
    let fresh = vec![
        Condition::new("Applied", true, "ChildrenApplied", "Deployment, Service and ConfigMap applied", generation),
        Condition::new("TopicsReady", topics_ok, topics_reason, topics_message, generation),
        Condition::new(
            "Available",
            available,
            if available { "MinimumReplicasAvailable" } else { "Unavailable" },
            avail_message.clone(),
            generation,
        ),
        Condition::new("Ready", ready, ready_reason, avail_message, generation),
    ];
    ServiceDeploymentStatus {
        observed_generation: generation,
        conditions: conditions::merge(&previous.conditions, fresh),
        replicas: desired,
        ready_replicas,
        topics_ready: format!("{}/{wanted}", topics.ready),
    }
}

async fn sync(sd: &ServiceDeployment, ctx: &Context) -> Result<Action> {
    let (ns, name) = (namespace(sd), sd.name_any());
    let owner = sd.controller_owner_ref(&()).expect("a ServiceDeployment from the API server has a uid");
    let w = workload(sd, &owner, &ctx.cfg.common.kafka.topic_prefix);
    apply(ctx, &ns, &w.config).await?;
    apply(ctx, &ns, &w.service).await?;
    let deployment = apply(ctx, &ns, &w.deployment).await?;
    match &w.autoscaler {
        Some(hpa) => drop(apply(ctx, &ns, hpa).await?),
        None => remove_leftover::<HorizontalPodAutoscaler>(ctx, &ns, &name, &owner.uid).await?,
    }
    match &w.disruption_budget {
        Some(pdb) => drop(apply(ctx, &ns, pdb).await?),
        None => remove_leftover::<PodDisruptionBudget>(ctx, &ns, &name, &owner.uid).await?,
    }
    let topics = sync_topics(sd, ctx).await;
    let status = status_after(sd, &deployment, &topics);
    let changed_generation = sd.status.as_ref().and_then(|s| s.observed_generation) != sd.meta().generation;
    if sd.status.as_ref() != Some(&status) {
        let api: Api<ServiceDeployment> = Api::namespaced(ctx.client.clone(), &ns);
        let patch = serde_json::json!({ "apiVersion": "tripnest.io/v1alpha1", "kind": "ServiceDeployment", "status": status });
        api.patch_status(&name, &Context::apply(), &Patch::Apply(&patch)).await?;
    }
    if changed_generation {
        let note =
            format!("{} {} replicas of {}, {} topics", sd.spec.service.as_str(), status.replicas, sd.spec.image, status.topics_ready);
        ctx.event(sd, false, "Applied", "ApplyWorkload", note).await;
        for (topic, problem) in &topics.problems {
            ctx.event(sd, true, "TopicChangeRefused", "ApplyTopics", format!("topic {topic:?} {problem}")).await;
        }
    }
    if let Some(e) = topics.failure {
        ctx.event(sd, true, "KafkaUnavailable", "ApplyTopics", e.clone()).await;
        return Err(Error::Kafka(e));
    }
    Ok(resync(ctx))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn sd() -> ServiceDeployment {
        serde_json::from_value(json!({
            "apiVersion": "tripnest.io/v1alpha1", "kind": "ServiceDeployment",
            "metadata": { "name": "booking", "namespace": "platform", "generation": 4 },
            "spec": { "service": "booking", "image": "b:1", "replicas": 2, "topics": [{ "name": "a" }, { "name": "b" }] }
        }))
        .expect("sd")
    }

    fn deployment(ready: i32, available: bool) -> Deployment {
        serde_json::from_value(json!({
            "spec": { "replicas": 2, "selector": {}, "template": {} },
            "status": { "readyReplicas": ready, "conditions": [{ "type": "Available", "status": if available { "True" } else { "False" } }] }
        }))
        .expect("deployment")
    }

    #[test]
    fn status_counts_replicas_and_topics() {
        let s = status_after(&sd(), &deployment(2, true), &TopicOutcome { ready: 2, ..Default::default() });
        assert_eq!((s.replicas, s.ready_replicas, s.topics_ready.as_str()), (2, 2, "2/2"));
        assert!(conditions::find(&s.conditions, "Ready").expect("ready").is_true());
    }

    #[test]
    fn a_partition_decrease_is_a_clear_condition() {
        let topics =
            TopicOutcome { ready: 1, problems: vec![("a".into(), Problem::PartitionDecrease { have: 6, want: 3 })], failure: None };
        let s = status_after(&sd(), &deployment(0, false), &topics);
        let c = conditions::find(&s.conditions, "TopicsReady").expect("topics");
        assert_eq!((c.status.as_str(), c.reason.as_str()), ("False", "PartitionDecreaseRefused"));
        assert!(c.message.contains("\"a\"") && c.message.contains("only grow"), "{}", c.message);
        assert_eq!(s.topics_ready, "1/2");
        assert_eq!(conditions::find(&s.conditions, "Ready").expect("ready").reason, "PartitionDecreaseRefused");
    }
}
