//! The delivery workers: take a change from the outbox, POST it until the webhook acknowledges
//! it, record it as delivered, free its object's lane. A change is never given up: at shutdown
//! a worker still retrying is stopped, and the change, not recorded as delivered, is sent again
//! after the restart (from the saved state's diff, or the NFS watcher's pending journal).
//!
//! The workers know events only as [`Deliverable`]: the Kubernetes forwarder's object changes
//! ([`Change`]) and the NFS watcher's volume events share this one delivery path (auth, TLS,
//! retry, per-key order, metrics).

use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::payload::Change;
use crate::probes::Health;
use crate::queue::Keyed;
use crate::retry::{Backoff, Failure, Pace};
use crate::state_store::Delivered;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;
use tracing::{debug, error, warn};

/// At shutdown, once the outbox is closed: waits up to `grace` for the workers to empty it, then
/// stops those still retrying. Returns whether everything queued was delivered.
pub async fn drain(mut workers: JoinSet<()>, grace: Duration) -> bool {
    let drained = tokio::time::timeout(grace, async {
        while workers.join_next().await.is_some() {}
    })
    .await
    .is_ok();
    if !drained {
        workers.abort_all();
    }
    drained
}

/// What the outbox and the delivery workers need of an event, whatever produced it.
pub trait Deliverable: Keyed + Send + Sync + 'static {
    /// The `kind` label of the metrics.
    fn kind_label(&self) -> &'static str;
    /// The `type` label of the metrics.
    fn type_label(&self) -> &'static str;
    /// The webhook body, from cluster `cluster`.
    fn body(&self, cluster: &str) -> Vec<u8>;
    /// When the event was observed (monotonic), for the delivery latency.
    fn observed(&self) -> Instant;
    /// What logs name the event by.
    fn describe(&self) -> String;
}

/// Told about every event the webhook acknowledged (to record what was delivered).
pub trait Acknowledge<T>: Send + Sync {
    /// `item` got a 2xx.
    fn acknowledged(&self, item: &T);
}

impl Deliverable for Change {
    fn kind_label(&self) -> &'static str {
        self.kind.name()
    }

    fn type_label(&self) -> &'static str {
        self.change.as_str()
    }

    fn body(&self, cluster: &str) -> Vec<u8> {
        Change::body(self, cluster)
    }

    fn observed(&self) -> Instant {
        self.observed
    }

    fn describe(&self) -> String {
        let key = self.key();
        format!(
            "{} {} {}/{} rv {}{}",
            self.change,
            self.kind,
            key.namespace,
            key.name,
            self.resource_version(),
            if self.synthetic { " (synthetic)" } else { "" }
        )
    }
}

impl Acknowledge<Change> for Delivered {
    fn acknowledged(&self, item: &Change) {
        self.record(item);
    }
}

/// What every worker shares.
pub struct Delivery<T: Deliverable = Change> {
    /// The queue.
    pub outbox: Arc<Outbox<T>>,
    /// The HTTP edge.
    pub webhook: crate::webhook::Webhook,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Readiness.
    pub health: Arc<Health>,
    /// Told about every acknowledged event (the forwarder's saved state, the NFS watcher's
    /// pending journal).
    pub delivered: Option<Arc<dyn Acknowledge<T>>>,
    /// `CLUSTER_NAME`.
    pub cluster: String,
    /// `RETRY_INITIAL_MS`.
    pub retry_initial: Duration,
    /// `RETRY_MAX_S`.
    pub retry_max: Duration,
    /// `AUTH_RETRY_S`.
    pub slow_retry: Duration,
}

impl<T: Deliverable> Delivery<T> {
    /// Starts `count` workers.
    pub fn spawn_workers(self: &Arc<Self>, count: usize) -> JoinSet<()>
    where
        T::Key: Send,
    {
        let mut workers = JoinSet::new();
        for _ in 0..count {
            workers.spawn(self.clone().worker());
        }
        workers
    }

    /// One worker: runs until the outbox is closed and empty.
    pub async fn worker(self: Arc<Self>) {
        while let Some(change) = self.outbox.take().await {
            self.deliver(&change).await;
            self.outbox.finish(&change.key());
        }
    }

    async fn deliver(&self, change: &T) {
        let body = change.body(&self.cluster);
        let mut backoff = Backoff::new(self.retry_initial, self.retry_max);
        loop {
            match self.webhook.deliver(body.clone()).await {
                Ok(status) => {
                    self.metrics.delivered(
                        change.kind_label(),
                        change.type_label(),
                        change.observed().elapsed().as_secs_f64(),
                    );
                    if let Some(delivered) = &self.delivered {
                        delivered.acknowledged(change);
                    }
                    self.health.delivery(true);
                    debug!(event = change.describe(), status, "delivered");
                    return;
                }
                Err(failure) => {
                    self.metrics.failure(failure.reason());
                    self.health.delivery(false);
                    let wait = match failure.pace() {
                        Pace::Backoff => backoff.next_delay(fastrand::f64()),
                        Pace::Slow => self.slow_retry,
                    };
                    self.log_failure(change, failure, wait);
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    fn log_failure(&self, change: &T, failure: Failure, wait: Duration) {
        let (event, retry_in_s) = (change.describe(), wait.as_secs_f64());
        match failure.pace() {
            Pace::Slow => error!(
                reason = failure.reason(),
                kind = change.kind_label(),
                event,
                retry_in_s,
                "configuration error: {failure}; retrying slowly, nothing is dropped"
            ),
            Pace::Backoff => warn!(
                reason = failure.reason(),
                kind = change.kind_label(),
                event,
                retry_in_s,
                "delivery failed: {failure}; retrying"
            ),
        }
    }
}
