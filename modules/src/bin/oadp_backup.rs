//! `ocpdr.dr.oadp_backup`: find an OADP/Velero backup (S3 or a local file), stream its tarball
//! and return the PersistentVolumes, PersistentVolumeClaims, VolumeSnapshots and
//! VolumeSnapshotContents in it (or any other kinds asked for).
//!
//! Read-only: `changed` is always false and check mode behaves exactly like a normal run. With
//! `list: true` it returns the backups in the bucket instead, newest first. The rules live in
//! [`ocpdr_core::velero`].

use ocpdr_core::velero::s3::{BackupStore, S3Location};
use ocpdr_core::velero::selection::{
    PERSISTENT_VOLUME_CLAIMS, PERSISTENT_VOLUMES, VOLUME_SNAPSHOT_CONTENTS, VOLUME_SNAPSHOTS,
};
use ocpdr_core::velero::{
    BackupContents, BackupInfo, Limits, ReadOptions, Selection, Skipped, Wanted, choose,
    read_backup, summarize,
};
use ocpdr_modules::{Context, Failure, Module, Outcome};
use serde::Deserialize;
use serde_json::{Map, Value};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    source: Source,
    #[serde(default)]
    backup_name: Option<String>,
    #[serde(default)]
    schedule: Option<String>,
    #[serde(default)]
    namespaces: Vec<String>,
    #[serde(default)]
    kinds: Vec<String>,
    #[serde(default)]
    list: bool,
    #[serde(default)]
    max_entry_size: Option<u64>,
    #[serde(default)]
    max_total_size: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    #[serde(default)]
    s3: Option<S3Options>,
    #[serde(default)]
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct S3Options {
    bucket: String,
    #[serde(default)]
    prefix: Option<String>,
    #[serde(default)]
    region: Option<String>,
    #[serde(default)]
    endpoint_url: Option<String>,
    #[serde(default)]
    force_path_style: bool,
    #[serde(default)]
    ca_bundle: Option<String>,
    #[serde(default)]
    access_key: Option<String>,
    #[serde(default)]
    secret_key: Option<String>,
}

/// `None` for absent, null and empty strings: a role passes `""` for an unset variable.
fn given(value: Option<String>) -> Option<String> {
    value.filter(|v| !v.is_empty())
}

impl From<S3Options> for S3Location {
    fn from(s3: S3Options) -> Self {
        S3Location {
            bucket: s3.bucket,
            prefix: given(s3.prefix).unwrap_or_default(),
            region: given(s3.region),
            endpoint_url: given(s3.endpoint_url),
            force_path_style: s3.force_path_style,
            ca_bundle: given(s3.ca_bundle).map(PathBuf::from),
            access_key: given(s3.access_key),
            secret_key: given(s3.secret_key),
        }
    }
}

struct OadpBackup;

impl Module for OadpBackup {
    type Options = Options;
    const SECRETS: &'static [&'static str] = &["/source/s3/secret_key"];

    fn run(options: Options, _ctx: &Context) -> Result<Outcome, Failure> {
        let fail = |e: &dyn std::fmt::Display| Failure::new(e.to_string());
        let selection =
            Selection::new(&options.kinds, &options.namespaces).map_err(|e| fail(&e))?;
        let defaults = Limits::default();
        let read_options = ReadOptions {
            selection,
            limits: Limits {
                max_entry_bytes: options.max_entry_size.unwrap_or(defaults.max_entry_bytes),
                max_total_bytes: options.max_total_size.unwrap_or(defaults.max_total_bytes),
            },
        };
        let backup_name = given(options.backup_name);
        let schedule = given(options.schedule);
        let now = chrono::Utc::now();
        match (options.source.s3, given(options.source.path)) {
            (Some(s3), None) => {
                let store = BackupStore::connect(&s3.into()).map_err(|e| fail(&e))?;
                let listed = store.list().map_err(|e| fail(&e))?;
                if options.list {
                    return Ok(Outcome::new(false).with("backups", summarize(&listed, now)));
                }
                let wanted = match &backup_name {
                    Some(name) => Wanted::Named(name),
                    None => Wanted::Newest {
                        schedule: schedule.as_deref(),
                    },
                };
                let choice = choose(&listed, wanted, now).map_err(|e| fail(&e))?;
                let contents = store
                    .read_tarball(&choice.backup.name, &read_options)
                    .map_err(|e| fail(&e))?;
                Ok(result(choice.backup, contents, choice.skipped))
            }
            (None, Some(path)) => {
                if options.list {
                    return Err(Failure::new(
                        "list: true lists a bucket: it needs source.s3",
                    ));
                }
                if backup_name.is_some() || schedule.is_some() {
                    return Err(Failure::new(
                        "backup_name and schedule choose a backup in a bucket; with source.path the file is the backup",
                    ));
                }
                let path = PathBuf::from(path);
                let info = local_backup_info(&path)?;
                let file = std::fs::File::open(&path).map_err(|e| {
                    Failure::new(format!(
                        "cannot open the backup archive {}: {e}",
                        path.display()
                    ))
                })?;
                let contents = read_backup(file, &read_options)
                    .map_err(|e| Failure::new(format!("{}: {e}", path.display())))?;
                Ok(result(info, contents, Vec::new()))
            }
            _ => Err(Failure::new(
                "invalid value for option `source`: give exactly one of `s3` (a bucket) or `path` (a local backup tarball)",
            )),
        }
    }
}

