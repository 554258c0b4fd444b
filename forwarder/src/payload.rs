//! One change of one object, and the JSON body the webhook receives for it (DESIGN §4):
//!
//! ```json
//! {"kind": "PersistentVolumeClaim", "type": "MODIFIED", "namespace": "app-ns1",
//!  "name": "vm-disk", "uid": "…", "resourceVersion": "…", "cluster": "primary",
//!  "observed_at": "2026-…Z", "synthetic": false, "resource": { …managedFields removed… }}
//! ```
//!
//! ansible.eda.webhook puts the body under `event.payload`, so rules match on
//! `event.payload.kind`, `event.payload.type`, `event.payload.resource.spec…`. `namespace` is the
//! object's namespace, or for a PV / VolumeSnapshotContent the namespace it is bound to (`null`
//! when unbound), so one condition `event.payload.namespace in vars.namespaces` serves all four
//! kinds. `synthetic` is true when the change was derived from a list (start-up, relist after
//! 410 Gone, restart with saved state) rather than read from a watch event.

use crate::kinds::Kind;
use crate::queue::Keyed;
use chrono::{DateTime, SecondsFormat, Utc};
use ocpdr_core::object::{map_at_mut, str_at};
use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;
use std::sync::Arc;
use std::time::Instant;

/// ADDED, MODIFIED or DELETED, as in a Kubernetes watch event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ChangeType {
    /// The object appeared.
    Added,
    /// The object changed (including "deletion requested": `deletionTimestamp` set).
    Modified,
    /// The object is gone.
    Deleted,
}

impl ChangeType {
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeType::Added => "ADDED",
            ChangeType::Modified => "MODIFIED",
            ChangeType::Deleted => "DELETED",
        }
    }
}

impl fmt::Display for ChangeType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which object a change is about, for per-object ordering: kind, namespace and name (not the
/// uid, so the deletion of an object and the creation of a new one with the same name are
/// delivered in that order).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ObjectKey {
    /// The kind.
    pub kind: Kind,
    /// `metadata.namespace`, empty for cluster-scoped objects.
    pub namespace: String,
    /// `metadata.name`.
    pub name: String,
}

/// One change to forward.
#[derive(Debug, Clone)]
pub struct Change {
    /// The object's kind.
    pub kind: Kind,
    /// What happened.
    pub change: ChangeType,
    /// The object after the change (for DELETED: its last known state), managedFields removed,
    /// `apiVersion` and `kind` always present.
    pub object: Arc<Value>,
    /// Derived from a list diff rather than a watch event.
    pub synthetic: bool,
    /// When the forwarder saw the change (wall clock, sent as `observed_at`).
    pub observed_at: DateTime<Utc>,
    /// When the forwarder saw the change (monotonic, for the delivery latency metric).
    pub observed: Instant,
}

impl Change {
    /// A change observed now.
    pub fn now(kind: Kind, change: ChangeType, object: Arc<Value>, synthetic: bool) -> Self {
        Change {
            kind,
            change,
            object,
            synthetic,
            observed_at: Utc::now(),
            observed: Instant::now(),
        }
    }

    /// The per-object ordering key.
    pub fn key(&self) -> ObjectKey {
        ObjectKey {
            kind: self.kind,
            namespace: self.meta("namespace").to_owned(),
            name: self.meta("name").to_owned(),
        }
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> &str {
        self.meta("uid")
    }

    /// `metadata.resourceVersion`.
    pub fn resource_version(&self) -> &str {
        self.meta("resourceVersion")
    }

    fn meta(&self, field: &str) -> &str {
        str_at(&self.object, &["metadata", field]).unwrap_or_default()
    }

    /// The webhook body for this change, from cluster `cluster`.
    pub fn body(&self, cluster: &str) -> Vec<u8> {
        let body = Body {
            kind: self.kind.name(),
            change: self.change,
            namespace: self.kind.related_namespace(&self.object),
            name: self.meta("name"),
            uid: self.uid(),
            resource_version: self.resource_version(),
            cluster,
            observed_at: self
                .observed_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            synthetic: self.synthetic,
            resource: &self.object,
        };
        serde_json::to_vec(&body).expect("a JSON value always serializes")
    }
}

impl Keyed for Change {
    type Key = ObjectKey;

    fn key(&self) -> ObjectKey {
        Change::key(self)
    }

