//! PV/PVC binding, as kube-controller-manager does it for pre-bound volumes: a PVC whose
//! `spec.volumeName` names an Available PV, or a PV whose `spec.claimRef` names a PVC, become
//! Bound to each other (claimRef with the PVC's uid, the PVC's capacity and access modes from
//! the PV, `pv.kubernetes.io/bind-completed`). New PVs without a claim are Available; a PV
//! whose bound claim is deleted becomes Released. No dynamic provisioning.

use serde_json::{Value, json};

use super::{Ctx, str_at, uid};
use crate::store::{Change, ChangeType, name_of, namespace_of};

const MANAGER: &str = "kube-controller-manager";

pub(super) fn on_change(ctx: &Ctx, change: &Change) {
    match (change.storage.as_str(), change.kind) {
        ("/persistentvolumes", ChangeType::Added | ChangeType::Modified) => {
            reconcile_pv(ctx, &change.object)
        }
        ("/persistentvolumeclaims", ChangeType::Added | ChangeType::Modified) => {
            reconcile_pvc(ctx, &change.object)
        }
        ("/persistentvolumeclaims", ChangeType::Deleted) => release(ctx, &change.object),
        _ => {}
    }
}

pub(super) fn resync(ctx: &Ctx) {
    for pv in ctx.all(&ctx.def("", "v1", "persistentvolumes")) {
        reconcile_pv(ctx, &pv);
    }
    for pvc in ctx.all(&ctx.def("", "v1", "persistentvolumeclaims")) {
        reconcile_pvc(ctx, &pvc);
    }
}

fn phase(obj: &Value) -> &str {
    str_at(obj, "/status/phase")
}

fn reconcile_pv(ctx: &Ctx, pv: &Value) {
    if pv.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let pvcs = ctx.def("", "v1", "persistentvolumeclaims");
    let claim_ns = str_at(pv, "/spec/claimRef/namespace");
    let claim_name = str_at(pv, "/spec/claimRef/name");
    if claim_name.is_empty() {
        let waiting = ctx
            .all(&pvcs)
            .into_iter()
            .find(|c| str_at(c, "/spec/volumeName") == name_of(pv) && phase(c) != "Bound");
        match waiting {
            Some(pvc) => bind(ctx, pv, &pvc),
            None => set_pv_phase(ctx, pv, "Available"),
        }
        return;
    }
    match ctx.get(&pvcs, claim_ns, claim_name) {
        Some(pvc) => {
            let uid_ok = str_at(pv, "/spec/claimRef/uid").is_empty()
                || str_at(pv, "/spec/claimRef/uid") == uid(&pvc);
            let volume = str_at(&pvc, "/spec/volumeName");
            if uid_ok && (volume.is_empty() || volume == name_of(pv)) {
                bind(ctx, pv, &pvc);
            }
        }
        None if !str_at(pv, "/spec/claimRef/uid").is_empty() => {
            if phase(pv) == "Bound" {
                set_pv_phase(ctx, pv, "Released");
            }
        }
        None => set_pv_phase(ctx, pv, "Available"),
    }
}

fn reconcile_pvc(ctx: &Ctx, pvc: &Value) {
    if phase(pvc) == "Bound" || pvc.pointer("/metadata/deletionTimestamp").is_some() {
        return;
    }
    let pvs = ctx.def("", "v1", "persistentvolumes");
    let volume = str_at(pvc, "/spec/volumeName");
    let pv = if volume.is_empty() {
        ctx.all(&pvs).into_iter().find(|pv| {
            str_at(pv, "/spec/claimRef/namespace") == namespace_of(pvc)
                && str_at(pv, "/spec/claimRef/name") == name_of(pvc)
        })
    } else {
        ctx.get(&pvs, "", volume)
    };
    let Some(pv) = pv else { return };
    let claimed_by_other = !str_at(&pv, "/spec/claimRef/name").is_empty()
        && (str_at(&pv, "/spec/claimRef/name") != name_of(pvc)
            || str_at(&pv, "/spec/claimRef/namespace") != namespace_of(pvc));
    if !claimed_by_other && matches!(phase(&pv), "Available" | "Pending" | "" | "Bound") {
        bind(ctx, &pv, pvc);
    }
}

fn set_pv_phase(ctx: &Ctx, pv: &Value, want: &str) {
    if phase(pv) != want {
        ctx.patch(
            &ctx.def("", "v1", "persistentvolumes"),
            pv,
            MANAGER,
            true,
            &json!({"status": {"phase": want}}),
        );
    }
}

fn bind(ctx: &Ctx, pv: &Value, pvc: &Value) {
    let pvs = ctx.def("", "v1", "persistentvolumes");
    let pvcs = ctx.def("", "v1", "persistentvolumeclaims");
    let claim_ref = json!({
        "kind": "PersistentVolumeClaim",
        "namespace": namespace_of(pvc),
        "name": name_of(pvc),
        "uid": uid(pvc),
        "apiVersion": "v1",
        "resourceVersion": str_at(pvc, "/metadata/resourceVersion"),
    });
    if str_at(pv, "/spec/claimRef/uid") != uid(pvc) {
        ctx.patch(
            &pvs,
            pv,
            MANAGER,
            false,
            &json!({"spec": {"claimRef": claim_ref}}),
        );
    }
    if let Some(pv) = ctx.get(&pvs, "", name_of(pv)) {
        set_pv_phase(ctx, &pv, "Bound");
    }
    if str_at(pvc, "/spec/volumeName").is_empty()
        || str_at(
            pvc,
            "/metadata/annotations/pv.kubernetes.io~1bind-completed",
        ) != "yes"
    {
        let mut annotations = json!({"pv.kubernetes.io/bind-completed": "yes"});
        if str_at(pvc, "/spec/volumeName").is_empty() {
            annotations["pv.kubernetes.io/bound-by-controller"] = json!("yes");
        }
        ctx.patch(
            &pvcs,
            pvc,
            MANAGER,
            false,
            &json!({"metadata": {"annotations": annotations}, "spec": {"volumeName": name_of(pv)}}),
        );
    }
    if let Some(pvc) = ctx.get(&pvcs, namespace_of(pvc), name_of(pvc)) {
        let status = json!({
            "phase": "Bound",
            "capacity": pv.pointer("/spec/capacity").cloned().unwrap_or(Value::Null),
            "accessModes": pv.pointer("/spec/accessModes").cloned().unwrap_or(Value::Null),
        });
        ctx.patch(&pvcs, &pvc, MANAGER, true, &json!({"status": status}));
    }
}

fn release(ctx: &Ctx, pvc: &Value) {
    let pvs = ctx.def("", "v1", "persistentvolumes");
    for pv in ctx.all(&pvs) {
        if str_at(&pv, "/spec/claimRef/uid") == uid(pvc) && phase(&pv) == "Bound" {
            set_pv_phase(ctx, &pv, "Released");
        }
    }
}
