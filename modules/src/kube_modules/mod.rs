//! The six Kubernetes modules. They share one binary, `ocpdr_k8s`, which runs the module it is
//! invoked as ([`crate::run_multi`]): the collection ships it once, as `k8s_apply`, with the
//! other five names as symlinks to it.
//!
//! Each module links the same client stack (kube, hyper, rustls on aws-lc-rs, tokio), which is
//! 95% of its size: six copies made the collection tarball about five times larger and the
//! release build link the stack six times (docs/BENCHMARKS.md, "Kubernetes module binaries").

mod k8s_apply;
mod k8s_delete;
mod k8s_inventory;
mod oadp_restore;
mod vm_power;
mod vm_status;

pub use k8s_apply::K8sApply;
pub use k8s_delete::K8sDelete;
pub use k8s_inventory::K8sInventory;
pub use oadp_restore::OadpRestore;
pub use vm_power::VmPower;
pub use vm_status::VmStatusModule;

use crate::Named;

/// Every Kubernetes module, under the name Ansible knows it by; the collection build installs
/// the binary under the first name.
pub const MODULES: &[Named] = &[
    Named::of::<K8sApply>("k8s_apply"),
    Named::of::<K8sInventory>("k8s_inventory"),
    Named::of::<K8sDelete>("k8s_delete"),
    Named::of::<VmPower>("vm_power"),
    Named::of::<VmStatusModule>("vm_status"),
    Named::of::<OadpRestore>("oadp_restore"),
];
