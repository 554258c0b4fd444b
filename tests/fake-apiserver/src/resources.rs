//! The resource types the server serves: the built-in set the ocpdr lab needs, plus any declared
//! in a `--resources` file. Each type knows its group/version, kind, plural, scope and whether
//! it has a `status` subresource, which is all that discovery, routing and storage need.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use serde::Deserialize;

/// One served resource type, as discovery describes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ResourceDef {
    /// API group, `""` for the core group.
    #[serde(default)]
    pub group: String,
    /// API version within the group, e.g. `v1`.
    pub version: String,
    /// Kind, e.g. `VolumeSnapshot`.
    pub kind: String,
    /// Plural resource name used in URLs; defaults to the lower-cased kind plus `s`.
    #[serde(default)]
    pub plural: String,
    /// Singular name; defaults to the lower-cased kind.
    #[serde(default)]
    pub singular: String,
    /// Namespaced (default) or cluster-scoped.
    #[serde(default = "yes")]
    pub namespaced: bool,
    /// Short names kubectl accepts (`vs`, `pvc`, ...).
    #[serde(default)]
    pub short_names: Vec<String>,
    /// Categories such as `all`.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Whether the type has a `status` subresource (then the main resource ignores status
    /// changes and `/status` ignores everything else).
    #[serde(default = "yes")]
    pub status: bool,
    /// Built into Kubernetes (accepts strategic merge patch) rather than a custom resource
    /// (which answers strategic merge patch with 415, like the real API server).
    #[serde(default)]
    pub builtin: bool,
    /// Extra columns for `kubectl get` (Table output), after NAME and before AGE.
    #[serde(default)]
    pub printer_columns: Vec<PrinterColumn>,
}

/// A `kubectl get` column taken from a simple JSONPath (`.status.phase`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PrinterColumn {
    /// Column header.
    pub name: String,
    /// Dotted path into the object, e.g. `.spec.volumeName`.
    pub json_path: String,
    /// OpenAPI type of the cells (`string`, `integer`, `boolean`, `date`).
    #[serde(default = "string_type", rename = "type")]
    pub type_: String,
}

fn yes() -> bool {
    true
}

fn string_type() -> String {
    "string".to_owned()
}

impl ResourceDef {
    /// `group/version`, or just `version` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.clone()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `plural` or `plural.group`: how the real API server names a resource in messages.
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.plural.clone()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }

    /// Where objects of this type are stored: `group/plural` (all versions share it).
    pub fn storage_key(&self) -> String {
        format!("{}/{}", self.group, self.plural)
    }

    fn fill_defaults(&mut self) {
        if self.plural.is_empty() {
            self.plural = format!("{}s", self.kind.to_lowercase());
        }
        if self.singular.is_empty() {
            self.singular = self.kind.to_lowercase();
        }
    }
}

/// Compact constructor for the built-in table below.
#[allow(clippy::too_many_arguments)]
fn def(
    group: &str,
    version: &str,
    kind: &str,
    plural: &str,
    namespaced: bool,
    short: &[&str],
    status: bool,
    builtin: bool,
    columns: &[(&str, &str)],
) -> ResourceDef {
    let mut d = ResourceDef {
        group: group.to_owned(),
        version: version.to_owned(),
        kind: kind.to_owned(),
        plural: plural.to_owned(),
        singular: String::new(),
        namespaced,
        short_names: short.iter().map(|s| (*s).to_owned()).collect(),
        categories: Vec::new(),
        status,
        builtin,
        printer_columns: columns
            .iter()
            .map(|(name, path)| PrinterColumn {
                name: (*name).to_owned(),
                json_path: (*path).to_owned(),
                type_: string_type(),
            })
            .collect(),
    };
    d.fill_defaults();
    d
}

