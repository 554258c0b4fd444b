//! Pairing a cluster's storage objects: which PersistentVolume backs which claim, which
//! VolumeSnapshotContent holds which snapshot, and which claims or snapshots have nothing yet.
//!
//! The seed design lists PVCs and VolumeSnapshots per namespace, then finds each one's PV
//! (`spec.volumeName`) and content (`status.boundVolumeSnapshotContentName`) in a per-item loop.
//! [`build`] does the same over whole lists at once. PVs and contents are cluster-scoped, so
//! only those belonging to the returned claims and snapshots are kept unless the caller asks
//! for all of them.

use crate::object::{ObjectRef, str_at};
use serde::Serialize;
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};

/// The objects as listed; `None` for a kind that was not asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Listed {
    /// PersistentVolumeClaims of the selected namespaces.
    pub pvcs: Option<Vec<Value>>,
    /// Every PersistentVolume of the cluster.
    pub pvs: Option<Vec<Value>>,
    /// VolumeSnapshots of the selected namespaces.
    pub volumesnapshots: Option<Vec<Value>>,
    /// Every VolumeSnapshotContent of the cluster.
    pub volumesnapshotcontents: Option<Vec<Value>>,
}

/// Which cluster-scoped objects to keep.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Selection {
    /// Keep every PV, not only those of the returned PVCs.
    pub all_pvs: bool,
    /// Keep every VolumeSnapshotContent, not only those of the returned VolumeSnapshots.
    pub all_snapshot_contents: bool,
}

/// A claim and the volume bound to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Pair {
    /// The PersistentVolumeClaim.
    pub pvc: Value,
    /// The PersistentVolume its `spec.volumeName` names.
    pub pv: Value,
}

/// A snapshot and the content bound to it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SnapshotPair {
    /// The VolumeSnapshot.
    pub vs: Value,
    /// The VolumeSnapshotContent its `status.boundVolumeSnapshotContentName` names.
    pub vsc: Value,
}

/// A claim without a volume or a snapshot without content, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unbound {
    /// Which object.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// Why it has no partner, e.g. `no volume bound yet (phase Pending)`.
    pub reason: String,
}

/// The paired inventory; every list sorted by namespace and name.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Inventory {
    /// PersistentVolumeClaims.
    pub pvcs: Vec<Value>,
    /// PersistentVolumes: those of the returned PVCs, or all with `all_pvs`.
    pub pvs: Vec<Value>,
    /// VolumeSnapshots.
    pub volumesnapshots: Vec<Value>,
    /// VolumeSnapshotContents: those of the returned snapshots, or all.
    pub volumesnapshotcontents: Vec<Value>,
    /// `{pvc, pv}` for every PVC whose `spec.volumeName` names an existing PV.
    pub pairs: Vec<Pair>,
    /// `{vs, vsc}` for every snapshot whose bound content exists.
    pub snapshot_pairs: Vec<SnapshotPair>,
    /// PVCs without a PV and snapshots without content.
    pub unbound: Vec<Unbound>,
}

/// Pairs the listed objects. Objects are returned without `metadata.managedFields`, which is
/// bookkeeping of the API server and often most of an object's size.
pub fn build(listed: Listed, selection: Selection) -> Inventory {
    let pvcs = sorted(listed.pvcs);
    let vss = sorted(listed.volumesnapshots);
    let mut inventory = Inventory::default();

    if let Some(all_pvs) = listed.pvs {
        let by_name = by_name(&all_pvs);
        if let Some(pvcs) = &pvcs {
            let claims: BTreeSet<(String, String)> = pvcs.iter().map(namespace_and_name).collect();
            for pvc in pvcs {
                let volume = str_at(pvc, &["spec", "volumeName"]).unwrap_or("");
                match by_name.get(volume) {
                    Some(pv) if !volume.is_empty() => inventory.pairs.push(Pair {
                        pvc: pvc.clone(),
                        pv: (*pv).clone(),
                    }),
                    _ => inventory.unbound.push(unbound_claim(pvc, volume)),
                }
            }
            let wanted: BTreeSet<&str> = pvcs
                .iter()
                .filter_map(|pvc| str_at(pvc, &["spec", "volumeName"]))
                .collect();
            inventory.pvs = sorted_vec(
                all_pvs
                    .iter()
                    .filter(|pv| {
                        selection.all_pvs
                            || wanted.contains(name(pv))
                            || claim_of(pv).is_some_and(|c| claims.contains(&c))
                    })
                    .cloned()
                    .collect(),
            );
        } else {
            inventory.pvs = sorted_vec(all_pvs);
        }
    }

    if let Some(all_vscs) = listed.volumesnapshotcontents {
        let by_name = by_name(&all_vscs);
        if let Some(vss) = &vss {
            let snapshots: BTreeSet<(String, String)> =
                vss.iter().map(namespace_and_name).collect();
            for vs in vss {
                let content = bound_content(vs);
                match by_name.get(content) {
                    Some(vsc) if !content.is_empty() => {
                        inventory.snapshot_pairs.push(SnapshotPair {
                            vs: vs.clone(),
                            vsc: (*vsc).clone(),
                        })
                    }
                    _ => inventory.unbound.push(unbound_snapshot(vs, content)),
                }
            }
            let wanted: BTreeSet<&str> = vss.iter().map(bound_content).collect();
            inventory.volumesnapshotcontents = sorted_vec(
                all_vscs
                    .iter()
                    .filter(|vsc| {
                        selection.all_snapshot_contents
                            || wanted.contains(name(vsc))
                            || snapshot_of(vsc).is_some_and(|s| snapshots.contains(&s))
                    })
                    .cloned()
                    .collect(),
            );
        } else {
            inventory.volumesnapshotcontents = sorted_vec(all_vscs);
        }
    }
    inventory.pvcs = pvcs.unwrap_or_default();
    inventory.volumesnapshots = vss.unwrap_or_default();
    inventory
}

