//! `ocpdr.dr.oadp_restore`: create the OADP (Velero) Restore of a failover and wait for its
//! outcome.
//!
//! The Restore always excludes PersistentVolumes, PersistentVolumeClaims, VolumeSnapshots and
//! VolumeSnapshotContents, which ocpdr has already applied retargeted at the DR NFS server
//! ([`ocpdr_core::restore`]). Re-running with the same `restore_name` finds the existing Restore
//! and waits for it instead of starting a second one.

use crate::kube::wait::{Progress, poll};
use crate::kube::{Cluster, Kind, KubeError, Op, Target, block_on};
use crate::{Context, Failure, Module, Outcome};
use chrono::Utc;
use kube::api::PostParams;
use ocpdr_core::restore::{
    self, ExistingResourcePolicy, Outcome as Phase, RestoreSpec, RestoreStatus,
};
use serde::Deserialize;
use serde_json::{Value, json};
use std::cell::RefCell;
use std::time::Duration;

fn default_oadp_namespace() -> String {
    "openshift-adp".to_owned()
}

fn yes() -> bool {
    true
}

fn default_wait_timeout() -> u64 {
    1800
}

crate::kube_options! {
    /// The module's options, as the sidecar documentation describes them.
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    pub struct Options {
        backup_name: String,
        #[serde(default = "default_oadp_namespace")]
        oadp_namespace: String,
        #[serde(default)]
        restore_name: Option<String>,
        #[serde(default)]
        included_namespaces: Vec<String>,
        #[serde(default)]
        excluded_resources: Vec<String>,
        #[serde(default)]
        restore_pvs: bool,
        #[serde(default)]
        existing_resource_policy: Option<ExistingResourcePolicy>,
        #[serde(default = "yes")]
        wait: bool,
        #[serde(default = "default_wait_timeout")]
        wait_timeout: u64,
        #[serde(default)]
        allow_partial: bool,
    }
}

/// The module `ocpdr.dr.oadp_restore`.
pub struct OadpRestore;

impl Module for OadpRestore {
    type Options = Options;
    const SECRETS: &'static [&'static str] = &["/api_key"];

    fn run(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
        block_on(run_restore(options, ctx))
    }
}

fn invalid(err: restore::Error) -> Failure {
    Failure::new(err.to_string())
}

async fn run_restore(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
    restore::validate_name("backup_name", &options.backup_name).map_err(invalid)?;
    restore::validate_name("oadp_namespace", &options.oadp_namespace).map_err(invalid)?;
    let name = match &options.restore_name {
        Some(name) => name.clone(),
        None => restore::default_restore_name(
            &options.backup_name,
            &Utc::now().format("%Y%m%d%H%M%S").to_string(),
        ),
    };
    restore::validate_name("restore_name", &name).map_err(invalid)?;
    let spec = RestoreSpec {
        name,
        namespace: options.oadp_namespace.clone(),
        backup_name: options.backup_name.clone(),
        included_namespaces: options.included_namespaces.clone(),
        excluded_resources: options.excluded_resources.clone(),
        restore_pvs: options.restore_pvs,
        existing_resource_policy: options.existing_resource_policy,
    };
    let wanted = restore::restore_object(&spec);
    let cluster = Cluster::connect(options.connection()).await?;
    let target = Target {
        kind: Kind::known("Restore"),
        namespace: Some(spec.namespace.clone()),
        name: spec.name.clone(),
    };

    let mut warnings = check_backup(&cluster, &spec).await?;
    let (current, created) = match cluster.get(&target).await? {
        Some(existing) => (existing, false),
        None => create(&cluster, &target, &wanted, ctx.check_mode).await?,
    };
    if !created {
        restore::check_existing(&current, &spec).map_err(invalid)?;
        warnings.push(format!(
            "{target} already exists for backup {}: not creating another, following it",
            spec.backup_name
        ));
    }

    let phases = RefCell::new(Vec::<String>::new());
    let note = |status: &RestoreStatus| {
        let mut seen = phases.borrow_mut();
        if !status.phase.is_empty() && seen.last() != Some(&status.phase) {
            seen.push(status.phase.clone());
        }
    };
    let mut status = RestoreStatus::of(&current);
    note(&status);
    let mut timed_out = false;
    if options.wait && !ctx.check_mode && restore::outcome(&status.phase) == Phase::Running {
        let timeout = Duration::from_secs(options.wait_timeout);
        let waited = poll(timeout, || async {
            let now = cluster
                .get(&target)
                .await?
                .ok_or_else(|| gone(&cluster, &target))?;
            let status = RestoreStatus::of(&now);
            note(&status);
            Ok(match restore::outcome(&status.phase) {
                Phase::Running => Progress::Pending(status),
                _ => Progress::Done(status),
            })
        })
        .await?;
        timed_out = waited.is_err();
        status = waited.unwrap_or_else(|pending| pending);
    }

    // The same return values whether the module succeeds or fails.
    let values = [
        ("restore_name", json!(spec.name)),
        ("namespace", json!(spec.namespace)),
        ("created", json!(created)),
        ("phase", json!(status.phase)),
        ("warnings_count", json!(status.warnings)),
        ("errors_count", json!(status.errors)),
        ("failure_reason", json!(status.failure_reason)),
        ("validation_errors", json!(status.validation_errors)),
        ("phases_seen", json!(phases.borrow().clone())),
        ("restore", wanted),
    ];
    // A Restore this run created stays in the cluster even when it failed: that is a change.
    let fail = |msg: String| {
        values.iter().fold(
            Failure::new(msg).with("changed", created && !ctx.check_mode),
            |failure, (key, value)| failure.with(key, value),
        )
    };
    let counts = format!(
        "{} error(s), {} warning(s){}",
        status.errors,
        status.warnings,
        status
            .failure_reason
            .as_deref()
            .map(|r| format!(", failure reason: {r}"))
            .unwrap_or_default()
    );
    let details = format!(
        "`velero restore describe {} --details` lists them",
        spec.name
    );
    if timed_out {
        let phase = if status.phase.is_empty() {
            "without a phase (is Velero running in this namespace?)"
        } else {
            status.phase.as_str()
        };
        return Err(fail(format!(
            "{target} is still {phase} after {}s; it keeps running in the cluster: re-run with \
             restore_name: {} to follow it",
            options.wait_timeout, spec.name
        )));
    }
    match restore::outcome(&status.phase) {
        Phase::Failed => {
            let validation = if status.validation_errors.is_empty() {
                String::new()
            } else {
                format!(
                    ", validation errors: {}",
                    status.validation_errors.join("; ")
                )
            };
            Err(fail(format!(
                "{target} {}: {counts}{validation}; {details}",
                status.phase
            )))
        }
        Phase::PartiallyFailed if !options.allow_partial => Err(fail(format!(
            "{target} PartiallyFailed: {counts}; {details}, or set allow_partial: true to accept it"
        ))),
        outcome => {
            if outcome == Phase::PartiallyFailed {
                warnings.push(format!(
                    "{target} PartiallyFailed ({counts}), accepted because allow_partial is set"
                ));
            }
            let out = warnings
                .into_iter()
                .fold(Outcome::new(created), |out, warning| out.warn(warning));
            Ok(values
                .iter()
                .fold(out, |out, (key, value)| out.with(key, value)))
        }
    }
}

