//! The Velero (OADP) `Restore` that brings the applications back on the DR cluster.
//!
//! ocpdr applies the PersistentVolumes, PersistentVolumeClaims, VolumeSnapshots and
//! VolumeSnapshotContents itself, retargeted at the DR NFS server, before the restore runs. If
//! Velero restored them too it would recreate the primary's volumes (pointing at the primary NFS
//! server) or fight over the claims, so [`restore_object`] always excludes those four resources,
//! whatever else the caller excludes. [`outcome`] maps the Restore's phase to what the
//! failover should do: keep waiting, go on, or stop.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// The resources every restore excludes, as Velero names them (`resource.group`; core kinds
/// have no group).
pub const ALWAYS_EXCLUDED: [&str; 4] = [
    "persistentvolumes",
    "persistentvolumeclaims",
    "volumesnapshots.snapshot.storage.k8s.io",
    "volumesnapshotcontents.snapshot.storage.k8s.io",
];

/// The longest name a restore gets by default: Velero copies it into a label value.
const MAX_DEFAULT_NAME: usize = 63;

/// Velero's `spec.existingResourcePolicy`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ExistingResourcePolicy {
    /// Leave objects that already exist alone (Velero's default).
    None,
    /// Patch objects that already exist to match the backup.
    Update,
}

/// What the restore should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RestoreSpec {
    /// `metadata.name` of the Restore.
    pub name: String,
    /// The namespace OADP (Velero) runs in, usually `openshift-adp`.
    pub namespace: String,
    /// `spec.backupName`.
    pub backup_name: String,
    /// `spec.includedNamespaces`; empty means all namespaces of the backup.
    pub included_namespaces: Vec<String>,
    /// Resources to exclude besides [`ALWAYS_EXCLUDED`].
    pub excluded_resources: Vec<String>,
    /// `spec.restorePVs`.
    pub restore_pvs: bool,
    /// `spec.existingResourcePolicy`, left to Velero's default when `None`.
    pub existing_resource_policy: Option<ExistingResourcePolicy>,
}

/// Why a restore cannot be created as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A name is not a valid Kubernetes object name.
    #[error(
        "{field} {value:?} is not a valid name: expected lowercase letters, digits, '-' and '.', \
         starting and ending with a letter or digit, at most 253 characters"
    )]
    BadName {
        /// Which option.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// A Restore of that name exists and restores another backup.
    #[error(
        "Restore {namespace}/{name} already exists for backup {existing:?}, not {wanted:?}: \
         choose another restore_name"
    )]
    OtherBackup {
        /// Namespace of the Restore.
        namespace: String,
        /// Its name.
        name: String,
        /// The backup it restores.
        existing: String,
        /// The backup asked for.
        wanted: String,
    },
}

/// The canonical Velero resource name for the common spellings of the four storage kinds
/// (`pvc`, `PersistentVolumeClaim`, `volumesnapshots`, ...); anything else lowercased as given.
fn canonical(resource: &str) -> String {
    let lower = resource.trim().to_ascii_lowercase();
    let name = match lower.as_str() {
        "pv" | "persistentvolume" | "persistentvolumes" => ALWAYS_EXCLUDED[0],
        "pvc" | "persistentvolumeclaim" | "persistentvolumeclaims" => ALWAYS_EXCLUDED[1],
        "vs"
        | "volumesnapshot"
        | "volumesnapshots"
        | "volumesnapshot.snapshot.storage.k8s.io"
        | "volumesnapshots.snapshot.storage.k8s.io" => ALWAYS_EXCLUDED[2],
        "vsc"
        | "volumesnapshotcontent"
        | "volumesnapshotcontents"
        | "volumesnapshotcontent.snapshot.storage.k8s.io"
        | "volumesnapshotcontents.snapshot.storage.k8s.io" => ALWAYS_EXCLUDED[3],
        _ => return lower,
    };
    name.to_owned()
}

/// The four storage resources followed by the caller's extras, without repeating any of them
/// in another spelling.
///
/// ```
/// use ocpdr_core::restore::excluded_resources;
/// let extra = vec!["pvc".to_string(), "secrets".to_string()];
/// assert_eq!(excluded_resources(&extra), ["persistentvolumes", "persistentvolumeclaims",
///     "volumesnapshots.snapshot.storage.k8s.io", "volumesnapshotcontents.snapshot.storage.k8s.io",
///     "secrets"]);
/// ```
pub fn excluded_resources(extra: &[String]) -> Vec<String> {
    let mut out: Vec<String> = ALWAYS_EXCLUDED.iter().map(|s| (*s).to_owned()).collect();
    for resource in extra {
        let name = canonical(resource);
        if !name.is_empty() && !out.contains(&name) {
            out.push(name);
        }
    }
    out
}