/// The resource types every instance serves.
fn builtins() -> Vec<ResourceDef> {
    let ns = true;
    let cluster = false;
    let mut all = vec![
        def(
            "",
            "v1",
            "Namespace",
            "namespaces",
            cluster,
            &["ns"],
            true,
            true,
            &[("Status", ".status.phase")],
        ),
        def(
            "",
            "v1",
            "PersistentVolume",
            "persistentvolumes",
            cluster,
            &["pv"],
            true,
            true,
            &[
                ("Capacity", ".spec.capacity.storage"),
                ("Access Modes", ".spec.accessModes"),
                ("Reclaim Policy", ".spec.persistentVolumeReclaimPolicy"),
                ("Status", ".status.phase"),
                ("Claim", ".spec.claimRef.name"),
                ("StorageClass", ".spec.storageClassName"),
            ],
        ),
        def(
            "",
            "v1",
            "PersistentVolumeClaim",
            "persistentvolumeclaims",
            ns,
            &["pvc"],
            true,
            true,
            &[
                ("Status", ".status.phase"),
                ("Volume", ".spec.volumeName"),
                ("Capacity", ".status.capacity.storage"),
                ("Access Modes", ".status.accessModes"),
                ("StorageClass", ".spec.storageClassName"),
            ],
        ),
        def(
            "",
            "v1",
            "ConfigMap",
            "configmaps",
            ns,
            &["cm"],
            false,
            true,
            &[],
        ),
        def(
            "",
            "v1",
            "Secret",
            "secrets",
            ns,
            &[],
            false,
            true,
            &[("Type", ".type")],
        ),
        def(
            "",
            "v1",
            "Event",
            "events",
            ns,
            &["ev"],
            false,
            true,
            &[("Reason", ".reason"), ("Message", ".message")],
        ),
        def(
            "apps",
            "v1",
            "Deployment",
            "deployments",
            ns,
            &["deploy"],
            true,
            true,
            &[],
        ),
        def(
            "",
            "v1",
            "ServiceAccount",
            "serviceaccounts",
            ns,
            &["sa"],
            false,
            true,
            &[],
        ),
        def(
            "",
            "v1",
            "Service",
            "services",
            ns,
            &["svc"],
            true,
            true,
            &[("Type", ".spec.type"), ("Cluster-IP", ".spec.clusterIP")],
        ),
        def(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRole",
            "clusterroles",
            cluster,
            &[],
            false,
            true,
            &[],
        ),
        def(
            "rbac.authorization.k8s.io",
            "v1",
            "ClusterRoleBinding",
            "clusterrolebindings",
            cluster,
            &[],
            false,
            true,
            &[("Role", ".roleRef.name")],
        ),
        def(
            "rbac.authorization.k8s.io",
            "v1",
            "Role",
            "roles",
            ns,
            &[],
            false,
            true,
            &[],
        ),
        def(
            "rbac.authorization.k8s.io",
            "v1",
            "RoleBinding",
            "rolebindings",
            ns,
            &[],
            false,
            true,
            &[("Role", ".roleRef.name")],
        ),
        def(
            "storage.k8s.io",
            "v1",
            "StorageClass",
            "storageclasses",
            cluster,
            &["sc"],
            false,
            true,
            &[
                ("Provisioner", ".provisioner"),
                ("ReclaimPolicy", ".reclaimPolicy"),
            ],
        ),
        def(
            "snapshot.storage.k8s.io",
            "v1",
            "VolumeSnapshot",
            "volumesnapshots",
            ns,
            &["vs"],
            true,
            false,
            &[
                ("ReadyToUse", ".status.readyToUse"),
                ("SourcePVC", ".spec.source.persistentVolumeClaimName"),
                ("RestoreSize", ".status.restoreSize"),
                ("SnapshotClass", ".spec.volumeSnapshotClassName"),
                ("SnapshotContent", ".status.boundVolumeSnapshotContentName"),
            ],
        ),
        def(
            "snapshot.storage.k8s.io",
            "v1",
            "VolumeSnapshotContent",
            "volumesnapshotcontents",
            cluster,
            &["vsc", "vscs"],
            true,
            false,
            &[
                ("ReadyToUse", ".status.readyToUse"),
                ("DeletionPolicy", ".spec.deletionPolicy"),
                ("Driver", ".spec.driver"),
                ("VolumeSnapshot", ".spec.volumeSnapshotRef.name"),
            ],
        ),
        def(
            "snapshot.storage.k8s.io",
            "v1",
            "VolumeSnapshotClass",
            "volumesnapshotclasses",
            cluster,
            &["vsclass", "vsclasses"],
            false,
            false,
            &[("Driver", ".driver"), ("DeletionPolicy", ".deletionPolicy")],
        ),
        def(
            "kubevirt.io",
            "v1",
            "VirtualMachine",
            "virtualmachines",
            ns,
            &["vm", "vms"],
            true,
            false,
            &[
                ("Status", ".status.printableStatus"),
                ("Ready", ".status.ready"),
            ],
        ),
        def(
            "kubevirt.io",
            "v1",
            "VirtualMachineInstance",
            "virtualmachineinstances",
            ns,
            &["vmi", "vmis"],
            false,
            false,
            &[("Phase", ".status.phase")],
        ),
        def(
            "cdi.kubevirt.io",
            "v1beta1",
            "DataVolume",
            "datavolumes",
            ns,
            &["dv", "dvs"],
            true,
            false,
            &[("Phase", ".status.phase"), ("Progress", ".status.progress")],
        ),
        def(
            "velero.io",
            "v1",
            "Backup",
            "backups",
            ns,
            &[],
            false,
            false,
            &[("Status", ".status.phase")],
        ),
        def(
            "velero.io",
            "v1",
            "Restore",
            "restores",
            ns,
            &[],
            false,
            false,
            &[("Status", ".status.phase")],
        ),
        def(
            "velero.io",
            "v1",
            "BackupStorageLocation",
            "backupstoragelocations",
            ns,
            &["bsl"],
            true,
            false,
            &[("Phase", ".status.phase")],
        ),
    ];
    for d in &mut all {
        if matches!(
            d.kind.as_str(),
            "Deployment" | "VirtualMachine" | "DataVolume"
        ) {
            d.categories.push("all".to_owned());
        }
    }
    all
}

