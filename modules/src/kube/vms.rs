//! Selecting KubeVirt VirtualMachines and reading their status with their VMIs, for `vm_power`
//! and `vm_status`.

use super::cluster::Cluster;
use super::concurrently;
use super::errors::KubeError;
use super::resources::{Kind, Target};
use crate::Failure;
use ocpdr_core::kubevirt::{self, VmStatus};
use ocpdr_core::object::str_at;
use serde_json::{Value, json};
use std::collections::BTreeSet;

/// The VMs in `namespaces` (all when empty) matching `label_selector`, and, when `names` is not
/// empty, only those names; a name found in none of the namespaces is an error. Sorted by
/// namespace and name.
pub async fn select(
    cluster: &Cluster,
    namespaces: &[String],
    names: &[String],
    label_selector: Option<&str>,
) -> Result<Vec<Value>, Failure> {
    let kind = Kind::known("VirtualMachine");
    let scopes: Vec<Option<&str>> = if namespaces.is_empty() {
        vec![None]
    } else {
        let unique: BTreeSet<&str> = namespaces.iter().map(String::as_str).collect();
        unique.into_iter().map(Some).collect()
    };
    let listed = concurrently(scopes, |ns| cluster.list(&kind, ns, label_selector)).await;
    let mut vms = Vec::new();
    for result in listed {
        vms.extend(result?);
    }
    if !names.is_empty() {
        let wanted: BTreeSet<&str> = names.iter().map(String::as_str).collect();
        vms.retain(|vm| wanted.contains(str_at(vm, &["metadata", "name"]).unwrap_or("")));
        let found: BTreeSet<&str> = vms
            .iter()
            .filter_map(|vm| str_at(vm, &["metadata", "name"]))
            .collect();
        let missing: Vec<&str> = wanted.difference(&found).copied().collect();
        if !missing.is_empty() {
            let scope = if namespaces.is_empty() {
                "any namespace".to_owned()
            } else {
                format!("namespace(s) {}", namespaces.join(", "))
            };
            return Err(Failure::new(format!(
                "VirtualMachine(s) not found in {scope}{}: {}",
                label_selector
                    .map(|s| format!(" matching {s:?}"))
                    .unwrap_or_default(),
                missing.join(", ")
            )));
        }
    }
    vms.sort_by(|a, b| {
        let key = |v: &Value| {
            (
                str_at(v, &["metadata", "namespace"])
                    .unwrap_or("")
                    .to_owned(),
                str_at(v, &["metadata", "name"]).unwrap_or("").to_owned(),
            )
        };
        key(a).cmp(&key(b))
    });
    Ok(vms)
}

/// The status of each VM (by target) from the VM and its VMI, read in bulk.
pub async fn statuses(cluster: &Cluster, vms: &[Target]) -> Result<Vec<VmStatus>, KubeError> {
    let vmi_kind = Kind::known("VirtualMachineInstance");
    let vmis: Vec<Target> = vms
        .iter()
        .map(|vm| Target {
            kind: vmi_kind.clone(),
            namespace: vm.namespace.clone(),
            name: vm.name.clone(),
        })
        .collect();
    let (vm_states, vmi_states) = futures::try_join!(cluster.fetch(vms), cluster.fetch(&vmis))?;
    Ok(vms
        .iter()
        .zip(vm_states)
        .zip(vmi_states)
        .map(|((target, vm), vmi)| {
            // A VM deleted meanwhile still gets a line, with nothing running.
            let vm = vm.unwrap_or_else(|| {
                json!({"kind": "VirtualMachine",
                       "metadata": {"name": target.name, "namespace": target.namespace}})
            });
            kubevirt::vm_status(&vm, vmi.as_ref())
        })
        .collect())
}
