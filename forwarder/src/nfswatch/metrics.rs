//! The watcher's own metrics, added to the shared delivery metrics ([`crate::metrics`], prefix
//! `ocpdr_forwarder_`):
//!
//! | metric | labels | meaning |
//! |---|---|---|
//! | `pending_volumes` | | volumes with a burst still open (debouncing) |
//! | `oldest_pending_change_age_seconds` | | age of the first change of the oldest open burst (0 when none) |
//! | `fs_changes_total` | result | filesystem changes: `volume` (counted in a burst), `outside` (no volume), `unresolved` |
//! | `fs_overflows_total` | | kernel queue overflows (every volume is then sent) |
//! | `volume_map_volumes` | | volumes in the loaded map |
//! | `volume_map_loads_total` | result | map loads, `ok` or `error` (the previous map is kept) |
//! | `journal_pending` | | bursts not yet acknowledged (in `STATE_FILE`) |

use crate::metrics::Metrics;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use std::sync::atomic::AtomicU64;

/// A `result` label.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Result {
    result: &'static str,
}

/// The watcher's metrics.
pub struct WatchMetrics {
    /// Volumes debouncing.
    pub pending_volumes: Gauge,
    /// Seconds since the oldest open burst's first change.
    pub oldest_pending: Gauge<f64, AtomicU64>,
    changes: Family<Result, Counter>,
    /// Kernel queue overflows.
    pub overflows: Counter,
    /// Volumes in the map.
    pub map_volumes: Gauge,
    map_loads: Family<Result, Counter>,
    /// Journal entries.
    pub journal_pending: Gauge,
}

impl WatchMetrics {
    /// Creates the metrics and registers them with `metrics`.
    pub fn register(metrics: &mut Metrics) -> Self {
        let m = WatchMetrics {
            pending_volumes: Gauge::default(),
            oldest_pending: Gauge::default(),
            changes: Family::default(),
            overflows: Counter::default(),
            map_volumes: Gauge::default(),
            map_loads: Family::default(),
            journal_pending: Gauge::default(),
        };
        metrics.register(
            "pending_volumes",
            "Volumes with a burst of changes still open",
            m.pending_volumes.clone(),
        );
        metrics.register(
            "oldest_pending_change_age_seconds",
            "Age of the first change of the oldest open burst",
            m.oldest_pending.clone(),
        );
        metrics.register(
            "fs_changes",
            "Filesystem changes by result",
            m.changes.clone(),
        );
        metrics.register(
            "fs_overflows",
            "Kernel event queue overflows",
            m.overflows.clone(),
        );
        metrics.register(
            "volume_map_volumes",
            "Volumes in the loaded volume map",
            m.map_volumes.clone(),
        );
        metrics.register(
            "volume_map_loads",
            "Volume map loads by result",
            m.map_loads.clone(),
        );
        metrics.register(
            "journal_pending",
            "Bursts not yet acknowledged by the webhook",
            m.journal_pending.clone(),
        );
        m
    }

    /// A filesystem change: `volume`, `outside` or `unresolved`.
    pub fn change(&self, result: &'static str) {
        self.changes.get_or_create(&Result { result }).inc();
    }

    /// A map load: `ok` or `error`.
    pub fn map_load(&self, ok: bool) {
        let result = if ok { "ok" } else { "error" };
        self.map_loads.get_or_create(&Result { result }).inc();
    }
}
