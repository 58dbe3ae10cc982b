//! The ServiceDeployment controller: server-side applies the workload (Deployment, Service,
//! ConfigMap, and an HPA/PDB when asked; deletes those two when the spec drops them), then
//! brings the Kafka topics in line. A partition decrease or replication change is reported as
//! `TopicsReady=False` and left alone — not retried as an error. A topic counts as ready only
//! once the broker's metadata shows it as the spec asks (that follows the admin call's answer by
//! a moment: `TopicsPending`, looked at again a second later).
//!
//! It also reads the Deployment's pods (one label-selected list per reconcile; pod changes
//! trigger a reconcile through a label-selected watch): a container stuck on its image, its
//! configuration or a crash loop, or a pod no node takes, makes `Ready=False` with the
//! kubelet's reason, and one Warning Event per distinct cause.

use super::{Context, Error, Result, error_policy, key, namespace, observe, pods, resync};
use crate::{
    desired::{
        MANAGED_BY,
        workload::{POD_LABEL, pod_selector, workload},
    },
    resources::{
        ServiceDeployment, ServiceDeploymentStatus,
        conditions::{self, Condition},
    },
    topics::{self, Problem},
};
use futures::StreamExt;
use k8s_openapi::api::{
    apps::v1::Deployment,
    autoscaling::v2::HorizontalPodAutoscaler,
    core::v1::{ConfigMap, Pod, Service},
    policy::v1::PodDisruptionBudget,
};
use kube::{
    Api, Resource, ResourceExt,
    api::{DeleteParams, ListParams, Patch},
    runtime::{
        Controller,
        controller::{Action, Config as ControllerConfig},
        reflector::ObjectRef,
        watcher,
    },
};
use serde::{Serialize, de::DeserializeOwned};
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

const CONTROLLER: &str = "servicedeployment";

/// Run the controller until `stop` fires.
pub async fn run(ctx: Arc<Context>, stop: CancellationToken) {
    let managed = format!("app.kubernetes.io/managed-by={MANAGED_BY}");
    let owned = || watcher::Config::default().labels(&managed).any_semantic();
    Controller::new(ctx.watched::<ServiceDeployment>(), watcher::Config::default().any_semantic())
        .owns(ctx.watched::<Deployment>(), owned())
        .owns(ctx.watched::<Service>(), owned())
        .owns(ctx.watched::<ConfigMap>(), owned())
        .owns(ctx.watched::<HorizontalPodAutoscaler>(), owned())
        .owns(ctx.watched::<PodDisruptionBudget>(), owned())
        // Pods belong to ReplicaSets, not to us: map them back by the label the template sets.
        .watches(ctx.watched::<Pod>(), watcher::Config::default().labels(&format!("{POD_LABEL},{managed}")).any_semantic(), |pod| {
            let name = pod.labels().get(POD_LABEL)?.clone();
            Some(ObjectRef::<ServiceDeployment>::new(&name).within(&pod.namespace()?))
        })
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
    /// Topics the broker shows as the spec asks.
    pub ready: usize,
    /// Topics changed by this reconcile that the broker does not show as asked yet (its metadata
    /// follows a `CreateTopics` or `CreatePartitions` answer by a moment).
    pub pending: Vec<String>,
    /// Differences left alone, by topic.
    pub problems: Vec<(String, Problem)>,
    /// Kafka could not be reached or refused a change.
    pub failure: Option<String>,
}

