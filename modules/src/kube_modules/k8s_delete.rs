//! `ocpdr.dr.k8s_delete`: delete many objects in reverse dependency order, in one task.
//!
//! The phases of [`ocpdr_core::apply_order`] run backwards (the rest, then VolumeSnapshots and
//! PVCs, then VolumeSnapshotContents and PVs, then Namespaces), so a volume is not deleted while
//! a claim still uses it; with `wait`, each phase's objects must be gone before the next phase
//! starts. An object that does not exist is `unchanged`, not an error, so the task can be re-run.

use crate::kube::objects::{Form, Resolved, resolve_all};
use crate::kube::wait::{Progress, poll};
use crate::kube::{Cluster, KubeError, Op, Target, block_on, concurrently};
use crate::{Context, Failure, Module, Outcome, state_diff};
use kube::api::DeleteParams;
use ocpdr_core::apply_order::delete_phases;
use ocpdr_core::changes;
use ocpdr_core::object::ObjectRef;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::time::Duration;

fn default_wait_timeout() -> u64 {
    120
}

crate::kube_options! {
    /// The module's options, as the sidecar documentation describes them.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Options {
        resources: Vec<Value>,
        #[serde(default)]
        wait: bool,
        #[serde(default = "default_wait_timeout")]
        wait_timeout: u64,
    }
}

/// What happened to one object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum Action {
    /// The delete was accepted (the object may wait for finalizers).
    Deleted,
    /// The object did not exist.
    Unchanged,
}

#[derive(Serialize)]
struct Deleted {
    #[serde(rename = "apiVersion")]
    api_version: String,
    #[serde(flatten)]
    object: ObjectRef,
    action: Action,
}

/// An object still there when the wait gave up.
#[derive(Serialize)]
struct StillThere {
    #[serde(flatten)]
    object: ObjectRef,
    finalizers: Vec<String>,
}

/// The module `ocpdr.dr.k8s_delete`.
pub struct K8sDelete;

impl Module for K8sDelete {
    type Options = Options;
    const SECRETS: &'static [&'static str] = &["/api_key"];

    fn run(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
        block_on(delete(options, ctx))
    }
}

async fn delete(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
    let cluster = Cluster::connect(options.connection()).await?;
    let resolved = resolve_all(&cluster, &options.resources, Form::ObjectsOrRefs).await?;
    let before = if ctx.diff {
        let targets: Vec<Target> = resolved.iter().map(|r| r.target.clone()).collect();
        cluster.fetch(&targets).await?
    } else {
        vec![None; resolved.len()]
    };
    let params = DeleteParams {
        dry_run: ctx.check_mode,
        ..DeleteParams::default()
    };
    let timeout = Duration::from_secs(options.wait_timeout);

    let mut results: Vec<Deleted> = Vec::with_capacity(resolved.len());
    let mut errors = Vec::new();
    for (_, members) in delete_phases(resolved.iter().map(|r| r.target.kind.name())) {
        let outcomes = concurrently(members, |index| {
            delete_one(&cluster, &resolved[index], &params)
        })
        .await;
        let mut deleted = Vec::new();
        for outcome in outcomes {
            match outcome {
                Ok(done) => {
                    if done.1.action == Action::Deleted {
                        deleted.push(done.0.clone());
                    }
                    results.push(done.1);
                }
                Err(err) => errors.push(err.to_string()),
            }
        }
        let deleted_any = results.iter().any(|r| r.action == Action::Deleted);
        if !errors.is_empty() {
            return Err(Failure::new(format!(
                "{} object(s) could not be deleted; later phases were not deleted: {}",
                errors.len(),
                errors.join("; ")
            ))
            .with("changed", deleted_any && !ctx.check_mode)
            .with("results", &results));
        }
        if options.wait && !ctx.check_mode {
            let waited = wait_gone(&cluster, &deleted, timeout).await?;
            if let Err(remaining) = waited {
                return Err(Failure::new(format!(
                    "{} object(s) still exist {}s after their delete: {}",
                    remaining.len(),
                    options.wait_timeout,
                    remaining
                        .iter()
                        .map(|r| format!("{} (finalizers: {})", r.object, r.finalizers.join(", ")))
                        .collect::<Vec<_>>()
                        .join(", ")
                ))
                .with("changed", deleted_any)
                .with("results", &results)
                .with("remaining", remaining));
            }
        }
    }

    let count = |action| results.iter().filter(|r| r.action == action).count();
    let changed = count(Action::Deleted) > 0;
    let diff: Vec<Value> = resolved
        .iter()
        .zip(&before)
        .filter_map(|(r, state)| {
            let before = changes::comparable(state.as_ref()?);
            Some(state_diff(&r.target.to_string(), Some(&before), None))
        })
        .collect();
    Ok(Outcome::new(changed)
        .with(
            "summary",
            json!({"deleted": count(Action::Deleted), "unchanged": count(Action::Unchanged)}),
        )
        .with("results", &results)
        .diff(Value::Array(diff)))
}

async fn delete_one<'a>(
    cluster: &Cluster,
    item: &'a Resolved,
    params: &DeleteParams,
) -> Result<(&'a Target, Deleted), KubeError> {
    let target = &item.target;
    let api = cluster.api(&target.kind, target.namespace.as_deref());
    let result = cluster
        .call(
            || Op::new("delete", target),
            api.delete(&target.name, params),
        )
        .await;
    let action = match result {
        Ok(_) => Action::Deleted,
        Err(err) if err.is_not_found() => Action::Unchanged,
        Err(err) => return Err(err),
    };
    Ok((
        target,
        Deleted {
            api_version: target.kind.resource.api_version.clone(),
            object: target.object_ref(),
            action,
        },
    ))
}

/// Polls until none of `targets` exists; `Err` lists the ones left with their finalizers.
async fn wait_gone(
    cluster: &Cluster,
    targets: &[Target],
    timeout: Duration,
) -> Result<Result<(), Vec<StillThere>>, KubeError> {
    if targets.is_empty() {
        return Ok(Ok(()));
    }
    let result = poll(timeout, || async {
        let states = cluster.fetch(targets).await?;
        let left: Vec<StillThere> = targets
            .iter()
            .zip(states)
            .filter_map(|(target, state)| {
                let obj = state?;
                let finalizers = obj
                    .pointer("/metadata/finalizers")
                    .and_then(Value::as_array)
                    .map(|f| {
                        f.iter()
                            .filter_map(Value::as_str)
                            .map(str::to_owned)
                            .collect()
                    })
                    .unwrap_or_default();
                Some(StillThere {
                    object: target.object_ref(),
                    finalizers,
                })
            })
            .collect();
        Ok(if left.is_empty() {
            Progress::Done(left)
        } else {
            Progress::Pending(left)
        })
    })
    .await?;
    Ok(result.map(|_| ()))
}
