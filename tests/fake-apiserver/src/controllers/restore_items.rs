//! What a Velero restore creates: the objects of its backup (as registered with
//! `PUT /_fake/backups/{name}`) that the Restore's filters select, as Velero's restore does:
//! - `includedNamespaces` (empty or `*`: all) and `excludedNamespaces` select namespaced
//!   objects by namespace and Namespaces by name; other cluster-scoped objects come only when
//!   every namespace is restored, or when `includeClusterResources` says so;
//! - `includedResources` (empty or `*`: all) and `excludedResources` name resources as
//!   `plural` or `plural.group` (`persistentvolumeclaims`,
//!   `volumesnapshots.snapshot.storage.k8s.io`); what Velero never restores (events, nodes,
//!   its own backups and restores...) is left out too;
//! - the rest is created in Velero's priority order (Namespaces, storage classes, snapshots,
//!   volumes, claims, secrets, config maps, then everything else in backup order), with the
//!   metadata Velero resets removed (uid, resourceVersion, creationTimestamp, ownerReferences,
//!   managedFields...), without `status`, labelled `velero.io/backup-name` and
//!   `velero.io/restore-name`, by field manager `velero-server`;
//! - an object that already exists is left as it is and counts a warning (Velero's
//!   `existingResourcePolicy: none`), except a Namespace, which is used as it is (Velero creates
//!   missing namespaces, bare when the backup has none);
//! - a VirtualMachineInstance owned by a VirtualMachine is skipped, as the KubeVirt Velero
//!   plugin does: the restored VM starts its own.

use std::sync::Arc;

use serde_json::{Value, json};

use super::{Ctx, str_at};
use crate::ops::WriteOpts;
use crate::resources::ResourceDef;
use crate::store::{name_of, namespace_of};

const MANAGER: &str = "velero-server";

/// Velero's `nonRestorableResources`.
const NON_RESTORABLE: &[&str] = &[
    "nodes",
    "events",
    "events.events.k8s.io",
    "backups.velero.io",
    "restores.velero.io",
    "resticrepositories.velero.io",
    "csinodes.storage.k8s.io",
    "volumeattachments.storage.k8s.io",
    "backuprepositories.velero.io",
];

/// Velero's default restore priorities (those the fake serves); the rest follow.
const PRIORITIES: &[&str] = &[
    "namespaces",
    "storageclasses.storage.k8s.io",
    "volumesnapshotclasses.snapshot.storage.k8s.io",
    "volumesnapshotcontents.snapshot.storage.k8s.io",
    "volumesnapshots.snapshot.storage.k8s.io",
    "persistentvolumes",
    "persistentvolumeclaims",
    "serviceaccounts",
    "secrets",
    "configmaps",
];

/// Metadata Velero removes before creating an object (`resetMetadata`), plus the server's
/// own field-ownership record.
const RESET_METADATA: &[&str] = &[
    "generateName",
    "selfLink",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "ownerReferences",
    "managedFields",
];

/// What a restore did, for its `status`.
#[derive(Debug, Default)]
pub(super) struct Tally {
    /// Objects the filters selected (`progress.totalItems`).
    pub total: u64,
    /// Of those, created or found in place (`progress.itemsRestored`).
    pub restored: u64,
    /// Objects that already existed.
    pub warnings: u64,
    /// Objects that could not be created (unknown type, refused by the server).
    pub errors: u64,
}

/// Restores the selected objects of the backup `restore` names; nothing when its contents were
/// never registered.
pub(super) fn restore(ctx: &Ctx, restore: &Value) -> Tally {
    let mut tally = Tally::default();
    let backup = str_at(restore, "/spec/backupName");
    let Some(objects) = ctx.sh.backups.get(backup) else {
        return tally;
    };
    let filter = Filter::of(restore);
    let mut selected: Vec<(usize, Option<Arc<ResourceDef>>, &Value)> = Vec::new();
    for obj in objects.iter() {
        let def = def_of(ctx, obj);
        if filter.selects(obj, def.as_deref()) {
            let rank = def.as_deref().map_or(PRIORITIES.len(), priority);
            selected.push((rank, def, obj));
        }
    }
    selected.sort_by_key(|(rank, _, _)| *rank);
    let labels = json!({
        "velero.io/backup-name": backup,
        "velero.io/restore-name": str_at(restore, "/metadata/name"),
    });
    let namespaces = ctx.def("", "v1", "namespaces");
    let opts = WriteOpts {
        manager: MANAGER.to_owned(),
        ..WriteOpts::default()
    };
    for (_, def, obj) in selected {
        tally.total += 1;
        let Some(def) = def else {
            tally.errors += 1;
            continue;
        };
        let ns = if def.namespaced {
            namespace_of(obj)
        } else {
            ""
        };
        let exists = ctx.get(&def, ns, name_of(obj)).is_some();
        if skipped_by_plugin(&def, obj) || exists && def.kind == "Namespace" {
            tally.restored += 1;
            continue;
        }
        if exists {
            tally.restored += 1;
            tally.warnings += 1;
            continue;
        }
        if def.namespaced && ctx.get(&namespaces, "", ns).is_none() {
            let bare = json!({"metadata": {"name": ns, "labels": labels}});
            let _ = ctx.sh.cluster.create(&namespaces, "", bare, &opts);
        }
        match ctx
            .sh
            .cluster
            .create(&def, ns, cleaned(obj, &labels), &opts)
        {
            Ok(_) => tally.restored += 1,
            Err(_) => tally.errors += 1,
        }
    }
    tally
}

