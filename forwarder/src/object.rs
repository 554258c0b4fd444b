//! A watched object as the forwarder holds it: the identity it decides on (name, namespace, uid,
//! resourceVersion, the namespace it belongs to) and the object itself as compact JSON text.
//!
//! The forwarder remembers the last state of every forwarded object, to send a DELETED with it
//! when a relist finds the object gone. Kept as a `serde_json::Value` tree that costs several
//! KiB per object; as JSON text it is the object's own size (about 1 KiB for a PVC), which keeps
//! 10,000 watched objects in tens of MiB. The text is written once and embedded verbatim in the
//! webhook body.

use crate::kinds::Kind;
use ocpdr_core::object::{map_at_mut, str_at};
use serde_json::value::RawValue;
use serde_json::{Map, Value};

/// One object of a watched kind.
#[derive(Debug)]
pub struct Object {
    kind: Kind,
    name: String,
    namespace: String,
    uid: String,
    resource_version: String,
    related_namespace: Option<String>,
    json: Box<RawValue>,
}

impl Object {
    /// Prepares an object read from the API (or a saved stub): removes `metadata.managedFields`
    /// (large, and of no use to a sync job), fills in `apiVersion` and `kind` (list responses
    /// leave them out of their items), and keeps it as JSON text.
    pub fn new(kind: Kind, mut obj: Value) -> Self {
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
        let meta = |field: &str| {
            str_at(&obj, &["metadata", field])
                .unwrap_or_default()
                .to_owned()
        };
        Object {
            kind,
            name: meta("name"),
            namespace: meta("namespace"),
            uid: meta("uid"),
            resource_version: meta("resourceVersion"),
            related_namespace: kind.related_namespace(&obj).map(str::to_owned),
            json: serde_json::value::to_raw_value(&obj).expect("a JSON value always serializes"),
        }
    }

    /// The kind.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// `metadata.name`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// `metadata.namespace`; empty for cluster-scoped objects.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// `metadata.uid`.
    pub fn uid(&self) -> &str {
        &self.uid
    }

    /// `metadata.resourceVersion` (opaque: compare for equality only).
    pub fn resource_version(&self) -> &str {
        &self.resource_version
    }

    /// The namespace the object belongs to ([`Kind::related_namespace`]).
    pub fn related_namespace(&self) -> Option<&str> {
        self.related_namespace.as_deref()
    }

    /// The object as JSON text.
    pub fn json(&self) -> &RawValue {
        &self.json
    }

    /// The object as a JSON value (parsed again).
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.json.get()).expect("the text was written from a JSON value")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn removes_managed_fields_types_the_object_and_reads_its_identity() {
        let obj = Object::new(
            Kind::PersistentVolumeClaim,
            json!({"metadata": {"name": "vm-disk", "namespace": "app-ns1", "uid": "u-1",
                    "resourceVersion": "42", "managedFields": [{"manager": "kubectl"}]},
                   "spec": {"volumeName": "pv-1"}}),
        );
        let value = obj.to_value();
        assert_eq!(value["kind"], "PersistentVolumeClaim");
        assert_eq!(value["apiVersion"], "v1");
        assert!(value["metadata"].get("managedFields").is_none());
        assert_eq!(value["spec"]["volumeName"], "pv-1");
        assert_eq!(
            (
                obj.name(),
                obj.namespace(),
                obj.uid(),
                obj.resource_version()
            ),
            ("vm-disk", "app-ns1", "u-1", "42")
        );
        assert_eq!(obj.related_namespace(), Some("app-ns1"));
        assert!(
            obj.json()
                .get()
                .starts_with(r#"{"apiVersion":"v1","kind":"PersistentVolumeClaim""#)
        );
    }

    #[test]
    fn cluster_scoped_objects_belong_to_the_namespace_they_are_bound_to() {
        let pv = Object::new(
            Kind::PersistentVolume,
            json!({"metadata": {"name": "pv-1"}, "spec": {"claimRef": {"namespace": "app"}}}),
        );
        assert_eq!((pv.namespace(), pv.related_namespace()), ("", Some("app")));
    }
}
