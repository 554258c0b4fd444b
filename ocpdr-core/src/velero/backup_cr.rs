//! The Backup CR as stored in the bucket (`velero-backup.json`): the few fields that decide
//! whether a backup may be used and that the result reports.
//!
//! Parsed leniently, as Velero's own sync does: unknown fields are ignored, a missing
//! `startTimestamp` sorts as the oldest. Only what would make the backup meaningless is an
//! error: not a `velero.io` Backup, no name, unparsable timestamps, a format other than 1.

use super::error::{Error, Result};
use super::reader::check_format;
use crate::object::{str_at, value_at};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

/// Label Velero puts on backups made by a schedule.
pub const SCHEDULE_LABEL: &str = "velero.io/schedule-name";

/// What the result reports about a backup, read from its Backup CR.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BackupInfo {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (where OADP runs, e.g. `openshift-adp`).
    pub namespace: Option<String>,
    /// `status.phase` (`Completed`, `PartiallyFailed`, `Failed`, `InProgress`, `Finalizing`, ...).
    pub phase: Option<String>,
    /// `status.startTimestamp`, RFC 3339.
    pub start_timestamp: Option<String>,
    /// `status.completionTimestamp`, RFC 3339.
    pub completion_timestamp: Option<String>,
    /// `status.expiration`, RFC 3339.
    pub expiration: Option<String>,
    /// `spec.includedNamespaces` (empty = all namespaces).
    pub included_namespaces: Vec<String>,
    /// Label `velero.io/schedule-name`.
    pub schedule: Option<String>,
    /// `spec.storageLocation`.
    pub storage_location: Option<String>,
    /// `status.version`: the backup format major version Velero recorded (deprecated upstream).
    pub version: Option<u64>,
    /// `status.formatVersion` (`1.1.0`).
    pub format_version: Option<String>,
    /// Annotation `velero.io/source-cluster-k8s-gitversion`: the Kubernetes version backed up.
    pub source_cluster_version: Option<String>,
    #[serde(skip)]
    start: Option<DateTime<Utc>>,
    #[serde(skip)]
    expires: Option<DateTime<Utc>>,
}