/// A VirtualMachineInstance a VirtualMachine owns: the KubeVirt plugin does not restore it.
fn skipped_by_plugin(def: &ResourceDef, obj: &Value) -> bool {
    def.kind == "VirtualMachineInstance"
        && obj
            .pointer("/metadata/ownerReferences")
            .and_then(Value::as_array)
            .is_some_and(|refs| refs.iter().any(|r| r["kind"] == "VirtualMachine"))
}

/// The served type of `obj`, by apiVersion and kind.
fn def_of(ctx: &Ctx, obj: &Value) -> Option<Arc<ResourceDef>> {
    let (api_version, kind) = (str_at(obj, "/apiVersion"), str_at(obj, "/kind"));
    ctx.sh
        .cluster
        .registry
        .all()
        .iter()
        .find(|d| d.kind == kind && d.api_version() == api_version)
        .cloned()
}

fn priority(def: &ResourceDef) -> usize {
    PRIORITIES
        .iter()
        .position(|p| *p == def.qualified())
        .unwrap_or(PRIORITIES.len())
}

/// `obj` as Velero creates it: reset metadata, no status, the restore's labels added.
fn cleaned(obj: &Value, labels: &Value) -> Value {
    let mut out = obj.clone();
    if let Some(o) = out.as_object_mut() {
        o.remove("status");
    }
    if let Some(meta) = out.get_mut("metadata").and_then(Value::as_object_mut) {
        for key in RESET_METADATA {
            meta.remove(*key);
        }
        let current = meta.entry("labels").or_insert_with(|| json!({}));
        if !current.is_object() {
            *current = json!({});
        }
        for (k, v) in labels.as_object().into_iter().flatten() {
            current[k] = v.clone();
        }
    }
    out
}

/// A Restore's namespace, resource and cluster-scope filters.
struct Filter {
    included_namespaces: Vec<String>,
    excluded_namespaces: Vec<String>,
    included_resources: Vec<String>,
    excluded_resources: Vec<String>,
    include_cluster_resources: Option<bool>,
}

impl Filter {
    fn of(restore: &Value) -> Filter {
        let list = |field: &str| -> Vec<String> {
            restore
                .pointer(&format!("/spec/{field}"))
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .map(str::to_lowercase)
                .collect()
        };
        Filter {
            included_namespaces: list("includedNamespaces"),
            excluded_namespaces: list("excludedNamespaces"),
            included_resources: list("includedResources"),
            excluded_resources: list("excludedResources"),
            include_cluster_resources: restore
                .pointer("/spec/includeClusterResources")
                .and_then(Value::as_bool),
        }
    }

    /// Whether the restore takes `obj`. An object of an unknown type is judged by its
    /// namespace only (and then fails to restore).
    fn selects(&self, obj: &Value, def: Option<&ResourceDef>) -> bool {
        let all = |list: &[String]| list.is_empty() || list.iter().any(|n| n == "*");
        let has = |list: &[String], name: &str| list.iter().any(|n| n == name);
        let namespace_ok = |ns: &str| {
            (all(&self.included_namespaces) || has(&self.included_namespaces, ns))
                && !has(&self.excluded_namespaces, ns)
        };
        let namespaced = def.map_or(!namespace_of(obj).is_empty(), |d| d.namespaced);
        let scope_ok = if namespaced {
            namespace_ok(namespace_of(obj))
        } else if def.is_some_and(|d| d.group.is_empty() && d.kind == "Namespace") {
            namespace_ok(name_of(obj))
        } else {
            self.include_cluster_resources
                .unwrap_or_else(|| all(&self.included_namespaces))
        };
        let Some(def) = def else { return scope_ok };
        let names = [def.plural.clone(), def.qualified()];
        let named = |list: &[String]| names.iter().any(|n| has(list, n));
        scope_ok
            && !NON_RESTORABLE.contains(&def.qualified().as_str())
            && (all(&self.included_resources) || named(&self.included_resources))
            && !named(&self.excluded_resources)
    }
}
