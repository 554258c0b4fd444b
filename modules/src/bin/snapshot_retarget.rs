//! `ocpdr.dr.snapshot_retarget`: turn CSI NFS VolumeSnapshots and VolumeSnapshotContents into
//! their pre-provisioned form on the DR NFS server.
//!
//! A pure transformation, like `pv_retarget`: it returns the objects for DR, the archive
//! directory of each snapshot for `nfs_sync`, the metadata store file of each object and the
//! skipped ones; `changed` is always false. The rules live in [`ocpdr_core::snapshot`].

use ocpdr_core::clean::CleanOptions;
use ocpdr_core::nfs_map::{NonNfs, PathMapping, Unmapped};
use ocpdr_core::object::ObjectRef;
use ocpdr_core::snapshot::{self, SnapshotOptions};
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
    #[serde(default = "yes")]
    clean: bool,
    #[serde(default)]
    non_nfs: NonNfs,
}

fn yes() -> bool {
    true
}

struct SnapshotRetarget;

impl Module for SnapshotRetarget {
    type Options = Options;

    fn run(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
        let snapshot_options = SnapshotOptions {
            dr_nfs_server: options.dr_nfs_server,
            path_map: options.path_map,
            unmapped: options.unmapped,
            clean: options.clean.then(CleanOptions::default),
            non_nfs: options.non_nfs,
        };
        snapshot::validate(&snapshot_options).map_err(|err| Failure::new(err.to_string()))?;
        let batch = snapshot::retarget(&options.resources, &snapshot_options)
            .map_err(|err| Failure::new(err.to_string()))?;

        let mut diff = Vec::new();
        let mut resources = Vec::with_capacity(batch.retargeted.len());
        let mut metadata_files = Vec::with_capacity(batch.retargeted.len());
        let mut archives = Vec::new();
        for done in batch.retargeted {
            if ctx.diff {
                let before = &options.resources[done.index];
                let header = ObjectRef::of(before).to_string();
                diff.push(object_diff(&header, before, &done.object));
            }
            resources.push(done.object);
            metadata_files.push(done.metadata_file);
            archives.extend(done.archive);
        }
        let mut outcome = Outcome::new(false);
        if !batch.skipped.is_empty() {
            let names: Vec<String> = batch
                .skipped
                .iter()
                .map(|s| format!("{} ({})", s.name, s.reason))
                .collect();
            outcome = outcome.warn(format!(
                "skipped {} snapshot object(s): {}",
                batch.skipped.len(),
                names.join("; ")
            ));
        }
        Ok(outcome
            .with("resources", resources)
            .with("metadata_files", metadata_files)
            .with("archives", archives)
            .with("skipped", batch.skipped)
            .diff(Value::Array(diff)))
    }
}

fn main() -> ExitCode {
    ocpdr_modules::run::<SnapshotRetarget>()
}
