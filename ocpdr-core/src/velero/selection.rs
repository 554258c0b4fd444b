//! What to take out of a backup: which group-resources (kinds) and which namespaces.
//!
//! Kinds are named like Velero's resource directories (`persistentvolumes`, `deployments.apps`,
//! `virtualmachines.kubevirt.io`); the four DR kinds also by their short names and kinds (`pv`,
//! `PersistentVolume`, ...). With a namespace filter, namespaced objects are kept when their
//! namespace is listed, and cluster-scoped objects when they belong to a listed namespace: a
//! PersistentVolume through `spec.claimRef.namespace`, a VolumeSnapshotContent through
//! `spec.volumeSnapshotRef.namespace`, a Namespace by its name. Other cluster-scoped objects
//! (StorageClasses, CRDs, ...) belong to no namespace and are always kept.

use super::error::{Error, Result};
use crate::object::str_at;
use serde_json::Value;
use std::collections::BTreeSet;

/// Directory of PersistentVolumes.
pub const PERSISTENT_VOLUMES: &str = "persistentvolumes";
/// Directory of PersistentVolumeClaims.
pub const PERSISTENT_VOLUME_CLAIMS: &str = "persistentvolumeclaims";
/// Directory of CSI VolumeSnapshots.
pub const VOLUME_SNAPSHOTS: &str = "volumesnapshots.snapshot.storage.k8s.io";
/// Directory of CSI VolumeSnapshotContents.
pub const VOLUME_SNAPSHOT_CONTENTS: &str = "volumesnapshotcontents.snapshot.storage.k8s.io";
/// Directory of Namespaces.
pub const NAMESPACES: &str = "namespaces";

/// The kinds read when none are asked for: what the DR cluster needs before the OADP restore.
pub const DEFAULT_KINDS: [&str; 4] = [
    PERSISTENT_VOLUMES,
    PERSISTENT_VOLUME_CLAIMS,
    VOLUME_SNAPSHOTS,
    VOLUME_SNAPSHOT_CONTENTS,
];

/// The Velero directory name for a kind as a user may write it.
pub fn resolve_kind(given: &str) -> Result<String> {
    let alias = match given {
        "pv" | "pvs" | "persistentvolume" | "PersistentVolume" => Some(PERSISTENT_VOLUMES),
        "pvc" | "pvcs" | "persistentvolumeclaim" | "PersistentVolumeClaim" => {
            Some(PERSISTENT_VOLUME_CLAIMS)
        }
        "vs" | "volumesnapshot" | "volumesnapshots" | "VolumeSnapshot" => Some(VOLUME_SNAPSHOTS),
        "vsc" | "volumesnapshotcontent" | "volumesnapshotcontents" | "VolumeSnapshotContent" => {
            Some(VOLUME_SNAPSHOT_CONTENTS)
        }
        "ns" | "namespace" | "Namespace" => Some(NAMESPACES),
        _ => None,
    };
    if let Some(dir) = alias {
        return Ok(dir.to_owned());
    }
    let valid = !given.is_empty()
        && !given.starts_with('.')
        && !given.ends_with('.')
        && given
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if valid {
        Ok(given.to_owned())
    } else {
        Err(Error::InvalidKind {
            given: given.to_owned(),
        })
    }
}

/// Kinds and namespaces to read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    kinds: BTreeSet<String>,
    namespaces: Option<BTreeSet<String>>,
}

impl Default for Selection {
    /// The four DR kinds, every namespace.
    fn default() -> Self {
        Selection {
            kinds: DEFAULT_KINDS.iter().map(|k| (*k).to_owned()).collect(),
            namespaces: None,
        }
    }
}

impl Selection {
    /// `kinds` (empty = [`DEFAULT_KINDS`]) in `namespaces` (empty = all).
    pub fn new<K: AsRef<str>, N: AsRef<str>>(kinds: &[K], namespaces: &[N]) -> Result<Self> {
        let mut selection = Selection::default();
        if !kinds.is_empty() {
            selection.kinds = kinds
                .iter()
                .map(|k| resolve_kind(k.as_ref()))
                .collect::<Result<_>>()?;
        }
        if !namespaces.is_empty() {
            selection.namespaces = Some(namespaces.iter().map(|n| n.as_ref().to_owned()).collect());
        }
        Ok(selection)
    }

    /// The directories read, sorted.
    pub fn kinds(&self) -> impl Iterator<Item = &str> {
        self.kinds.iter().map(String::as_str)
    }

    /// Whether objects under directory `group_resource` are read at all.
    pub fn wants_kind(&self, group_resource: &str) -> bool {
        self.kinds.contains(group_resource)
    }

    /// Whether a namespaced object in `namespace` is kept.
    pub fn wants_namespace(&self, namespace: &str) -> bool {
        self.namespaces
            .as_ref()
            .is_none_or(|set| set.contains(namespace))
    }

    /// Whether the cluster-scoped `object` under `group_resource` is kept.
    pub fn wants_cluster_object(&self, group_resource: &str, name: &str, object: &Value) -> bool {
        if self.namespaces.is_none() {
            return true;
        }
        let owner = match group_resource {
            PERSISTENT_VOLUMES => str_at(object, &["spec", "claimRef", "namespace"]),
            VOLUME_SNAPSHOT_CONTENTS => str_at(object, &["spec", "volumeSnapshotRef", "namespace"]),
            NAMESPACES => Some(name),
            _ => return true,
        };
        owner.is_some_and(|ns| self.wants_namespace(ns))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_resolve_from_aliases_and_directories() {
        assert_eq!(resolve_kind("pv").unwrap(), PERSISTENT_VOLUMES);
        assert_eq!(
            resolve_kind("VolumeSnapshotContent").unwrap(),
            VOLUME_SNAPSHOT_CONTENTS
        );
        assert_eq!(
            resolve_kind("deployments.apps").unwrap(),
            "deployments.apps"
        );
        assert!(resolve_kind("Deployment").is_err());
        assert!(resolve_kind("../x").is_err());
        assert_eq!(
            resolve_kind("").unwrap_err().to_string(),
            "kind \"\" is not a resource: expected pv, pvc, vs, vsc, a kind like PersistentVolume, or a Velero group-resource directory like deployments.apps"
        );
    }

    #[test]
    fn namespace_filter_follows_ownership_of_cluster_objects() {
        let s = Selection::new::<&str, &str>(&[], &["app"]).unwrap();
        let pv = |ns: &str| json!({"spec": {"claimRef": {"namespace": ns}}});
        assert!(s.wants_cluster_object(PERSISTENT_VOLUMES, "pv", &pv("app")));
        assert!(!s.wants_cluster_object(PERSISTENT_VOLUMES, "pv", &pv("other")));
        assert!(!s.wants_cluster_object(PERSISTENT_VOLUMES, "pv", &json!({"spec": {}})));
        assert!(s.wants_cluster_object(NAMESPACES, "app", &json!({})));
        assert!(s.wants_cluster_object("storageclasses.storage.k8s.io", "nfs", &json!({})));
        assert!(!s.wants_namespace("other"));
        assert!(Selection::default().wants_namespace("any"));
    }
}
