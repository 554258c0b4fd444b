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
use crate::object::Object;
use crate::queue::Keyed;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
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
    /// The object after the change (for DELETED: its last known state).
    pub object: Arc<Object>,
    /// Derived from a list diff rather than a watch event.
    pub synthetic: bool,
    /// When the forwarder saw the change (wall clock, sent as `observed_at`).
    pub observed_at: DateTime<Utc>,
    /// When the forwarder saw the change (monotonic, for the delivery latency metric).
    pub observed: Instant,
}

impl Change {
    /// A change observed now.
    pub fn now(change: ChangeType, object: Arc<Object>, synthetic: bool) -> Self {
        Change {
            kind: object.kind(),
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
            namespace: self.object.namespace().to_owned(),
            name: self.object.name().to_owned(),
        }
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> &str {
        self.object.uid()
    }

    /// `metadata.resourceVersion`.
    pub fn resource_version(&self) -> &str {
        self.object.resource_version()
    }

    /// The webhook body for this change, from cluster `cluster`.
    pub fn body(&self, cluster: &str) -> Vec<u8> {
        let body = Body {
            kind: self.kind.name(),
            change: self.change,
            namespace: self.object.related_namespace(),
            name: self.object.name(),
            uid: self.uid(),
            resource_version: self.resource_version(),
            cluster,
            observed_at: self
                .observed_at
                .to_rfc3339_opts(SecondsFormat::Micros, true),
            synthetic: self.synthetic,
            resource: self.object.json(),
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
    resource: &'a RawValue,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn pvc() -> Value {
        json!({"metadata": {"name": "vm-disk", "namespace": "app-ns1", "uid": "u-1",
                "resourceVersion": "42", "managedFields": [{"manager": "kubectl"}]},
               "spec": {"volumeName": "pv-1"}})
    }

    fn change(kind: Kind, t: ChangeType, obj: Value, synthetic: bool) -> Change {
        Change::now(t, Arc::new(Object::new(kind, obj)), synthetic)
    }

    #[test]
    fn body_carries_the_design_fields() {
        let c = change(
            Kind::PersistentVolumeClaim,
            ChangeType::Modified,
            pvc(),
            false,
        );
        let body: Value = serde_json::from_slice(&c.body("primary")).unwrap();
        assert_eq!(body["kind"], "PersistentVolumeClaim");
        assert_eq!(body["type"], "MODIFIED");
        assert_eq!(body["namespace"], "app-ns1");
        assert_eq!(body["name"], "vm-disk");
        assert_eq!(body["uid"], "u-1");
        assert_eq!(body["resourceVersion"], "42");
        assert_eq!(body["cluster"], "primary");
        assert_eq!(body["synthetic"], false);
        assert_eq!(body["resource"], c.object.to_value());
        assert!(body["resource"]["metadata"].get("managedFields").is_none());
        let at = body["observed_at"].as_str().unwrap();
        assert!(at.ends_with('Z'), "{at}");
        assert_eq!(
            DateTime::parse_from_rfc3339(at).unwrap().timestamp_micros(),
            c.observed_at.timestamp_micros()
        );
    }

    #[test]
    fn cluster_scoped_objects_report_their_bound_namespace() {
        let body = |obj: Value| -> Value {
            let c = change(Kind::PersistentVolume, ChangeType::Deleted, obj, true);
            serde_json::from_slice(&c.body("primary")).unwrap()
        };
        let bound =
            body(json!({"metadata": {"name": "pv-1"}, "spec": {"claimRef": {"namespace": "app"}}}));
        assert_eq!(bound["namespace"], "app");
        let unbound = body(json!({"metadata": {"name": "pv-2"}, "spec": {}}));
        assert_eq!(unbound["namespace"], Value::Null);
        assert_eq!(unbound["type"], "DELETED");
        assert_eq!(unbound["synthetic"], true);
    }

    #[test]
    fn key_orders_by_kind_namespace_and_name() {
        let a = change(Kind::PersistentVolumeClaim, ChangeType::Added, pvc(), false);
        assert_eq!(
            a.key(),
            ObjectKey {
                kind: Kind::PersistentVolumeClaim,
                namespace: "app-ns1".into(),
                name: "vm-disk".into()
            }
        );
    }

    #[test]
    fn only_a_modified_of_the_same_object_supersedes_a_waiting_modified() {
        let m = |uid: &str, rv: &str| json!({"metadata": {"name": "d", "namespace": "n", "uid": uid, "resourceVersion": rv}});
        let kind = Kind::PersistentVolumeClaim;
        let older = change(kind, ChangeType::Modified, m("u1", "1"), false);
        assert!(change(kind, ChangeType::Modified, m("u1", "2"), false).supersedes(&older));
        assert!(!change(kind, ChangeType::Modified, m("u2", "2"), false).supersedes(&older));
        assert!(!change(kind, ChangeType::Deleted, m("u1", "2"), false).supersedes(&older));
        let added = change(kind, ChangeType::Added, m("u1", "1"), false);
        assert!(!change(kind, ChangeType::Modified, m("u1", "2"), false).supersedes(&added));
    }
}
