//! Kafka topics a `ServiceDeployment` lists, made real through rdkafka's admin API.
//!
//! [`plan`] is pure: from a topic's spec and what the broker has, it decides the steps
//! (create, grow partitions, replace the topic's dynamic config) and the problems it will not
//! "fix" — Kafka cannot remove partitions, and changing the replication factor needs a
//! reassignment, so both are reported as conditions instead of retried forever.

use crate::resources::service_deployment::TopicSpec;
use rdkafka::{
    ClientConfig,
    admin::{AdminClient, AdminOptions, AlterConfig, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication},
    client::DefaultClientContext,
    types::RDKafkaErrorCode,
};
use std::{collections::BTreeMap, sync::Arc, time::Duration};

/// What the broker has for one topic.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Observed {
    /// Partition count.
    pub partitions: i32,
    /// Replicas of partition 0.
    pub replication: i32,
    /// Topic-level config overrides (not broker defaults).
    pub config: BTreeMap<String, String>,
}

/// One change to make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// The topic does not exist yet.
    Create {
        /// Partitions the topic is created with.
        partitions: i32,
        /// Replication factor.
        replication: i32,
        /// Topic config.
        config: BTreeMap<String, String>,
    },
    /// Raise the partition count.
    Grow {
        /// New count.
        partitions: i32,
    },
    /// Replace the topic-level config with exactly this.
    SetConfig(BTreeMap<String, String>),
}

/// A difference the operator reports but will not act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// The spec asks for fewer partitions than exist.
    PartitionDecrease {
        /// Partitions on the broker.
        have: i32,
        /// Partitions in the spec.
        want: i32,
    },
    /// The spec asks for another replication factor.
    ReplicationChange {
        /// Replicas on the broker.
        have: i32,
        /// Replicas in the spec.
        want: i32,
    },
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::PartitionDecrease { have, want } => {
                write!(f, "has {have} partitions but the spec asks for {want}; partitions can only grow")
            }
            Self::ReplicationChange { have, want } => {
                write!(f, "has replication factor {have} but the spec asks for {want}; that needs a partition reassignment")
            }
        }
    }
}

/// The config a spec asks for: `config` plus `retention.ms`.
pub fn desired_config(spec: &TopicSpec) -> BTreeMap<String, String> {
    let mut config = spec.config.clone();
    if let Some(ms) = spec.retention_ms {
        config.insert("retention.ms".into(), ms.to_string());
    }
    config
}

/// The steps that bring the broker to `spec`, and the differences left as they are.
pub fn plan(spec: &TopicSpec, default_replication: i32, observed: Option<&Observed>) -> (Vec<Step>, Vec<Problem>) {
    let replication = spec.replication_factor.unwrap_or(default_replication);
    let config = desired_config(spec);
    let Some(have) = observed else {
        return (vec![Step::Create { partitions: spec.partitions, replication, config }], vec![]);
    };
    let (mut steps, mut problems) = (vec![], vec![]);
    if spec.partitions > have.partitions {
        steps.push(Step::Grow { partitions: spec.partitions });
    } else if spec.partitions < have.partitions {
        problems.push(Problem::PartitionDecrease { have: have.partitions, want: spec.partitions });
    }
    if spec.replication_factor.is_some_and(|want| want != have.replication) {
        problems.push(Problem::ReplicationChange { have: have.replication, want: replication });
    }
    if config != have.config {
        steps.push(Step::SetConfig(config));
    }
    (steps, problems)
}

/// A Kafka admin connection, shared by reconciles.
#[derive(Clone)]
pub struct TopicAdmin {
    admin: Arc<AdminClient<DefaultClientContext>>,
}

impl std::fmt::Debug for TopicAdmin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TopicAdmin").finish_non_exhaustive()
    }
}

const TIMEOUT: Duration = Duration::from_secs(10);

impl TopicAdmin {
    /// Connect lazily to `bootstrap`.
    pub fn new(bootstrap: &str) -> Result<Self, rdkafka::error::KafkaError> {
        let admin = ClientConfig::new().set("bootstrap.servers", bootstrap).set("allow.auto.create.topics", "false").create()?;
        Ok(Self { admin: Arc::new(admin) })
    }

