//! Handling several messages at once without giving up order where it matters, or
//! at-least-once delivery.
//!
//! [`run_consumer`](crate::kafka::run_consumer) holds at most `concurrency` received messages.
//! Each has an *ordering key* (by default its Kafka key, the aggregate id; a consumer may name
//! another, e.g. the hotel a booking event changes). [`Lanes`] runs messages of different keys
//! at the same time and messages of one key one after another, in the order received, which
//! for one partition is offset order. With `concurrency` 1 this is exactly "one message at a
//! time, in partition order".
//!
//! Messages of one partition can therefore finish out of order. [`Watermarks`] turns finished
//! offsets into the position that may be committed: the offset after the longest run of
//! finished messages from the start, never past a message still held. A crash redelivers the
//! held messages and any finished after them, never skips one.

use std::collections::{BTreeSet, HashMap, VecDeque};

/// Messages queued behind the one of their key that is running.
#[derive(Debug)]
pub(crate) struct Lanes<T> {
    /// A key is busy while it is in the map; its queue holds what waits behind it.
    busy: HashMap<Vec<u8>, VecDeque<T>>,
    held: usize,
}

impl<T> Default for Lanes<T> {
    fn default() -> Self {
        Self { busy: HashMap::new(), held: 0 }
    }
}

impl<T> Lanes<T> {
    /// A received message: returned when it may run now (its key is idle), else queued.
    pub(crate) fn admit(&mut self, key: &[u8], item: T) -> Option<T> {
        self.held += 1;
        match self.busy.get_mut(key) {
            Some(queue) => {
                queue.push_back(item);
                None
            }
            None => {
                self.busy.insert(key.to_vec(), VecDeque::new());
                Some(item)
            }
        }
    }

    /// The running message of `key` finished: the next one of that key, which runs now.
    pub(crate) fn finish(&mut self, key: &[u8]) -> Option<T> {
        self.held = self.held.saturating_sub(1);
        let queue = self.busy.get_mut(key)?;
        let next = queue.pop_front();
        if next.is_none() {
            self.busy.remove(key);
        }
        next
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
        assert_eq!(lanes.admit(b"a", 1), Some(1));
        assert_eq!(lanes.admit(b"a", 2), None, "a is busy");
        assert_eq!(lanes.admit(b"b", 3), Some(3), "b is idle");
        assert_eq!(lanes.admit(b"a", 4), None);
        assert_eq!(lanes.held(), 4);
        assert_eq!(lanes.finish(b"a"), Some(2));
        assert_eq!(lanes.finish(b"b"), None);
        assert_eq!(lanes.finish(b"a"), Some(4));
        assert_eq!(lanes.finish(b"a"), None);
        assert_eq!(lanes.held(), 0);
        assert_eq!(lanes.admit(b"a", 5), Some(5), "a is idle again");
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
