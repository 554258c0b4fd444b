//! The delivery queue's rules, without any async: per-object lanes, a bound, and coalescing.
//!
//! - **Per-object order.** Items are kept in one FIFO lane per key (for changes: kind, namespace,
//!   name). A lane hands out one item at a time: while its item is being delivered ([`Queue::take`]
//!   until [`Queue::finish`]) the lane is busy and its next item waits, so concurrent delivery
//!   workers never reorder changes of one object. Lanes are served round-robin in the order they
//!   became ready.
//! - **Bound.** At most `capacity` items wait (items being delivered do not count). A push into a
//!   full queue is refused and handed back, so the caller can wait: the forwarder's watch then
//!   stops reading, which is the backpressure. Nothing is ever dropped.
//! - **Coalescing.** With coalescing on, a new item that [`Keyed::supersedes`] the newest waiting
//!   item of its lane replaces it in place (for changes: a MODIFIED replacing a waiting MODIFIED of
//!   the same object), even when the queue is full, since it does not grow the queue. An item
//!   being delivered is never replaced.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

/// What the queue needs to know about its items.
pub trait Keyed {
    /// The ordering key: items with equal keys are handed out one at a time, in push order.
    type Key: Eq + Hash + Clone;

    /// The item's key.
    fn key(&self) -> Self::Key;

    /// Whether `self`, pushed after `older` (same key, still waiting), makes `older` pointless, so
    /// that only `self` needs delivering.
    fn supersedes(&self, older: &Self) -> bool;
}

/// The outcome of a successful push.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pushed {
    /// The item waits at the end of its lane.
    Queued,
    /// The item replaced the newest waiting item of its lane.
    Coalesced,
}

/// A refused push: the queue is full; the item is handed back.
#[derive(Debug)]
pub struct Full<T>(pub T);

struct Lane<T> {
    waiting: VecDeque<T>,
    busy: bool,
}

/// A bounded queue of per-key FIFO lanes.
pub struct Queue<T: Keyed> {
    lanes: HashMap<T::Key, Lane<T>>,
    ready: VecDeque<T::Key>,
    waiting: usize,
    busy: usize,
    capacity: usize,
    coalesce: bool,
}

impl<T: Keyed> Queue<T> {
    /// An empty queue holding at most `capacity` (at least 1) waiting items.
    pub fn new(capacity: usize, coalesce: bool) -> Self {
        Queue {
            lanes: HashMap::new(),
            ready: VecDeque::new(),
            waiting: 0,
            busy: 0,
            capacity: capacity.max(1),
            coalesce,
        }
    }

    /// Adds `item` at the end of its lane, coalescing when allowed; refuses when full.
    pub fn push(&mut self, item: T) -> Result<Pushed, Full<T>> {
        let key = item.key();
        if self.coalesce
            && let Some(last) = self.lanes.get_mut(&key).and_then(|l| l.waiting.back_mut())
            && item.supersedes(last)
        {
            *last = item;
            return Ok(Pushed::Coalesced);
        }
        if self.waiting >= self.capacity {
            return Err(Full(item));
        }
        let lane = self.lanes.entry(key.clone()).or_insert_with(|| Lane {
            waiting: VecDeque::new(),
            busy: false,
        });
        if !lane.busy && lane.waiting.is_empty() {
            self.ready.push_back(key);
        }
        lane.waiting.push_back(item);
        self.waiting += 1;
        Ok(Pushed::Queued)
    }

    /// The next deliverable item (the head of the longest-ready lane), marking its lane busy.
    pub fn take(&mut self) -> Option<T> {
        let key = self.ready.pop_front()?;
        let lane = self.lanes.get_mut(&key).expect("a ready lane exists");
        let item = lane
            .waiting
            .pop_front()
            .expect("a ready lane has a waiting item");
        lane.busy = true;
        self.waiting -= 1;
        self.busy += 1;
        Some(item)
    }

    /// Marks the item taken for `key` as done: its lane's next item becomes deliverable.
    pub fn finish(&mut self, key: &T::Key) {
        let Some(lane) = self.lanes.get_mut(key) else {
            return;
        };
        if !lane.busy {
            return;
        }
        lane.busy = false;
        self.busy -= 1;
        if lane.waiting.is_empty() {
            self.lanes.remove(key);
        } else {
            self.ready.push_back(key.clone());
        }
    }

    /// Items waiting (not being delivered).
    pub fn waiting(&self) -> usize {
        self.waiting
    }

    /// Items being delivered.
    pub fn busy(&self) -> usize {
        self.busy
    }

