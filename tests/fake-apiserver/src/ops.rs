//! The verbs, independent of HTTP: get, list, create, update, patch (merge, strategic, JSON,
//! apply), delete and deletecollection, with the real API server's rules for names,
//! namespaces, preconditions, status subresources, generation, finalizers and namespace
//! termination. The HTTP layer and the controllers both call these.

use std::sync::{Arc, Mutex, MutexGuard};

use base64::Engine as _;
use serde_json::{Value, json};

use crate::managed_fields::{self, Scope};
use crate::patch::{self, PatchType};
use crate::resources::{Registry, ResourceDef};
use crate::selectors::{FieldSelector, LabelSelector};
use crate::status::{self, ApiError};
use crate::store::{ChangeType, ObjKey, Store, name_of, namespace_of, now_rfc3339};

/// The registry and the store: what every verb works on.
pub struct Cluster {
    /// Served types.
    pub registry: Registry,
    /// Objects, history and watchers.
    pub store: Mutex<Store>,
}

/// Options of a write request.
#[derive(Debug, Clone, Default)]
pub struct WriteOpts {
    /// `dryRun=All`: validate and answer, store nothing.
    pub dry_run: bool,
    /// `fieldManager`, or the one derived from the User-Agent.
    pub manager: String,
    /// `force=true` for server-side apply.
    pub force: bool,
    /// The request targets the `status` subresource.
    pub status: bool,
}

/// `DeleteOptions` that matter here.
#[derive(Debug, Clone, Default)]
pub struct DeleteOpts {
    /// `dryRun=All`.
    pub dry_run: bool,
    /// `preconditions.uid`.
    pub uid: Option<String>,
    /// `preconditions.resourceVersion`.
    pub resource_version: Option<String>,
}

/// List parameters.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    /// `labelSelector`.
    pub labels: LabelSelector,
    /// `fieldSelector`.
    pub fields: FieldSelector,
    /// `limit` (0 or absent: no paging).
    pub limit: Option<usize>,
    /// `continue`.
    pub continue_token: Option<String>,
    /// `resourceVersion`.
    pub resource_version: Option<String>,
    /// `resourceVersionMatch`.
    pub resource_version_match: Option<String>,
}

/// One page of a list.
pub struct ListPage {
    /// Matching objects in key order.
    pub items: Vec<Arc<Value>>,
    /// The list's resourceVersion (the first page's for continued lists).
    pub rv: u64,
    /// Token for the next page.
    pub continue_token: Option<String>,
    /// How many matching objects follow this page.
    pub remaining: Option<usize>,
}

impl Cluster {
    /// Locks the store (a poisoned lock means a bug already panicked a request: go on).
    pub fn lock(&self) -> MutexGuard<'_, Store> {
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn namespaces(&self) -> &ResourceDef {
        self.registry
            .find("", "v1", "namespaces")
            .expect("namespaces is built in")
    }

