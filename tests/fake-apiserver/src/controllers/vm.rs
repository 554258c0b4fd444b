//! KubeVirt's VirtualMachine controller, reduced to run state: a VM that should run
//! (`spec.runStrategy` Always/RerunOnFailure/Once, or `spec.running: true`) gets a
//! VirtualMachineInstance from its template, `Scheduling` at first and `Running` after
//! `vmi_ready_delay`; the VM's status follows (`printableStatus` Starting → Running, `ready`).
//! A VM that should not run (`Halted`, `running: false`) loses its VMI and is `Stopped`;
//! `Manual` is left alone. Deleting the VM deletes its VMI.

use serde_json::{Value, json};

use super::{Ctx, str_at, uid};
use crate::store::{Change, ChangeType, name_of, namespace_of, now_rfc3339};

const MANAGER: &str = "virt-controller";

pub(super) fn on_change(ctx: &Ctx, change: &Change) {
    let vms = ctx.def("kubevirt.io", "v1", "virtualmachines");
    let vmis = ctx.def("kubevirt.io", "v1", "virtualmachineinstances");
    let obj = &change.object;
    match (change.storage.as_str(), change.kind) {
        ("kubevirt.io/virtualmachines", ChangeType::Added | ChangeType::Modified) => {
            reconcile(ctx, obj)
        }
        ("kubevirt.io/virtualmachines", ChangeType::Deleted)
            if ctx
                .get(&vmis, namespace_of(obj), name_of(obj))
                .is_some_and(|vmi| owned_by(&vmi, obj)) =>
        {
            ctx.delete(&vmis, namespace_of(obj), name_of(obj));
        }
        ("kubevirt.io/virtualmachineinstances", _) => {
            if let Some(vm) = ctx.get(&vms, namespace_of(obj), name_of(obj)) {
                reconcile(ctx, &vm);
            }
        }
        _ => {}
    }
}

pub(super) fn resync(ctx: &Ctx) {
    for vm in ctx.all(&ctx.def("kubevirt.io", "v1", "virtualmachines")) {
        reconcile(ctx, &vm);
    }
}

fn owned_by(vmi: &Value, vm: &Value) -> bool {
    vmi.pointer("/metadata/ownerReferences")
        .and_then(Value::as_array)
        .is_some_and(|refs| refs.iter().any(|r| r["uid"].as_str() == Some(uid(vm))))
}

/// Whether the VM should run; None for `Manual` (nobody decides but the user).
fn wants_running(vm: &Value) -> Option<bool> {
    match str_at(vm, "/spec/runStrategy") {
        "Always" | "RerunOnFailure" | "Once" => Some(true),
        "Halted" => Some(false),
        "Manual" => None,
        _ => Some(
            vm.pointer("/spec/running")
                .and_then(Value::as_bool)
                .unwrap_or(false),
        ),
    }
}

fn reconcile(ctx: &Ctx, vm: &Value) {
    let vms = ctx.def("kubevirt.io", "v1", "virtualmachines");
    let vmis = ctx.def("kubevirt.io", "v1", "virtualmachineinstances");
    let (ns, name) = (namespace_of(vm), name_of(vm));
    let deleting = vm.pointer("/metadata/deletionTimestamp").is_some();
    let mut vmi = ctx.get(&vmis, ns, name);
    match (wants_running(vm), &vmi) {
        (Some(true), None) if !deleting => {
            let template = vm
                .pointer("/spec/template")
                .cloned()
                .unwrap_or_else(|| json!({}));
            let mut meta = template
                .get("metadata")
                .cloned()
                .unwrap_or_else(|| json!({}));
            meta["name"] = json!(name);
            meta["namespace"] = json!(ns);
            meta["ownerReferences"] = json!([{
                "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachine", "name": name, "uid": uid(vm),
                "controller": true, "blockOwnerDeletion": true,
            }]);
            let new = json!({
                "apiVersion": "kubevirt.io/v1", "kind": "VirtualMachineInstance", "metadata": meta,
                "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
                "status": {"phase": "Scheduling"},
            });
            ctx.create(&vmis, ns, new, MANAGER);
            vmi = ctx.get(&vmis, ns, name);
        }
        (Some(false), Some(existing))
            if existing.pointer("/metadata/deletionTimestamp").is_none() =>
        {
            ctx.delete(&vmis, ns, name);
            vmi = ctx.get(&vmis, ns, name);
        }
        _ => {}
    }
    if let Some(v) = &vmi
        && str_at(v, "/status/phase") != "Running"
    {
        let vmi_uid = uid(v).to_owned();
        let (ns, name) = (ns.to_owned(), name.to_owned());
        ctx.after(
            format!("vmi/{vmi_uid}"),
            ctx.sh.config.controllers.vmi_ready_delay,
            move |ctx| {
                let vmis = ctx.def("kubevirt.io", "v1", "virtualmachineinstances");
                if let Some(v) = ctx
                    .get(&vmis, &ns, &name)
                    .filter(|v| uid(v) == vmi_uid && str_at(v, "/status/phase") != "Running")
                {
                    let status = json!({"status": {"phase": "Running", "conditions": [
                        {"type": "Ready", "status": "True", "lastTransitionTime": now_rfc3339()}
                    ]}});
                    ctx.patch(&vmis, &v, MANAGER, false, &status);
                }
            },
        );
    }
    if deleting {
        return;
    }
    let running = vmi
        .as_ref()
        .is_some_and(|v| str_at(v, "/status/phase") == "Running");
    let want = match (&vmi, running) {
        (Some(_), true) => json!({"printableStatus": "Running", "ready": true, "created": true,
            "conditions": [{"type": "Ready", "status": "True"}]}),
        (Some(_), false) => json!({"printableStatus": "Starting", "ready": false, "created": true,
            "conditions": [{"type": "Ready", "status": "False"}]}),
        (None, _) => json!({"printableStatus": "Stopped", "ready": false, "created": false,
            "conditions": [{"type": "Ready", "status": "False"}]}),
    };
    let current = vm.get("status");
    let same = ["printableStatus", "ready", "created"]
        .iter()
        .all(|k| current.and_then(|c| c.get(*k)) == want.get(*k));
    if !same {
        let mut status = current.cloned().unwrap_or_else(|| json!({}));
        if let (Some(s), Some(w)) = (status.as_object_mut(), want.as_object()) {
            for (k, v) in w {
                s.insert(k.clone(), v.clone());
            }
        }
        ctx.patch(&vms, vm, MANAGER, true, &json!({"status": status}));
    }
}