fn unbound_claim(pvc: &Value, volume: &str) -> Unbound {
    let phase = str_at(pvc, &["status", "phase"]).unwrap_or("unknown");
    let reason = if volume.is_empty() {
        format!("no volume bound yet (phase {phase})")
    } else {
        format!("its PersistentVolume {volume} does not exist (phase {phase})")
    };
    Unbound {
        object: ObjectRef::of(pvc),
        reason,
    }
}

fn unbound_snapshot(vs: &Value, content: &str) -> Unbound {
    let reason = if content.is_empty() {
        let ready = vs
            .pointer("/status/readyToUse")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        format!("no content bound yet (readyToUse: {ready})")
    } else {
        format!("its VolumeSnapshotContent {content} does not exist")
    };
    Unbound {
        object: ObjectRef::of(vs),
        reason,
    }
}

fn bound_content(vs: &Value) -> &str {
    str_at(vs, &["status", "boundVolumeSnapshotContentName"]).unwrap_or("")
}

fn name(obj: &Value) -> &str {
    str_at(obj, &["metadata", "name"]).unwrap_or("")
}

fn namespace_and_name(obj: &Value) -> (String, String) {
    (
        str_at(obj, &["metadata", "namespace"])
            .unwrap_or("")
            .to_owned(),
        name(obj).to_owned(),
    )
}

/// `spec.claimRef` of a PV as (namespace, name).
fn claim_of(pv: &Value) -> Option<(String, String)> {
    Some((
        str_at(pv, &["spec", "claimRef", "namespace"])?.to_owned(),
        str_at(pv, &["spec", "claimRef", "name"])?.to_owned(),
    ))
}

/// `spec.volumeSnapshotRef` of a content as (namespace, name).
fn snapshot_of(vsc: &Value) -> Option<(String, String)> {
    Some((
        str_at(vsc, &["spec", "volumeSnapshotRef", "namespace"])?.to_owned(),
        str_at(vsc, &["spec", "volumeSnapshotRef", "name"])?.to_owned(),
    ))
}

fn by_name(objects: &[Value]) -> BTreeMap<&str, &Value> {
    objects.iter().map(|o| (name(o), o)).collect()
}

fn sorted(objects: Option<Vec<Value>>) -> Option<Vec<Value>> {
    objects.map(sorted_vec)
}