/// Checks that `value` is a DNS-1123 subdomain, the rule for most Kubernetes object names.
pub fn validate_name(field: &'static str, value: &str) -> Result<(), Error> {
    let alnum = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit();
    let ok = !value.is_empty()
        && value.len() <= 253
        && value.starts_with(alnum)
        && value.ends_with(alnum)
        && value.chars().all(|c| alnum(c) || c == '-' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(Error::BadName {
            field,
            value: value.to_owned(),
        })
    }
}

/// `<backup name>-<stamp>` (stamp e.g. `20260110T020000`), shortening the backup name so the
/// result stays within 63 characters.
///
/// ```
/// use ocpdr_core::restore::default_restore_name;
/// assert_eq!(default_restore_name("nightly", "20260110020000"), "nightly-20260110020000");
/// assert_eq!(default_restore_name(&"b".repeat(80), "20260110020000").len(), 63);
/// ```
pub fn default_restore_name(backup_name: &str, stamp: &str) -> String {
    let room = MAX_DEFAULT_NAME.saturating_sub(stamp.len() + 1);
    let mut base: String = backup_name.chars().take(room).collect();
    while base.ends_with(['-', '.']) {
        base.pop();
    }
    format!("{base}-{stamp}")
}

/// The Restore object to create.
pub fn restore_object(spec: &RestoreSpec) -> Value {
    let mut restore = json!({
        "apiVersion": "velero.io/v1",
        "kind": "Restore",
        "metadata": {
            "name": spec.name,
            "namespace": spec.namespace,
            "labels": {"app.kubernetes.io/managed-by": "ocpdr"},
        },
        "spec": {
            "backupName": spec.backup_name,
            "excludedResources": excluded_resources(&spec.excluded_resources),
            "restorePVs": spec.restore_pvs,
        },
    });
    if !spec.included_namespaces.is_empty() {
        restore["spec"]["includedNamespaces"] = json!(spec.included_namespaces);
    }
    if let Some(policy) = spec.existing_resource_policy {
        restore["spec"]["existingResourcePolicy"] = json!(policy);
    }
    restore
}

/// Accepts an existing Restore of the same name if it restores the same backup: re-running a
/// failover must not start a second restore.
pub fn check_existing(existing: &Value, spec: &RestoreSpec) -> Result<(), Error> {
    let backup = existing
        .pointer("/spec/backupName")
        .and_then(Value::as_str)
        .unwrap_or("");
    if backup == spec.backup_name {
        Ok(())
    } else {
        Err(Error::OtherBackup {
            namespace: spec.namespace.clone(),
            name: spec.name.clone(),
            existing: backup.to_owned(),
            wanted: spec.backup_name.clone(),
        })
    }
}

/// Where a Restore stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Not finished (`New`, `InProgress`, `WaitingForPluginOperations…`, `Finalizing…`, or no
    /// phase yet).
    Running,
    /// `Completed`.
    Completed,
    /// `PartiallyFailed`: finished, some items failed.
    PartiallyFailed,
    /// `Failed` or `FailedValidation`.
    Failed,
}

/// The outcome for a `status.phase` value.
pub fn outcome(phase: &str) -> Outcome {
    match phase {
        "Completed" => Outcome::Completed,
        "PartiallyFailed" => Outcome::PartiallyFailed,
        "Failed" | "FailedValidation" => Outcome::Failed,
        _ => Outcome::Running,
    }
}

/// The parts of a Restore's status a failover reports.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RestoreStatus {
    /// `status.phase`; empty before Velero has seen the Restore.
    pub phase: String,
    /// `status.warnings`.
    pub warnings: u64,
    /// `status.errors`.
    pub errors: u64,
    /// `status.failureReason`, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure_reason: Option<String>,
    /// `status.validationErrors`.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub validation_errors: Vec<String>,
}

