//! Strip source-cluster state from Kubernetes objects so they can be applied on the DR cluster.
//!
//! A live object carries state that only makes sense on the cluster that wrote it: its uid,
//! resourceVersion, managed fields, owner references to objects that will not exist on the
//! other side, finalizers of the source's controllers, and `status`. Applying such an object
//! elsewhere either fails (a stale resourceVersion is a conflict) or, worse, binds a volume to
//! the wrong claim. [`clean`] removes all of that, keeps what the DR side needs, and reports
//! every path it removed so the evidence shows exactly what was changed.
//!
//! Kind-specific rules:
//! - PersistentVolume: `spec.claimRef` is dropped (or reduced to name and namespace) so the PV
//!   can bind to the PVC re-created on DR.
//! - PersistentVolumeClaim: `spec.volumeName` is kept so the claim binds to its PV by name;
//!   `dataSource`/`dataSourceRef` are dropped when it is set (the data is already there). A PVC
//!   owned by a CDI DataVolume gets `cdi.kubevirt.io/storage.populatedFor`, otherwise CDI may
//!   import over the replicated disk when the DataVolume is restored.
//! - VolumeSnapshotContent: `spec.volumeSnapshotRef` keeps its name and namespace and loses the
//!   source uid and resourceVersion.

use crate::object::{ObjectRef, map_at_mut, str_at};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Metadata fields that are always removed: they are assigned by the source API server.
const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "generation",
    "selfLink",
    "managedFields",
    "ownerReferences",
    "finalizers",
];

/// Annotation keys (or key prefixes) that the system writes and that `annotations: system` drops.
pub const SYSTEM_ANNOTATION_PREFIXES: &[&str] = &[
    "kubectl.kubernetes.io/last-applied-configuration",
    "pv.kubernetes.io/",
    "volume.kubernetes.io/",
    "volume.beta.kubernetes.io/",
];

/// The CDI annotation that tells CDI a PVC already holds its DataVolume's data.
pub const POPULATED_FOR: &str = "cdi.kubevirt.io/storage.populatedFor";

/// What to do with annotations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnnotationPolicy {
    /// Drop the well-known system annotations ([`SYSTEM_ANNOTATION_PREFIXES`]), keep the rest.
    #[default]
    System,
    /// Drop every annotation (what the seed design literally says).
    All,
    /// Keep every annotation.
    None,
}

/// What to do with a PersistentVolume's `spec.claimRef`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ClaimRefPolicy {
    /// Remove it: the PV becomes Available and binds to the PVC that names it.
    #[default]
    Drop,
    /// Keep only `name` and `namespace`: the PV stays reserved for that claim.
    KeepName,
}

/// How [`clean`] treats the parts that are a matter of choice.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct CleanOptions {
    /// Which annotations to drop.
    pub annotations: AnnotationPolicy,
    /// Further annotation keys or key prefixes to drop, whatever the policy.
    pub drop_annotation_prefixes: Vec<String>,
    /// Annotation keys to keep, whatever the policy and prefixes say.
    pub keep_annotations: Vec<String>,
    /// What to do with a PersistentVolume's `spec.claimRef`.
    pub claim_ref: ClaimRefPolicy,
}

/// What [`clean`] removed from one object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Removed {
    /// Which object.
    #[serde(flatten)]
    pub object: ObjectRef,
    /// Dotted paths of every removed field, e.g. `metadata.uid`,
    /// `metadata.annotations["pv.kubernetes.io/bind-completed"]`, `spec.claimRef.uid`.
    pub paths: Vec<String>,
}

/// Why an object could not be cleaned.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The value is not a JSON object.
    #[error("expected a Kubernetes object (a mapping), got {found}")]
    NotAnObject {
        /// The JSON type found instead.
        found: &'static str,
    },
    /// The object has no `kind`, so the kind-specific rules cannot be chosen.
    #[error("the object has no `kind` (a string such as PersistentVolume); name: {name:?}")]
    MissingKind {
        /// `metadata.name`, to find the object.
        name: String,
    },
}

