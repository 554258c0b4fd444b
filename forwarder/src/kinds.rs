//! The four kinds the forwarder watches, and what it needs to know about each: its API
//! coordinates, whether it is namespaced, and which namespace a cluster-scoped object belongs to.

use ocpdr_core::object::str_at;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::fmt;

/// A watched kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Kind {
    /// `v1` PersistentVolume, cluster-scoped.
    PersistentVolume,
    /// `v1` PersistentVolumeClaim, namespaced.
    PersistentVolumeClaim,
    /// `snapshot.storage.k8s.io/v1` VolumeSnapshot, namespaced.
    VolumeSnapshot,
    /// `snapshot.storage.k8s.io/v1` VolumeSnapshotContent, cluster-scoped.
    VolumeSnapshotContent,
}

/// The API group of the CSI snapshot kinds.
const SNAPSHOT_GROUP: &str = "snapshot.storage.k8s.io";

impl Kind {
    /// Every kind, in the order the forwarder starts their watches (volumes before claims, so a
    /// first start sends a PV before the PVC bound to it).
    pub const ALL: [Kind; 4] = [
        Kind::PersistentVolume,
        Kind::PersistentVolumeClaim,
        Kind::VolumeSnapshotContent,
        Kind::VolumeSnapshot,
    ];

    /// The `kind` string, e.g. `PersistentVolume`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::PersistentVolume => "PersistentVolume",
            Kind::PersistentVolumeClaim => "PersistentVolumeClaim",
            Kind::VolumeSnapshot => "VolumeSnapshot",
            Kind::VolumeSnapshotContent => "VolumeSnapshotContent",
        }
    }

    /// The API group: empty for the core group.
    pub fn group(self) -> &'static str {
        match self {
            Kind::PersistentVolume | Kind::PersistentVolumeClaim => "",
            Kind::VolumeSnapshot | Kind::VolumeSnapshotContent => SNAPSHOT_GROUP,
        }
    }

    /// The `apiVersion` string, e.g. `snapshot.storage.k8s.io/v1`.
    pub fn api_version(self) -> &'static str {
        match self {
            Kind::PersistentVolume | Kind::PersistentVolumeClaim => "v1",
            Kind::VolumeSnapshot | Kind::VolumeSnapshotContent => "snapshot.storage.k8s.io/v1",
        }
    }

    /// The plural resource name used in API paths.
    pub fn plural(self) -> &'static str {
        match self {
            Kind::PersistentVolume => "persistentvolumes",
            Kind::PersistentVolumeClaim => "persistentvolumeclaims",
            Kind::VolumeSnapshot => "volumesnapshots",
            Kind::VolumeSnapshotContent => "volumesnapshotcontents",
        }
    }

    /// Whether objects of this kind live in a namespace.
    pub fn namespaced(self) -> bool {
        matches!(self, Kind::PersistentVolumeClaim | Kind::VolumeSnapshot)
    }

    /// Parses a kind as an operator would write it in `WATCH_KINDS`: the kind name, the plural
    /// or the kubectl short name, in any case (`PersistentVolume`, `persistentvolumes`, `pv`).
    pub fn parse(text: &str) -> Option<Kind> {
        let lower = text.trim().to_ascii_lowercase();
        Kind::ALL.into_iter().find(|kind| {
            let short = match kind {
                Kind::PersistentVolume => "pv",
                Kind::PersistentVolumeClaim => "pvc",
                Kind::VolumeSnapshot => "vs",
                Kind::VolumeSnapshotContent => "vsc",
            };
            lower == kind.name().to_ascii_lowercase() || lower == kind.plural() || lower == short
        })
    }

    /// The namespace an object of this kind belongs to: its own for namespaced kinds; for a
    /// PersistentVolume the namespace of its `spec.claimRef`, for a VolumeSnapshotContent that of
    /// its `spec.volumeSnapshotRef`; `None` when unbound.
    pub fn related_namespace(self, obj: &Value) -> Option<&str> {
        let path: &[&str] = match self {
            Kind::PersistentVolumeClaim | Kind::VolumeSnapshot => &["metadata", "namespace"],
            Kind::PersistentVolume => &["spec", "claimRef", "namespace"],
            Kind::VolumeSnapshotContent => &["spec", "volumeSnapshotRef", "namespace"],
        };
        str_at(obj, path).filter(|ns| !ns.is_empty())
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_names_plurals_and_short_names_in_any_case() {
        assert_eq!(
            Kind::parse("PersistentVolume"),
            Some(Kind::PersistentVolume)
        );
        assert_eq!(Kind::parse(" pvc "), Some(Kind::PersistentVolumeClaim));
        assert_eq!(Kind::parse("VOLUMESNAPSHOTS"), Some(Kind::VolumeSnapshot));
        assert_eq!(Kind::parse("vsc"), Some(Kind::VolumeSnapshotContent));
        assert_eq!(Kind::parse("Pod"), None);
        assert_eq!(Kind::parse(""), None);
    }

    #[test]
    fn related_namespace_follows_the_binding_of_cluster_scoped_objects() {
        let pv = json!({"spec": {"claimRef": {"namespace": "app", "name": "disk"}}});
        assert_eq!(Kind::PersistentVolume.related_namespace(&pv), Some("app"));
        assert_eq!(
            Kind::PersistentVolume.related_namespace(&json!({"spec": {}})),
            None
        );
        let vsc = json!({"spec": {"volumeSnapshotRef": {"namespace": "app"}}});
        assert_eq!(
            Kind::VolumeSnapshotContent.related_namespace(&vsc),
            Some("app")
        );
        let pvc =
            json!({"metadata": {"namespace": "db"}, "spec": {"claimRef": {"namespace": "x"}}});
        assert_eq!(
            Kind::PersistentVolumeClaim.related_namespace(&pvc),
            Some("db")
        );
    }

    #[test]
    fn api_coordinates() {
        assert_eq!(
            Kind::VolumeSnapshot.api_version(),
            "snapshot.storage.k8s.io/v1"
        );
        assert_eq!(Kind::VolumeSnapshot.group(), "snapshot.storage.k8s.io");
        assert_eq!(Kind::PersistentVolume.api_version(), "v1");
        assert!(!Kind::VolumeSnapshotContent.namespaced());
        assert!(Kind::VolumeSnapshot.namespaced());
    }
}