/// Apply the steps each topic needs, then count a topic ready only once the broker's metadata
/// shows it as the spec asks: a client that reads `topicsReady` and then produces must find it.
async fn sync_topics(sd: &ServiceDeployment, ctx: &Context) -> TopicOutcome {
    let prefix = &ctx.cfg.common.kafka.topic_prefix;
    let physical: Vec<String> = sd.spec.topics.iter().map(|t| format!("{prefix}{}", t.name)).collect();
    let mut outcome = TopicOutcome::default();
    if physical.is_empty() {
        return outcome;
    }
    let replication = ctx.cfg.default_replication_factor;
    let mut observed = match ctx.topics.observe(&physical).await {
        Ok(o) => o,
        Err(e) => return TopicOutcome { failure: Some(e), ..outcome },
    };
    let mut changed = false;
    for (spec, name) in sd.spec.topics.iter().zip(&physical) {
        for step in &topics::plan(spec, replication, observed.get(name)).0 {
            match ctx.topics.apply(name, step).await {
                Ok(()) => changed = true,
                Err(e) => drop(outcome.failure.get_or_insert(e)),
            }
        }
    }
    if changed {
        match ctx.topics.observe(&physical).await {
            Ok(o) => observed = o,
            Err(e) => return TopicOutcome { failure: Some(e), ..outcome },
        }
    }
    for (spec, name) in sd.spec.topics.iter().zip(&physical) {
        let (steps, problems) = topics::plan(spec, replication, observed.get(name));
        if !steps.is_empty() {
            outcome.pending.push(spec.name.clone());
        } else if problems.is_empty() {
            outcome.ready += 1;
        }
        outcome.problems.extend(problems.into_iter().map(|p| (spec.name.clone(), p)));
    }
    outcome
}

/// The pods of `sd`'s Deployment. A failure to list is logged and reads as "no pods known":
/// the rest of the reconcile (and its status) must not depend on it.
async fn list_pods(sd: &ServiceDeployment, ctx: &Context, ns: &str) -> Vec<Pod> {
    let api: Api<Pod> = Api::namespaced(ctx.client.clone(), ns);
    match api.list(&ListParams::default().labels(&pod_selector(sd))).await {
        Ok(list) => list.items,
        Err(e) => {
            tracing::warn!(error = %e, namespace = ns, name = sd.name_any(), "could not list pods; their state is not reported");
            Vec::new()
        }
    }
}

/// The status after a reconcile (pure). A stuck pod decides `Ready` first (it is what a
/// person must fix), then the topics, then the Deployment's availability.
pub fn status_after(
    sd: &ServiceDeployment,
    deployment: &Deployment,
    topics: &TopicOutcome,
    pods: Option<&pods::PodProblem>,
) -> ServiceDeploymentStatus {
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
        (None, None) if !topics.pending.is_empty() => {
            (false, "TopicsPending", format!("changed, not yet shown by the broker: {}", topics.pending.join(", ")))
        }
        (None, None) => (true, "TopicsInPlace", format!("{wanted} topics match the spec")),
    };
    let avail_message = format!("{ready_replicas}/{desired} replicas ready");
    let ready = topics_ok && available && pods.is_none();
    let (ready_reason, ready_message) = match pods {
        Some(p) => (p.reason.as_str(), p.message.clone()),
        None if !topics_ok => (topics_reason, avail_message.clone()),
        None if available => ("Ready", avail_message.clone()),
        None => ("Unavailable", avail_message.clone()),
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
        Condition::new("Ready", ready, ready_reason, ready_message, generation),
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
    let problem = pods::problem(k8s_openapi::jiff::Timestamp::now(), &list_pods(sd, ctx, &ns).await);
    let status = status_after(sd, &deployment, &topics, problem.as_ref());
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
    report_pods(sd, ctx, problem.as_ref(), &status).await;
    if let Some(e) = topics.failure {
        ctx.event(sd, true, "KafkaUnavailable", "ApplyTopics", e.clone()).await;
        return Err(Error::Kafka(e));
    }
    if !topics.pending.is_empty() {
        return Ok(Action::requeue(std::time::Duration::from_secs(1)));
    }
    Ok(resync(ctx))
}

