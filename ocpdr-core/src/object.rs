//! Identity of a Kubernetes object held as JSON: kind, namespace and name.
//!
//! Every transformation reports what it did per object; this is the one place that knows how
//! to read "which object is this" from an untyped [`Value`].

use serde::Serialize;
use serde_json::{Map, Value};
use std::fmt;

/// The identity of one object, as reported back to users.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObjectRef {
    /// `kind`, e.g. `PersistentVolume`.
    pub kind: String,
    /// `metadata.namespace`, absent for cluster-scoped objects.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// `metadata.name`; empty when the object has none (e.g. it uses `generateName`).
    pub name: String,
}

impl ObjectRef {
    /// Reads the identity of `obj`; missing fields become empty strings / `None`.
    pub fn of(obj: &Value) -> Self {
        ObjectRef {
            kind: str_at(obj, &["kind"]).unwrap_or_default().to_owned(),
            namespace: str_at(obj, &["metadata", "namespace"]).map(str::to_owned),
            name: str_at(obj, &["metadata", "name"])
                .unwrap_or_default()
                .to_owned(),
        }
    }
}

impl fmt::Display for ObjectRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.namespace {
            Some(ns) => write!(f, "{} {}/{}", self.kind, ns, self.name),
            None => write!(f, "{} {}", self.kind, self.name),
        }
    }
}

/// The string at `path` (a list of object keys), if every step exists and the leaf is a string.
pub fn str_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a str> {
    value_at(obj, path)?.as_str()
}

/// The value at `path` (a list of object keys), if every step exists.
pub fn value_at<'a>(obj: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(obj, |v, key| v.get(key))
}

/// The object map at `path`, mutably, if every step exists and is an object.
pub fn map_at_mut<'a>(obj: &'a mut Value, path: &[&str]) -> Option<&'a mut Map<String, Value>> {
    path.iter()
        .try_fold(obj, |v, key| v.get_mut(key))?
        .as_object_mut()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identity_of_namespaced_and_cluster_objects() {
        let pvc = json!({"kind": "PersistentVolumeClaim", "metadata": {"name": "disk", "namespace": "app"}});
        assert_eq!(
            ObjectRef::of(&pvc).to_string(),
            "PersistentVolumeClaim app/disk"
        );
        let pv = json!({"kind": "PersistentVolume", "metadata": {"name": "pv-1"}});
        assert_eq!(ObjectRef::of(&pv).to_string(), "PersistentVolume pv-1");
        assert_eq!(ObjectRef::of(&json!(5)).name, "");
    }
}
