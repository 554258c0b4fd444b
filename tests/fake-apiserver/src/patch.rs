//! The non-apply patch types: JSON merge patch (RFC 7386), JSON patch (RFC 6902), and
//! strategic merge patch for built-in kinds. Strategic merge is JSON merge plus what kubectl's
//! patches rely on: merge-by-key lists (containers by `name`, conditions by `type`, ...),
//! merged primitive lists (`finalizers`), and the `$patch`, `$retainKeys`,
//! `$setElementOrder/` and `$deleteFromPrimitiveList/` directives. Lists without a known merge
//! key are replaced, as in a merge patch.

use serde_json::{Map, Value};

use crate::status::ApiError;

/// How a patch body is to be interpreted, from its Content-Type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PatchType {
    /// `application/json-patch+json`
    Json,
    /// `application/merge-patch+json`
    Merge,
    /// `application/strategic-merge-patch+json`
    Strategic,
    /// `application/apply-patch+yaml` (server-side apply)
    Apply,
}

/// The media types a PATCH accepts, for the 415 message.
pub const PATCH_TYPES: &[&str] = &[
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/apply-patch+yaml",
    "application/strategic-merge-patch+json",
];

impl PatchType {
    /// The patch type for a Content-Type header value, ignoring parameters.
    pub fn from_content_type(ct: &str) -> Option<PatchType> {
        match ct.split(';').next().unwrap_or("").trim() {
            "application/json-patch+json" => Some(PatchType::Json),
            "application/merge-patch+json" => Some(PatchType::Merge),
            "application/strategic-merge-patch+json" => Some(PatchType::Strategic),
            "application/apply-patch+yaml" => Some(PatchType::Apply),
            _ => None,
        }
    }
}

/// Applies a JSON patch document; malformed patches are 400, failing operations 422.
pub fn json_patch(target: &mut Value, body: &Value) -> Result<(), ApiError> {
    let ops: json_patch::Patch = serde_json::from_value(body.clone())
        .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?;
    json_patch::patch(target, &ops).map_err(|e| ApiError::unprocessable(e.to_string()))
}

/// Applies a JSON merge patch.
pub fn merge_patch(target: &mut Value, body: &Value) -> Result<(), ApiError> {
    if !body.is_object() {
        return Err(ApiError::bad_request(
            "error decoding patch: a merge patch must be a JSON object",
        ));
    }
    json_patch::merge(target, body);
    Ok(())
}

/// The merge key of well-known lists of objects, by field name.
fn merge_key(field: &str) -> Option<&'static str> {
    match field {
        "containers"
        | "initContainers"
        | "ephemeralContainers"
        | "volumes"
        | "env"
        | "imagePullSecrets"
        | "volumeDevices"
        | "disks"
        | "interfaces"
        | "networks" => Some("name"),
        "volumeMounts" => Some("mountPath"),
        "ports" => Some("containerPort"),
        "conditions" => Some("type"),
        "ownerReferences" => Some("uid"),
        "hostAliases" => Some("ip"),
        "topologySpreadConstraints" => Some("topologyKey"),
        _ => None,
    }
}

/// Primitive lists whose patches add elements instead of replacing the list.
fn merged_primitive_list(field: &str) -> bool {
    field == "finalizers"
}

/// Applies a strategic merge patch (see the module documentation for what is supported).
pub fn strategic_merge_patch(target: &mut Value, body: &Value) -> Result<(), ApiError> {
    let Value::Object(patch) = body else {
        return Err(ApiError::bad_request(
            "error decoding patch: a strategic merge patch must be a JSON object",
        ));
    };
    smp_map(target, patch)
}

fn smp_map(target: &mut Value, patch: &Map<String, Value>) -> Result<(), ApiError> {
    if !target.is_object() {
        *target = Value::Object(Map::new());
    }
    let Value::Object(t) = target else {
        unreachable!("made an object above")
    };
    match patch.get("$patch").and_then(Value::as_str) {
        Some("replace") => {
            let mut replaced = patch.clone();
            replaced.remove("$patch");
            if let Value::Object(m) = strip_directives(&replaced) {
                *t = m;
            }
            return Ok(());
        }
        Some("delete") => {
            t.clear();
            return Ok(());
        }
        Some(other) if other != "merge" => {
            return Err(ApiError::bad_request(format!(
                "unknown patch type: {other} in map"
            )));
        }
        _ => {}
    }
    if let Some(keys) = patch.get("$retainKeys") {
        let keep: Vec<&str> = keys
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        t.retain(|k, _| keep.contains(&k.as_str()) || patch.contains_key(k));
    }
    for (key, value) in patch {
        if key.starts_with('$') {
            continue;
        }
        match value {
            Value::Null => {
                t.remove(key);
            }
            Value::Object(inner)
                if inner.get("$patch").and_then(Value::as_str) == Some("delete") =>
            {
                t.remove(key);
            }
            Value::Object(inner) => {
                smp_map(t.entry(key.clone()).or_insert(Value::Null), inner)?;
            }
            Value::Array(items) => {
                let current = t.remove(key).unwrap_or(Value::Null);
                t.insert(key.clone(), merge_list(key, current, items)?);
            }
            scalar => {
                t.insert(key.clone(), scalar.clone());
            }
        }
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix("$deleteFromPrimitiveList/") {
            let remove = value.as_array().cloned().unwrap_or_default();
            if let Some(Value::Array(list)) = t.get_mut(field) {
                list.retain(|v| !remove.contains(v));
            }
        }
    }
    for (key, value) in patch {
        if let Some(field) = key.strip_prefix("$setElementOrder/")
            && let (Some(Value::Array(list)), Some(order)) = (t.get_mut(field), value.as_array())
        {
            reorder(list, order, merge_key(field));
        }
    }
    Ok(())
}