    /// What the broker has for each of `names` (absent names do not exist).
    pub async fn observe(&self, names: &[String]) -> Result<BTreeMap<String, Observed>, String> {
        let admin = self.admin.clone();
        // Metadata for all topics: asking for one by name could auto-create it.
        let metadata = tokio::task::spawn_blocking(move || admin.inner().fetch_metadata(None, TIMEOUT))
            .await
            .map_err(|e| e.to_string())?
            .map_err(|e| format!("metadata: {e}"))?;
        let mut found: BTreeMap<String, Observed> = metadata
            .topics()
            .iter()
            .filter(|t| names.iter().any(|n| n == t.name()) && t.error().is_none())
            .map(|t| {
                let replication = t.partitions().first().map_or(0, |p| p.replicas().len() as i32);
                (t.name().to_owned(), Observed { partitions: t.partitions().len() as i32, replication, config: BTreeMap::new() })
            })
            .collect();
        if found.is_empty() {
            return Ok(found);
        }
        let specifiers: Vec<ResourceSpecifier<'_>> = found.keys().map(|n| ResourceSpecifier::Topic(n)).collect();
        let described = self.admin.describe_configs(&specifiers, &options()).await.map_err(|e| format!("describe configs: {e}"))?;
        let configs: Vec<(String, BTreeMap<String, String>)> = described
            .into_iter()
            .filter_map(Result::ok)
            .filter_map(|r| match r.specifier {
                rdkafka::admin::OwnedResourceSpecifier::Topic(name) => {
                    let overrides = r
                        .entries
                        .into_iter()
                        .filter(|e| e.source == ConfigSource::DynamicTopic)
                        .filter_map(|e| e.value.map(|v| (e.name, v)))
                        .collect();
                    Some((name, overrides))
                }
                _ => None,
            })
            .collect();
        for (name, config) in configs {
            if let Some(o) = found.get_mut(&name) {
                o.config = config;
            }
        }
        Ok(found)
    }

    /// Carry out one step on the physical topic `name`.
    pub async fn apply(&self, name: &str, step: &Step) -> Result<(), String> {
        let outcome = match step {
            Step::Create { partitions, replication, config } => {
                let mut topic = NewTopic::new(name, *partitions, TopicReplication::Fixed(*replication));
                for (k, v) in config {
                    topic = topic.set(k, v);
                }
                self.admin.create_topics([&topic], &options()).await.map_err(|e| e.to_string())?.pop()
            }
            Step::Grow { partitions } => {
                let grow = NewPartitions::new(name, *partitions as usize);
                self.admin.create_partitions([&grow], &options()).await.map_err(|e| e.to_string())?.pop()
            }
            Step::SetConfig(config) => {
                let mut alter = AlterConfig::new(ResourceSpecifier::Topic(name));
                for (k, v) in config {
                    alter = alter.set(k, v);
                }
                let result = self.admin.alter_configs([&alter], &options()).await.map_err(|e| e.to_string())?.pop();
                return match result {
                    Some(Err((_, code))) => Err(format!("altering the config of {name}: {code}")),
                    _ => Ok(()),
                };
            }
        };
        match outcome {
            Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) | Some(Ok(_)) | None => Ok(()),
            Some(Err((_, code))) => Err(format!("{step:?} on {name}: {code}")),
        }
    }
}

fn options() -> AdminOptions {
    AdminOptions::new().request_timeout(Some(TIMEOUT)).operation_timeout(Some(TIMEOUT))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(partitions: i32, retention_ms: Option<i64>) -> TopicSpec {
        TopicSpec { name: "booking.created".into(), partitions, replication_factor: None, retention_ms, config: BTreeMap::new() }
    }

    fn have(partitions: i32, config: &[(&str, &str)]) -> Observed {
        Observed { partitions, replication: 1, config: config.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect() }
    }

    #[test]
    fn a_missing_topic_is_created_with_its_config() {
        let (steps, problems) = plan(&spec(6, Some(86_400_000)), 1, None);
        let config = BTreeMap::from([("retention.ms".to_owned(), "86400000".to_owned())]);
        assert_eq!(steps, [Step::Create { partitions: 6, replication: 1, config }]);
        assert!(problems.is_empty());
    }

    #[test]
    fn partitions_grow_but_never_shrink() {
        assert_eq!(plan(&spec(8, None), 1, Some(&have(4, &[]))).0, [Step::Grow { partitions: 8 }]);
        let (steps, problems) = plan(&spec(2, None), 1, Some(&have(4, &[])));
        assert!(steps.is_empty());
        assert_eq!(problems, [Problem::PartitionDecrease { have: 4, want: 2 }]);
        assert!(problems[0].to_string().contains("can only grow"));
    }

    #[test]
    fn config_changes_replace_the_topic_overrides_and_equal_config_is_a_no_op() {
        let (steps, _) = plan(&spec(4, Some(1000)), 1, Some(&have(4, &[("retention.ms", "5000"), ("cleanup.policy", "compact")])));
        assert_eq!(steps, [Step::SetConfig(BTreeMap::from([("retention.ms".to_owned(), "1000".to_owned())]))]);
        assert!(plan(&spec(4, Some(1000)), 1, Some(&have(4, &[("retention.ms", "1000")]))).0.is_empty());
    }

    #[test]
    fn a_replication_change_is_reported_not_applied() {
        let mut s = spec(4, None);
        s.replication_factor = Some(3);
        let (steps, problems) = plan(&s, 1, Some(&have(4, &[])));
        assert!(steps.is_empty());
        assert_eq!(problems, [Problem::ReplicationChange { have: 1, want: 3 }]);
    }
}
