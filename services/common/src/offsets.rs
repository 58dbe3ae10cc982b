//! A consumer's progress: which offsets were handled, when they are committed, and how far the
//! group is behind. [`run_consumer`](crate::kafka::run_consumer) records every handled (or
//! parked) message here; the runner commits the handled positions in batches and librdkafka
//! calls [`Progress`] (the consumer's context) back for rebalances, commit results and
//! statistics.
//!
//! - **Commits.** A partition's committed offset is the offset after the last message before
//!   which every message of that partition was handled ([`crate::lanes::Watermarks`]: the
//!   runner may handle several messages at once, so they can finish out of order). Commits are
//!   asynchronous and batched (at most every
//!   `commit_interval` or `commit_every` messages); they are synchronous on shutdown and in
//!   `pre_rebalance` when partitions are revoked, so the next owner starts after what we
//!   handled. A failed asynchronous commit puts its offsets back to be committed again. A crash
//!   can therefore only redeliver handled messages, never skip one.
//! - **Lag.** librdkafka's statistics (every `statistics.interval.ms`) carry each assigned
//!   partition's high watermark; `kafka_consumer_lag_messages{group,topic,partition}` is that
//!   minus the handled position (the committed offset before anything was handled here).
//! - **Event age.** `kafka_consumer_event_age_seconds{group,topic}` records now − the event's
//!   CloudEvents `time` (the broker timestamp if the payload has none) as each message is applied.

use rdkafka::{
    ClientContext, Offset, Statistics, TopicPartitionList,
    consumer::{BaseConsumer, CommitMode, Consumer, ConsumerContext, Rebalance},
    error::KafkaResult,
};
use std::{
    collections::{HashMap, HashSet},
    sync::{Mutex, MutexGuard},
};

type Partition = (String, i32);

#[derive(Default)]
struct State {
    assigned: HashSet<Partition>,
    /// Offset after the last handled message, per partition.
    handled: HashMap<Partition, i64>,
    /// Handled positions not yet sent in a commit.
    uncommitted: HashMap<Partition, i64>,
}

/// The consumer context that tracks progress for one group.
pub struct Progress {
    group: String,
    prefix: String,
    state: Mutex<State>,
}

impl Progress {
    pub(crate) fn new(group: &str, prefix: &str) -> Self {
        Self { group: group.to_owned(), prefix: prefix.to_owned(), state: Mutex::default() }
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves plain maps behind; keep using them.
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn logical<'a>(&self, physical: &'a str) -> &'a str {
        physical.strip_prefix(self.prefix.as_str()).unwrap_or(physical)
    }

    /// Record that every message of `topic`/`partition` up to `offset` was handled or parked.
    /// A partition revoked meanwhile is left to its new owner (which handles it again).
    pub(crate) fn handled(&self, topic: &str, partition: i32, offset: i64) {
        let mut s = self.state();
        if !s.assigned.contains(&(topic.to_owned(), partition)) {
            return;
        }
        s.handled.insert((topic.to_owned(), partition), offset + 1);
        s.uncommitted.insert((topic.to_owned(), partition), offset + 1);
    }

    /// Record the age of an applied event (seconds).
    pub(crate) fn event_age(&self, topic: &str, age_seconds: f64) {
        metrics::histogram!("kafka_consumer_event_age_seconds", "group" => self.group.clone(), "topic" => topic.to_owned())
            .record(age_seconds.max(0.0));
    }

    /// Commit the handled positions not committed yet (of `only` partitions, when given).
    pub(crate) fn commit<C: Consumer<Self>>(&self, consumer: &C, mode: CommitMode, only: Option<&TopicPartitionList>) {
        let tpl = {
            let mut s = self.state();
            let wanted = |p: &Partition| only.is_none_or(|tpl| tpl.find_partition(&p.0, p.1).is_some());
            let due: Vec<Partition> = s.uncommitted.keys().filter(|p| wanted(p)).cloned().collect();
            let mut tpl = TopicPartitionList::new();
            for p in due {
                if let Some(next) = s.uncommitted.remove(&p)
                    && let Err(e) = tpl.add_partition_offset(&p.0, p.1, Offset::Offset(next))
                {
                    tracing::warn!(error = %e, topic = p.0, partition = p.1, "cannot commit offset");
                }
            }
            tpl
        };
        if tpl.count() == 0 {
            return;
        }
        let label = match mode {
            CommitMode::Sync => "sync",
            CommitMode::Async => "async",
        };
        metrics::counter!("kafka_consumer_commits_total", "group" => self.group.clone(), "mode" => label).increment(1);
        if let Err(e) = consumer.commit(&tpl, mode) {
            // Handled effects are recorded with their event ids, so a redelivery is harmless.
            tracing::warn!(error = %e, group = self.group, "offset commit failed; messages may be redelivered");
            self.retry_later(&tpl);
        }
    }

    /// Put offsets of a failed commit back, unless a newer position or a revocation superseded them.
    fn retry_later(&self, tpl: &TopicPartitionList) {
        let mut s = self.state();
        for e in tpl.elements() {
            let p = (e.topic().to_owned(), e.partition());
            if let (Offset::Offset(next), true) = (e.offset(), s.assigned.contains(&p)) {
                s.uncommitted.entry(p).or_insert(next);
            }
        }
    }

    fn set_lag(&self, p: &Partition, lag: i64) {
        metrics::gauge!(
            "kafka_consumer_lag_messages",
            "group" => self.group.clone(),
            "topic" => self.logical(&p.0).to_owned(),
            "partition" => p.1.to_string()
        )
        .set(lag.max(0) as f64);
    }
}

impl ClientContext for Progress {
    fn stats(&self, stats: Statistics) {
        let s = self.state();
        for p in &s.assigned {
            let Some(part) = stats.topics.get(&p.0).and_then(|t| t.partitions.get(&p.1)) else { continue };
            if part.hi_offset < 0 {
                continue; // not fetched yet
            }
            let position =
                s.handled.get(p).copied().or((part.committed_offset >= 0).then_some(part.committed_offset)).unwrap_or(part.lo_offset);
            if position >= 0 {
                self.set_lag(p, part.hi_offset - position);
            }
        }
    }
}

impl ConsumerContext for Progress {
    fn pre_rebalance(&self, consumer: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Revoke(revoked) = rebalance {
            // What was handled up to the first message still held; the new owner redelivers the rest.
            self.commit(consumer, CommitMode::Sync, Some(revoked));
            let mut s = self.state();
            for e in revoked.elements() {
                let p = (e.topic().to_owned(), e.partition());
                s.assigned.remove(&p);
                s.handled.remove(&p);
                s.uncommitted.remove(&p);
                // Its new owner reports it from now on.
                self.set_lag(&p, 0);
            }
            tracing::info!(group = self.group, partitions = revoked.count(), "partitions revoked; handled offsets committed");
        }
    }

    fn post_rebalance(&self, _: &BaseConsumer<Self>, rebalance: &Rebalance<'_>) {
        if let Rebalance::Assign(assigned) = rebalance {
            let mut s = self.state();
            s.assigned.extend(assigned.elements().iter().map(|e| (e.topic().to_owned(), e.partition())));
            tracing::info!(group = self.group, partitions = assigned.count(), "partitions assigned");
        }
    }

    fn commit_callback(&self, result: KafkaResult<()>, offsets: &TopicPartitionList) {
        if let Err(e) = result {
            tracing::warn!(error = %e, group = self.group, "asynchronous offset commit failed; retrying with the next batch");
            self.retry_later(offsets);
        }
    }
}