fn sorted_vec(mut objects: Vec<Value>) -> Vec<Value> {
    for obj in &mut objects {
        if let Some(Value::Object(meta)) = obj.get_mut("metadata") {
            meta.remove("managedFields");
        }
    }
    objects.sort_by_key(namespace_and_name);
    objects
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pvc(ns: &str, name: &str, volume: Option<&str>) -> Value {
        let mut o = json!({"kind": "PersistentVolumeClaim",
            "metadata": {"name": name, "namespace": ns, "managedFields": [{"manager": "x"}]},
            "spec": {}, "status": {"phase": if volume.is_some() { "Bound" } else { "Pending" }}});
        if let Some(v) = volume {
            o["spec"]["volumeName"] = json!(v);
        }
        o
    }

    fn pv(name: &str, claim: Option<(&str, &str)>) -> Value {
        let mut o = json!({"kind": "PersistentVolume", "metadata": {"name": name}, "spec": {}});
        if let Some((ns, n)) = claim {
            o["spec"]["claimRef"] = json!({"namespace": ns, "name": n});
        }
        o
    }

    fn vs(ns: &str, name: &str, content: Option<&str>) -> Value {
        let mut o = json!({"kind": "VolumeSnapshot", "metadata": {"name": name, "namespace": ns},
                           "status": {"readyToUse": content.is_some()}});
        if let Some(c) = content {
            o["status"]["boundVolumeSnapshotContentName"] = json!(c);
        }
        o
    }

    fn vsc(name: &str, snapshot: (&str, &str)) -> Value {
        json!({"kind": "VolumeSnapshotContent", "metadata": {"name": name},
               "spec": {"volumeSnapshotRef": {"namespace": snapshot.0, "name": snapshot.1}}})
    }

    fn names(objects: &[Value]) -> Vec<&str> {
        objects.iter().map(name).collect()
    }

    fn listed() -> Listed {
        Listed {
            pvcs: Some(vec![
                pvc("b", "disk", Some("pv-b")),
                pvc("a", "disk", Some("pv-a")),
                pvc("a", "pending", None),
                pvc("a", "lost", Some("pv-gone")),
            ]),
            pvs: Some(vec![
                pv("pv-a", Some(("a", "disk"))),
                pv("pv-b", Some(("b", "disk"))),
                pv("pv-other", Some(("elsewhere", "x"))),
                pv("pv-reserved", Some(("a", "pending"))),
            ]),
            volumesnapshots: Some(vec![vs("a", "snap", Some("vsc-a")), vs("a", "new", None)]),
            volumesnapshotcontents: Some(vec![
                vsc("vsc-a", ("a", "snap")),
                vsc("vsc-other", ("elsewhere", "s")),
            ]),
        }
    }

    #[test]
    fn pairs_claims_with_volumes_and_snapshots_with_contents() {
        let inv = build(listed(), Selection::default());
        let pairs: Vec<(&str, &str, &str)> = inv
            .pairs
            .iter()
            .map(|p| {
                (
                    str_at(&p.pvc, &["metadata", "namespace"]).unwrap(),
                    name(&p.pvc),
                    name(&p.pv),
                )
            })
            .collect();
        assert_eq!(pairs, [("a", "disk", "pv-a"), ("b", "disk", "pv-b")]);
        assert_eq!(names(&inv.pvs), ["pv-a", "pv-b", "pv-reserved"]);
        assert_eq!(names(&inv.pvcs), ["disk", "lost", "pending", "disk"]);
        assert_eq!(inv.snapshot_pairs.len(), 1);
        assert_eq!(name(&inv.snapshot_pairs[0].vsc), "vsc-a");
        assert_eq!(names(&inv.volumesnapshotcontents), ["vsc-a"]);
        assert!(inv.pvcs[0]["metadata"].get("managedFields").is_none());
    }

    #[test]
    fn reports_what_has_no_partner() {
        let inv = build(listed(), Selection::default());
        let unbound: Vec<String> = inv
            .unbound
            .iter()
            .map(|u| format!("{}: {}", u.object, u.reason))
            .collect();
        assert_eq!(
            unbound,
            [
                "PersistentVolumeClaim a/lost: its PersistentVolume pv-gone does not exist (phase Bound)",
                "PersistentVolumeClaim a/pending: no volume bound yet (phase Pending)",
                "VolumeSnapshot a/new: no content bound yet (readyToUse: false)",
            ]
        );
    }

    #[test]
    fn all_flags_keep_every_cluster_object() {
        let inv = build(
            listed(),
            Selection {
                all_pvs: true,
                all_snapshot_contents: true,
            },
        );
        assert_eq!(inv.pvs.len(), 4);
        assert_eq!(inv.volumesnapshotcontents.len(), 2);
    }

    #[test]
    fn kinds_not_listed_pair_nothing_and_report_nothing() {
        let only_pvcs = Listed {
            pvcs: listed().pvcs,
            ..Listed::default()
        };
        let inv = build(only_pvcs, Selection::default());
        assert_eq!(inv.pvcs.len(), 4);
        assert!(inv.pairs.is_empty() && inv.unbound.is_empty() && inv.pvs.is_empty());
        let only_pvs = Listed {
            pvs: listed().pvs,
            ..Listed::default()
        };
        assert_eq!(build(only_pvs, Selection::default()).pvs.len(), 4);
    }
}