/// The Backup CR beside a local tarball (`velero-backup.json`, as in the bucket), else a
/// backup known only by the tarball's name.
fn local_backup_info(tarball: &Path) -> Result<BackupInfo, Failure> {
    let cr = tarball.with_file_name("velero-backup.json");
    if cr.is_file() {
        let bytes = std::fs::read(&cr)
            .map_err(|e| Failure::new(format!("cannot read {}: {e}", cr.display())))?;
        return BackupInfo::parse(&bytes, &cr.display().to_string())
            .map_err(|e| Failure::new(e.to_string()));
    }
    let file = tarball
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or_default();
    let name = file
        .strip_suffix(".tar.gz")
        .or_else(|| file.strip_suffix(".tgz"))
        .or_else(|| file.strip_suffix(".tar"))
        .unwrap_or(file);
    Ok(BackupInfo::named(name))
}

fn result(backup: BackupInfo, mut contents: BackupContents, skipped: Vec<Skipped>) -> Outcome {
    let counts: Map<String, Value> = contents
        .items
        .iter()
        .map(|(kind, items)| (kind.clone(), Value::from(items.len())))
        .collect();
    let mut outcome = Outcome::new(false);
    let stats = &contents.stats;
    if !stats.rejected.is_empty() {
        let names: Vec<&str> = stats.rejected.iter().map(|r| r.path.as_str()).collect();
        outcome = outcome.warn(format!(
            "refused {} archive entries with unsafe names (path traversal, absolute, NUL): {}",
            names.len(),
            names.join(", ")
        ));
    }
    if !stats.ignored.is_empty() {
        outcome = outcome.warn(format!(
            "ignored {} non-regular archive entries (links, directories, devices); Velero writes none",
            stats.ignored.len()
        ));
    }
    if stats.from_preferred_copy > 0 {
        outcome = outcome.warn(format!(
            "{} objects were found only under <version>-preferredversion, not at their canonical path",
            stats.from_preferred_copy
        ));
    }
    let archive = serde_json::to_value(&contents.stats).unwrap_or(Value::Null);
    let pv = contents.take_objects(PERSISTENT_VOLUMES);
    let pvc = contents.take_objects(PERSISTENT_VOLUME_CLAIMS);
    let vs = contents.take_objects(VOLUME_SNAPSHOTS);
    let vsc = contents.take_objects(VOLUME_SNAPSHOT_CONTENTS);
    let others: Map<String, Value> = contents
        .items
        .into_iter()
        .filter(|(kind, _)| {
            ![
                PERSISTENT_VOLUMES,
                PERSISTENT_VOLUME_CLAIMS,
                VOLUME_SNAPSHOTS,
                VOLUME_SNAPSHOT_CONTENTS,
            ]
            .contains(&kind.as_str())
        })
        .map(|(kind, items)| {
            (
                kind,
                Value::Array(items.into_iter().map(|i| i.object).collect()),
            )
        })
        .collect();
    outcome
        .with("backup", backup)
        .with("pv_info_list", pv)
        .with("pvc_info_list", pvc)
        .with("vs_info_list", vs)
        .with("vsc_info_list", vsc)
        .with("resources", others)
        .with("counts", counts)
        .with("skipped_backups", skipped)
        .with("archive", archive)
}

fn main() -> ExitCode {
    ocpdr_modules::run::<OadpBackup>()
}
