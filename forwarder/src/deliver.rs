//! The delivery workers: take a change from the outbox, POST it until the webhook acknowledges
//! it, record it as delivered, free its object's lane. A change is never given up: at shutdown
//! a worker still retrying is stopped, and the change, not recorded as delivered, is sent again
//! after the restart (from the saved state's diff).

use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::payload::Change;
use crate::probes::Health;
use crate::retry::{Backoff, Failure, Pace};
use crate::state_store::Delivered;
use std::sync::Arc;
use std::time::Duration;
use tracing::{debug, error, warn};

/// What every worker shares.
pub struct Delivery {
    /// The queue.
    pub outbox: Arc<Outbox>,
    /// The HTTP edge.
    pub webhook: crate::webhook::Webhook,
    /// Metrics.
    pub metrics: Arc<Metrics>,
    /// Readiness.
    pub health: Arc<Health>,
    /// The acknowledged state, when it is saved (`STATE_CONFIGMAP`).
    pub delivered: Option<Arc<Delivered>>,
    /// `CLUSTER_NAME`.
    pub cluster: String,
    /// `RETRY_INITIAL_MS`.
    pub retry_initial: Duration,
    /// `RETRY_MAX_S`.
    pub retry_max: Duration,
    /// `AUTH_RETRY_S`.
    pub slow_retry: Duration,
}

impl Delivery {
    /// One worker: runs until the outbox is closed and empty.
    pub async fn worker(self: Arc<Self>) {
        while let Some(change) = self.outbox.take().await {
            self.deliver(&change).await;
            self.outbox.finish(&change.key());
        }
    }

    async fn deliver(&self, change: &Change) {
        let body = change.body(&self.cluster);
        let mut backoff = Backoff::new(self.retry_initial, self.retry_max);
        loop {
            match self.webhook.deliver(body.clone()).await {
                Ok(status) => {
                    self.metrics.delivered(
                        change.kind,
                        change.change,
                        change.observed.elapsed().as_secs_f64(),
                    );
                    if let Some(delivered) = &self.delivered {
                        delivered.record(change);
                    }
                    self.health.delivery(true);
                    debug!(
                        kind = %change.kind, r#type = %change.change, name = change.key().name,
                        namespace = change.key().namespace, resource_version = change.resource_version(),
                        synthetic = change.synthetic, status, "delivered"
                    );
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

    fn log_failure(&self, change: &Change, failure: Failure, wait: Duration) {
        let key = change.key();
        let retry_in_s = wait.as_secs_f64();
        match failure.pace() {
            Pace::Slow => error!(
                reason = failure.reason(), kind = %change.kind, name = key.name, namespace = key.namespace,
                retry_in_s, "configuration error: {failure}; retrying slowly, nothing is dropped"
            ),
            Pace::Backoff => warn!(
                reason = failure.reason(), kind = %change.kind, name = key.name, namespace = key.namespace,
                retry_in_s, "delivery failed: {failure}; retrying"
            ),
        }
    }
}