impl RestoreStatus {
    /// Reads the status of a Restore object.
    pub fn of(restore: &Value) -> Self {
        let status = restore.get("status").unwrap_or(&Value::Null);
        let count = |key: &str| status.get(key).and_then(Value::as_u64).unwrap_or(0);
        RestoreStatus {
            phase: status
                .get("phase")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_owned(),
            warnings: count("warnings"),
            errors: count("errors"),
            failure_reason: status
                .get("failureReason")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            validation_errors: status
                .get("validationErrors")
                .and_then(Value::as_array)
                .map(|errs| {
                    errs.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect()
                })
                .unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> RestoreSpec {
        RestoreSpec {
            name: "failover-1".into(),
            namespace: "openshift-adp".into(),
            backup_name: "nightly".into(),
            included_namespaces: vec!["app1".into()],
            excluded_resources: vec![],
            restore_pvs: false,
            existing_resource_policy: None,
        }
    }

    #[test]
    fn the_four_storage_kinds_are_always_excluded() {
        let restore = restore_object(&RestoreSpec {
            excluded_resources: vec![
                "secrets".into(),
                "PersistentVolumeClaim".into(),
                "vsc".into(),
                "VolumeSnapshots".into(),
                "configmaps".into(),
                "Secrets".into(),
            ],
            ..spec()
        });
        assert_eq!(
            restore["spec"]["excludedResources"],
            json!([
                "persistentvolumes",
                "persistentvolumeclaims",
                "volumesnapshots.snapshot.storage.k8s.io",
                "volumesnapshotcontents.snapshot.storage.k8s.io",
                "secrets",
                "configmaps"
            ])
        );
        assert_eq!(
            excluded_resources(&[]).len(),
            4,
            "nothing passed, still all four"
        );
    }

    #[test]
    fn the_restore_object_carries_the_options() {
        let restore = restore_object(&RestoreSpec {
            existing_resource_policy: Some(ExistingResourcePolicy::Update),
            ..spec()
        });
        assert_eq!(restore["metadata"]["name"], "failover-1");
        assert_eq!(restore["metadata"]["namespace"], "openshift-adp");
        assert_eq!(restore["spec"]["backupName"], "nightly");
        assert_eq!(restore["spec"]["includedNamespaces"], json!(["app1"]));
        assert_eq!(restore["spec"]["restorePVs"], false);
        assert_eq!(restore["spec"]["existingResourcePolicy"], "update");
        let all = restore_object(&RestoreSpec {
            included_namespaces: vec![],
            ..spec()
        });
        assert!(all["spec"].get("includedNamespaces").is_none());
        assert!(all["spec"].get("existingResourcePolicy").is_none());
    }

    #[test]
    fn names_are_checked_and_derived() {
        assert!(validate_name("restore_name", "failover-app1.2026").is_ok());
        for bad in [
            "",
            "Upper",
            "-lead",
            "trail-",
            "under_score",
            &"a".repeat(254),
        ] {
            assert!(validate_name("restore_name", bad).is_err(), "{bad}");
        }
        let long = default_restore_name(&format!("{}-x", "a".repeat(47)), "20260110020000");
        assert_eq!(long, format!("{}-20260110020000", "a".repeat(47)));
        assert!(validate_name("restore_name", &long).is_ok());
    }

    #[test]
    fn an_existing_restore_must_be_for_the_same_backup() {
        let existing = json!({"spec": {"backupName": "nightly"}});
        assert!(check_existing(&existing, &spec()).is_ok());
        let other = json!({"spec": {"backupName": "weekly"}});
        assert_eq!(
            check_existing(&other, &spec()).unwrap_err().to_string(),
            "Restore openshift-adp/failover-1 already exists for backup \"weekly\", not \"nightly\": \
             choose another restore_name"
        );
    }

    #[test]
    fn phases_map_to_outcomes() {
        for phase in [
            "",
            "New",
            "InProgress",
            "WaitingForPluginOperations",
            "WaitingForPluginOperationsPartiallyFailed",
            "Finalizing",
            "FinalizingPartiallyFailed",
        ] {
            assert_eq!(outcome(phase), Outcome::Running, "{phase}");
        }
        assert_eq!(outcome("Completed"), Outcome::Completed);
        assert_eq!(outcome("PartiallyFailed"), Outcome::PartiallyFailed);
        assert_eq!(outcome("Failed"), Outcome::Failed);
        assert_eq!(outcome("FailedValidation"), Outcome::Failed);
        let status = RestoreStatus::of(&json!({"status": {"phase": "PartiallyFailed",
            "warnings": 3, "errors": 2, "validationErrors": ["x"]}}));
        assert_eq!(
            (status.phase.as_str(), status.warnings, status.errors),
            ("PartiallyFailed", 3, 2)
        );
        assert_eq!(status.validation_errors, ["x"]);
        assert_eq!(RestoreStatus::of(&json!({})).phase, "");
    }
}
