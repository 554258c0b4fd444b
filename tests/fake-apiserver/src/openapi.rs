//! Just enough OpenAPI for `kubectl apply` with validation on (no `--validate=false`).
//!
//! kubectl 1.32 validates server-side: it reads `/openapi/v3`, then the group/version document,
//! and sends `fieldValidation=Strict` if the PATCH operation of the kind declares that query
//! parameter; so each document lists, per kind, a PATCH operation with its
//! `x-kubernetes-group-version-kind` and the parameter, and no schemas (kubectl then computes
//! strategic merge patches from its compiled-in types, as for any server). kubectl 1.20
//! validates client-side from `/openapi/v2` in protobuf: an empty protobuf document is a valid
//! one without definitions, which makes validation skip every kind. No schemas are checked.

use std::hash::{Hash as _, Hasher as _};

use serde_json::{Value, json};

use crate::discovery::KUBE_VERSION;
use crate::resources::Registry;

/// The protobuf media type of `/openapi/v2`.
pub const V2_PROTOBUF: &str = "application/com.github.proto-openapi.spec.v2.v1.0+protobuf";

/// `/openapi/v2` as JSON (clients asking for protobuf get an empty body of [`V2_PROTOBUF`]).
pub fn v2_json() -> Value {
    json!({"swagger": "2.0", "info": {"title": "fake-apiserver", "version": format!("v{}.{}.0", KUBE_VERSION.0, KUBE_VERSION.1)}, "paths": {}, "definitions": {}})
}

/// The `/openapi/v3/...` document of one group/version (`api/v1` or `apis/<g>/<v>`).
pub fn v3_document(registry: &Registry, gv_path: &str) -> Option<Value> {
    let (group, version) = match gv_path.split('/').collect::<Vec<_>>().as_slice() {
        ["api", v] => (String::new(), (*v).to_owned()),
        ["apis", g, v] => ((*g).to_owned(), (*v).to_owned()),
        _ => return None,
    };
    let mut paths = serde_json::Map::new();
    let params = json!([
        {"name": "dryRun", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldManager", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "fieldValidation", "in": "query", "schema": {"type": "string", "uniqueItems": true}},
        {"name": "force", "in": "query", "schema": {"type": "boolean", "uniqueItems": true}},
    ]);
    for d in registry.in_group_version(&group, &version) {
        let base = if group.is_empty() {
            format!("/api/{version}")
        } else {
            format!("/apis/{group}/{version}")
        };
        let path = if d.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}/{{name}}", d.plural)
        } else {
            format!("{base}/{}/{{name}}", d.plural)
        };
        paths.insert(
            path,
            json!({"patch": {
                "operationId": format!("patch{}", d.kind),
                "x-kubernetes-action": "patch",
                "x-kubernetes-group-version-kind": {"group": d.group, "version": d.version, "kind": d.kind},
                "parameters": params,
                "responses": {"200": {"description": "OK"}},
            }}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(json!({
        "openapi": "3.0.0",
        "info": {"title": "Kubernetes", "version": format!("v{}.{}.0", KUBE_VERSION.0, KUBE_VERSION.1)},
        "paths": paths,
        "components": {},
    }))
}

fn gv_paths(registry: &Registry) -> Vec<String> {
    let mut out = vec!["api/v1".to_owned()];
    for (g, versions) in registry.groups() {
        out.extend(versions.iter().map(|v| format!("apis/{g}/{v}")));
    }
    out
}

/// `/openapi/v3`: each group/version with a content-hashed URL, as kubectl caches them.
pub fn v3_root(registry: &Registry) -> Value {
    let mut paths = serde_json::Map::new();
    for gv in gv_paths(registry) {
        if let Some(doc) = v3_document(registry, &gv) {
            let mut h = std::collections::hash_map::DefaultHasher::new();
            doc.to_string().hash(&mut h);
            paths.insert(
                gv.clone(),
                json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash={:016X}", h.finish())}),
            );
        }
    }
    json!({"paths": paths})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v3_declares_field_validation_for_each_kind() {
        let r = Registry::load(None).unwrap();
        let root = v3_root(&r);
        assert!(
            root["paths"]["apis/snapshot.storage.k8s.io/v1"]["serverRelativeURL"]
                .as_str()
                .unwrap()
                .contains("hash=")
        );
        let doc = v3_document(&r, "api/v1").unwrap();
        let op = &doc["paths"]["/api/v1/persistentvolumes/{name}"]["patch"];
        assert_eq!(
            op["x-kubernetes-group-version-kind"]["kind"],
            "PersistentVolume"
        );
        assert!(
            op["parameters"]
                .as_array()
                .unwrap()
                .iter()
                .any(|p| p["name"] == "fieldValidation")
        );
        assert!(v3_document(&r, "apis/nope/v1").is_none());
    }
}
