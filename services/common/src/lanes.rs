//! Handling several messages at once without giving up order where it matters, or
//! at-least-once delivery.
//!
//! [`run_consumer`](crate::kafka::run_consumer) holds at most `held` received messages (at
//! least `concurrency × batch`). Each has an *ordering key* (by default its Kafka key, the
//! aggregate id; a consumer may name another, e.g. the hotel a booking event changes).
//! [`Lanes`] runs messages of different keys at the same time (at most `concurrency` keys) and
//! messages of one key one batch after another, in the order received, which for one
//! partition is offset order. A key that runs takes everything queued behind it, up to `batch`
//! messages, as one batch: while a consumer keeps up, batches hold one message; when it falls
//! behind, the messages of one key that piled up are handled together, which a handler may
//! apply as one write. With `concurrency` 1 and `batch` 1 this is exactly "one message at a
//! time, in partition order".
//!
//! Of the keys that may run, the one whose next message was received first runs first. The
//! oldest message held is what holds the committable offset back, so this keeps the committed
//! offset (the lag a gauge shows, and what a restart redelivers) moving steadily; a plain
//! round of the ready keys left a key that had just run at the back, behind every other key,
//! with the partition's oldest message.
//!
//! Messages of one partition can therefore finish out of order. [`Watermarks`] turns finished
//! offsets into the position that may be committed: the offset after the longest run of
//! finished messages from the start, never past a message still held. A crash redelivers the
//! held messages and any finished after them, never skips one.

use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};

/// The messages held, queued by ordering key, and which keys may run.
#[derive(Debug)]
pub(crate) struct Lanes<T> {
    lanes: HashMap<Vec<u8>, Lane<T>>,
    /// Keys with queued messages and no running batch, by when their next message was
    /// received (its admission number).
    ready: BTreeMap<u64, Vec<u8>>,
    /// Admission number of the next message received.
    admitted: u64,
    held: usize,
    running: usize,
}

#[derive(Debug)]
struct Lane<T> {
    /// The queued messages with their admission numbers.
    queued: VecDeque<(u64, T)>,
    running: bool,
}

impl<T> Default for Lanes<T> {
    fn default() -> Self {
        Self { lanes: HashMap::new(), ready: BTreeMap::new(), admitted: 0, held: 0, running: 0 }
    }
}

impl<T> Lanes<T> {
    /// A received message: queued behind its key (which becomes ready if it was idle).
    pub(crate) fn admit(&mut self, key: &[u8], item: T) {
        self.held += 1;
        let n = self.admitted;
        self.admitted += 1;
        let lane = self.lanes.entry(key.to_vec()).or_insert_with(|| Lane { queued: VecDeque::new(), running: false });
        if !lane.running && lane.queued.is_empty() {
            self.ready.insert(n, key.to_vec());
        }
        lane.queued.push_back((n, item));
    }

    /// The next batch to run, when fewer than `max_running` batches run: the ready key whose
    /// next message was received first, and up to `max_batch` of its messages, in order. The
    /// key runs until [`Lanes::finish`].
    pub(crate) fn next_batch(&mut self, max_running: usize, max_batch: usize) -> Option<(Vec<u8>, Vec<T>)> {
        if self.running >= max_running {
            return None;
        }
        let (_, key) = self.ready.pop_first()?;
        let lane = self.lanes.get_mut(&key).expect("a ready key has a lane");
        let take = lane.queued.len().min(max_batch.max(1));
        let batch: Vec<T> = lane.queued.drain(..take).map(|(_, item)| item).collect();
        lane.running = true;
        self.running += 1;
        Some((key, batch))
    }

    /// The running batch of `key`, of `size` messages, finished: the key is ready again if
    /// messages wait behind it, else forgotten.
    pub(crate) fn finish(&mut self, key: &[u8], size: usize) {
        self.held = self.held.saturating_sub(size);
        self.running = self.running.saturating_sub(1);
        let Some(lane) = self.lanes.get_mut(key) else { return };
        lane.running = false;
        match lane.queued.front() {
            Some(&(n, _)) => {
                self.ready.insert(n, key.to_vec());
            }
            None => {
                self.lanes.remove(key);
            }
        }
    }

    /// Messages running or queued.
    pub(crate) fn held(&self) -> usize {
        self.held
    }
}

/// Per partition: offsets received and not finished, and the committable position.
#[derive(Debug, Default)]
pub(crate) struct Watermarks {
    partitions: HashMap<(String, i32), Partition>,
}

#[derive(Debug, Default)]
struct Partition {
    open: BTreeSet<i64>,
    /// Lowest offset received: nothing before it is ours to report.
    base: Option<i64>,
    /// Highest finished offset.
    finished: Option<i64>,
    /// Last offset reported committable.
    reported: Option<i64>,
}

impl Watermarks {
    /// A message was received.
    pub(crate) fn received(&mut self, topic: &str, partition: i32, offset: i64) {
        let p = self.partitions.entry((topic.to_owned(), partition)).or_default();
        p.open.insert(offset);
        p.base = Some(p.base.map_or(offset, |b| b.min(offset)));
    }

