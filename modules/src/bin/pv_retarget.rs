//! `ocpdr.dr.pv_retarget`: point NFS PersistentVolumes at the DR NFS server.
//!
//! A pure transformation: it returns the retargeted (and by default cleaned) PVs plus the
//! source/destination pair of each volume for the data sync; `changed` is always false. The
//! rules live in [`ocpdr_core::retarget`].

use ocpdr_core::clean::CleanOptions;
use ocpdr_core::object::ObjectRef;
use ocpdr_core::retarget::{
    self, NonNfs, PathMapping, ReclaimPolicy, RetargetOptions, Retargeted, Unmapped,
};
use ocpdr_modules::{Context, Failure, Module, Outcome, object_diff};
use serde::Deserialize;
use serde_json::Value;
use std::process::ExitCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    resources: Vec<Value>,
    dr_nfs_server: String,
    #[serde(default)]
    path_map: Vec<PathMapping>,
    #[serde(default)]
    unmapped: Unmapped,
    #[serde(default)]
    reclaim_policy: ReclaimPolicy,
    #[serde(default = "yes")]
    clean: bool,
    #[serde(default)]
    non_nfs: NonNfs,
}

fn yes() -> bool {
    true
}

struct PvRetarget;

impl Module for PvRetarget {
    type Options = Options;

    fn run(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
        let retarget_options = RetargetOptions {
            dr_nfs_server: options.dr_nfs_server,
            path_map: options.path_map,
            unmapped: options.unmapped,
            reclaim_policy: options.reclaim_policy,
            clean: options.clean.then(CleanOptions::default),
            non_nfs: options.non_nfs,
        };
        retarget::validate(&retarget_options).map_err(|err| Failure::new(err.to_string()))?;

        let mut resources = Vec::new();
        let mut volumes = Vec::new();
        let mut skipped = Vec::new();
        let mut diff = Vec::new();
        for (index, pv) in options.resources.iter().enumerate() {
            let outcome = retarget::retarget(pv, &retarget_options)
                .map_err(|err| Failure::new(format!("resources[{index}]: {err}")))?;
            match outcome {
                Retargeted::Volume(done) => {
                    if ctx.diff {
                        diff.push(object_diff(&ObjectRef::of(pv).to_string(), pv, &done.pv));
                    }
                    resources.push(done.pv);
                    volumes.push(done.volume);
                }
                Retargeted::Skipped(skip) => skipped.push(skip),
            }
        }
        let mut outcome = Outcome::new(false);
        if !skipped.is_empty() {
            let names: Vec<&str> = skipped.iter().map(|s| s.name.as_str()).collect();
            outcome = outcome.warn(format!(
                "skipped {} PersistentVolume(s) that are not NFS: {}",
                skipped.len(),
                names.join(", ")
            ));
        }
        Ok(outcome
            .with("resources", resources)
            .with("volumes", volumes)
            .with("skipped", skipped)
            .diff(Value::Array(diff)))
    }
}

fn main() -> ExitCode {
    ocpdr_modules::run::<PvRetarget>()
}