    /// GET one object.
    pub fn get(&self, res: &ResourceDef, ns: &str, name: &str) -> Result<Arc<Value>, ApiError> {
        self.lock()
            .get(res, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))
    }

    /// LIST with selectors, paging and resourceVersion semantics.
    pub fn list(
        &self,
        res: &ResourceDef,
        ns: Option<&str>,
        q: &ListQuery,
    ) -> Result<ListPage, ApiError> {
        let store = self.lock();
        let current = store.rv();
        let (list_rv, after) = match &q.continue_token {
            Some(token) => {
                let (rv, key) = decode_continue(token)?;
                if rv < store.compacted_rv() {
                    return Err(ApiError::expired(
                        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.",
                    ));
                }
                (rv, Some(key))
            }
            None => {
                check_list_rv(q, current, store.compacted_rv())?;
                (current, None)
            }
        };
        let matches = |o: &Value| q.labels.matches(o) && q.fields.matches(o);
        let limit = q.limit.filter(|l| *l > 0);
        let mut items = Vec::new();
        let mut remaining = 0usize;
        let mut last: Option<ObjKey> = None;
        let candidates: Box<dyn Iterator<Item = (&ObjKey, &Arc<Value>)>> =
            match (q.fields.pinned_name(), ns) {
                (Some(name), Some(ns)) if after.is_none() => Box::new(
                    store
                        .range(res, Some(ns), None)
                        .filter(move |(k, _)| k.1 == name),
                ),
                _ => Box::new(store.range(res, ns, after.as_ref())),
            };
        for (k, o) in candidates {
            if !matches(o) {
                continue;
            }
            if limit.is_some_and(|l| items.len() >= l) {
                remaining += 1;
                continue;
            }
            items.push(o.clone());
            last = Some(k.clone());
        }
        let continue_token = (remaining > 0)
            .then(|| encode_continue(list_rv, last.as_ref().expect("a full page has a last key")));
        Ok(ListPage {
            items,
            rv: list_rv,
            continue_token,
            remaining: (remaining > 0).then_some(remaining),
        })
    }

    /// POST: create an object in `ns` ("" for cluster-scoped types).
    pub fn create(
        &self,
        res: &ResourceDef,
        ns: &str,
        obj: Value,
        o: &WriteOpts,
    ) -> Result<Value, ApiError> {
        let mut store = self.lock();
        self.create_locked(&mut store, res, ns, obj, o, false)
    }

    fn create_locked(
        &self,
        store: &mut Store,
        res: &ResourceDef,
        ns: &str,
        mut obj: Value,
        o: &WriteOpts,
        pre_applied: bool,
    ) -> Result<Value, ApiError> {
        check_type(res, &mut obj)?;
        check_namespace_field(res, ns, &mut obj)?;
        if res.namespaced {
            match store.get(self.namespaces(), "", ns) {
                None => return Err(ApiError::namespace_not_found(ns)),
                Some(n) if n.pointer("/metadata/deletionTimestamp").is_some() => {
                    return Err(ApiError::forbidden(format!(
                        "{} \"{}\" is forbidden: unable to create new content in namespace {ns} because it is being terminated",
                        res.qualified(),
                        name_of(&obj)
                    )));
                }
                Some(_) => {}
            }
        }
        let meta = obj["metadata"]
            .as_object_mut()
            .expect("check_type made metadata an object");
        let mut name = meta
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        if name.is_empty() {
            let prefix = meta
                .get("generateName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned();
            if prefix.is_empty() {
                return Err(ApiError::invalid(
                    res,
                    "",
                    "metadata.name",
                    "Required value: name or generateName is required",
                ));
            }
            name = loop {
                let candidate = format!("{prefix}{}", random_suffix());
                if store.get(res, ns, &candidate).is_none() {
                    break candidate;
                }
            };
            meta.insert("name".into(), json!(name));
        }
        check_name(res, &name)?;
        if store.get(res, ns, &name).is_some() {
            return Err(ApiError::already_exists(res, &name));
        }
        for k in [
            "resourceVersion",
            "deletionTimestamp",
            "deletionGracePeriodSeconds",
            "selfLink",
        ] {
            meta.remove(k);
        }
        meta.insert("uid".into(), json!(uuid::Uuid::new_v4().to_string()));
        meta.insert("creationTimestamp".into(), json!(now_rfc3339()));
        meta.insert("generation".into(), json!(1));
        if res.status {
            obj.as_object_mut().expect("object").remove("status");
        }
        match (res.group.as_str(), res.kind.as_str()) {
            ("", "Namespace") => obj["status"] = json!({"phase": "Active"}),
            ("", "PersistentVolume") | ("", "PersistentVolumeClaim") => {
                obj["status"] = json!({"phase": "Pending"})
            }
            _ => {}
        }
        if !pre_applied {
            managed_fields::track_update(
                None,
                &mut obj,
                &o.manager,
                &res.api_version(),
                main_scope(res),
            );
        }
        if o.dry_run {
            return Ok(obj);
        }
        Ok((*store.commit(res, ChangeType::Added, obj)?).clone())
    }

    /// PUT: replace an object (or its status), honouring a resourceVersion precondition.
    pub fn update(
        &self,
        res: &ResourceDef,
        ns: &str,
        name: &str,
        mut obj: Value,
        o: &WriteOpts,
    ) -> Result<Value, ApiError> {
        check_type(res, &mut obj)?;
        check_namespace_field(res, ns, &mut obj)?;
        let body_name = name_of(&obj);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        obj["metadata"]["name"] = json!(name);
        let mut store = self.lock();
        let old = store
            .get(res, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        self.update_locked(&mut store, res, &old, obj, o, false)
    }

    fn update_locked(
        &self,
        store: &mut Store,
        res: &ResourceDef,
        old: &Arc<Value>,
        mut new: Value,
        o: &WriteOpts,
        pre_applied: bool,
    ) -> Result<Value, ApiError> {
        let name = name_of(old).to_owned();
        let old_rv = old
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            .unwrap_or_default();
        if let Some(rv) = new
            .pointer("/metadata/resourceVersion")
            .and_then(Value::as_str)
            && !rv.is_empty()
            && rv != old_rv
        {
            return Err(ApiError::conflict(
                res,
                &name,
                "the object has been modified; please apply your changes to the latest version and try again",
            ));
        }
        let scope = if o.status {
            Scope::Status
        } else {
            main_scope(res)
        };
        if o.status {
            // The status subresource changes status and nothing else.
            let status = new.get("status").cloned();
            let managed = new.pointer("/metadata/managedFields").cloned();
            new = (**old).clone();
            match status {
                Some(s) => new["status"] = s,
                None => {
                    new.as_object_mut().expect("object").remove("status");
                }
            }
            if pre_applied && let Some(m) = managed {
                new["metadata"]["managedFields"] = m;
            }
        } else if res.status {
            match old.get("status") {
                Some(s) => new["status"] = s.clone(),
                None => {
                    new.as_object_mut().expect("object").remove("status");
                }
            }
        }
        {
            let meta = new["metadata"]
                .as_object_mut()
                .ok_or_else(|| ApiError::bad_request("metadata must be an object"))?;
            for k in [
                "uid",
                "creationTimestamp",
                "deletionTimestamp",
                "deletionGracePeriodSeconds",
                "namespace",
                "name",
            ] {
                match old["metadata"].get(k) {
                    Some(v) => meta.insert(k.to_owned(), v.clone()),
                    None => meta.remove(k),
                };
            }
            meta.insert("resourceVersion".into(), json!(old_rv));
        }
        new["apiVersion"] = old["apiVersion"].clone();
        new["kind"] = old["kind"].clone();
        if !pre_applied {
            managed_fields::track_update(
                Some(old),
                &mut new,
                &o.manager,
                &res.api_version(),
                scope,
            );
        }
        let generation = old
            .pointer("/metadata/generation")
            .and_then(Value::as_i64)
            .unwrap_or(1);
        let spec_changed = strip_meta_status(old) != strip_meta_status(&new);
        new["metadata"]["generation"] = json!(if spec_changed {
            generation + 1
        } else {
            generation
        });
        if managed_fields::without_times(&new) == managed_fields::without_times(old) {
            return Ok((**old).clone());
        }
        let deleting = new.pointer("/metadata/deletionTimestamp").is_some();
        let finalizers_left = new
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if o.dry_run {
            return Ok(new);
        }
        if deleting && !finalizers_left {
            let gone = store.commit(res, ChangeType::Deleted, new)?;
            self.finish_namespace_if_empty(store, namespace_of(&gone))?;
            return Ok((*gone).clone());
        }
        Ok((*store.commit(res, ChangeType::Modified, new)?).clone())
    }

    /// PATCH of any type. Returns the object and whether apply created it.
    pub fn patch(
        &self,
        res: &ResourceDef,
        ns: &str,
        name: &str,
        ptype: PatchType,
        body: &[u8],
        o: &WriteOpts,
    ) -> Result<(Value, bool), ApiError> {
        if ptype == PatchType::Strategic && !res.builtin {
            let accepted: Vec<&str> = patch::PATCH_TYPES
                .iter()
                .copied()
                .filter(|t| !t.contains("strategic"))
                .collect();
            return Err(ApiError::unsupported_media_type(
                "application/strategic-merge-patch+json",
                &accepted,
            ));
        }
        let doc: Value = if ptype == PatchType::Apply {
            let text = std::str::from_utf8(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?;
            serde_yaml_ng::from_str(text)
                .map_err(|e| ApiError::bad_request(format!("error decoding YAML: {e}")))?
        } else {
            serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))?
        };
        if ptype == PatchType::Apply {
            return self.apply(res, ns, name, doc, o);
        }
        let mut store = self.lock();
        let old = store
            .get(res, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        let mut new = (*old).clone();
        match ptype {
            PatchType::Json => patch::json_patch(&mut new, &doc)?,
            PatchType::Merge => patch::merge_patch(&mut new, &doc)?,
            PatchType::Strategic => patch::strategic_merge_patch(&mut new, &doc)?,
            PatchType::Apply => unreachable!("handled above"),
        }
        check_type(res, &mut new)?;
        if name_of(&new) != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({}) does not match the name on the URL ({name})",
                name_of(&new)
            )));
        }
        Ok((
            self.update_locked(&mut store, res, &old, new, o, false)?,
            false,
        ))
    }

    fn apply(
        &self,
        res: &ResourceDef,
        ns: &str,
        name: &str,
        mut doc: Value,
        o: &WriteOpts,
    ) -> Result<(Value, bool), ApiError> {
        if o.manager.is_empty() {
            return Err(ApiError::bad_request(
                "PatchOptions.meta.k8s.io \"\" is invalid: fieldManager: Required value: is required for apply patch",
            ));
        }
        if !doc.is_object() || doc.get("apiVersion").is_none() || doc.get("kind").is_none() {
            return Err(ApiError::bad_request(
                "invalid object type: apply patches need apiVersion and kind",
            ));
        }
        check_type(res, &mut doc)?;
        check_namespace_field(res, ns, &mut doc)?;
        let body_name = name_of(&doc);
        if !body_name.is_empty() && body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        doc["metadata"]["name"] = json!(name);
        let scope = if o.status {
            Scope::Status
        } else {
            main_scope(res)
        };
        let mut store = self.lock();
        let live = store.get(res, ns, name).cloned();
        let conflicts = |c: Vec<managed_fields::Conflict>| ApiError::apply_conflict(res, name, &c);
        match live {
            None if o.status => Err(ApiError::not_found(res, name)),
            None => {
                let merged = managed_fields::apply(
                    None,
                    &doc,
                    &o.manager,
                    &res.api_version(),
                    o.force,
                    scope,
                )
                .map_err(conflicts)?;
                Ok((
                    self.create_locked(&mut store, res, ns, merged, o, true)?,
                    true,
                ))
            }
            Some(live) => {
                let merged = managed_fields::apply(
                    Some(&live),
                    &doc,
                    &o.manager,
                    &res.api_version(),
                    o.force,
                    scope,
                )
                .map_err(conflicts)?;
                Ok((
                    self.update_locked(&mut store, res, &live, merged, o, true)?,
                    false,
                ))
            }
        }
    }

    /// DELETE one object: gone at once, or marked with deletionTimestamp while finalizers remain.
    pub fn delete(
        &self,
        res: &ResourceDef,
        ns: &str,
        name: &str,
        o: &DeleteOpts,
    ) -> Result<Value, ApiError> {
        let mut store = self.lock();
        let old = store
            .get(res, ns, name)
            .cloned()
            .ok_or_else(|| ApiError::not_found(res, name))?;
        if let Some(uid) = &o.uid {
            let actual = old
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if uid != actual {
                return Err(ApiError::conflict(
                    res,
                    name,
                    &format!(
                        "Precondition failed: UID in precondition: {uid}, UID in object meta: {actual}"
                    ),
                ));
            }
        }
        if let Some(rv) = &o.resource_version {
            let actual = old
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if rv != actual {
                return Err(ApiError::conflict(
                    res,
                    name,
                    &format!(
                        "Precondition failed: ResourceVersion in precondition: {rv}, ResourceVersion in object meta: {actual}"
                    ),
                ));
            }
        }
        let result = self.delete_locked(&mut store, res, &old, o.dry_run)?;
        if res.builtin && result.pointer("/metadata/deletionTimestamp").is_none() {
            let uid = old
                .pointer("/metadata/uid")
                .and_then(Value::as_str)
                .unwrap_or_default();
            return Ok(status::delete_success(res, name, uid));
        }
        Ok(result)
    }

    fn delete_locked(
        &self,
        store: &mut Store,
        res: &ResourceDef,
        old: &Arc<Value>,
        dry_run: bool,
    ) -> Result<Value, ApiError> {
        let is_namespace = res.group.is_empty() && res.plural == "namespaces";
        let has_finalizers = old
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if old.pointer("/metadata/deletionTimestamp").is_some() {
            return Ok((**old).clone());
        }
        if has_finalizers || is_namespace {
            let mut new = (**old).clone();
            new["metadata"]["deletionTimestamp"] = json!(now_rfc3339());
            new["metadata"]["deletionGracePeriodSeconds"] = json!(0);
            if is_namespace {
                new["status"] = json!({"phase": "Terminating"});
            }
            if dry_run {
                return Ok(new);
            }
            let marked = store.commit(res, ChangeType::Modified, new)?;
            if is_namespace {
                let ns = name_of(&marked).to_owned();
                self.empty_namespace(store, &ns)?;
                self.finish_namespace_if_empty(store, &ns)?;
                return Ok(store
                    .get(res, "", &ns)
                    .map_or_else(|| (*marked).clone(), |n| (**n).clone()));
            }
            return Ok((*marked).clone());
        }
        if dry_run {
            return Ok((**old).clone());
        }
        let gone = store.commit(res, ChangeType::Deleted, (**old).clone())?;
        self.finish_namespace_if_empty(store, namespace_of(&gone))?;
        Ok((*gone).clone())
    }

    /// Deletes every object in a terminating namespace (finalizers still hold theirs).
    fn empty_namespace(&self, store: &mut Store, ns: &str) -> Result<(), ApiError> {
        let mut seen = std::collections::HashSet::new();
        let defs: Vec<Arc<ResourceDef>> = self
            .registry
            .all()
            .iter()
            .filter(|d| d.namespaced && seen.insert(d.storage_key()))
            .cloned()
            .collect();
        for res in defs {
            let objs: Vec<Arc<Value>> = store
                .range(&res, Some(ns), None)
                .map(|(_, o)| o.clone())
                .collect();
            for o in objs {
                self.delete_locked(store, &res, &o, false)?;
            }
        }
        Ok(())
    }

    /// Removes a terminating namespace once nothing is left in it.
    fn finish_namespace_if_empty(&self, store: &mut Store, ns: &str) -> Result<(), ApiError> {
        if ns.is_empty() {
            return Ok(());
        }
        let nsdef = self.namespaces();
        let Some(n) = store.get(nsdef, "", ns).cloned() else {
            return Ok(());
        };
        let finalizers = n
            .pointer("/metadata/finalizers")
            .and_then(Value::as_array)
            .is_some_and(|f| !f.is_empty());
        if n.pointer("/metadata/deletionTimestamp").is_some()
            && !finalizers
            && !store.namespace_has_objects(ns)
        {
            store.commit(nsdef, ChangeType::Deleted, (*n).clone())?;
        }
        Ok(())
    }

    /// DELETE on a collection: deletes every matching object; returns them as a list.
    pub fn delete_collection(
        &self,
        res: &ResourceDef,
        ns: Option<&str>,
        q: &ListQuery,
        o: &DeleteOpts,
    ) -> Result<Value, ApiError> {
        let mut store = self.lock();
        let matching: Vec<Arc<Value>> = store
            .range(res, ns, None)
            .filter(|(_, o)| q.labels.matches(o) && q.fields.matches(o))
            .map(|(_, o)| o.clone())
            .collect();
        let mut items = Vec::new();
        for old in matching {
            items.push(self.delete_locked(&mut store, res, &old, o.dry_run)?);
        }
        Ok(json!({
            "kind": format!("{}List", res.kind),
            "apiVersion": res.api_version(),
            "metadata": {"resourceVersion": store.rv().to_string()},
            "items": items,
        }))
    }
}

