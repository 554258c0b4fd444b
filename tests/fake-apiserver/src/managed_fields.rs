//! Field ownership (`metadata.managedFields`) and server-side apply.
//!
//! Every write records which manager owns which fields, in the real `FieldsV1` encoding. An
//! `Update` (create, PUT, non-apply PATCH) takes the fields it changed away from the other
//! managers; an `Apply` sets the fields of its applied configuration, removes the fields it
//! applied before and no longer applies (unless another manager owns them too), and fails with
//! a conflict when it would change a value owned by another manager, unless `force` is given,
//! which takes the fields over. Maps are merged field by field; `metadata.finalizers` is a set;
//! every other list is atomic (owned and replaced as a whole), which is how the real server
//! treats lists of custom resources without list-type markers.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value, json};

/// One step of a field path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Elem {
    /// `f:name`: a field of a map.
    Field(String),
    /// `v:json`: a member of a set list (its JSON text).
    Value(String),
    /// `k:json`: an element of a keyed list (kept when read, never produced).
    Key(String),
}

type FieldPath = Vec<Elem>;

/// Top-level metadata fields the server maintains, which no manager owns.
const SERVER_METADATA: &[&str] = &[
    "name",
    "namespace",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "selfLink",
];

/// Which part of an object a write may touch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// The main resource of a type with a status subresource: everything but `status`.
    MainWithoutStatus,
    /// The main resource of a type without a status subresource: everything.
    Main,
    /// The `status` subresource: only `status`.
    Status,
}

impl Scope {
    fn subresource(self) -> Option<&'static str> {
        (self == Scope::Status).then_some("status")
    }
}

/// The owned leaf paths of an object with their values (`true` for set members).
fn flatten(obj: &Value, scope: Scope) -> BTreeMap<FieldPath, Value> {
    let mut out = BTreeMap::new();
    let Some(top) = obj.as_object() else {
        return out;
    };
    for (k, v) in top {
        let keep = match (scope, k.as_str()) {
            (_, "apiVersion" | "kind") => false,
            (Scope::Status, key) => key == "status",
            (Scope::MainWithoutStatus, "status") => false,
            _ => true,
        };
        if !keep {
            continue;
        }
        if k == "metadata" {
            if let Some(meta) = v.as_object() {
                for (mk, mv) in meta
                    .iter()
                    .filter(|(mk, _)| !SERVER_METADATA.contains(&mk.as_str()))
                {
                    walk(
                        mv,
                        vec![Elem::Field(k.clone()), Elem::Field(mk.clone())],
                        &mut out,
                    );
                }
            }
            continue;
        }
        walk(v, vec![Elem::Field(k.clone())], &mut out);
    }
    out
}

fn walk(v: &Value, path: FieldPath, out: &mut BTreeMap<FieldPath, Value>) {
    match v {
        Value::Object(m) if !m.is_empty() => {
            for (k, c) in m {
                let mut p = path.clone();
                p.push(Elem::Field(k.clone()));
                walk(c, p, out);
            }
        }
        Value::Array(items) if is_set_list(&path) && !items.is_empty() => {
            for item in items {
                let mut p = path.clone();
                p.push(Elem::Value(item.to_string()));
                out.insert(p, Value::Bool(true));
            }
        }
        leaf => {
            out.insert(path, leaf.clone());
        }
    }
}

fn is_set_list(path: &FieldPath) -> bool {
    path.len() == 2
        && path[0] == Elem::Field("metadata".into())
        && path[1] == Elem::Field("finalizers".into())
}

/// Whether one path is the other or lies inside it.
fn overlaps(a: &FieldPath, b: &FieldPath) -> bool {
    a.starts_with(b) || b.starts_with(a)
}

/// `.spec.capacity.storage`, `.metadata.finalizers[="x"]`: how conflicts name a field.
fn display(path: &FieldPath) -> String {
    path.iter()
        .map(|e| match e {
            Elem::Field(f) => format!(".{f}"),
            Elem::Value(v) => format!("[={v}]"),
            Elem::Key(k) => format!("[{k}]"),
        })
        .collect()
}

/// One `managedFields` entry.
#[derive(Debug, Clone)]
struct Entry {
    manager: String,
    operation: String,
    api_version: String,
    time: String,
    subresource: Option<String>,
    fields: BTreeSet<FieldPath>,
}

impl Entry {
    fn parse(v: &Value) -> Option<Entry> {
        let mut fields = BTreeSet::new();
        if let Some(f) = v.get("fieldsV1") {
            decode(f, Vec::new(), &mut fields);
        }
        Some(Entry {
            manager: v.get("manager")?.as_str()?.to_owned(),
            operation: v.get("operation")?.as_str()?.to_owned(),
            api_version: v
                .get("apiVersion")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            time: v
                .get("time")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            subresource: v
                .get("subresource")
                .and_then(Value::as_str)
                .map(str::to_owned),
            fields,
        })
    }

