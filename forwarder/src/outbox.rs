//! The delivery queue shared by the watches (producers) and the delivery workers (consumers):
//! [`crate::queue::Queue`]'s rules behind a lock, with waiting instead of refusing.
//!
//! [`Outbox::push`] waits while the queue is full. The watch that pushes stops reading its
//! stream meanwhile, so the API server's watch connection backs up instead of the forwarder
//! dropping anything. [`Outbox::take`] waits for a deliverable change; [`Outbox::finish`] frees
//! the object's lane for its next change.

use crate::deliver::Deliverable;
use crate::metrics::Metrics;
use crate::payload::Change;
use crate::queue::{Full, Keyed, Pushed, Queue};
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use tokio::sync::Notify;

/// The shared delivery queue.
pub struct Outbox<T: Deliverable = Change> {
    queue: Mutex<Queue<T>>,
    /// Signalled when a waiting slot frees up.
    space: Notify,
    /// Signalled when a change may have become deliverable, or on close.
    work: Notify,
    closed: AtomicBool,
    metrics: Arc<Metrics>,
}

impl<T: Deliverable> Outbox<T> {
    /// An empty outbox holding at most `capacity` waiting changes.
    pub fn new(capacity: usize, coalesce: bool, metrics: Arc<Metrics>) -> Self {
        Outbox {
            queue: Mutex::new(Queue::new(capacity, coalesce)),
            space: Notify::new(),
            work: Notify::new(),
            closed: AtomicBool::new(false),
            metrics,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Queue<T>> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn gauges(&self, q: &Queue<T>) {
        self.metrics.queue_depth.set(q.waiting() as i64);
        self.metrics.in_flight.set(q.busy() as i64);
    }

    /// Queues `change`, waiting while the queue is full.
    pub async fn push(&self, mut change: T) {
        let kind = change.kind_label();
        // Counted before it can be delivered, so "observed" never lags behind "delivered".
        self.metrics.observed(kind, change.type_label());
        loop {
            let mut space = pin!(self.space.notified());
            space.as_mut().enable();
            {
                let mut q = self.lock();
                match q.push(change) {
                    Ok(pushed) => {
                        if pushed == Pushed::Coalesced {
                            self.metrics.coalesced(kind);
                        }
                        self.gauges(&q);
                        drop(q);
                        self.work.notify_one();
                        return;
                    }
                    Err(Full(back)) => change = back,
                }
            }
            space.await;
        }
    }

    /// The next deliverable change; `None` once the outbox is closed and nothing waits.
    pub async fn take(&self) -> Option<T> {
        loop {
            let mut work = pin!(self.work.notified());
            work.as_mut().enable();
            {
                let mut q = self.lock();
                if let Some(change) = q.take() {
                    self.gauges(&q);
                    let more = q.waiting() > 0;
                    drop(q);
                    self.space.notify_one();
                    if more {
                        // Pass the wake-up on: another worker may take the next lane.
                        self.work.notify_one();
                    }
                    return Some(change);
                }
                if self.closed.load(Ordering::Acquire) && q.waiting() == 0 {
                    drop(q);
                    self.work.notify_waiters();
                    return None;
                }
            }
            work.await;
        }
    }

    /// The change taken for `key` is done (delivered or abandoned at shutdown).
    pub fn finish(&self, key: &<T as Keyed>::Key) {
        let mut q = self.lock();
        q.finish(key);
        self.gauges(&q);
        drop(q);
        self.work.notify_one();
    }

    /// No more pushes will come: workers return once the queue is empty.
    pub fn close(&self) {
        self.closed.store(true, Ordering::Release);
        self.work.notify_waiters();
    }

    /// Changes waiting and being delivered.
    pub fn pending(&self) -> usize {
        let q = self.lock();
        q.waiting() + q.busy()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::kinds::Kind;
    use crate::object::Object;
    use crate::payload::{Change, ChangeType};
    use serde_json::json;
    use std::time::Duration;

    fn change(name: &str, rv: u32) -> Change {
        let obj = json!({"metadata": {"name": name, "namespace": "ns", "uid": name, "resourceVersion": rv.to_string()}});
        let obj = Object::new(Kind::PersistentVolumeClaim, obj);
        Change::now(ChangeType::Added, Arc::new(obj), false)
    }

    #[tokio::test]
    async fn push_waits_while_full_and_resumes_when_a_worker_takes() {
        let outbox: Arc<Outbox> = Arc::new(Outbox::new(1, false, Arc::new(Metrics::new())));
        outbox.push(change("a", 1)).await;
        let blocked = tokio::spawn({
            let outbox = outbox.clone();
            async move { outbox.push(change("b", 1)).await }
        });
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(
            !blocked.is_finished(),
            "the second push must wait for space"
        );
        let a = outbox.take().await.unwrap();
        assert_eq!(a.key().name, "a");
        blocked.await.unwrap();
        outbox.finish(&a.key());
        assert_eq!(outbox.take().await.unwrap().key().name, "b");
    }

    #[tokio::test]
    async fn take_returns_none_after_close_once_drained() {
        let outbox: Arc<Outbox> = Arc::new(Outbox::new(10, false, Arc::new(Metrics::new())));
        outbox.push(change("a", 1)).await;
        outbox.close();
        let a = outbox.take().await.unwrap();
        outbox.finish(&a.key());
        assert!(outbox.take().await.is_none());
        assert_eq!(outbox.pending(), 0);
    }

    #[tokio::test]
    async fn concurrent_workers_keep_per_object_order() {
        let outbox: Arc<Outbox> = Arc::new(Outbox::new(8, false, Arc::new(Metrics::new())));
        let delivered = Arc::new(Mutex::new(Vec::new()));
        let workers: Vec<_> = (0..4)
            .map(|_| {
                let (outbox, delivered) = (outbox.clone(), delivered.clone());
                tokio::spawn(async move {
                    while let Some(c) = outbox.take().await {
                        tokio::time::sleep(Duration::from_millis(fastrand::u64(0..3))).await;
                        delivered
                            .lock()
                            .unwrap()
                            .push((c.key().name, c.resource_version().to_owned()));
                        outbox.finish(&c.key());
                    }
                })
            })
            .collect();
        for rv in 0..50 {
            for name in ["a", "b", "c"] {
                outbox.push(change(name, rv)).await;
            }
        }
        outbox.close();
        for w in workers {
            w.await.unwrap();
        }
        let delivered = delivered.lock().unwrap();
        assert_eq!(delivered.len(), 150);
        for name in ["a", "b", "c"] {
            let rvs: Vec<u32> = delivered
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, rv)| rv.parse().unwrap())
                .collect();
            assert_eq!(rvs, (0..50).collect::<Vec<_>>(), "order of {name}");
        }
    }
}
