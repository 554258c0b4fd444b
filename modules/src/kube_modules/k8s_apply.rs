//! `ocpdr.dr.k8s_apply`: server-side apply of many objects in dependency order, in one task.
//!
//! Objects go in the seed's order (Namespaces, then VolumeSnapshotContents and PVs, then
//! VolumeSnapshots and PVCs, then the rest: [`ocpdr_core::apply_order`]); within a phase they are
//! applied concurrently. Each is compared before and after ([`ocpdr_core::changes`]) so the result
//! says `created`, `updated` or `unchanged`, and re-applying the same objects is
//! `changed: false`. Check mode sends the same requests with `dryRun=All`.

use crate::kube::objects::{Form, resolve_all};
use crate::kube::wait::{Progress, poll};
use crate::kube::{Cluster, Kind, KubeError, Op, Target, block_on, concurrently};
use crate::{Context, Failure, Module, Outcome, state_diff};
use kube::api::{Patch, PatchParams};
use ocpdr_core::apply_order::{apply_phases, namespaces_needed};
use ocpdr_core::changes::{self, Action};
use ocpdr_core::object::ObjectRef;
use ocpdr_core::readiness;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::time::Duration;

/// The field manager of every apply: `kubectl get --show-managed-fields` shows what ocpdr owns.
const FIELD_MANAGER: &str = "ocpdr";

/// At most this many changed field paths are reported per updated object.
const MAX_FIELDS: usize = 20;

fn yes() -> bool {
    true
}

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
        force_conflicts: bool,
        #[serde(default = "yes")]
        ensure_namespaces: bool,
        #[serde(default)]
        wait: bool,
        #[serde(default = "default_wait_timeout")]
        wait_timeout: u64,
    }
}

/// One object to apply.
struct Work {
    target: Target,
    body: Value,
    before: Option<Value>,
}

/// What happened to one object.
#[derive(Serialize)]
struct Applied {
    /// Its position in the work list.
    #[serde(skip)]
    index: usize,
    #[serde(rename = "apiVersion")]
    api_version: String,
    #[serde(flatten)]
    object: ObjectRef,
    action: Action,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fields: Vec<String>,
    #[serde(skip)]
    after: Value,
}

/// An object still not usable when the wait gave up.
#[derive(Serialize)]
struct NotReady {
    #[serde(flatten)]
    object: ObjectRef,
    reason: String,
}

/// The module `ocpdr.dr.k8s_apply`.
pub struct K8sApply;

impl Module for K8sApply {
    type Options = Options;
    const SECRETS: &'static [&'static str] = &["/api_key"];

    fn run(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
        block_on(apply(options, ctx))
    }
}

