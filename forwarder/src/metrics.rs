//! The Prometheus metrics served on `/metrics` (OpenMetrics text), all prefixed
//! `ocpdr_forwarder_`:
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `events_observed_total` | kind, type | changes queued for delivery (watch events and synthetic ones) |
//! | `events_delivered_total` | kind, type | changes the webhook acknowledged with 2xx |
//! | `events_coalesced_total` | kind | waiting MODIFIED replaced by a newer one (`COALESCE`) |
//! | `delivery_failures_total` | reason | failed attempts: `connect`, `timeout`, `http_<code>`, `other` |
//! | `queue_depth` | | changes waiting (not counting those being delivered) |
//! | `deliveries_in_flight` | | changes being delivered |
//! | `delivery_latency_seconds` | | histogram, from observing a change to the webhook's 2xx |
//! | `last_success_timestamp_seconds` | | Unix time of the last acknowledged delivery |
//! | `relists_total` | kind | full relists after the first list (410 Gone, watch restarts) |
//! | `known_objects` | kind | objects currently forwarded |
//! | `state_saves_total` | result | saves of `STATE_CONFIGMAP`, `ok` or `error` |

use crate::kinds::Kind;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// `kind` and `type` labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindType {
    kind: &'static str,
    r#type: &'static str,
}

/// A `kind` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    kind: &'static str,
}

/// A `reason` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Reason {
    reason: String,
}

/// A `result` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Outcome {
    result: &'static str,
}

/// Every metric of the forwarder, and the registry that encodes them.
pub struct Metrics {
    registry: Registry,
    observed: Family<KindType, Counter>,
    delivered: Family<KindType, Counter>,
    coalesced: Family<KindLabel, Counter>,
    failures: Family<Reason, Counter>,
    /// Changes waiting.
    pub queue_depth: Gauge,
    /// Changes being delivered.
    pub in_flight: Gauge,
    latency: Histogram,
    last_success: Gauge<f64, AtomicU64>,
    relists: Family<KindLabel, Counter>,
    known: Family<KindLabel, Gauge>,
    state_saves: Family<Outcome, Counter>,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    /// All metrics at zero, registered.
    pub fn new() -> Self {
        let mut m = Metrics {
            registry: Registry::with_prefix("ocpdr_forwarder"),
            observed: Family::default(),
            delivered: Family::default(),
            coalesced: Family::default(),
            failures: Family::default(),
            queue_depth: Gauge::default(),
            in_flight: Gauge::default(),
            // 1 ms .. ~65 s
            latency: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            last_success: Gauge::default(),
            relists: Family::default(),
            known: Family::default(),
            state_saves: Family::default(),
        };
        m.registry.register(
            "events_observed",
            "Changes queued for delivery",
            m.observed.clone(),
        );
        m.registry.register(
            "events_delivered",
            "Changes acknowledged by the webhook",
            m.delivered.clone(),
        );
        m.registry.register(
            "events_coalesced",
            "Waiting MODIFIED changes replaced by a newer one",
            m.coalesced.clone(),
        );
        m.registry.register(
            "delivery_failures",
            "Failed delivery attempts by reason",
            m.failures.clone(),
        );
        m.registry.register(
            "queue_depth",
            "Changes waiting for delivery",
            m.queue_depth.clone(),
        );
        m.registry.register(
            "deliveries_in_flight",
            "Changes being delivered",
            m.in_flight.clone(),
        );
        m.registry.register(
            "delivery_latency_seconds",
            "Time from observing a change to the webhook's 2xx",
            m.latency.clone(),
        );
        m.registry.register(
            "last_success_timestamp_seconds",
            "Unix time of the last acknowledged delivery",
            m.last_success.clone(),
        );
        m.registry.register(
            "relists",
            "Full relists after the first list",
            m.relists.clone(),
        );
        m.registry.register(
            "known_objects",
            "Objects currently forwarded",
            m.known.clone(),
        );
        m.registry.register(
            "state_saves",
            "Saves of the state ConfigMap",
            m.state_saves.clone(),
        );
        m
    }

    /// Adds a metric of one mode (e.g. the NFS watcher's pending volumes) to `/metrics`.
    pub fn register(
        &mut self,
        name: &str,
        help: &str,
        metric: impl prometheus_client::registry::Metric,
    ) {
        self.registry.register(name, help, metric);
    }

    /// An event was queued.
    pub fn observed(&self, kind: &'static str, r#type: &'static str) {
        self.observed
            .get_or_create(&KindType { kind, r#type })
            .inc();
    }

    /// An event was acknowledged `latency_s` seconds after it was observed.
    pub fn delivered(&self, kind: &'static str, r#type: &'static str, latency_s: f64) {
        self.delivered
            .get_or_create(&KindType { kind, r#type })
            .inc();
        self.latency.observe(latency_s);
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        self.last_success.set(now.as_secs_f64());
    }

    /// A waiting event was replaced by a newer one.
    pub fn coalesced(&self, kind: &'static str) {
        self.coalesced.get_or_create(&KindLabel { kind }).inc();
    }

    /// A delivery attempt failed.
    pub fn failure(&self, reason: String) {
        self.failures.get_or_create(&Reason { reason }).inc();
    }

    /// A relist happened.
    pub fn relisted(&self, kind: Kind) {
        self.relists
            .get_or_create(&KindLabel { kind: kind.name() })
            .inc();
    }

    /// The number of forwarded objects of `kind`.
    pub fn known(&self, kind: Kind, count: usize) {
        self.known
            .get_or_create(&KindLabel { kind: kind.name() })
            .set(count as i64);
    }

    /// A state save finished.
    pub fn state_saved(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.state_saves.get_or_create(&Outcome { result }).inc();
    }

    /// The OpenMetrics text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)
            .expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_labelled_counters_gauges_and_the_histogram() {
        let m = Metrics::new();
        m.observed("PersistentVolumeClaim", "ADDED");
        m.delivered("PersistentVolumeClaim", "ADDED", 0.02);
        m.failure("http_401".into());
        m.failure("http_401".into());
        m.queue_depth.set(3);
        m.relisted(Kind::VolumeSnapshot);
        let text = m.encode();
        for line in [
            r#"ocpdr_forwarder_events_observed_total{kind="PersistentVolumeClaim",type="ADDED"} 1"#,
            r#"ocpdr_forwarder_events_delivered_total{kind="PersistentVolumeClaim",type="ADDED"} 1"#,
            r#"ocpdr_forwarder_delivery_failures_total{reason="http_401"} 2"#,
            "ocpdr_forwarder_queue_depth 3",
            r#"ocpdr_forwarder_relists_total{kind="VolumeSnapshot"} 1"#,
            "ocpdr_forwarder_delivery_latency_seconds_count 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "missing {line:?} in\n{text}");
        }
        assert!(text.contains("ocpdr_forwarder_last_success_timestamp_seconds "));
    }
}