/// Every served resource type, looked up by group/version/plural.
#[derive(Debug, Clone)]
pub struct Registry {
    defs: Vec<Arc<ResourceDef>>,
}

impl Registry {
    /// The built-in types plus those of `resources_file` (YAML or JSON list of [`ResourceDef`]).
    pub fn load(resources_file: Option<&Path>) -> anyhow::Result<Registry> {
        let mut defs = builtins();
        if let Some(path) = resources_file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read the resources file {}", path.display()))?;
            let de = serde_yaml_ng::Deserializer::from_str(&text);
            let extra: Vec<ResourceDef> = serde_path_to_error::deserialize(de).map_err(|e| {
                anyhow::anyhow!(
                    "resources file {}: at `{}`: {} (expected a list of {{group, version, kind, plural, namespaced, ...}})",
                    path.display(),
                    e.path(),
                    e.inner()
                )
            })?;
            for mut d in extra {
                if d.version.is_empty() || d.kind.is_empty() {
                    anyhow::bail!(
                        "resources file {}: every entry needs `version` and `kind`",
                        path.display()
                    );
                }
                d.fill_defaults();
                defs.retain(|b| {
                    !(b.group == d.group && b.version == d.version && b.plural == d.plural)
                });
                defs.push(d);
            }
        }
        Ok(Registry {
            defs: defs.into_iter().map(Arc::new).collect(),
        })
    }

    /// The type served at `group/version/plural`.
    pub fn find(&self, group: &str, version: &str, plural: &str) -> Option<&Arc<ResourceDef>> {
        self.defs
            .iter()
            .find(|d| d.group == group && d.version == version && d.plural == plural)
    }

    /// All types.
    pub fn all(&self) -> &[Arc<ResourceDef>] {
        &self.defs
    }

    /// Groups (excluding core) with their versions, in first-seen order.
    pub fn groups(&self) -> BTreeMap<String, Vec<String>> {
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for d in self.defs.iter().filter(|d| !d.group.is_empty()) {
            let versions = groups.entry(d.group.clone()).or_default();
            if !versions.contains(&d.version) {
                versions.push(d.version.clone());
            }
        }
        groups
    }

    /// Types served in one group/version.
    pub fn in_group_version<'a>(
        &'a self,
        group: &'a str,
        version: &'a str,
    ) -> impl Iterator<Item = &'a Arc<ResourceDef>> {
        self.defs
            .iter()
            .filter(move |d| d.group == group && d.version == version)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_have_the_right_scope() {
        let r = Registry::load(None).unwrap();
        assert!(!r.find("", "v1", "persistentvolumes").unwrap().namespaced);
        assert!(
            r.find("", "v1", "persistentvolumeclaims")
                .unwrap()
                .namespaced
        );
        assert!(
            r.find("snapshot.storage.k8s.io", "v1", "volumesnapshots")
                .unwrap()
                .namespaced
        );
        assert!(
            !r.find("snapshot.storage.k8s.io", "v1", "volumesnapshotcontents")
                .unwrap()
                .namespaced
        );
        assert_eq!(
            r.find("velero.io", "v1", "restores").unwrap().kind,
            "Restore"
        );
    }

    #[test]
    fn resources_file_adds_types_and_names_bad_fields() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.yaml");
        std::fs::write(
            &good,
            "- {group: example.com, version: v1, kind: Widget, shortNames: [wd]}\n",
        )
        .unwrap();
        let r = Registry::load(Some(&good)).unwrap();
        let w = r.find("example.com", "v1", "widgets").unwrap();
        assert!(w.namespaced && !w.builtin);
        assert_eq!(w.singular, "widget");

        let bad = dir.path().join("bad.yaml");
        std::fs::write(
            &bad,
            "- {group: example.com, version: v1, kind: Widget, scope: Cluster}\n",
        )
        .unwrap();
        let err = Registry::load(Some(&bad)).unwrap_err().to_string();
        assert!(err.contains("scope") && err.contains("bad.yaml"), "{err}");
    }
}