fn main_scope(res: &ResourceDef) -> Scope {
    if res.status {
        Scope::MainWithoutStatus
    } else {
        Scope::Main
    }
}

fn strip_meta_status(obj: &Value) -> Value {
    let mut o = obj.clone();
    if let Some(m) = o.as_object_mut() {
        m.remove("metadata");
        m.remove("status");
    }
    o
}

/// The body must be an object of this type; apiVersion/kind are filled in when missing.
fn check_type(res: &ResourceDef, obj: &mut Value) -> Result<(), ApiError> {
    let Some(m) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(format!(
            "the object provided is unrecognized (must be of type {})",
            res.kind
        )));
    };
    let api_version = res.api_version();
    match m.get("apiVersion").and_then(Value::as_str) {
        Some(v) if v != api_version => {
            return Err(ApiError::bad_request(format!(
                "the API version in the data ({v}) does not match the expected API version ({api_version})"
            )));
        }
        _ => {
            m.insert("apiVersion".into(), json!(api_version));
        }
    }
    match m.get("kind").and_then(Value::as_str) {
        Some(k) if k != res.kind => {
            return Err(ApiError::bad_request(format!(
                "the kind in the data ({k}) does not match the expected kind ({})",
                res.kind
            )));
        }
        _ => {
            m.insert("kind".into(), json!(res.kind));
        }
    }
    let meta = m.entry("metadata").or_insert_with(|| json!({}));
    let Some(meta) = meta.as_object() else {
        return Err(ApiError::bad_request(
            "json: cannot unmarshal metadata: expected an object",
        ));
    };
    for field in ["labels", "annotations"] {
        match meta.get(field) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) if map.values().all(|v| v.is_string()) => {}
            Some(_) => {
                return Err(ApiError::bad_request(format!(
                    "json: cannot unmarshal metadata.{field}: expected a map of strings"
                )));
            }
        }
    }
    match meta.get("finalizers") {
        None | Some(Value::Null) => {}
        Some(Value::Array(a)) if a.iter().all(Value::is_string) => {}
        Some(_) => {
            return Err(ApiError::bad_request(
                "json: cannot unmarshal metadata.finalizers: expected a list of strings",
            ));
        }
    }
    Ok(())
}

