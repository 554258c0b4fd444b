//! Velero's restore controller, reduced to its phases: a new Restore is `New`, then
//! `InProgress` (with `startTimestamp`), then the configured outcome (`Completed`,
//! `PartiallyFailed` with `errors: 1`, or `Failed` with a `failureReason`), each after
//! `restore_phase_delay`. The annotation `fake-apiserver.ocpdr.io/restore-outcome` on a
//! Restore overrides the configured outcome for that restore.

use serde_json::{Value, json};

use super::{Ctx, str_at, uid};
use crate::config::RESTORE_OUTCOMES;
use crate::store::{Change, ChangeType, name_of, namespace_of, now_rfc3339};

const MANAGER: &str = "velero-server";
/// Per-restore override of the final phase.
pub const OUTCOME_ANNOTATION: &str = "fake-apiserver.ocpdr.io/restore-outcome";

pub(super) fn on_change(ctx: &Ctx, change: &Change) {
    if change.storage == "velero.io/restores"
        && matches!(change.kind, ChangeType::Added | ChangeType::Modified)
    {
        reconcile(ctx, &change.object);
    }
}

pub(super) fn resync(ctx: &Ctx) {
    for r in ctx.all(&ctx.def("velero.io", "v1", "restores")) {
        reconcile(ctx, &r);
    }
}

fn reconcile(ctx: &Ctx, restore: &Value) {
    let restores = ctx.def("velero.io", "v1", "restores");
    let next = match str_at(restore, "/status/phase") {
        "" => {
            ctx.patch(
                &restores,
                restore,
                MANAGER,
                false,
                &json!({"status": {"phase": "New"}}),
            );
            return;
        }
        "New" => "InProgress",
        "InProgress" => "outcome",
        _ => return,
    };
    let (ns, name, id) = (
        namespace_of(restore).to_owned(),
        name_of(restore).to_owned(),
        uid(restore).to_owned(),
    );
    let key = format!("restore/{id}/{next}");
    ctx.after(key, ctx.sh.config.controllers.restore_phase_delay, move |ctx| {
        let restores = ctx.def("velero.io", "v1", "restores");
        let Some(r) = ctx.get(&restores, &ns, &name).filter(|r| uid(r) == id) else { return };
        let status = if next == "InProgress" {
            if str_at(&r, "/status/phase") != "New" {
                return;
            }
            json!({"phase": "InProgress", "startTimestamp": now_rfc3339()})
        } else {
            if str_at(&r, "/status/phase") != "InProgress" {
                return;
            }
            let annotated = str_at(&r, &format!("/metadata/annotations/{}", OUTCOME_ANNOTATION.replace('/', "~1")));
            let outcome = if RESTORE_OUTCOMES.contains(&annotated) { annotated } else { ctx.sh.config.controllers.restore_outcome.as_str() };
            let mut s = json!({"phase": outcome, "completionTimestamp": now_rfc3339(), "warnings": 0,
                "progress": {"totalItems": 1, "itemsRestored": 1}});
            match outcome {
                "PartiallyFailed" => s["errors"] = json!(1),
                "Failed" => s["failureReason"] = json!("fake-apiserver: configured restore failure"),
                _ => s["errors"] = json!(0),
            }
            s
        };
        ctx.patch(&restores, &r, MANAGER, false, &json!({"status": status}));
    });
}
