//! `ocpdr.dr.vm_status`: the state of many KubeVirt VirtualMachines, optionally waiting until
//! they all run (or are all stopped).
//!
//! A VM runs when its VMI's phase is `Running` ([`ocpdr_core::kubevirt`]). When `wait_for` is set
//! and the deadline passes, the module fails and names every VM that did not get there. Read-only.

use crate::kube::vms::{select, statuses};
use crate::kube::wait::{Progress, poll};
use crate::kube::{Cluster, Kind, Target, block_on};
use crate::{Context, Failure, Module, Outcome};
use ocpdr_core::kubevirt::{PowerState, VmStatus};
use serde::Deserialize;
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
        #[serde(default)]
        wait_for: Option<PowerState>,
        #[serde(default = "default_wait_timeout")]
        wait_timeout: u64,
    }
}

/// The module `ocpdr.dr.vm_status`.
pub struct VmStatusModule;

impl Module for VmStatusModule {
    type Options = Options;
    const SECRETS: &'static [&'static str] = &["/api_key"];

    fn run(options: Options, _ctx: &Context) -> Result<Outcome, Failure> {
        block_on(status(options))
    }
}

async fn status(options: Options) -> Result<Outcome, Failure> {
    let cluster = Cluster::connect(options.connection()).await?;
    let vms = select(
        &cluster,
        &options.namespaces,
        &options.names,
        options.label_selector.as_deref(),
    )
    .await?;
    let kind = Kind::known("VirtualMachine");
    let targets: Vec<Target> = vms
        .iter()
        .map(|vm| {
            let object = ocpdr_core::object::ObjectRef::of(vm);
            Target {
                kind: kind.clone(),
                namespace: object.namespace,
                name: object.name,
            }
        })
        .collect();

    let timeout = Duration::from_secs(options.wait_timeout);
    let (current, gave_up) = match options.wait_for {
        None => (statuses(&cluster, &targets).await?, None),
        Some(state) => {
            let result = poll(timeout, || async {
                let current = statuses(&cluster, &targets).await?;
                Ok(if current.iter().all(|s| s.is(state)) {
                    Progress::Done(current)
                } else {
                    Progress::Pending(current)
                })
            })
            .await?;
            match result {
                Ok(current) => (current, None),
                Err(current) => (current, Some(state)),
            }
        }
    };

    let not_running = names_where(&current, |s| !s.running);
    if let Some(state) = gave_up {
        let (field, word, behind) = match state {
            PowerState::Running => ("not_running", "running", not_running.clone()),
            PowerState::Stopped => (
                "not_stopped",
                "stopped",
                names_where(&current, |s| !s.is(PowerState::Stopped)),
            ),
        };
        let details: Vec<String> = current
            .iter()
            .filter(|s| !s.is(state))
            .map(VmStatus::summary)
            .collect();
        return Err(Failure::new(format!(
            "{} of {} VirtualMachine(s) not {word} after {}s: {}",
            behind.len(),
            current.len(),
            options.wait_timeout,
            details.join(", ")
        ))
        .with("vms", &current)
        .with(field, behind));
    }
    let mut outcome = Outcome::new(false);
    if current.is_empty() {
        outcome = outcome.warn("no VirtualMachine matched the selection");
    }
    Ok(outcome
        .with("vms", &current)
        .with("not_running", not_running))
}

/// `namespace/name` of every VM whose status matches `pick`.
fn names_where(statuses: &[VmStatus], pick: impl Fn(&VmStatus) -> bool) -> Vec<String> {
    statuses
        .iter()
        .filter(|s| pick(s))
        .map(|s| match &s.object.namespace {
            Some(ns) => format!("{ns}/{}", s.object.name),
            None => s.object.name.clone(),
        })
        .collect()
}
