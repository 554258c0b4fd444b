//! Which API resource an object is: its URL path (group, version, plural) and whether it lives
//! in a namespace.
//!
//! The kinds DR works with are known in advance and need no request; any other kind given to
//! `k8s_apply` or `k8s_delete` is looked up once per invocation through API discovery, which
//! also tells a missing CRD apart from a missing object.

use super::cluster::Cluster;
use super::errors::{Cause, KubeError, Op};
use kube::api::{Api, ApiResource, DynamicObject};
use kube::core::GroupVersionKind;
use kube::discovery::Scope;
use ocpdr_core::object::ObjectRef;
use std::fmt;

/// A resolved kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Kind {
    /// Group, version, kind and plural.
    pub resource: ApiResource,
    /// Whether objects of this kind live in a namespace.
    pub namespaced: bool,
}

/// `(apiVersion, kind, plural, namespaced)` of the kinds the modules use themselves.
const WELL_KNOWN: &[(&str, &str, &str, bool)] = &[
    ("v1", "Namespace", "namespaces", false),
    ("v1", "PersistentVolume", "persistentvolumes", false),
    (
        "v1",
        "PersistentVolumeClaim",
        "persistentvolumeclaims",
        true,
    ),
    (
        "snapshot.storage.k8s.io/v1",
        "VolumeSnapshot",
        "volumesnapshots",
        true,
    ),
    (
        "snapshot.storage.k8s.io/v1",
        "VolumeSnapshotContent",
        "volumesnapshotcontents",
        false,
    ),
    ("kubevirt.io/v1", "VirtualMachine", "virtualmachines", true),
    (
        "kubevirt.io/v1",
        "VirtualMachineInstance",
        "virtualmachineinstances",
        true,
    ),
    ("velero.io/v1", "Backup", "backups", true),
    ("velero.io/v1", "Restore", "restores", true),
];

impl Kind {
    /// A kind from the built-in table; panics on a kind not in it (a programming error).
    pub fn known(kind: &str) -> Kind {
        WELL_KNOWN
            .iter()
            .find(|(_, k, _, _)| *k == kind)
            .and_then(|(api_version, kind, _, _)| Kind::well_known(api_version, kind))
            .unwrap_or_else(|| panic!("{kind} is not in the table of well-known kinds"))
    }

    /// The kind from the built-in table, if it is there.
    pub fn well_known(api_version: &str, kind: &str) -> Option<Kind> {
        let (_, _, plural, namespaced) = WELL_KNOWN
            .iter()
            .find(|(v, k, _, _)| *v == api_version && *k == kind)?;
        Some(Kind {
            resource: ApiResource::from_gvk_with_plural(&gvk(api_version, kind), plural),
            namespaced: *namespaced,
        })
    }

    /// The kind name, e.g. `PersistentVolumeClaim`.
    pub fn name(&self) -> &str {
        &self.resource.kind
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.resource.api_version, self.resource.kind)
    }
}

fn gvk(api_version: &str, kind: &str) -> GroupVersionKind {
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    GroupVersionKind::gvk(group, version, kind)
}

/// One object on the server: its kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its kind.
    pub kind: Kind,
    /// Its namespace; `None` for cluster-scoped kinds.
    pub namespace: Option<String>,
    /// Its name.
    pub name: String,
}

impl Target {
    /// The object's identity as reported to users.
    pub fn object_ref(&self) -> ObjectRef {
        ObjectRef {
            kind: self.kind.name().to_owned(),
            namespace: self.namespace.clone(),
            name: self.name.clone(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.object_ref().fmt(f)
    }
}

impl Cluster {
    /// Resolves `apiVersion` + `kind`: the built-in table, else API discovery (once per kind).
    pub async fn resolve(&self, api_version: &str, kind: &str) -> Result<Kind, KubeError> {
        if let Some(known) = Kind::well_known(api_version, kind) {
            return Ok(known);
        }
        let key = format!("{api_version}/{kind}");
        if let Some(found) = self.kinds.lock().expect("not poisoned").get(&key) {
            return Ok(found.clone());
        }
        let gvk = gvk(api_version, kind);
        let op = || Op::new("discover", format!("{api_version} {kind}"));
        let found = self
            .call(op, kube::discovery::pinned_kind(self.client(), &gvk))
            .await;
        let (resource, capabilities) = match found {
            Ok(found) => found,
            // A group that is not served answers 404; a kind missing from a served group is a
            // discovery error.
            Err(err) if err.is_not_found() || matches!(err.cause, Cause::NotServed(_)) => {
                return Err(KubeError {
                    cause: Cause::NotServed(format!("{api_version} {kind}")),
                    ..err
                });
            }
            Err(err) => return Err(err),
        };
        let resolved = Kind {
            resource,
            namespaced: capabilities.scope == Scope::Namespaced,
        };
        self.kinds
            .lock()
            .expect("not poisoned")
            .insert(key, resolved.clone());
        Ok(resolved)
    }

    /// The API handle for `kind` in `namespace` (all namespaces when `None` for a namespaced
    /// kind).
    pub fn api(&self, kind: &Kind, namespace: Option<&str>) -> Api<DynamicObject> {
        match namespace {
            Some(ns) if kind.namespaced => {
                Api::namespaced_with(self.client().clone(), ns, &kind.resource)
            }
            _ => Api::all_with(self.client().clone(), &kind.resource),
        }
    }
}