/// One Warning Event per distinct pod problem; forgotten once the ServiceDeployment is Ready.
async fn report_pods(sd: &ServiceDeployment, ctx: &Context, problem: Option<&pods::PodProblem>, status: &ServiceDeploymentStatus) {
    let Some(p) = problem else {
        if conditions::find(&status.conditions, "Ready").is_some_and(Condition::is_true) {
            ctx.pod_causes.forget(&key(sd));
        }
        return;
    };
    // After an operator restart the log is empty; the status shows what was already reported.
    let previous = sd.status.as_ref().and_then(|s| conditions::find(&s.conditions, "Ready"));
    let reported_before = previous.is_some_and(|c| !c.is_true() && pods::family(&c.reason) == pods::family(&p.reason));
    if ctx.pod_causes.is_new(&key(sd), &p.cause, reported_before) {
        ctx.event(sd, true, &p.reason, "CheckPods", p.message.clone()).await;
    }
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
        let s = status_after(&sd(), &deployment(2, true), &TopicOutcome { ready: 2, ..Default::default() }, None);
        assert_eq!((s.replicas, s.ready_replicas, s.topics_ready.as_str()), (2, 2, "2/2"));
        assert!(conditions::find(&s.conditions, "Ready").expect("ready").is_true());
    }

    #[test]
    fn a_partition_decrease_is_a_clear_condition() {
        let topics =
            TopicOutcome { ready: 1, problems: vec![("a".into(), Problem::PartitionDecrease { have: 6, want: 3 })], ..Default::default() };
        let s = status_after(&sd(), &deployment(0, false), &topics, None);
        let c = conditions::find(&s.conditions, "TopicsReady").expect("topics");
        assert_eq!((c.status.as_str(), c.reason.as_str()), ("False", "PartitionDecreaseRefused"));
        assert!(c.message.contains("\"a\"") && c.message.contains("only grow"), "{}", c.message);
        assert_eq!(s.topics_ready, "1/2");
        assert_eq!(conditions::find(&s.conditions, "Ready").expect("ready").reason, "PartitionDecreaseRefused");
    }

    #[test]
    fn a_topic_the_broker_does_not_show_yet_is_not_ready() {
        let topics = TopicOutcome { ready: 1, pending: vec!["booking.confirmed".into()], ..Default::default() };
        let s = status_after(&sd(), &deployment(2, true), &topics, None);
        let c = conditions::find(&s.conditions, "TopicsReady").expect("topics");
        assert_eq!((c.status.as_str(), c.reason.as_str()), ("False", "TopicsPending"));
        assert!(c.message.contains("booking.confirmed"), "{}", c.message);
        assert_eq!(s.topics_ready, "1/2");
        assert!(!conditions::find(&s.conditions, "Ready").expect("ready").is_true());
    }

    fn pull_back_off() -> Vec<Pod> {
        vec![
            serde_json::from_value(json!({ "metadata": { "name": "booking-5d8-x" }, "status": { "phase": "Pending",
            "containerStatuses": [{ "name": "booking", "image": "b:2", "imageID": "", "ready": false, "restartCount": 0,
                "state": { "waiting": { "reason": "ImagePullBackOff", "message": "Back-off pulling image \"b:2\"" } } }] } }))
            .expect("pod"),
        ]
    }

    #[test]
    fn a_stuck_pod_makes_ready_false_with_the_kubelet_reason() {
        let problem = pods::problem(k8s_openapi::jiff::Timestamp::now(), &pull_back_off());
        let s = status_after(&sd(), &deployment(2, true), &TopicOutcome { ready: 2, ..Default::default() }, problem.as_ref());
        let ready = conditions::find(&s.conditions, "Ready").expect("ready");
        assert_eq!((ready.status.as_str(), ready.reason.as_str()), ("False", "ImagePullBackOff"));
        assert_eq!(ready.message, "container \"booking\" of pod booking-5d8-x: ImagePullBackOff: Back-off pulling image \"b:2\"");
        assert!(conditions::find(&s.conditions, "Available").expect("available").is_true(), "the old pods still serve");
        assert_eq!(s.ready_replicas, 2, "readyReplicas is the Deployment's");
    }

    #[test]
    fn a_stuck_pod_outranks_a_topic_problem() {
        let topics = TopicOutcome { ready: 0, failure: Some("broker down".into()), ..Default::default() };
        let problem = pods::problem(k8s_openapi::jiff::Timestamp::now(), &pull_back_off());
        let s = status_after(&sd(), &deployment(0, false), &topics, problem.as_ref());
        assert_eq!(conditions::find(&s.conditions, "Ready").expect("ready").reason, "ImagePullBackOff");
        assert_eq!(conditions::find(&s.conditions, "TopicsReady").expect("topics").reason, "KafkaUnavailable");
    }
}