fn gone(cluster: &Cluster, target: &Target) -> KubeError {
    KubeError {
        op: Op::new("wait for", target),
        host: cluster.host().to_owned(),
        cause: crate::kube::errors::Cause::Transport(
            "the Restore was deleted while waiting for it".into(),
        ),
    }
}

/// The Backup must exist in the OADP namespace; one that is not complete is worth a warning.
async fn check_backup(cluster: &Cluster, spec: &RestoreSpec) -> Result<Vec<String>, Failure> {
    let backup = Target {
        kind: Kind::known("Backup"),
        namespace: Some(spec.namespace.clone()),
        name: spec.backup_name.clone(),
    };
    let Some(found) = cluster.get(&backup).await? else {
        return Err(Failure::new(format!(
            "{backup} not found on the API server at {}: OADP lists the backups of its \
             BackupStorageLocation as Backup objects in {}; check backup_name, oadp_namespace, \
             and that this cluster's DataProtectionApplication uses the bucket the backup is in",
            cluster.host(),
            spec.namespace
        )));
    };
    let phase = found
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    Ok(match phase {
        "Completed" => Vec::new(),
        other => vec![format!(
            "{backup} is in phase {:?}, not Completed: the restore may miss items",
            other
        )],
    })
}

/// Creates the Restore (a dry run under check mode); a Restore created meanwhile by someone
/// else with the same name is followed instead.
async fn create(
    cluster: &Cluster,
    target: &Target,
    wanted: &Value,
    dry_run: bool,
) -> Result<(Value, bool), Failure> {
    let api = cluster.api(&target.kind, target.namespace.as_deref());
    let params = PostParams {
        dry_run,
        ..PostParams::default()
    };
    let object: kube::api::DynamicObject =
        serde_json::from_value(wanted.clone()).map_err(|err| {
            Failure::new(format!("internal error building the Restore object: {err}"))
        })?;
    match cluster
        .call(|| Op::new("create", target), api.create(&params, &object))
        .await
    {
        Ok(created) => Ok((serde_json::to_value(created).unwrap_or(json!({})), true)),
        Err(err) if err.is_conflict() => match cluster.get(target).await? {
            Some(existing) => Ok((existing, false)),
            None => Err(err.into()),
        },
        Err(err) => Err(err.into()),
    }
}