/// Returns a cleaned copy of `obj` and the list of removed paths; `obj` is left untouched.
///
/// ```
/// use ocpdr_core::clean::{clean, CleanOptions};
/// let pv = serde_json::json!({
///     "apiVersion": "v1", "kind": "PersistentVolume",
///     "metadata": {"name": "pv-1", "uid": "1234", "resourceVersion": "42"},
///     "spec": {"claimRef": {"name": "disk", "namespace": "app"}},
///     "status": {"phase": "Bound"}
/// });
/// let (cleaned, removed) = clean(&pv, &CleanOptions::default())?;
/// assert_eq!(cleaned, serde_json::json!({
///     "apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "pv-1"}, "spec": {}
/// }));
/// assert_eq!(removed.paths, ["metadata.uid", "metadata.resourceVersion", "status", "spec.claimRef"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn clean(obj: &Value, options: &CleanOptions) -> Result<(Value, Removed), Error> {
    let Value::Object(_) = obj else {
        return Err(Error::NotAnObject {
            found: json_type(obj),
        });
    };
    let object = ObjectRef::of(obj);
    if object.kind.is_empty() {
        return Err(Error::MissingKind { name: object.name });
    }
    let mut out = obj.clone();
    let mut paths = Vec::new();
    // Read before ownerReferences is removed below.
    let owning_data_volume = owner_of_kind(obj, "DataVolume");

    if let Some(meta) = map_at_mut(&mut out, &["metadata"]) {
        for field in SERVER_METADATA {
            if meta.remove(*field).is_some() {
                paths.push(format!("metadata.{field}"));
            }
        }
        clean_annotations(meta, options, &mut paths);
    }
    if let Some(root) = out.as_object_mut()
        && root.remove("status").is_some()
    {
        paths.push("status".to_owned());
    }

    match object.kind.as_str() {
        "PersistentVolume" => clean_pv_claim_ref(&mut out, options.claim_ref, &mut paths),
        "PersistentVolumeClaim" => {
            clean_pvc_data_source(&mut out, &mut paths);
            if let Some(dv) = owning_data_volume {
                mark_populated_for(&mut out, &dv);
            }
        }
        "VolumeSnapshotContent" => {
            if let Some(snapshot_ref) = map_at_mut(&mut out, &["spec", "volumeSnapshotRef"]) {
                remove_fields(
                    snapshot_ref,
                    &["uid", "resourceVersion"],
                    "spec.volumeSnapshotRef",
                    &mut paths,
                );
            }
        }
        _ => {}
    }
    Ok((out, Removed { object, paths }))
}

/// Drops annotations per `options`, removing the map when it ends up empty.
fn clean_annotations(
    meta: &mut Map<String, Value>,
    options: &CleanOptions,
    paths: &mut Vec<String>,
) {
    let Some(Value::Object(annotations)) = meta.get_mut("annotations") else {
        return;
    };
    let drop = |key: &str| {
        if options.keep_annotations.iter().any(|k| k == key) {
            return false;
        }
        let by_policy = match options.annotations {
            AnnotationPolicy::All => true,
            AnnotationPolicy::None => false,
            AnnotationPolicy::System => SYSTEM_ANNOTATION_PREFIXES
                .iter()
                .any(|p| key.starts_with(p)),
        };
        by_policy
            || options
                .drop_annotation_prefixes
                .iter()
                .any(|p| key.starts_with(p.as_str()))
    };
    annotations.retain(|key, _| {
        let dropped = drop(key);
        if dropped {
            paths.push(format!("metadata.annotations[{key:?}]"));
        }
        !dropped
    });
    if annotations.is_empty() {
        meta.remove("annotations");
    }
}

fn clean_pv_claim_ref(pv: &mut Value, policy: ClaimRefPolicy, paths: &mut Vec<String>) {
    let Some(spec) = map_at_mut(pv, &["spec"]) else {
        return;
    };
    match policy {
        ClaimRefPolicy::Drop => {
            if spec.remove("claimRef").is_some() {
                paths.push("spec.claimRef".to_owned());
            }
        }
        ClaimRefPolicy::KeepName => {
            if let Some(Value::Object(claim_ref)) = spec.get_mut("claimRef") {
                let extra: Vec<String> = claim_ref
                    .keys()
                    .filter(|k| *k != "name" && *k != "namespace")
                    .cloned()
                    .collect();
                for key in extra {
                    claim_ref.remove(&key);
                    paths.push(format!("spec.claimRef.{key}"));
                }
            }
        }
    }
}

/// A PVC that names its PV binds to existing data: a data source would ask for a new volume.
fn clean_pvc_data_source(pvc: &mut Value, paths: &mut Vec<String>) {
    let Some(spec) = map_at_mut(pvc, &["spec"]) else {
        return;
    };
    let has_volume_name = spec
        .get("volumeName")
        .and_then(Value::as_str)
        .is_some_and(|v| !v.is_empty());
    if has_volume_name {
        remove_fields(spec, &["dataSource", "dataSourceRef"], "spec", paths);
    }
}

fn mark_populated_for(pvc: &mut Value, data_volume: &str) {
    let Some(meta) = map_at_mut(pvc, &["metadata"]) else {
        return;
    };
    let annotations = meta
        .entry("annotations")
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(annotations) = annotations {
        annotations
            .entry(POPULATED_FOR)
            .or_insert_with(|| Value::String(data_volume.to_owned()));
    }
}

/// The name of the first owner of `kind`, from `metadata.ownerReferences`.
fn owner_of_kind(obj: &Value, kind: &str) -> Option<String> {
    obj.pointer("/metadata/ownerReferences")?
        .as_array()?
        .iter()
        .find(|owner| str_at(owner, &["kind"]) == Some(kind))
        .and_then(|owner| str_at(owner, &["name"]))
        .map(str::to_owned)
}

fn remove_fields(map: &mut Map<String, Value>, fields: &[&str], at: &str, paths: &mut Vec<String>) {
    for field in fields {
        if map.remove(*field).is_some() {
            paths.push(format!("{at}.{field}"));
        }
    }
}

/// The JSON type name of `value`, for error messages.
pub(crate) fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "a mapping",
    }
}

#[cfg(test)]
mod tests;