    fn to_json(&self) -> Value {
        let mut e = json!({
            "manager": self.manager,
            "operation": self.operation,
            "apiVersion": self.api_version,
            "time": self.time,
            "fieldsType": "FieldsV1",
            "fieldsV1": encode(&self.fields),
        });
        if let Some(s) = &self.subresource {
            e["subresource"] = json!(s);
        }
        e
    }

    fn is(&self, manager: &str, operation: &str, subresource: Option<&str>) -> bool {
        self.manager == manager
            && self.operation == operation
            && self.subresource.as_deref() == subresource
    }
}

fn decode(node: &Value, prefix: FieldPath, out: &mut BTreeSet<FieldPath>) {
    let Some(m) = node.as_object() else { return };
    if m.is_empty() && !prefix.is_empty() {
        out.insert(prefix);
        return;
    }
    for (k, child) in m {
        if k == "." {
            out.insert(prefix.clone());
            continue;
        }
        let elem = if let Some(f) = k.strip_prefix("f:") {
            Elem::Field(f.to_owned())
        } else if let Some(v) = k.strip_prefix("v:") {
            Elem::Value(v.to_owned())
        } else if let Some(key) = k.strip_prefix("k:") {
            Elem::Key(key.to_owned())
        } else {
            continue;
        };
        let mut p = prefix.clone();
        p.push(elem);
        decode(child, p, out);
    }
}

fn encode(fields: &BTreeSet<FieldPath>) -> Value {
    #[derive(Default)]
    struct Node {
        member: bool,
        children: BTreeMap<String, Node>,
    }
    fn to_json(n: &Node) -> Value {
        let mut m = Map::new();
        if n.member && !n.children.is_empty() {
            m.insert(".".to_owned(), Value::Object(Map::new()));
        }
        for (k, c) in &n.children {
            m.insert(k.clone(), to_json(c));
        }
        Value::Object(m)
    }
    let mut root = Node::default();
    for path in fields {
        let mut node = &mut root;
        for e in path {
            let key = match e {
                Elem::Field(f) => format!("f:{f}"),
                Elem::Value(v) => format!("v:{v}"),
                Elem::Key(k) => format!("k:{k}"),
            };
            node = node.children.entry(key).or_default();
        }
        node.member = true;
    }
    to_json(&root)
}

fn read_entries(obj: &Value) -> Vec<Entry> {
    obj.pointer("/metadata/managedFields")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Entry::parse).collect())
        .unwrap_or_default()
}

fn write_entries(obj: &mut Value, entries: &[Entry]) {
    let list: Vec<Value> = entries
        .iter()
        .filter(|e| !e.fields.is_empty())
        .map(Entry::to_json)
        .collect();
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        if list.is_empty() {
            meta.remove("managedFields");
        } else {
            meta.insert("managedFields".to_owned(), Value::Array(list));
        }
    }
}