/// Sets the object's namespace from the URL; a different one in the body is 400.
fn check_namespace_field(res: &ResourceDef, ns: &str, obj: &mut Value) -> Result<(), ApiError> {
    let meta = obj["metadata"]
        .as_object_mut()
        .expect("check_type made metadata an object");
    if !res.namespaced {
        meta.remove("namespace");
        return Ok(());
    }
    match meta.get("namespace").and_then(Value::as_str) {
        Some(body) if !body.is_empty() && body != ns => Err(ApiError::bad_request(
            "the namespace of the provided object does not match the namespace sent on the request",
        )),
        _ => {
            meta.insert("namespace".into(), json!(ns));
            Ok(())
        }
    }
}

/// Names are RFC 1123 subdomains (namespaces: labels), as the real validation requires.
fn check_name(res: &ResourceDef, name: &str) -> Result<(), ApiError> {
    let label_ok = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && l.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
            && !l.starts_with('-')
            && !l.ends_with('-')
    };
    let is_namespace = res.group.is_empty() && res.plural == "namespaces";
    let ok = if is_namespace {
        label_ok(name)
    } else {
        name.len() <= 253 && name.split('.').all(label_ok)
    };
    if ok {
        return Ok(());
    }
    let what = if is_namespace {
        "RFC 1123 label"
    } else {
        "RFC 1123 subdomain"
    };
    Err(ApiError::invalid(
        res,
        name,
        "metadata.name",
        &format!(
            "Invalid value: \"{name}\": a lowercase {what} must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
        ),
    ))
}

fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    bytes[..5]
        .iter()
        .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
        .collect()
}

fn parse_rv(s: &str) -> Result<u64, ApiError> {
    s.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "resourceVersion: Invalid value: \"{s}\": must be a number"
        ))
    })
}

/// The resourceVersion semantics of a list: `""`/`"0"` any, `NotOlderThan` (default) needs
/// the store to have reached it, `Exact` needs it to be the current one (older states are
/// not kept).
fn check_list_rv(q: &ListQuery, current: u64, compacted: u64) -> Result<(), ApiError> {
    let Some(rv) = q.resource_version.as_deref().filter(|s| !s.is_empty()) else {
        return Ok(());
    };
    let asked = parse_rv(rv)?;
    match q.resource_version_match.as_deref() {
        Some("Exact") if asked != current => {
            if asked > current {
                Err(ApiError::too_large_resource_version(asked, current))
            } else {
                Err(ApiError::expired(format!(
                    "too old resource version: {asked} ({})",
                    compacted.max(asked + 1)
                )))
            }
        }
        _ if asked > current => Err(ApiError::too_large_resource_version(asked, current)),
        _ => Ok(()),
    }
}

fn encode_continue(rv: u64, key: &ObjKey) -> String {
    let raw = json!({"v": "fake-apiserver/1", "rv": rv, "ns": key.0, "name": key.1}).to_string();
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
}

