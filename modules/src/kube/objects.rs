//! Turning the `resources` option of `k8s_apply` and `k8s_delete` into checked targets.
//!
//! Every entry must say what it is (`apiVersion`, `kind`) and which one (`metadata.name`, and
//! `metadata.namespace` for namespaced kinds); `k8s_delete` also takes the short reference form
//! `{apiVersion, kind, name, namespace}`. Problems are reported for all entries at once, by
//! index, before anything is sent to the cluster, so a bad list changes nothing.

use super::cluster::Cluster;
use super::concurrently;
use super::resources::{Kind, Target};
use crate::Failure;
use ocpdr_core::object::str_at;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};

/// One entry of `resources`, checked and resolved.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Its position in `resources`.
    pub index: usize,
    /// The object it names.
    pub target: Target,
    /// The entry as given, without `metadata.namespace` for cluster-scoped kinds.
    pub body: Value,
}

/// Which forms an entry may take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// Whole objects only (`metadata.name`).
    Objects,
    /// Whole objects or `{apiVersion, kind, name, namespace}` references.
    ObjectsOrRefs,
}

/// At most this many problems are listed in one failure message.
const MAX_PROBLEMS: usize = 10;

struct Identity {
    api_version: String,
    kind: String,
    namespace: Option<String>,
    name: String,
}

fn identity(entry: &Value, form: Form) -> Result<Identity, String> {
    if !entry.is_object() {
        return Err("expected an object (a mapping with apiVersion, kind and metadata)".into());
    }
    let field = |name: &str| {
        str_at(entry, &[name])
            .filter(|v| !v.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| format!("{name} is missing or not a string"))
    };
    let api_version = field("apiVersion")?;
    let kind = field("kind")?;
    let by_metadata = (
        str_at(entry, &["metadata", "name"]),
        str_at(entry, &["metadata", "namespace"]),
    );
    let by_ref = (str_at(entry, &["name"]), str_at(entry, &["namespace"]));
    let (name, namespace) = match (by_metadata, form) {
        ((Some(name), ns), _) => (name, ns),
        ((None, _), Form::ObjectsOrRefs) if by_ref.0.is_some() => {
            (by_ref.0.unwrap_or_default(), by_ref.1)
        }
        ((None, _), Form::ObjectsOrRefs) => {
            return Err(format!("{kind}: metadata.name (or name) is missing"));
        }
        ((None, _), Form::Objects) => return Err(format!("{kind}: metadata.name is missing")),
    };
    if name.is_empty() {
        return Err(format!("{kind}: the name is empty"));
    }
    Ok(Identity {
        api_version,
        kind,
        namespace: namespace.filter(|ns| !ns.is_empty()).map(str::to_owned),
        name: name.to_owned(),
    })
}

fn problems_failure(mut problems: Vec<(usize, String)>) -> Failure {
    problems.sort_by_key(|(index, _)| *index);
    let count = problems.len();
    let mut shown: Vec<String> = problems
        .into_iter()
        .take(MAX_PROBLEMS)
        .map(|(index, problem)| format!("resources[{index}]: {problem}"))
        .collect();
    if count > MAX_PROBLEMS {
        shown.push(format!("and {} more", count - MAX_PROBLEMS));
    }
    Failure::new(format!(
        "{count} invalid entr{} in resources, nothing was changed: {}",
        if count == 1 { "y" } else { "ies" },
        shown.join("; ")
    ))
}

/// Checks and resolves every entry; fails listing every bad one, by index. Only a failure to
/// reach the API server stops the check early.
pub async fn resolve_all(
    cluster: &Cluster,
    resources: &[Value],
    form: Form,
) -> Result<Vec<Resolved>, Failure> {
    let mut problems = Vec::new();
    let mut identities = Vec::new();
    for (index, entry) in resources.iter().enumerate() {
        match identity(entry, form) {
            Ok(identity) => identities.push((index, identity)),
            Err(problem) => problems.push((index, problem)),
        }
    }

    let mut distinct: Vec<(String, String)> = identities
        .iter()
        .map(|(_, id)| (id.api_version.clone(), id.kind.clone()))
        .collect();
    distinct.sort();
    distinct.dedup();
    let resolved = concurrently(distinct, |(api_version, kind)| async move {
        let result = cluster.resolve(&api_version, &kind).await;
        ((api_version, kind), result)
    })
    .await;
    let mut kinds: HashMap<(String, String), Kind> = HashMap::new();
    for (key, result) in resolved {
        kinds.insert(key, result?);
    }

    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::with_capacity(identities.len());
    for (index, id) in identities {
        let kind = kinds[&(id.api_version.clone(), id.kind.clone())].clone();
        let mut body = resources[index].clone();
        let namespace = if kind.namespaced {
            if id.namespace.is_none() {
                problems.push((
                    index,
                    format!("{} {} is namespaced but has no namespace", id.kind, id.name),
                ));
                continue;
            }
            id.namespace
        } else {
            if let Some(Value::Object(meta)) = body.get_mut("metadata") {
                meta.remove("namespace");
            }
            None
        };
        let target = Target {
            kind,
            namespace,
            name: id.name,
        };
        // The same object under another API version is still the same object.
        let key = format!(
            "{}/{} {:?} {}",
            target.kind.resource.group, target.kind.resource.plural, target.namespace, target.name
        );
        if let Some(first) = seen.insert(key, index) {
            problems.push((
                index,
                format!("{target} is the same object as resources[{first}]"),
            ));
            continue;
        }
        out.push(Resolved {
            index,
            target,
            body,
        });
    }
    if !problems.is_empty() {
        return Err(problems_failure(problems));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn identities_come_from_metadata_or_references() {
        let obj = json!({"apiVersion": "v1", "kind": "PersistentVolumeClaim",
                         "metadata": {"name": "disk", "namespace": "app"}});
        let id = identity(&obj, Form::Objects).unwrap();
        assert_eq!(
            (id.kind.as_str(), id.namespace.as_deref(), id.name.as_str()),
            ("PersistentVolumeClaim", Some("app"), "disk")
        );
        let reference = json!({"apiVersion": "v1", "kind": "PersistentVolume", "name": "pv-1"});
        assert_eq!(
            identity(&reference, Form::ObjectsOrRefs).unwrap().name,
            "pv-1"
        );
        assert_eq!(
            identity(&reference, Form::Objects).err().unwrap(),
            "PersistentVolume: metadata.name is missing"
        );
        assert_eq!(
            identity(&json!({"kind": "X"}), Form::Objects)
                .err()
                .unwrap(),
            "apiVersion is missing or not a string"
        );
        assert!(identity(&json!("pv-1"), Form::ObjectsOrRefs).is_err());
    }

    #[test]
    fn many_problems_are_summarised() {
        let failure = problems_failure((0..12).rev().map(|i| (i, "bad".to_owned())).collect());
        assert!(failure.msg().starts_with(
            "12 invalid entries in resources, nothing was changed: resources[0]: bad;"
        ));
        assert!(failure.msg().ends_with("resources[9]: bad; and 2 more"));
    }
}