fn now() -> String {
    chrono::Utc::now().format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Records an `Update` by `manager` that turned `old` (None on create) into `new`: the manager
/// gets the fields it changed, the others lose them. When the client itself changed
/// `managedFields`, its value is kept as sent, as the real server does.
pub fn track_update(
    old: Option<&Value>,
    new: &mut Value,
    manager: &str,
    api_version: &str,
    scope: Scope,
) {
    let old_mf = old.and_then(|o| o.pointer("/metadata/managedFields"));
    let new_mf = new.pointer("/metadata/managedFields");
    if new_mf.is_some() && new_mf != old_mf {
        return;
    }
    let before = old.map(|o| flatten(o, scope)).unwrap_or_default();
    let after = flatten(new, scope);
    let mut changed: BTreeSet<FieldPath> = after
        .iter()
        .filter(|(p, v)| before.get(*p) != Some(*v))
        .map(|(p, _)| p.clone())
        .collect();
    let removed: BTreeSet<FieldPath> = before
        .keys()
        .filter(|p| !after.contains_key(*p))
        .cloned()
        .collect();
    let mut entries = old.map(read_entries).unwrap_or_default();
    if changed.is_empty() && removed.is_empty() {
        write_entries(new, &entries);
        return;
    }
    let sub = scope.subresource();
    for e in entries.iter_mut().filter(|e| !e.is(manager, "Update", sub)) {
        e.fields
            .retain(|f| !changed.iter().chain(&removed).any(|c| overlaps(c, f)));
    }
    let idx = match entries.iter().position(|e| e.is(manager, "Update", sub)) {
        Some(i) => i,
        None => {
            entries.push(Entry {
                manager: manager.to_owned(),
                operation: "Update".to_owned(),
                api_version: api_version.to_owned(),
                time: String::new(),
                subresource: sub.map(str::to_owned),
                fields: BTreeSet::new(),
            });
            entries.len() - 1
        }
    };
    let mine = &mut entries[idx];
    mine.fields.retain(|f| !removed.contains(f));
    mine.fields.append(&mut changed);
    mine.time = now();
    mine.api_version = api_version.to_owned();
    write_entries(new, &entries);
}

/// A field another manager owns that an apply would change: (manager, `.field.path`).
pub type Conflict = (String, String);

/// Server-side apply of `applied` by `manager` onto `live` (None: the object is created).
/// Returns the merged object with updated `managedFields`, or the conflicts.
pub fn apply(
    live: Option<&Value>,
    applied: &Value,
    manager: &str,
    api_version: &str,
    force: bool,
    scope: Scope,
) -> Result<Value, Vec<Conflict>> {
    let mut applied = applied.clone();
    if let Some(m) = applied.as_object_mut() {
        match scope {
            Scope::MainWithoutStatus => {
                m.remove("status");
            }
            Scope::Status => {
                m.retain(|k, _| matches!(k.as_str(), "status" | "apiVersion" | "kind" | "metadata"))
            }
            Scope::Main => {}
        }
    }
    let applied_fields: BTreeSet<FieldPath> = flatten(&applied, scope).into_keys().collect();
    let base = live.cloned().unwrap_or_else(|| json!({}));
    let mut entries = live.map(read_entries).unwrap_or_default();
    let sub = scope.subresource();
    let previous: BTreeSet<FieldPath> = entries
        .iter()
        .find(|e| e.is(manager, "Apply", sub))
        .map(|e| e.fields.clone())
        .unwrap_or_default();

    let mut merged = base.clone();
    if let Some(m) = applied.as_object_mut()
        && let Some(meta) = m.get_mut("metadata").and_then(Value::as_object_mut)
    {
        meta.remove("managedFields");
    }
    deep_merge(&mut merged, &applied, &mut Vec::new());

    let others_own = |p: &FieldPath, entries: &[Entry]| {
        entries
            .iter()
            .any(|e| !e.is(manager, "Apply", sub) && e.fields.iter().any(|f| overlaps(f, p)))
    };
    for gone in previous.difference(&applied_fields) {
        if !others_own(gone, &entries) && !applied_fields.iter().any(|a| a.starts_with(gone)) {
            remove_path(&mut merged, gone);
        }
    }

    let before = flatten(&base, scope);
    let after = flatten(&merged, scope);
    let changed: Vec<&FieldPath> = applied_fields
        .iter()
        .filter(|p| {
            let prefix_changed = |m: &BTreeMap<FieldPath, Value>| -> Vec<(FieldPath, Value)> {
                m.range((*p).clone()..)
                    .take_while(|(k, _)| k.starts_with(p))
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect()
            };
            prefix_changed(&before) != prefix_changed(&after)
        })
        .collect();

    let mut conflicts = Vec::new();
    for e in entries.iter_mut().filter(|e| e.manager != manager) {
        let hits: Vec<FieldPath> = e
            .fields
            .iter()
            .filter(|f| changed.iter().any(|c| overlaps(c, f)))
            .cloned()
            .collect();
        if hits.is_empty() {
            continue;
        }
        if force {
            e.fields.retain(|f| !hits.contains(f));
        } else {
            conflicts.extend(hits.iter().map(|h| (e.manager.clone(), display(h))));
        }
    }
    if !conflicts.is_empty() {
        return Err(conflicts);
    }
    entries.retain(|e| !e.is(manager, "Apply", sub));
    entries.push(Entry {
        manager: manager.to_owned(),
        operation: "Apply".to_owned(),
        api_version: api_version.to_owned(),
        time: now(),
        subresource: sub.map(str::to_owned),
        fields: applied_fields,
    });
    write_entries(&mut merged, &entries);
    Ok(merged)
}

/// Merges an applied configuration into an object: maps field by field, finalizers as a set,
/// other values (including lists) replaced.
fn deep_merge(target: &mut Value, applied: &Value, path: &mut Vec<String>) {
    match (target, applied) {
        (Value::Object(t), Value::Object(a)) => {
            for (k, v) in a {
                path.push(k.clone());
                match t.get_mut(k) {
                    Some(existing) => deep_merge(existing, v, path),
                    None => {
                        t.insert(k.clone(), v.clone());
                    }
                }
                path.pop();
            }
        }
        (Value::Array(t), Value::Array(a))
            if path.len() == 2 && path[0] == "metadata" && path[1] == "finalizers" =>
        {
            for item in a {
                if !t.contains(item) {
                    t.push(item.clone());
                }
            }
        }
        (t, a) => *t = a.clone(),
    }
}

fn remove_path(obj: &mut Value, path: &FieldPath) {
    let Some((last, parents)) = path.split_last() else {
        return;
    };
    let mut node = obj;
    for e in parents {
        let Elem::Field(f) = e else { return };
        match node.get_mut(f.as_str()) {
            Some(n) => node = n,
            None => return,
        }
    }
    match last {
        Elem::Field(f) => {
            if let Some(m) = node.as_object_mut() {
                m.remove(f);
            }
        }
        Elem::Value(v) => {
            if let (Some(list), Ok(value)) = (node.as_array_mut(), serde_json::from_str::<Value>(v))
            {
                list.retain(|x| *x != value);
            }
        }
        Elem::Key(_) => {}
    }
}

/// The object without the `time` of its managedFields entries, to tell real changes from
/// no-op writes.
pub fn without_times(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(list) = o
        .pointer_mut("/metadata/managedFields")
        .and_then(Value::as_array_mut)
    {
        for e in list.iter_mut().filter_map(Value::as_object_mut) {
            e.remove("time");
        }
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn managers(obj: &Value) -> Vec<(String, String)> {
        read_entries(obj)
            .into_iter()
            .map(|e| (e.manager, e.operation))
            .collect()
    }

    #[test]
    fn fields_v1_round_trips() {
        let obj = json!({"metadata": {"name": "x", "labels": {"a": "1"}, "finalizers": ["f"]}, "spec": {"n": 1, "l": [1, 2]}});
        let fields: BTreeSet<FieldPath> = flatten(&obj, Scope::Main).into_keys().collect();
        let encoded = encode(&fields);
        assert_eq!(
            encoded,
            json!({"f:metadata": {"f:finalizers": {"v:\"f\"": {}}, "f:labels": {"f:a": {}}}, "f:spec": {"f:l": {}, "f:n": {}}})
        );
        let mut back = BTreeSet::new();
        decode(&encoded, Vec::new(), &mut back);
        assert_eq!(back, fields);
    }

    #[test]
    fn apply_conflicts_with_another_manager_unless_forced() {
        let mut live = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1"}});
        track_update(None, &mut live, "kubectl-create", "v1", Scope::Main);
        // Same value: shared ownership, no conflict.
        let same = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "1", "b": "2"}});
        let merged = apply(Some(&live), &same, "ops", "v1", false, Scope::Main).unwrap();
        assert_eq!(
            managers(&merged),
            [
                ("kubectl-create".into(), "Update".into()),
                ("ops".into(), "Apply".into())
            ]
        );
        // Different value: conflict naming the owner and field.
        let diff = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {"a": "9"}});
        let err = apply(Some(&merged), &diff, "other", "v1", false, Scope::Main).unwrap_err();
        assert!(
            err.contains(&("kubectl-create".to_owned(), ".data.a".to_owned())),
            "{err:?}"
        );
        assert!(
            err.contains(&("ops".to_owned(), ".data.a".to_owned())),
            "{err:?}"
        );
        // Forced: the field moves to the new manager.
        let forced = apply(Some(&merged), &diff, "other", "v1", true, Scope::Main).unwrap();
        assert_eq!(forced["data"], json!({"a": "9", "b": "2"}));
        let ops = read_entries(&forced)
            .into_iter()
            .find(|e| e.manager == "ops")
            .unwrap();
        assert!(!ops.fields.iter().any(|f| display(f) == ".data.a"));
    }

    #[test]
    fn apply_removes_fields_it_no_longer_applies() {
        let first = json!({"metadata": {"name": "c", "labels": {"a": "1", "b": "2"}}});
        let live = apply(None, &first, "ops", "v1", false, Scope::Main).unwrap();
        let second = json!({"metadata": {"name": "c", "labels": {"a": "1"}}});
        let after = apply(Some(&live), &second, "ops", "v1", false, Scope::Main).unwrap();
        assert_eq!(after["metadata"]["labels"], json!({"a": "1"}));
    }

    #[test]
    fn update_takes_changed_fields_from_appliers() {
        let live = apply(
            None,
            &json!({"metadata": {"name": "c"}, "data": {"a": "1"}}),
            "ops",
            "v1",
            false,
            Scope::Main,
        )
        .unwrap();
        let mut new = live.clone();
        new["data"]["a"] = json!("2");
        track_update(Some(&live), &mut new, "kubectl-edit", "v1", Scope::Main);
        assert_eq!(managers(&new), [("kubectl-edit".into(), "Update".into())]);
        // Applying the old value again now conflicts with the editor.
        let err = apply(
            Some(&new),
            &json!({"metadata": {"name": "c"}, "data": {"a": "1"}}),
            "ops",
            "v1",
            false,
            Scope::Main,
        )
        .unwrap_err();
        assert_eq!(err, [("kubectl-edit".to_owned(), ".data.a".to_owned())]);
    }
}
