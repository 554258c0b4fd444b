//! The `VolumeData` event: one closed burst of changes of one volume, as the webhook receives it.
//!
//! ```json
//! {"kind": "VolumeData", "type": "MODIFIED", "volume": "/exports/primary/app-ns1-vm-disk",
//!  "pv": "pvc-1a2b", "namespace": "app-ns1", "pvc": "vm-disk", "cluster": "primary",
//!  "first_change_at": "2026-11-28T10:15:02.118532Z", "last_change_at": "2026-11-28T10:15:03.001220Z",
//!  "changes": 10000, "observed_at": "2026-11-28T10:15:04.002301Z", "reason": "changes",
//!  "synthetic": false}
//! ```
//!
//! `reason` says why the event exists: `changes` (a burst seen by the watch), `overflow` (the
//! kernel's event queue overflowed: every mapped volume may have changed), `recovered` (a burst
//! that was not acknowledged before the watcher stopped, from its journal) or `startup` (the
//! catch-up sent for every volume at start, for changes made while no watcher ran). All but
//! `changes` are `synthetic`; their `changes` is what was counted before the stop (`recovered`)
//! or 0 when unknown.

use crate::deliver::Deliverable;
use crate::nfswatch::volume_map::Volume;
use crate::queue::Keyed;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use std::sync::Arc;
use std::time::Instant;

/// Why a `VolumeData` event was sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Reason {
    /// A burst of observed changes.
    Changes,
    /// The kernel queue overflowed; the volume may have changed.
    Overflow,
    /// A burst left unacknowledged by a previous run.
    Recovered,
    /// The start-up catch-up.
    Startup,
}

/// One event for one volume.
#[derive(Debug, Clone)]
pub struct VolumeEvent {
    /// The volume.
    pub volume: Arc<Volume>,
    /// First change of the burst.
    pub first_change_at: DateTime<Utc>,
    /// Last change of the burst.
    pub last_change_at: DateTime<Utc>,
    /// Changes in the burst.
    pub changes: u64,
    /// Why it is sent.
    pub reason: Reason,
    /// When the burst closed and the event was queued.
    pub observed_at: DateTime<Utc>,
    /// The first change (monotonic): the delivery latency metric then measures first change to 2xx.
    pub since: Instant,
}

/// RFC 3339 UTC with microseconds, as the forwarder writes times.
pub fn timestamp(at: &DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Micros, true)
}

#[derive(Serialize)]
struct Body<'a> {
    kind: &'static str,
    #[serde(rename = "type")]
    change: &'static str,
    volume: &'a str,
    pv: &'a str,
    namespace: &'a str,
    pvc: &'a str,
    cluster: &'a str,
    first_change_at: String,
    last_change_at: String,
    changes: u64,
    observed_at: String,
    reason: Reason,
    synthetic: bool,
}

impl Keyed for VolumeEvent {
    type Key = String;

    fn key(&self) -> String {
        self.volume.path.clone()
    }

    /// Never: each event carries its own `first_change_at`, which the sync records as the start
    /// of its RPO; events of one volume are delivered one at a time, in order, instead.
    fn supersedes(&self, _older: &Self) -> bool {
        false
    }
}

impl Deliverable for VolumeEvent {
    fn kind_label(&self) -> &'static str {
        "VolumeData"
    }

    fn type_label(&self) -> &'static str {
        "MODIFIED"
    }

    fn body(&self, cluster: &str) -> Vec<u8> {
        let v = &self.volume;
        let body = Body {
            kind: "VolumeData",
            change: "MODIFIED",
            volume: &v.path,
            pv: &v.pv,
            namespace: &v.namespace,
            pvc: &v.pvc,
            cluster,
            first_change_at: timestamp(&self.first_change_at),
            last_change_at: timestamp(&self.last_change_at),
            changes: self.changes,
            observed_at: timestamp(&self.observed_at),
            reason: self.reason,
            synthetic: self.reason != Reason::Changes,
        };
        serde_json::to_vec(&body).expect("a JSON value always serializes")
    }

    fn observed(&self) -> Instant {
        self.since
    }

    fn describe(&self) -> String {
        format!(
            "VolumeData {}/{} ({}) {:?} changes {}",
            self.volume.namespace, self.volume.pvc, self.volume.path, self.reason, self.changes
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn body_carries_the_volume_the_burst_and_the_cluster() {
        let first = Utc::now();
        let event = VolumeEvent {
            volume: Arc::new(Volume {
                path: "/exports/p/vm-disk".into(),
                pv: "pv-1".into(),
                namespace: "app-ns1".into(),
                pvc: "vm-disk".into(),
            }),
            first_change_at: first,
            last_change_at: first + chrono::Duration::milliseconds(900),
            changes: 10_000,
            reason: Reason::Changes,
            observed_at: first + chrono::Duration::seconds(2),
            since: Instant::now(),
        };
        let body: Value = serde_json::from_slice(&event.body("primary")).unwrap();
        assert_eq!(body["kind"], "VolumeData");
        assert_eq!(body["type"], "MODIFIED");
        assert_eq!(body["volume"], "/exports/p/vm-disk");
        assert_eq!(body["pv"], "pv-1");
        assert_eq!(body["namespace"], "app-ns1");
        assert_eq!(body["pvc"], "vm-disk");
        assert_eq!(body["cluster"], "primary");
        assert_eq!(body["changes"], 10_000);
        assert_eq!(body["reason"], "changes");
        assert_eq!(body["synthetic"], false);
        let parsed =
            DateTime::parse_from_rfc3339(body["first_change_at"].as_str().unwrap()).unwrap();
        assert_eq!(parsed.timestamp_micros(), first.timestamp_micros());
        assert!(body["last_change_at"].as_str().unwrap().ends_with('Z'));
        let recovered = VolumeEvent {
            reason: Reason::Recovered,
            ..event.clone()
        };
        let body: Value = serde_json::from_slice(&recovered.body("primary")).unwrap();
        assert_eq!(
            (body["reason"].as_str(), body["synthetic"].as_bool()),
            (Some("recovered"), Some(true))
        );
        assert_eq!(event.key(), "/exports/p/vm-disk");
        assert!(!recovered.supersedes(&event));
    }
}
