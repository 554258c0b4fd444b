//! `ocpdr.dr.vm_power`: stop or start many KubeVirt VirtualMachines in one task.
//!
//! Each VM gets `spec.runStrategy` set to `Halted` or `Always`, unless it still uses the
//! deprecated `spec.running`, which is then the only field patched (the rules are in
//! [`ocpdr_core::kubevirt`]). Patches run concurrently; with `wait`, the module returns once every
//! selected VM's VMI is gone (stopped) or `Running`.

use crate::kube::wait::{Progress, poll};
use crate::kube::{Cluster, Kind, KubeError, Op, Target, block_on, concurrently};
use crate::{Context, Failure, Module, Outcome};
use kube::api::{Patch, PatchParams};
use ocpdr_core::kubevirt::{self, PowerChange, PowerState, VmStatus};
use serde::{Deserialize, Serialize};
use std::time::Duration;

fn default_wait_timeout() -> u64 {
    300
}

crate::kube_options! {
    /// The module's options, as the sidecar documentation describes them.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Options {
        #[serde(default)]
        namespaces: Vec<String>,
        #[serde(default)]
        names: Vec<String>,
        #[serde(default)]
        label_selector: Option<String>,
        state: PowerState,
        #[serde(default)]
        wait: bool,
        #[serde(default = "default_wait_timeout")]
        wait_timeout: u64,
    }
}

/// The result for one VM.
#[derive(Serialize)]
struct VmResult {
    #[serde(flatten)]
    change: PowerChange,
    changed: bool,
    printable_status: Option<String>,
    vmi_phase: Option<String>,
}

/// The module `ocpdr.dr.vm_power`.
pub struct VmPower;

impl Module for VmPower {
    type Options = Options;
    const SECRETS: &'static [&'static str] = &["/api_key"];

    fn run(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
        block_on(power(options, ctx))
    }
}

async fn power(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
    let cluster = Cluster::connect(options.connection()).await?;
    let vms = crate::kube::vms::select(
        &cluster,
        &options.namespaces,
        &options.names,
        options.label_selector.as_deref(),
    )
    .await?;

    let mut changes = Vec::with_capacity(vms.len());
    let mut problems = Vec::new();
    for vm in &vms {
        match kubevirt::power_change(vm, options.state) {
            Ok(change) => changes.push(change),
            Err(err) => problems.push(err.to_string()),
        }
    }
    if !problems.is_empty() {
        return Err(Failure::new(format!(
            "nothing was changed: {}",
            problems.join("; ")
        )));
    }

    let params = PatchParams {
        dry_run: ctx.check_mode,
        ..PatchParams::default()
    };
    let vm_kind = Kind::known("VirtualMachine");
    let patched = concurrently(changes.iter(), |change| {
        patch_one(&cluster, &vm_kind, change, &params)
    })
    .await;
    let changed = changes.iter().any(|c| c.patch.is_some());
    // Patches that went through stay applied when another one failed: say so.
    let landed = patched
        .iter()
        .zip(&changes)
        .any(|(result, change)| result.is_ok() && change.patch.is_some());
    if let Some(err) = patched.into_iter().find_map(Result::err) {
        return Err(Failure::from(err).with("changed", landed && !ctx.check_mode));
    }

    let statuses: Vec<VmStatus> = if options.wait && !ctx.check_mode {
        let targets: Vec<Target> = changes
            .iter()
            .map(|c| Target {
                kind: vm_kind.clone(),
                namespace: c.object.namespace.clone(),
                name: c.object.name.clone(),
            })
            .collect();
        let timeout = Duration::from_secs(options.wait_timeout);
        let state = options.state;
        match wait_for(&cluster, &targets, state, timeout).await? {
            Ok(statuses) => statuses,
            Err(statuses) => {
                let behind: Vec<String> = statuses
                    .iter()
                    .filter(|s| !s.is(state))
                    .map(VmStatus::summary)
                    .collect();
                return Err(Failure::new(format!(
                    "{} VirtualMachine(s) not {} after {}s: {}",
                    behind.len(),
                    state_word(state),
                    options.wait_timeout,
                    behind.join(", ")
                ))
                .with("changed", changed)
                .with("vms", results(changes, &statuses)));
            }
        }
    } else {
        Vec::new()
    };
    let mut outcome = Outcome::new(changed);
    if changes.is_empty() {
        outcome = outcome.warn("no VirtualMachine matched the selection; nothing to do");
    }
    Ok(outcome.with("vms", results(changes, &statuses)))
}

fn state_word(state: PowerState) -> &'static str {
    match state {
        PowerState::Running => "running",
        PowerState::Stopped => "stopped",
    }
}

fn results(changes: Vec<PowerChange>, statuses: &[VmStatus]) -> Vec<VmResult> {
    changes
        .into_iter()
        .map(|change| {
            let status = statuses.iter().find(|s| s.object == change.object);
            VmResult {
                changed: change.patch.is_some(),
                printable_status: status.and_then(|s| s.printable_status.clone()),
                vmi_phase: status.and_then(|s| s.vmi_phase.clone()),
                change,
            }
        })
        .collect()
}

async fn patch_one(
    cluster: &Cluster,
    kind: &Kind,
    change: &PowerChange,
    params: &PatchParams,
) -> Result<(), KubeError> {
    let Some(patch) = &change.patch else {
        return Ok(());
    };
    let api = cluster.api(kind, change.object.namespace.as_deref());
    cluster
        .call(
            || Op::new("patch", &change.object),
            api.patch(&change.object.name, params, &Patch::Merge(patch)),
        )
        .await?;
    Ok(())
}

/// Polls the VMs and their VMIs until every VM is in `state`; `Err` carries the last statuses.
async fn wait_for(
    cluster: &Cluster,
    vms: &[Target],
    state: PowerState,
    timeout: Duration,
) -> Result<Result<Vec<VmStatus>, Vec<VmStatus>>, KubeError> {
    poll(timeout, || async {
        let statuses = crate::kube::vms::statuses(cluster, vms).await?;
        Ok(if statuses.iter().all(|s| s.is(state)) {
            Progress::Done(statuses)
        } else {
            Progress::Pending(statuses)
        })
    })
    .await
}