    /// Whether a push of a non-coalescing item would be refused.
    pub fn is_full(&self) -> bool {
        self.waiting >= self.capacity
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A test item: key, version, and whether it may be coalesced.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct It(&'static str, u32, bool);

    impl Keyed for It {
        type Key = &'static str;
        fn key(&self) -> &'static str {
            self.0
        }
        fn supersedes(&self, older: &Self) -> bool {
            self.2 && older.2
        }
    }

    fn drain(q: &mut Queue<It>) -> Vec<It> {
        let mut out = vec![];
        while let Some(it) = q.take() {
            q.finish(&it.key());
            out.push(it);
        }
        out
    }

    #[test]
    fn keeps_per_key_order_and_serves_keys_round_robin() {
        let mut q = Queue::new(10, false);
        for it in [
            It("a", 1, false),
            It("a", 2, false),
            It("b", 1, false),
            It("a", 3, false),
        ] {
            q.push(it).unwrap();
        }
        assert_eq!(
            drain(&mut q),
            [
                It("a", 1, false),
                It("b", 1, false),
                It("a", 2, false),
                It("a", 3, false)
            ]
        );
        assert_eq!((q.waiting(), q.busy()), (0, 0));
    }

    #[test]
    fn a_busy_lane_holds_back_its_next_item() {
        let mut q = Queue::new(10, false);
        q.push(It("a", 1, false)).unwrap();
        q.push(It("a", 2, false)).unwrap();
        q.push(It("b", 1, false)).unwrap();
        let first = q.take().unwrap();
        assert_eq!(first, It("a", 1, false));
        // "a" is busy: the next deliverable item is b's, and after that nothing.
        assert_eq!(q.take(), Some(It("b", 1, false)));
        assert_eq!(q.take(), None);
        q.finish(&"a");
        assert_eq!(q.take(), Some(It("a", 2, false)));
    }

    #[test]
    fn full_queue_refuses_and_hands_the_item_back() {
        let mut q = Queue::new(2, false);
        q.push(It("a", 1, false)).unwrap();
        q.push(It("b", 1, false)).unwrap();
        assert!(q.is_full());
        let Err(Full(back)) = q.push(It("c", 1, false)) else {
            panic!("push into a full queue must be refused")
        };
        assert_eq!(back, It("c", 1, false));
        // Taking one frees a slot even before the delivery finishes.
        let taken = q.take().unwrap();
        assert_eq!(q.push(It("c", 1, false)).unwrap(), Pushed::Queued);
        q.finish(&taken.key());
        assert_eq!(drain(&mut q).len(), 2);
    }

    #[test]
    fn coalesces_into_the_newest_waiting_item_only() {
        let mut q = Queue::new(10, true);
        q.push(It("a", 1, true)).unwrap();
        assert_eq!(q.push(It("a", 2, true)).unwrap(), Pushed::Coalesced);
        q.push(It("a", 3, false)).unwrap();
        // The newest waiting item (3) may not be coalesced: 4 queues behind it.
        assert_eq!(q.push(It("a", 4, true)).unwrap(), Pushed::Queued);
        assert_eq!(q.push(It("a", 5, true)).unwrap(), Pushed::Coalesced);
        assert_eq!(
            drain(&mut q),
            [It("a", 2, true), It("a", 3, false), It("a", 5, true)]
        );
    }

    #[test]
    fn never_coalesces_the_item_being_delivered() {
        let mut q = Queue::new(10, true);
        q.push(It("a", 1, true)).unwrap();
        let busy = q.take().unwrap();
        assert_eq!(q.push(It("a", 2, true)).unwrap(), Pushed::Queued);
        assert_eq!(q.push(It("a", 3, true)).unwrap(), Pushed::Coalesced);
        q.finish(&busy.key());
        assert_eq!(drain(&mut q), [It("a", 3, true)]);
    }

    #[test]
    fn coalescing_is_allowed_when_full_because_it_does_not_grow() {
        let mut q = Queue::new(1, true);
        q.push(It("a", 1, true)).unwrap();
        assert_eq!(q.push(It("a", 2, true)).unwrap(), Pushed::Coalesced);
        assert!(q.push(It("b", 1, true)).is_err());
        assert_eq!(q.waiting(), 1);
    }

    #[test]
    fn coalescing_off_keeps_every_item() {
        let mut q = Queue::new(10, false);
        for v in 1..=3 {
            assert_eq!(q.push(It("a", v, true)).unwrap(), Pushed::Queued);
        }
        assert_eq!(drain(&mut q).len(), 3);
    }

    #[test]
    fn finish_of_an_unknown_or_idle_key_changes_nothing() {
        let mut q: Queue<It> = Queue::new(1, false);
        q.finish(&"zz");
        q.push(It("a", 1, false)).unwrap();
        q.finish(&"a");
        assert_eq!((q.waiting(), q.busy()), (1, 0));
        assert_eq!(drain(&mut q), [It("a", 1, false)]);
    }
}