async fn apply(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
    let cluster = Cluster::connect(options.connection()).await?;
    let resolved = resolve_all(&cluster, &options.resources, Form::Objects).await?;
    let mut work: Vec<Work> = resolved
        .into_iter()
        .map(|r| Work {
            target: r.target,
            body: changes::apply_body(&r.body),
            before: None,
        })
        .collect();

    let targets: Vec<Target> = work.iter().map(|w| w.target.clone()).collect();
    let before = cluster.fetch(&targets).await?;
    for (w, state) in work.iter_mut().zip(before) {
        w.before = state;
    }
    if options.ensure_namespaces {
        work.extend(missing_namespaces(&cluster, &work).await?);
    }
    // Under check mode nothing is created, so objects in a namespace that does not exist yet
    // cannot be dry-run: they would be created.
    let absent_namespaces: BTreeSet<String> = work
        .iter()
        .filter(|w| w.target.kind.name() == "Namespace" && w.before.is_none())
        .map(|w| w.target.name.clone())
        .collect();

    let mut params = PatchParams::apply(FIELD_MANAGER);
    params.force = options.force_conflicts;
    params.dry_run = ctx.check_mode;
    let mut applied = Vec::with_capacity(work.len());
    let mut errors = Vec::new();
    for (_, members) in apply_phases(work.iter().map(|w| w.target.kind.name())) {
        let results = concurrently(members, |index| {
            let w = &work[index];
            let predicted = ctx.check_mode
                && w.target
                    .namespace
                    .as_ref()
                    .is_some_and(|ns| absent_namespaces.contains(ns));
            apply_one(&cluster, index, w, &params, predicted)
        })
        .await;
        for result in results {
            match result {
                Ok(done) => applied.push(done),
                Err(err) => errors.push(err.to_string()),
            }
        }
        if !errors.is_empty() {
            break;
        }
    }

    let changed = applied.iter().any(|a| a.action.changed());
    let diff: Vec<Value> = if ctx.diff {
        diffs(&work, &applied)
    } else {
        Vec::new()
    };
    if !errors.is_empty() {
        return Err(Failure::new(format!(
            "{} of {} object(s) could not be applied{}; later phases were not applied: {}",
            errors.len(),
            work.len(),
            if applied.is_empty() {
                String::new()
            } else {
                format!(" ({} were)", applied.len())
            },
            errors.join("; ")
        ))
        .with("changed", changed && !ctx.check_mode)
        .with("results", &applied)
        .with("summary", summary(&applied)));
    }

    if options.wait && !ctx.check_mode {
        let waited: Vec<Target> = work
            .iter()
            .filter(|w| readiness::has_readiness(w.target.kind.name()))
            .map(|w| w.target.clone())
            .collect();
        let timeout = Duration::from_secs(options.wait_timeout);
        if let Err(pending) = wait_ready(&cluster, &waited, timeout).await? {
            return Err(Failure::new(format!(
                "applied, but {} object(s) were not ready after {}s: {}",
                pending.len(),
                options.wait_timeout,
                pending
                    .iter()
                    .map(|p| format!("{} ({})", p.object, p.reason))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
            .with("changed", changed)
            .with("results", &applied)
            .with("summary", summary(&applied))
            .with("not_ready", pending));
        }
    }

    Ok(Outcome::new(changed)
        .with("summary", summary(&applied))
        .with("results", &applied)
        .diff(Value::Array(diff)))
}

/// The namespaces objects need that do not exist and are not among the objects, as work to
/// apply first.
async fn missing_namespaces(cluster: &Cluster, work: &[Work]) -> Result<Vec<Work>, KubeError> {
    let kind = Kind::known("Namespace");
    let targets: Vec<Target> = namespaces_needed(work.iter().map(|w| &w.body))
        .into_iter()
        .map(|name| Target {
            kind: kind.clone(),
            namespace: None,
            name,
        })
        .collect();
    let found = cluster.fetch(&targets).await?;
    Ok(targets
        .into_iter()
        .zip(found)
        .filter(|(_, state)| state.is_none())
        .map(|(target, _)| Work {
            body: json!({"apiVersion": "v1", "kind": "Namespace",
                         "metadata": {"name": target.name}}),
            target,
            before: None,
        })
        .collect())
}

async fn apply_one(
    cluster: &Cluster,
    index: usize,
    work: &Work,
    params: &PatchParams,
    predicted: bool,
) -> Result<Applied, KubeError> {
    let target = &work.target;
    let after = if predicted {
        work.body.clone()
    } else {
        let api = cluster.api(&target.kind, target.namespace.as_deref());
        let patch = Patch::Apply(&work.body);
        let obj = cluster
            .call(
                || Op::new("apply", target),
                api.patch(&target.name, params, &patch),
            )
            .await?;
        serde_json::to_value(obj).unwrap_or(Value::Null)
    };
    let action = changes::classify(work.before.as_ref(), &after);
    let fields = match (&work.before, action) {
        (Some(before), Action::Updated) => changes::differences(before, &after, MAX_FIELDS),
        _ => Vec::new(),
    };
    Ok(Applied {
        index,
        api_version: target.kind.resource.api_version.clone(),
        object: target.object_ref(),
        action,
        fields,
        after,
    })
}

fn summary(applied: &[Applied]) -> Value {
    let count = |action| applied.iter().filter(|a| a.action == action).count();
    json!({
        "created": count(Action::Created),
        "updated": count(Action::Updated),
        "unchanged": count(Action::Unchanged),
    })
}

/// Before/after of every created or updated object, without server bookkeeping.
fn diffs(work: &[Work], applied: &[Applied]) -> Vec<Value> {
    applied
        .iter()
        .filter(|a| a.action.changed())
        .map(|a| {
            let before = work[a.index].before.as_ref().map(changes::comparable);
            let after = changes::comparable(&a.after);
            state_diff(&a.object.to_string(), before.as_ref(), Some(&after))
        })
        .collect()
}

/// Polls the PVCs and VolumeSnapshots until all are usable; `Err` lists the ones that are not.
async fn wait_ready(
    cluster: &Cluster,
    targets: &[Target],
    timeout: Duration,
) -> Result<Result<(), Vec<NotReady>>, KubeError> {
    if targets.is_empty() {
        return Ok(Ok(()));
    }
    let result = poll(timeout, || async {
        let states = cluster.fetch(targets).await?;
        let pending: Vec<NotReady> = targets
            .iter()
            .zip(states)
            .filter_map(|(target, state)| {
                let reason = match state {
                    None => Some("it no longer exists".to_owned()),
                    Some(obj) => readiness::not_ready(&obj),
                };
                reason.map(|reason| NotReady {
                    object: target.object_ref(),
                    reason,
                })
            })
            .collect();
        Ok(if pending.is_empty() {
            Progress::Done(pending)
        } else {
            Progress::Pending(pending)
        })
    })
    .await?;
    Ok(result.map(|_| ()))
}
