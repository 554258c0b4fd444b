//! `ocpdr_k8s`: the one binary behind the Kubernetes modules of `ocpdr.dr` (`k8s_inventory`,
//! `k8s_apply`, `k8s_delete`, `vm_power`, `vm_status`, `oadp_restore`). It runs the module it is
//! invoked as; see [`ocpdr_modules::kube_modules`].

use std::process::ExitCode;

fn main() -> ExitCode {
    ocpdr_modules::run_multi(ocpdr_modules::kube_modules::MODULES)
}