impl BackupInfo {
    /// Parses `velero-backup.json`; `source_name` (the bucket key or file) goes into errors.
    pub fn parse(bytes: &[u8], source_name: &str) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidBackupCr {
            source_name: source_name.to_owned(),
            reason,
        };
        let cr: Value =
            serde_json::from_slice(bytes).map_err(|e| invalid(format!("not JSON ({e})")))?;
        let kind = str_at(&cr, &["kind"]).unwrap_or_default();
        let api_version = str_at(&cr, &["apiVersion"]).unwrap_or_default();
        if kind != "Backup" || !api_version.starts_with("velero.io/") {
            return Err(invalid(format!(
                "expected kind Backup of velero.io, got kind {kind:?} apiVersion {api_version:?}"
            )));
        }
        let name = str_at(&cr, &["metadata", "name"]).filter(|n| !n.is_empty());
        let name = name
            .ok_or_else(|| invalid("metadata.name is missing".to_owned()))?
            .to_owned();
        let owned = |path: &[&str]| str_at(&cr, path).map(str::to_owned);
        let time = |field: &str| -> Result<Option<DateTime<Utc>>> {
            let Some(text) = str_at(&cr, &["status", field]) else {
                return Ok(None);
            };
            DateTime::parse_from_rfc3339(text)
                .map(|t| Some(t.with_timezone(&Utc)))
                .map_err(|e| {
                    invalid(format!(
                        "status.{field} {text:?} is not an RFC 3339 time ({e})"
                    ))
                })
        };
        let start = time("startTimestamp")?;
        time("completionTimestamp")?;
        let expires = time("expiration")?;
        let format_version = owned(&["status", "formatVersion"]);
        if let Some(version) = &format_version {
            check_format(version)?;
        }
        let included_namespaces = value_at(&cr, &["spec", "includedNamespaces"])
            .and_then(Value::as_array)
            .map(|list| {
                list.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default();
        let labels = value_at(&cr, &["metadata", "labels"]);
        Ok(BackupInfo {
            namespace: owned(&["metadata", "namespace"]),
            phase: owned(&["status", "phase"]),
            start_timestamp: owned(&["status", "startTimestamp"]),
            completion_timestamp: owned(&["status", "completionTimestamp"]),
            expiration: owned(&["status", "expiration"]),
            included_namespaces,
            schedule: labels
                .and_then(|l| l.get(SCHEDULE_LABEL))
                .and_then(Value::as_str)
                .map(str::to_owned),
            storage_location: owned(&["spec", "storageLocation"]),
            version: value_at(&cr, &["status", "version"]).and_then(Value::as_u64),
            format_version,
            source_cluster_version: owned(&[
                "metadata",
                "annotations",
                "velero.io/source-cluster-k8s-gitversion",
            ]),
            start,
            expires,
            name,
        })
    }

    /// A backup known only by name (a local tarball without its `velero-backup.json`).
    pub fn named(name: &str) -> Self {
        BackupInfo {
            name: name.to_owned(),
            namespace: None,
            phase: None,
            start_timestamp: None,
            completion_timestamp: None,
            expiration: None,
            included_namespaces: Vec::new(),
            schedule: None,
            storage_location: None,
            version: None,
            format_version: None,
            source_cluster_version: None,
            start: None,
            expires: None,
        }
    }

    /// `status.startTimestamp`, parsed.
    pub fn start(&self) -> Option<DateTime<Utc>> {
        self.start
    }

    /// Whether `status.expiration` is at or before `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|t| t <= now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cr(status: Value) -> Vec<u8> {
        json!({"kind": "Backup", "apiVersion": "velero.io/v1",
               "metadata": {"name": "nightly-20250110020000", "namespace": "openshift-adp",
                            "labels": {"velero.io/schedule-name": "nightly"},
                            "annotations": {"velero.io/source-cluster-k8s-gitversion": "v1.29.8"}},
               "spec": {"includedNamespaces": ["app1"], "storageLocation": "dpa-1", "hooks": {}},
               "status": status})
        .to_string()
        .into_bytes()
    }

    #[test]
    fn reads_what_the_result_needs() {
        let info = BackupInfo::parse(
            &cr(json!({"version": 1, "formatVersion": "1.1.0", "phase": "Completed",
                       "startTimestamp": "2025-01-10T02:00:00Z", "completionTimestamp": "2025-01-10T02:00:23Z",
                       "expiration": "2025-02-09T02:00:00Z", "unknownField": 1})),
            "k",
        )
        .unwrap();
        assert_eq!(info.name, "nightly-20250110020000");
        assert_eq!(info.phase.as_deref(), Some("Completed"));
        assert_eq!(info.schedule.as_deref(), Some("nightly"));
        assert_eq!(info.included_namespaces, ["app1"]);
        assert_eq!(info.version, Some(1));
        assert_eq!(info.source_cluster_version.as_deref(), Some("v1.29.8"));
        let feb = DateTime::parse_from_rfc3339("2025-02-09T02:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        assert!(info.is_expired(feb));
        assert!(!info.is_expired(feb - chrono::Duration::seconds(1)));
    }

    #[test]
    fn refuses_what_is_not_a_usable_backup() {
        let err = BackupInfo::parse(
            b"{\"kind\":\"Restore\",\"apiVersion\":\"velero.io/v1\"}",
            "b/velero-backup.json",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "b/velero-backup.json is not a usable Velero Backup: expected kind Backup of velero.io, got kind \"Restore\" apiVersion \"velero.io/v1\""
        );
        let err = BackupInfo::parse(&cr(json!({"startTimestamp": "yesterday"})), "k").unwrap_err();
        assert!(
            err.to_string()
                .contains("status.startTimestamp \"yesterday\" is not an RFC 3339 time"),
            "{err}"
        );
        let err = BackupInfo::parse(&cr(json!({"formatVersion": "2.0.0"})), "k").unwrap_err();
        assert!(matches!(err, Error::UnsupportedFormat { .. }));
        assert!(BackupInfo::parse(b"[", "k").is_err());
    }
}
