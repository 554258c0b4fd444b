//! The order in which objects are applied to (and deleted from) the DR cluster.
//!
//! The seed design's "order is critical" rule: a PersistentVolumeClaim that names its volume
//! must find the PersistentVolume already there, a VolumeSnapshot bound to pre-provisioned
//! content must find its VolumeSnapshotContent, and nothing namespaced can be created before its
//! Namespace. So objects are applied in four phases: Namespaces; VolumeSnapshotContents and
//! PersistentVolumes; VolumeSnapshots and PersistentVolumeClaims; everything else (VMs,
//! DataVolumes, ConfigMaps, ...). Within a phase order does not matter and objects can be
//! applied concurrently. Deletion runs the phases backwards, so a volume is never removed from
//! under the claim that uses it.

use crate::object::{ObjectRef, str_at};
use serde::Serialize;
use serde_json::Value;
use std::collections::BTreeSet;

/// One apply phase, in apply order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    /// `Namespace` objects.
    Namespaces,
    /// `VolumeSnapshotContent` and `PersistentVolume`: cluster-scoped storage.
    Volumes,
    /// `VolumeSnapshot` and `PersistentVolumeClaim`: the namespaced claims on that storage.
    Claims,
    /// Every other kind.
    Rest,
}

impl Phase {
    /// All phases, in apply order.
    pub const ALL: [Phase; 4] = [
        Phase::Namespaces,
        Phase::Volumes,
        Phase::Claims,
        Phase::Rest,
    ];

    /// The phase an object of `kind` belongs to. Only the kind matters: the four storage kinds
    /// exist under one API group each, so a same-named kind of another group is unlikely enough
    /// to be treated alike.
    pub fn of_kind(kind: &str) -> Phase {
        match kind {
            "Namespace" => Phase::Namespaces,
            "VolumeSnapshotContent" | "PersistentVolume" => Phase::Volumes,
            "VolumeSnapshot" | "PersistentVolumeClaim" => Phase::Claims,
            _ => Phase::Rest,
        }
    }
}

/// The indices of objects of the given `kinds` grouped by phase, in apply order; within a phase
/// the input order is kept. Empty phases are left out.
///
/// ```
/// use ocpdr_core::apply_order::{apply_phases, Phase};
/// let kinds = ["VirtualMachine", "PersistentVolumeClaim", "Namespace", "PersistentVolume"];
/// assert_eq!(apply_phases(kinds), vec![
///     (Phase::Namespaces, vec![2]), (Phase::Volumes, vec![3]),
///     (Phase::Claims, vec![1]), (Phase::Rest, vec![0]),
/// ]);
/// ```
pub fn apply_phases<'a>(kinds: impl IntoIterator<Item = &'a str>) -> Vec<(Phase, Vec<usize>)> {
    let mut members: [Vec<usize>; 4] = Default::default();
    for (index, kind) in kinds.into_iter().enumerate() {
        members[Phase::of_kind(kind) as usize].push(index);
    }
    Phase::ALL
        .into_iter()
        .zip(members)
        .filter(|(_, members)| !members.is_empty())
        .collect()
}

/// Like [`apply_phases`], in reverse phase order: the order for deleting.
pub fn delete_phases<'a>(kinds: impl IntoIterator<Item = &'a str>) -> Vec<(Phase, Vec<usize>)> {
    let mut phases = apply_phases(kinds);
    phases.reverse();
    phases
}

/// The namespaces that objects live in and that are not themselves among the objects as
/// `Namespace`: the ones to create first when they are missing.
pub fn namespaces_needed<'a>(
    objects: impl IntoIterator<Item = &'a Value> + Clone,
) -> BTreeSet<String> {
    let declared: BTreeSet<&str> = objects
        .clone()
        .into_iter()
        .filter(|obj| str_at(obj, &["kind"]) == Some("Namespace"))
        .filter_map(|obj| str_at(obj, &["metadata", "name"]))
        .collect();
    objects
        .into_iter()
        .filter_map(|obj| ObjectRef::of(obj).namespace)
        .filter(|ns| !ns.is_empty() && !declared.contains(ns.as_str()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(kind: &str, ns: Option<&str>, name: &str) -> Value {
        let mut o = json!({"kind": kind, "metadata": {"name": name}});
        if let Some(ns) = ns {
            o["metadata"]["namespace"] = json!(ns);
        }
        o
    }

    #[test]
    fn a_shuffled_list_is_applied_storage_first() {
        let kinds = [
            "VirtualMachine",
            "PersistentVolumeClaim",
            "VolumeSnapshot",
            "PersistentVolume",
            "Namespace",
            "VolumeSnapshotContent",
            "ConfigMap",
            "PersistentVolume",
        ];
        let phases = apply_phases(kinds);
        assert_eq!(
            phases,
            vec![
                (Phase::Namespaces, vec![4]),
                (Phase::Volumes, vec![3, 5, 7]),
                (Phase::Claims, vec![1, 2]),
                (Phase::Rest, vec![0, 6]),
            ]
        );
        let deletes: Vec<Phase> = delete_phases(kinds).into_iter().map(|p| p.0).collect();
        assert_eq!(
            deletes,
            [
                Phase::Rest,
                Phase::Claims,
                Phase::Volumes,
                Phase::Namespaces
            ]
        );
    }

    #[test]
    fn empty_phases_are_left_out() {
        assert_eq!(
            apply_phases(["PersistentVolumeClaim"]),
            vec![(Phase::Claims, vec![0])]
        );
        assert!(apply_phases([]).is_empty());
    }

    #[test]
    fn namespaces_needed_skips_declared_ones_and_cluster_objects() {
        let objects = vec![
            obj("PersistentVolumeClaim", Some("app1"), "a"),
            obj("PersistentVolumeClaim", Some("app2"), "b"),
            obj("VolumeSnapshot", Some("app1"), "s"),
            obj("Namespace", None, "app2"),
            obj("PersistentVolume", None, "pv"),
        ];
        assert_eq!(
            namespaces_needed(&objects).into_iter().collect::<Vec<_>>(),
            ["app1"]
        );
    }
}