fn merge_list(field: &str, current: Value, patch: &[Value]) -> Result<Value, ApiError> {
    let mut list = match current {
        Value::Array(l) => l,
        _ => Vec::new(),
    };
    if let Some(key) = merge_key(field)
        && patch.iter().all(Value::is_object)
    {
        for item in patch {
            let id = item.get(key);
            let pos = list.iter().position(|e| id.is_some() && e.get(key) == id);
            match (item.get("$patch").and_then(Value::as_str), pos) {
                (Some("delete"), Some(p)) => {
                    list.remove(p);
                }
                (Some("delete"), None) => {}
                (_, Some(p)) => smp_map(&mut list[p], item.as_object().expect("checked object"))?,
                (_, None) => list.push(strip_directives(item.as_object().expect("checked object"))),
            }
        }
        return Ok(Value::Array(list));
    }
    if merged_primitive_list(field) {
        for item in patch {
            if !list.contains(item) {
                list.push(item.clone());
            }
        }
        return Ok(Value::Array(list));
    }
    Ok(Value::Array(
        patch
            .iter()
            .map(|v| v.as_object().map_or_else(|| v.clone(), strip_directives))
            .collect(),
    ))
}

fn strip_directives(m: &Map<String, Value>) -> Value {
    Value::Object(
        m.iter()
            .filter(|(k, _)| !k.starts_with('$'))
            .map(|(k, v)| {
                (
                    k.clone(),
                    v.as_object().map_or_else(|| v.clone(), strip_directives),
                )
            })
            .collect(),
    )
}

fn reorder(list: &mut Vec<Value>, order: &[Value], key: Option<&str>) {
    let id = |v: &Value| -> Value {
        match key {
            Some(k) => v.get(k).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    let mut ordered = Vec::with_capacity(list.len());
    for o in order {
        let want = id(o);
        if let Some(p) = list.iter().position(|e| id(e) == want) {
            ordered.push(list.remove(p));
        }
    }
    ordered.append(list);
    *list = ordered;
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strategic_merge_keeps_existing_finalizers_and_merges_containers() {
        let mut obj = json!({
            "metadata": {"finalizers": ["a"], "labels": {"x": "1", "y": "2"}},
            "spec": {"template": {"spec": {"containers": [{"name": "c1", "image": "i1", "args": ["x"]}, {"name": "c2", "image": "i2"}]}}}
        });
        let patch = json!({
            "metadata": {"$setElementOrder/finalizers": ["b", "a"], "finalizers": ["b"], "labels": {"y": null}},
            "spec": {"template": {"spec": {"containers": [{"name": "c1", "image": "new"}, {"name": "c2", "$patch": "delete"}]}}}
        });
        strategic_merge_patch(&mut obj, &patch).unwrap();
        assert_eq!(obj["metadata"]["finalizers"], json!(["b", "a"]));
        assert_eq!(obj["metadata"]["labels"], json!({"x": "1"}));
        assert_eq!(
            obj["spec"]["template"]["spec"]["containers"],
            json!([{"name": "c1", "image": "new", "args": ["x"]}])
        );
    }

    #[test]
    fn strategic_merge_directives() {
        let mut obj = json!({"metadata": {"finalizers": ["a", "b"]}, "spec": {"a": 1, "b": 2, "list": [1, 2]}});
        let patch = json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}, "spec": {"$retainKeys": ["list"], "list": [3]}});
        strategic_merge_patch(&mut obj, &patch).unwrap();
        assert_eq!(
            obj,
            json!({"metadata": {"finalizers": ["b"]}, "spec": {"list": [3]}})
        );
    }

    #[test]
    fn json_patch_errors_have_real_codes() {
        let mut obj = json!({"a": 1});
        assert_eq!(
            json_patch(&mut obj, &json!({"op": "x"})).unwrap_err().code,
            400
        );
        assert_eq!(
            json_patch(&mut obj, &json!([{"op": "test", "path": "/a", "value": 2}]))
                .unwrap_err()
                .code,
            422
        );
        json_patch(
            &mut obj,
            &json!([{"op": "replace", "path": "/a", "value": 2}]),
        )
        .unwrap();
        assert_eq!(obj, json!({"a": 2}));
    }
}