    /// A message was handled or parked. Returns the last offset that may now be committed
    /// (every received offset up to it finished) when that advanced.
    pub(crate) fn finished(&mut self, topic: &str, partition: i32, offset: i64) -> Option<i64> {
        let p = self.partitions.get_mut(&(topic.to_owned(), partition))?;
        p.open.remove(&offset);
        p.finished = p.finished.max(Some(offset));
        let safe = match p.open.first() {
            Some(&first) => Some(first - 1).filter(|&s| p.base.is_some_and(|b| s >= b)),
            None => p.finished,
        }?;
        if p.reported.is_some_and(|r| r >= safe) {
            return None;
        }
        p.reported = Some(safe);
        Some(safe)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_key_runs_in_order_and_other_keys_run_beside_it() {
        let mut lanes = Lanes::default();
        lanes.admit(b"a", 1);
        assert_eq!(lanes.next_batch(8, 1), Some((b"a".to_vec(), vec![1])));
        lanes.admit(b"a", 2);
        lanes.admit(b"b", 3);
        lanes.admit(b"a", 4);
        assert_eq!(lanes.next_batch(8, 1), Some((b"b".to_vec(), vec![3])), "a is busy, b is ready");
        assert_eq!(lanes.next_batch(8, 1), None, "nothing else is ready");
        assert_eq!(lanes.held(), 4);
        lanes.finish(b"a", 1);
        assert_eq!(lanes.next_batch(8, 1), Some((b"a".to_vec(), vec![2])));
        lanes.finish(b"b", 1);
        lanes.finish(b"a", 1);
        assert_eq!(lanes.next_batch(8, 1), Some((b"a".to_vec(), vec![4])));
        lanes.finish(b"a", 1);
        assert_eq!(lanes.next_batch(8, 1), None);
        assert_eq!(lanes.held(), 0);
        lanes.admit(b"a", 5);
        assert_eq!(lanes.next_batch(8, 1), Some((b"a".to_vec(), vec![5])), "a is idle again");
    }

    #[test]
    fn what_piles_up_behind_a_key_runs_as_one_batch_and_at_most_so_many_keys_run() {
        let mut lanes = Lanes::default();
        lanes.admit(b"a", 1);
        lanes.admit(b"b", 2);
        assert_eq!(lanes.next_batch(1, 3), Some((b"a".to_vec(), vec![1])));
        assert_eq!(lanes.next_batch(1, 3), None, "one key at a time");
        for i in 3..8 {
            lanes.admit(b"a", i);
        }
        lanes.finish(b"a", 1);
        assert_eq!(lanes.next_batch(1, 3), Some((b"b".to_vec(), vec![2])), "b became ready first");
        lanes.finish(b"b", 1);
        assert_eq!(lanes.next_batch(1, 3), Some((b"a".to_vec(), vec![3, 4, 5])), "at most 3, in order");
        lanes.finish(b"a", 3);
        assert_eq!(lanes.next_batch(1, 3), Some((b"a".to_vec(), vec![6, 7])));
        lanes.finish(b"a", 2);
        assert_eq!((lanes.held(), lanes.next_batch(1, 3)), (0, None));
    }

    #[test]
    fn the_key_holding_the_oldest_message_runs_first_even_if_it_became_ready_last() {
        let mut lanes = Lanes::default();
        lanes.admit(b"a", 1);
        lanes.admit(b"a", 2);
        lanes.admit(b"b", 3);
        assert_eq!(lanes.next_batch(1, 1), Some((b"a".to_vec(), vec![1])));
        lanes.admit(b"c", 4);
        // b and c became ready while a ran; a is ready again last, but holds message 2.
        lanes.finish(b"a", 1);
        assert_eq!(lanes.next_batch(1, 1), Some((b"a".to_vec(), vec![2])), "a holds the oldest message");
        lanes.finish(b"a", 1);
        assert_eq!(lanes.next_batch(1, 1), Some((b"b".to_vec(), vec![3])));
        lanes.finish(b"b", 1);
        assert_eq!(lanes.next_batch(1, 1), Some((b"c".to_vec(), vec![4])));
        lanes.finish(b"c", 1);
        assert_eq!((lanes.held(), lanes.next_batch(1, 1)), (0, None));
    }

    #[test]
    fn the_committable_offset_never_passes_a_message_still_held() {
        let mut w = Watermarks::default();
        for o in 10..14 {
            w.received("t", 0, o);
        }
        w.received("t", 1, 7);
        assert_eq!(w.finished("t", 0, 12), None, "10 and 11 are still held");
        assert_eq!(w.finished("t", 0, 10), Some(10));
        assert_eq!(w.finished("t", 1, 7), Some(7), "partitions are independent");
        assert_eq!(w.finished("t", 0, 11), Some(12), "10..=12 finished, 13 held");
        assert_eq!(w.finished("t", 0, 13), Some(13));
        w.received("t", 0, 14);
        w.received("t", 0, 15);
        assert_eq!(w.finished("t", 0, 15), None);
        assert_eq!(w.finished("t", 0, 14), Some(15));
    }

    #[test]
    fn a_redelivered_earlier_offset_holds_the_mark_back_without_moving_it_backwards() {
        let mut w = Watermarks::default();
        w.received("t", 0, 5);
        assert_eq!(w.finished("t", 0, 5), Some(5));
        // After a rebalance the partition starts again at 3 (its last commit).
        w.received("t", 0, 3);
        w.received("t", 0, 4);
        assert_eq!(w.finished("t", 0, 4), None, "3 is held, and 5 was reported already");
        assert_eq!(w.finished("t", 0, 3), None, "nothing past 5 finished");
        w.received("t", 0, 6);
        assert_eq!(w.finished("t", 0, 6), Some(6));
    }
}
