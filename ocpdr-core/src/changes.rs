//! Did applying an object change anything? Compare what matters, not the server's bookkeeping.
//!
//! After a server-side apply the API server returns the object as stored. Comparing it with the
//! object as it was before tells whether the apply created, updated or left it alone; but the
//! server's bookkeeping (resourceVersion, managedFields timestamps, generation) may move even
//! when nothing the user cares about did, and `status` is written by controllers, not by the
//! apply. [`classify`] ignores those, so re-applying the same objects reports `unchanged` and a
//! playbook run twice says `changed: false` the second time.

use serde::Serialize;
use serde_json::{Map, Value};

/// Metadata the API server assigns and maintains. Never part of an apply body, never a change.
pub const SERVER_METADATA: &[&str] = &[
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "selfLink",
    "managedFields",
];

/// What an apply did to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// The object did not exist before.
    Created,
    /// The object existed and something that matters differs.
    Updated,
    /// The object existed and nothing that matters differs.
    Unchanged,
}

impl Action {
    /// Whether the action changed the cluster.
    pub fn changed(self) -> bool {
        self != Action::Unchanged
    }
}

/// The object without server-maintained metadata and without `status`: what is compared.
pub fn comparable(obj: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(root) = out.as_object_mut() {
        root.remove("status");
        if let Some(Value::Object(meta)) = root.get_mut("metadata") {
            for field in SERVER_METADATA {
                meta.remove(*field);
            }
        }
    }
    out
}

/// The body to send in a server-side apply: the object without server-maintained metadata and
/// `status`. A resourceVersion or uid copied from another cluster would make the apply fail as a
/// conflict, and `managedFields` must not be sent at all.
pub fn apply_body(obj: &Value) -> Value {
    comparable(obj)
}

/// Classifies an apply from the object before it (`None`: it did not exist) and the object the
/// server returned.
///
/// ```
/// use ocpdr_core::changes::{classify, Action};
/// let before = serde_json::json!({"metadata": {"name": "a", "resourceVersion": "1"}, "spec": {"x": 1}});
/// let same = serde_json::json!({"metadata": {"name": "a", "resourceVersion": "2"}, "spec": {"x": 1}});
/// let other = serde_json::json!({"metadata": {"name": "a", "resourceVersion": "3"}, "spec": {"x": 2}});
/// assert_eq!(classify(None, &same), Action::Created);
/// assert_eq!(classify(Some(&before), &same), Action::Unchanged);
/// assert_eq!(classify(Some(&before), &other), Action::Updated);
/// ```
pub fn classify(before: Option<&Value>, after: &Value) -> Action {
    match before {
        None => Action::Created,
        Some(before) if comparable(before) == comparable(after) => Action::Unchanged,
        Some(_) => Action::Updated,
    }
}

/// The dotted paths (at most `limit`) where the comparable forms of `before` and `after` differ;
/// lists are compared whole. For reporting what an update touched.
pub fn differences(before: &Value, after: &Value, limit: usize) -> Vec<String> {
    let mut out = Vec::new();
    diff_into(&comparable(before), &comparable(after), "", &mut out, limit);
    out
}

fn diff_into(before: &Value, after: &Value, at: &str, out: &mut Vec<String>, limit: usize) {
    if out.len() >= limit || before == after {
        return;
    }
    match (before, after) {
        (Value::Object(b), Value::Object(a)) => {
            // A field present on one side only compares against an empty mapping, so an added
            // or removed sub-object names its leaves either way.
            let empty = Value::Object(Map::new());
            let keys = b.keys().chain(a.keys().filter(|k| !b.contains_key(*k)));
            for key in keys {
                let path = if at.is_empty() {
                    key.clone()
                } else {
                    format!("{at}.{key}")
                };
                let (bv, av) = match (b.get(key), a.get(key)) {
                    (Some(bv), None) if bv.is_object() => (bv, &empty),
                    (None, Some(av)) if av.is_object() => (&empty, av),
                    (bv, av) => (bv.unwrap_or(&Value::Null), av.unwrap_or(&Value::Null)),
                };
                if bv.is_object() && av.is_object() {
                    diff_into(bv, av, &path, out, limit);
                } else if bv != av && out.len() < limit {
                    out.push(path);
                }
            }
        }
        _ => out.push(if at.is_empty() { ".".into() } else { at.into() }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pvc(storage: &str, rv: &str) -> Value {
        json!({
            "apiVersion": "v1", "kind": "PersistentVolumeClaim",
            "metadata": {"name": "disk", "namespace": "app", "resourceVersion": rv, "uid": "u1",
                         "managedFields": [{"manager": "ocpdr", "time": rv}], "generation": 1},
            "spec": {"resources": {"requests": {"storage": storage}}, "volumeName": "pv-1"},
            "status": {"phase": if rv == "1" { "Pending" } else { "Bound" }},
        })
    }

    #[test]
    fn bookkeeping_and_status_are_not_changes() {
        assert_eq!(
            classify(Some(&pvc("1Gi", "1")), &pvc("1Gi", "7")),
            Action::Unchanged
        );
        assert!(!Action::Unchanged.changed());
    }

    #[test]
    fn a_spec_or_label_change_is_an_update() {
        let before = pvc("1Gi", "1");
        assert_eq!(classify(Some(&before), &pvc("2Gi", "2")), Action::Updated);
        let mut labelled = before.clone();
        labelled["metadata"]["labels"] = json!({"app": "x"});
        assert_eq!(classify(Some(&before), &labelled), Action::Updated);
        assert_eq!(differences(&before, &labelled, 10), ["metadata.labels.app"]);
        assert_eq!(
            differences(&before, &pvc("2Gi", "2"), 10),
            ["spec.resources.requests.storage"]
        );
        assert!(Action::Created.changed() && Action::Updated.changed());
    }

    #[test]
    fn apply_body_drops_what_the_server_owns() {
        let body = apply_body(&pvc("1Gi", "1"));
        assert_eq!(
            body,
            json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                   "metadata": {"name": "disk", "namespace": "app"},
                   "spec": {"resources": {"requests": {"storage": "1Gi"}}, "volumeName": "pv-1"}})
        );
    }

    #[test]
    fn differences_are_limited_and_name_added_and_removed_fields() {
        let before = json!({"spec": {"a": 1, "b": 2, "gone": {"x": 1}}});
        let after = json!({"spec": {"a": 2, "b": 3, "new": [1], "added": {"y": 1}}});
        assert_eq!(
            differences(&before, &after, 10),
            [
                "spec.a",
                "spec.b",
                "spec.gone.x",
                "spec.new",
                "spec.added.y"
            ]
        );
        assert_eq!(differences(&before, &after, 1), ["spec.a"]);
        assert_eq!(differences(&json!(1), &json!(2), 5), ["."]);
    }
}