    /// A MODIFIED of an object replaces a waiting MODIFIED of the same object (same uid): each
    /// would start the same sync job, and the newer one carries the newer state.
    fn supersedes(&self, older: &Self) -> bool {
        self.change == ChangeType::Modified
            && older.change == ChangeType::Modified
            && self.uid() == older.uid()
    }
}

/// The wire form of a [`Change`].
#[derive(Serialize)]
struct Body<'a> {
    kind: &'static str,
    #[serde(rename = "type")]
    change: ChangeType,
    namespace: Option<&'a str>,
    name: &'a str,
    uid: &'a str,
    #[serde(rename = "resourceVersion")]
    resource_version: &'a str,
    cluster: &'a str,
    observed_at: String,
    synthetic: bool,
    resource: &'a Value,
}

/// Prepares an object read from the API for forwarding and for memory: removes
/// `metadata.managedFields` (large, and of no use to a sync job) and fills in `apiVersion` and
/// `kind`, which list responses leave out of their items.
pub fn normalize(kind: Kind, mut obj: Value) -> Value {
    if let Some(meta) = map_at_mut(&mut obj, &["metadata"]) {
        meta.remove("managedFields");
    }
    if let Some(map) = obj.as_object_mut() {
        let mut typed = Map::with_capacity(map.len() + 2);
        typed.insert("apiVersion".into(), kind.api_version().into());
        typed.insert("kind".into(), kind.name().into());
        for (k, v) in std::mem::take(map) {
            if k != "apiVersion" && k != "kind" {
                typed.insert(k, v);
            }
        }
        *map = typed;
    }
    obj
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pvc() -> Value {
        normalize(
            Kind::PersistentVolumeClaim,
            json!({"metadata": {"name": "vm-disk", "namespace": "app-ns1", "uid": "u-1",
                    "resourceVersion": "42", "managedFields": [{"manager": "kubectl"}]},
                   "spec": {"volumeName": "pv-1"}}),
        )
    }

    #[test]
    fn normalize_removes_managed_fields_and_types_the_object() {
        let obj = pvc();
        assert_eq!(obj["kind"], "PersistentVolumeClaim");
        assert_eq!(obj["apiVersion"], "v1");
        assert!(obj["metadata"].get("managedFields").is_none());
        assert_eq!(obj["metadata"]["uid"], "u-1");
        assert_eq!(obj["spec"]["volumeName"], "pv-1");
    }

    #[test]
    fn body_carries_the_design_fields() {
        let change = Change::now(
            Kind::PersistentVolumeClaim,
            ChangeType::Modified,
            Arc::new(pvc()),
            false,
        );
        let body: Value = serde_json::from_slice(&change.body("primary")).unwrap();
        assert_eq!(body["kind"], "PersistentVolumeClaim");
        assert_eq!(body["type"], "MODIFIED");
        assert_eq!(body["namespace"], "app-ns1");
        assert_eq!(body["name"], "vm-disk");
        assert_eq!(body["uid"], "u-1");
        assert_eq!(body["resourceVersion"], "42");
        assert_eq!(body["cluster"], "primary");
        assert_eq!(body["synthetic"], false);
        assert_eq!(body["resource"], pvc());
        let at = body["observed_at"].as_str().unwrap();
        assert!(at.ends_with('Z'), "{at}");
        assert_eq!(
            DateTime::parse_from_rfc3339(at).unwrap().timestamp_micros(),
            change.observed_at.timestamp_micros()
        );
    }

    #[test]
    fn cluster_scoped_objects_report_their_bound_namespace() {
        let bound =
            json!({"metadata": {"name": "pv-1"}, "spec": {"claimRef": {"namespace": "app"}}});
        let unbound = json!({"metadata": {"name": "pv-2"}, "spec": {}});
        let body = |obj: Value| -> Value {
            let c = Change::now(
                Kind::PersistentVolume,
                ChangeType::Deleted,
                Arc::new(normalize(Kind::PersistentVolume, obj)),
                true,
            );
            serde_json::from_slice(&c.body("primary")).unwrap()
        };
        assert_eq!(body(bound)["namespace"], "app");
        let b = body(unbound);
        assert_eq!(b["namespace"], Value::Null);
        assert_eq!(b["type"], "DELETED");
        assert_eq!(b["synthetic"], true);
    }

    #[test]
    fn key_orders_by_kind_namespace_and_name() {
        let a = Change::now(
            Kind::PersistentVolumeClaim,
            ChangeType::Added,
            Arc::new(pvc()),
            false,
        );
        assert_eq!(
            a.key(),
            ObjectKey {
                kind: Kind::PersistentVolumeClaim,
                namespace: "app-ns1".into(),
                name: "vm-disk".into()
            }
        );
    }
}