fn decode_continue(token: &str) -> Result<(u64, ObjKey), ApiError> {
    let bad = || ApiError::bad_request(format!("continue key is not valid: {token:?}"));
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| bad())?;
    let v: Value = serde_json::from_slice(&raw).map_err(|_| bad())?;
    let rv = v["rv"].as_u64().ok_or_else(bad)?;
    let ns = v["ns"].as_str().ok_or_else(bad)?.to_owned();
    let name = v["name"].as_str().ok_or_else(bad)?.to_owned();
    Ok((rv, (ns, name)))
}

/// Parses a watch/list resourceVersion parameter.
pub fn parse_resource_version(s: &str) -> Result<u64, ApiError> {
    parse_rv(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cluster() -> Cluster {
        let registry = Registry::load(None).unwrap();
        let c = Cluster {
            registry,
            store: Mutex::new(Store::new(100, None, Vec::new(), 0)),
        };
        let ns = c.registry.find("", "v1", "namespaces").unwrap().clone();
        c.create(
            &ns,
            "",
            json!({"metadata": {"name": "default"}}),
            &WriteOpts::default(),
        )
        .unwrap();
        c
    }

    fn opts() -> WriteOpts {
        WriteOpts {
            manager: "test".into(),
            ..WriteOpts::default()
        }
    }

    #[test]
    fn create_stamps_and_rejects_duplicates_and_missing_namespaces() {
        let c = cluster();
        let cm = c.registry.find("", "v1", "configmaps").unwrap().clone();
        let made = c
            .create(
                &cm,
                "default",
                json!({"metadata": {"generateName": "x-"}}),
                &opts(),
            )
            .unwrap();
        let name = made["metadata"]["name"].as_str().unwrap();
        assert!(name.starts_with("x-") && name.len() == 7, "{name}");
        for field in ["uid", "resourceVersion", "creationTimestamp", "generation"] {
            assert!(made["metadata"].get(field).is_some(), "{field} missing");
        }
        let dup = c
            .create(&cm, "default", json!({"metadata": {"name": name}}), &opts())
            .unwrap_err();
        assert_eq!((dup.code, dup.reason), (409, "AlreadyExists"));
        let nons = c
            .create(&cm, "nope", json!({"metadata": {"name": "a"}}), &opts())
            .unwrap_err();
        assert_eq!(
            (nons.code, nons.message.as_str()),
            (404, "namespaces \"nope\" not found")
        );
        let bad = c
            .create(
                &cm,
                "default",
                json!({"metadata": {"name": "Bad_Name"}}),
                &opts(),
            )
            .unwrap_err();
        assert_eq!(bad.code, 422);
    }

    #[test]
    fn update_checks_resource_version_and_bumps_generation_on_spec_change() {
        let c = cluster();
        let pv = c
            .registry
            .find("", "v1", "persistentvolumes")
            .unwrap()
            .clone();
        let made = c
            .create(
                &pv,
                "",
                json!({"metadata": {"name": "pv1"}, "spec": {"capacity": {"storage": "1Gi"}}}),
                &opts(),
            )
            .unwrap();
        let mut stale = made.clone();
        stale["metadata"]["resourceVersion"] = json!("1");
        assert_eq!(
            c.update(&pv, "", "pv1", stale, &opts()).unwrap_err().code,
            409
        );
        let mut next = made.clone();
        next["spec"]["capacity"]["storage"] = json!("2Gi");
        next["status"] = json!({"phase": "Bound"});
        let updated = c.update(&pv, "", "pv1", next, &opts()).unwrap();
        assert_eq!(updated["metadata"]["generation"], json!(2));
        assert_eq!(
            updated["status"]["phase"],
            json!("Pending"),
            "main resource ignores status"
        );
        let same = c.update(&pv, "", "pv1", updated.clone(), &opts()).unwrap();
        assert_eq!(
            same["metadata"]["resourceVersion"], updated["metadata"]["resourceVersion"],
            "no-op writes nothing"
        );
    }

    #[test]
    fn finalizers_defer_deletion_until_removed() {
        let c = cluster();
        let cm = c.registry.find("", "v1", "configmaps").unwrap().clone();
        c.create(
            &cm,
            "default",
            json!({"metadata": {"name": "a", "finalizers": ["x/y"]}}),
            &opts(),
        )
        .unwrap();
        let marked = c
            .delete(&cm, "default", "a", &DeleteOpts::default())
            .unwrap();
        assert!(marked["metadata"]["deletionTimestamp"].is_string());
        c.patch(
            &cm,
            "default",
            "a",
            PatchType::Merge,
            br#"{"metadata":{"finalizers":null}}"#,
            &opts(),
        )
        .unwrap();
        assert_eq!(c.get(&cm, "default", "a").unwrap_err().code, 404);
    }

    #[test]
    fn paged_list_returns_every_object_once() {
        let c = cluster();
        let cm = c.registry.find("", "v1", "configmaps").unwrap().clone();
        for i in 0..7 {
            c.create(
                &cm,
                "default",
                json!({"metadata": {"name": format!("c{i}")}}),
                &opts(),
            )
            .unwrap();
        }
        let mut names = Vec::new();
        let mut q = ListQuery {
            limit: Some(3),
            ..ListQuery::default()
        };
        loop {
            let page = c.list(&cm, Some("default"), &q).unwrap();
            names.extend(page.items.iter().map(|o| name_of(o).to_owned()));
            match page.continue_token {
                Some(t) => q.continue_token = Some(t),
                None => break,
            }
        }
        assert_eq!(names, (0..7).map(|i| format!("c{i}")).collect::<Vec<_>>());
    }
}
