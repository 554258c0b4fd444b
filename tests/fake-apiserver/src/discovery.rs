//! Discovery: `/version`, the legacy documents (`/api`, `/api/v1`, `/apis`, `/apis/<g>`,
//! `/apis/<g>/<v>`) that kubectl 1.20 and kube-rs read, and the aggregated discovery
//! (`apidiscovery.k8s.io/v2`, or v2beta1) that kubectl 1.32 asks `/api` and `/apis` for.

use serde_json::{Value, json};

use crate::resources::{Registry, ResourceDef};

/// The Kubernetes version the server reports.
pub const KUBE_VERSION: (&str, &str) = ("1", "33");

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const STATUS_VERBS: &[&str] = &["get", "patch", "update"];

/// `GET /version`.
pub fn version() -> Value {
    let (major, minor) = KUBE_VERSION;
    json!({
        "major": major,
        "minor": minor,
        "gitVersion": format!("v{major}.{minor}.0-fake-apiserver"),
        "gitCommit": "0000000000000000000000000000000000000000",
        "gitTreeState": "clean",
        "buildDate": "2025-01-01T00:00:00Z",
        "goVersion": "go1.24.0",
        "compiler": "gc",
        "platform": "linux/amd64",
    })
}

/// Which aggregated discovery version the Accept header asks for, if any.
pub fn aggregated_version(accept: &str) -> Option<&'static str> {
    for part in accept.split(',') {
        if !part.contains("as=APIGroupDiscoveryList") || !part.contains("g=apidiscovery.k8s.io") {
            continue;
        }
        let params: Vec<&str> = part.split(';').map(str::trim).collect();
        if params.contains(&"v=v2") {
            return Some("v2");
        }
        if params.contains(&"v=v2beta1") {
            return Some("v2beta1");
        }
    }
    None
}

/// The Content-Type of an aggregated discovery response.
pub fn aggregated_content_type(version: &str) -> String {
    format!("application/json;g=apidiscovery.k8s.io;v={version};as=APIGroupDiscoveryList")
}

/// `GET /api` (legacy).
pub fn core_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn group_entry(name: &str, versions: &[String]) -> Value {
    let vs: Vec<Value> = versions
        .iter()
        .map(|v| json!({"groupVersion": format!("{name}/{v}"), "version": v}))
        .collect();
    json!({"name": name, "versions": vs, "preferredVersion": vs[0]})
}

/// `GET /apis` (legacy).
pub fn groups(registry: &Registry) -> Value {
    let groups: Vec<Value> = registry
        .groups()
        .iter()
        .map(|(g, vs)| group_entry(g, vs))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `GET /apis/<group>`.
pub fn group(registry: &Registry, name: &str) -> Option<Value> {
    let groups = registry.groups();
    let versions = groups.get(name)?;
    let mut g = group_entry(name, versions);
    g["kind"] = json!("APIGroup");
    g["apiVersion"] = json!("v1");
    Some(g)
}

/// `GET /api/v1` or `/apis/<group>/<version>`; None when the group/version is not served.
pub fn resource_list(registry: &Registry, group: &str, version: &str) -> Option<Value> {
    let defs: Vec<&std::sync::Arc<ResourceDef>> =
        registry.in_group_version(group, version).collect();
    if defs.is_empty() {
        return None;
    }
    let mut resources = Vec::new();
    for d in defs {
        resources.push(json!({
            "name": d.plural,
            "singularName": d.singular,
            "namespaced": d.namespaced,
            "kind": d.kind,
            "verbs": VERBS,
            "shortNames": d.short_names,
            "categories": d.categories,
        }));
        if d.status {
            resources.push(json!({
                "name": format!("{}/status", d.plural),
                "singularName": "",
                "namespaced": d.namespaced,
                "kind": d.kind,
                "verbs": STATUS_VERBS,
            }));
        }
    }
    let gv = if group.is_empty() {
        version.to_owned()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}

fn aggregated_resource(d: &ResourceDef) -> Value {
    let kind = json!({"group": d.group, "version": d.version, "kind": d.kind});
    let mut r = json!({
        "resource": d.plural,
        "responseKind": kind,
        "scope": if d.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": d.singular,
        "verbs": VERBS,
        "shortNames": d.short_names,
        "categories": d.categories,
    });
    if d.status {
        r["subresources"] =
            json!([{"subresource": "status", "responseKind": kind, "verbs": STATUS_VERBS}]);
    }
    r
}

/// Aggregated discovery for `/api` (`core == true`) or `/apis`.
pub fn aggregated(registry: &Registry, core: bool, version: &str) -> Value {
    let mut items = Vec::new();
    if core {
        let resources: Vec<Value> = registry
            .in_group_version("", "v1")
            .map(|d| aggregated_resource(d))
            .collect();
        items.push(json!({
            "metadata": {"creationTimestamp": null},
            "versions": [{"version": "v1", "resources": resources, "freshness": "Current"}],
        }));
    } else {
        for (g, versions) in registry.groups() {
            let vs: Vec<Value> = versions
                .iter()
                .map(|v| {
                    let resources: Vec<Value> = registry
                        .in_group_version(&g, v)
                        .map(|d| aggregated_resource(d))
                        .collect();
                    json!({"version": v, "resources": resources, "freshness": "Current"})
                })
                .collect();
            items.push(json!({"metadata": {"name": g, "creationTimestamp": null}, "versions": vs}));
        }
    }
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": format!("apidiscovery.k8s.io/{version}"), "metadata": {}, "items": items})
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubectl_132_accept_header_gets_v2() {
        let accept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json";
        assert_eq!(aggregated_version(accept), Some("v2"));
        assert_eq!(aggregated_version("application/json, */*"), None);
    }

    #[test]
    fn core_group_version_is_v1() {
        let r = Registry::load(None).unwrap();
        let list = resource_list(&r, "", "v1").unwrap();
        assert_eq!(list["groupVersion"], "v1");
        assert!(
            list["resources"]
                .as_array()
                .unwrap()
                .iter()
                .any(|x| x["name"] == "persistentvolumes/status")
        );
        assert!(resource_list(&r, "nope.io", "v1").is_none());
    }
}
