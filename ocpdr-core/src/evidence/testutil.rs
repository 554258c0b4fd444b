//! Shared by the evidence unit tests: a complete write request and a clock.

use super::atomic::Placement;
use super::manifest::Status;
use super::write::{LogLine, WriteRequest};
use chrono::{DateTime, Utc};
use serde_json::json;
use std::path::Path;

/// A time from RFC 3339 text.
pub fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339 test time")
        .with_timezone(&Utc)
}

/// A request for a `periodic-sync` run under `root` that started at `started`, lasted three
/// minutes, succeeded, and carries one JSON and one CSV artifact, a log line and a report.
pub fn request(root: &Path, started: &str) -> WriteRequest {
    let start = at(started);
    let report = serde_json::from_value(json!({
        "steps": [
            {"name": "List primary objects", "started_at": start.to_rfc3339(),
             "finished_at": (start + chrono::Duration::seconds(20)).to_rfc3339(), "status": "success"},
            {"name": "Sync volume data", "started_at": (start + chrono::Duration::seconds(20)).to_rfc3339(),
             "finished_at": (start + chrono::Duration::seconds(170)).to_rfc3339(), "status": "success"},
        ],
        "volumes": [{"name": "app-ns1/rhel9-vm-disk", "status": "success", "bytes": 1_048_576,
                     "duration_seconds": 150.0}],
    }))
    .expect("test report");
    WriteRequest {
        root: root.to_owned(),
        mode: "periodic-sync".into(),
        run_id: None,
        change_id: Some("CHG-2025-0918-001".into()),
        status: Status::Success,
        script_version: "sync.yml@ocpdr.dr-1.0.0".into(),
        host: "aap-exec-1".into(),
        started_at: start,
        finished_at: start + chrono::Duration::seconds(180),
        retention_days: None,
        summary: json!({"volumes": 1, "failed": 0}).as_object().cloned(),
        data: vec![
            (
                "pvcs.json".into(),
                json!([{"kind": "PersistentVolumeClaim", "metadata": {"name": "disk"}}]),
            ),
            (
                "volumes.csv".into(),
                json!([{"pvc": "app-ns1/rhel9-vm-disk", "bytes": 1_048_576}]),
            ),
        ],
        files: vec![],
        placement: Placement::Copy,
        log: vec![LogLine {
            at: start + chrono::Duration::seconds(20),
            message: "listed 1 PVC".into(),
        }],
        report: Some(report),
    }
}
