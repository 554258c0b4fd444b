//! Velero's restore controller: a new Restore is `New`, then `InProgress` (with
//! `startTimestamp`), then, each after `restore_phase_delay`, it restores the objects of its
//! backup ([`restore_items`]) and ends in the configured outcome: `Completed` (or
//! `PartiallyFailed` when an object could not be created), `PartiallyFailed` (at least one
//! error), or `Failed` with a `failureReason` and nothing restored. `status.progress` and
//! `warnings` count what was restored. The annotation
//! `fake-apiserver.ocpdr.io/restore-outcome` on a Restore overrides the configured outcome for
//! that restore.

use serde_json::{Value, json};

use super::{Ctx, restore_items, str_at, uid};
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
            let tally = if outcome == "Failed" { restore_items::Tally::default() } else { restore_items::restore(&ctx, &r) };
            let outcome = if outcome == "Completed" && tally.errors > 0 { "PartiallyFailed" } else { outcome };
            let mut s = json!({"phase": outcome, "completionTimestamp": now_rfc3339(), "warnings": tally.warnings,
                "progress": {"totalItems": tally.total, "itemsRestored": tally.restored}});
            match outcome {
                "PartiallyFailed" => s["errors"] = json!(tally.errors.max(1)),
                "Failed" => s["failureReason"] = json!("fake-apiserver: configured restore failure"),
                _ => s["errors"] = json!(0),
            }
            s
        };
        ctx.patch(&restores, &r, MANAGER, false, &json!({"status": status}));
    });
}
