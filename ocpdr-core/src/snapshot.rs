//! Turn CSI NFS VolumeSnapshots and VolumeSnapshotContents into their pre-provisioned DR form.
//!
//! A snapshot taken on the primary by csi-driver-nfs is an archive on the primary NFS server
//! ([`crate::csi_nfs`] describes the handle and the layout). Its VolumeSnapshotContent (VSC), as
//! the snapshot controller made it, says so only in `status.snapshotHandle`, and its
//! `spec.source.volumeHandle` names the primary's volume; applied as is on DR it would ask the
//! DR driver to snapshot a volume again, on a server DR cannot rely on. What DR needs is a
//! statically provisioned snapshot that points at the archive copy on the DR server:
//!
//! - VSC: `spec.source` becomes `{snapshotHandle}` with the handle rewritten to the DR server and
//!   the mapped share (the path map of [`crate::nfs_map`], the same rules as PVs);
//!   `spec.deletionPolicy` becomes `Retain`, so deleting it on DR never deletes the archive;
//!   `spec.volumeSnapshotRef` keeps its name and namespace;
//! - VolumeSnapshot (VS): `spec.source` becomes `{volumeSnapshotContentName}` (taken from
//!   `status.boundVolumeSnapshotContentName`, or from a VSC in the same batch that refers to it)
//!   instead of `persistentVolumeClaimName`;
//! - both are cleaned with [`crate::clean`] (plus the snapshot controller's transient
//!   `volumesnapshot-being-*` annotations).
//!
//! Each VSC also yields its archive directory as a [`Volume`], the same shape `pv_retarget`
//! returns, so `nfs_sync` copies the archive without any conversion; and every object gets the
//! relative path of its definition in the DR metadata store ([`metadata_file`]).
//!
//! Snapshots of other drivers are skipped with the reason (or refused, with `non_nfs: fail`).
//! A VSC without a handle yet (not ready) and a VS bound to no content are skipped too, since
//! there is nothing on DR they could point at; so is a VS whose VSC in the batch was skipped.

use crate::clean::{self, CleanOptions};
use crate::csi_nfs::{CSI_NFS_DRIVER, HandleError, SnapshotHandle};
use crate::nfs_map::{self, ConfigError, MapError, NonNfs, PathMapping, Skipped, Unmapped};
use crate::object::{ObjectRef, map_at_mut, str_at};
use crate::paths::{self, PathError};
use crate::retarget::{SourceKind, Volume};
use serde_json::{Value, json};
use std::collections::HashMap;

/// Annotations the snapshot controller sets while it works on an object; on DR they would
/// make it believe a creation or deletion is in progress.
pub const TRANSIENT_ANNOTATION_PREFIXES: &[&str] =
    &["snapshot.storage.kubernetes.io/volumesnapshot-being-"];

/// Everything [`retarget`] needs besides the objects.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SnapshotOptions {
    /// Host name or address of the DR NFS server.
    pub dr_nfs_server: String,
    /// Path prefix mappings; longest `from` wins. They apply to the snapshot's share.
    pub path_map: Vec<PathMapping>,
    /// What to do with a share no mapping covers.
    pub unmapped: Unmapped,
    /// Clean each object with these options; `None` leaves them as they are.
    pub clean: Option<CleanOptions>,
    /// What to do with a snapshot of another CSI driver.
    pub non_nfs: NonNfs,
}

/// One object ready for DR.
#[derive(Debug, Clone, PartialEq)]
pub struct Retargeted {
    /// Position in the input.
    pub index: usize,
    /// The object as it should be applied on DR.
    pub object: Value,
    /// What cleaning removed, when `clean` was asked for.
    pub removed: Option<clean::Removed>,
    /// Where its definition goes in the DR metadata store, relative to the store's root.
    pub metadata_file: String,
    /// For a VolumeSnapshotContent: its archive directory, source and DR.
    pub archive: Option<Volume>,
}

/// The outcome of a batch, in input order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Batch {
    /// The objects for DR.
    pub retargeted: Vec<Retargeted>,
    /// The objects left out, with the reason.
    pub skipped: Vec<Skipped>,
}

/// Why an object could not be retargeted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("resources[{index}] ({object}): {problem}")]
pub struct Error {
    /// Position in the input.
    pub index: usize,
    /// Kind and name of the object.
    pub object: String,
    /// What is wrong.
    pub problem: Problem,
}

/// What is wrong with one object.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Problem {
    /// Neither a VolumeSnapshot nor a VolumeSnapshotContent.
    #[error("expected a VolumeSnapshot or VolumeSnapshotContent, got kind {kind:?}")]
    NotASnapshot {
        /// The kind found.
        kind: String,
    },
    /// A field the conversion needs is missing.
    #[error("{field} is missing or not a string")]
    MissingField {
        /// The dotted path of the field.
        field: &'static str,
    },
    /// A name or namespace that cannot be a file name in the metadata store.
    #[error("{field} {value:?} is not a Kubernetes object name (one path component)")]
    BadName {
        /// `metadata.name` or `metadata.namespace`.
        field: &'static str,
        /// The value.
        value: String,
    },
    /// The snapshot handle is not csi-driver-nfs's.
    #[error(transparent)]
    Handle(#[from] HandleError),
    /// A path taken from the handle is unacceptable.
    #[error(transparent)]
    Path(#[from] PathError),
    /// The share cannot be mapped to DR.
    #[error(transparent)]
    Map(#[from] MapError),
    /// Another driver, and `non_nfs` is `fail`.
    #[error("{0}")]
    NotNfs(String),
    /// Cleaning failed.
    #[error(transparent)]
    Clean(#[from] clean::Error),
}

/// Checks the options once, before any object is touched.
pub fn validate(options: &SnapshotOptions) -> Result<(), ConfigError> {
    nfs_map::validate(&options.dr_nfs_server, &options.path_map)
}

/// Where the definition of `obj` is kept in the DR metadata store, relative to its root:
/// `volumesnapshots/<namespace>/<name>.json` or `volumesnapshotcontents/<name>.json` (the
/// resource names, as Velero lays out its backups). Refuses names that are not one path
/// component, so the path can never leave the store.
pub fn metadata_file(obj: &Value) -> Result<String, Problem> {
    let id = ObjectRef::of(obj);
    let name = component("metadata.name", &id.name)?;
    match id.kind.as_str() {
        "VolumeSnapshotContent" => Ok(format!("volumesnapshotcontents/{name}.json")),
        "VolumeSnapshot" => {
            let namespace = id.namespace.as_deref().ok_or(Problem::MissingField {
                field: "metadata.namespace",
            })?;
            let namespace = component("metadata.namespace", namespace)?;
            Ok(format!("volumesnapshots/{namespace}/{name}.json"))
        }
        _ => Err(Problem::NotASnapshot { kind: id.kind }),
    }
}

fn component<'a>(field: &'static str, value: &'a str) -> Result<&'a str, Problem> {
    if value.is_empty() || value == "." || value == ".." || value.contains(['/', '\0']) {
        return Err(Problem::BadName {
            field,
            value: value.to_owned(),
        });
    }
    Ok(value)
}

/// Retargets a batch of VolumeSnapshots and VolumeSnapshotContents. Call [`validate`] on the
/// options first. The batch is one unit because a VS and its VSC tell about each other: a VS
/// may only be named by its content's `volumeSnapshotRef`, and an archive's PVC only by the VS.
///
/// ```
/// use ocpdr_core::snapshot::{retarget, SnapshotOptions};
/// use ocpdr_core::nfs_map::PathMapping;
/// let vsc = serde_json::json!({"apiVersion": "snapshot.storage.k8s.io/v1",
///     "kind": "VolumeSnapshotContent", "metadata": {"name": "snapcontent-1"},
///     "spec": {"deletionPolicy": "Delete", "driver": "nfs.csi.k8s.io",
///              "source": {"volumeHandle": "nfs-a#exports#pvc-9##"},
///              "volumeSnapshotRef": {"name": "snap", "namespace": "app"}},
///     "status": {"snapshotHandle": "nfs-a#exports#snapshot-1#snapshot-1#pvc-9"}});
/// let options = SnapshotOptions {
///     dr_nfs_server: "nfs-dr".into(),
///     path_map: vec![PathMapping { from: "/exports".into(), to: "/dr".into() }],
///     ..Default::default()
/// };
/// let batch = retarget(&[vsc], &options)?;
/// let done = &batch.retargeted[0];
/// assert_eq!(done.object["spec"]["source"],
///            serde_json::json!({"snapshotHandle": "nfs-dr#dr#snapshot-1#snapshot-1#pvc-9"}));
/// assert_eq!(done.object["spec"]["deletionPolicy"], "Retain");
/// let archive = done.archive.as_ref().unwrap();
/// assert_eq!((archive.source_path.as_str(), archive.dr_path.as_str()),
///            ("/exports/snapshot-1", "/dr/snapshot-1"));
/// assert_eq!(done.metadata_file, "volumesnapshotcontents/snapcontent-1.json");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn retarget(resources: &[Value], options: &SnapshotOptions) -> Result<Batch, Error> {
    let fail = |index: usize, problem: Problem| Error {
        index,
        object: ObjectRef::of(&resources[index]).to_string(),
        problem,
    };
    let kinds: Vec<Kind> = resources
        .iter()
        .enumerate()
        .map(|(index, obj)| Kind::of(obj).map_err(|problem| fail(index, problem)))
        .collect::<Result<_, _>>()?;
    let snapshots: HashMap<(String, String), usize> = resources
        .iter()
        .zip(&kinds)
        .enumerate()
        .filter(|(_, (_, kind))| **kind == Kind::Snapshot)
        .filter_map(|(index, (obj, _))| {
            let id = ObjectRef::of(obj);
            Some(((id.namespace?, id.name), index))
        })
        .collect();

    // Contents first: a snapshot follows its content into `skipped`.
    let mut outcomes: Vec<Option<Result<Retargeted, Skipped>>> = vec![None; resources.len()];
    let mut skipped_contents: HashMap<String, String> = HashMap::new();
    for (index, obj) in resources.iter().enumerate() {
        if kinds[index] != Kind::Content {
            continue;
        }
        let source_pvc = str_at(obj, &["spec", "volumeSnapshotRef", "namespace"])
            .zip(str_at(obj, &["spec", "volumeSnapshotRef", "name"]))
            .and_then(|(ns, name)| snapshots.get(&(ns.to_owned(), name.to_owned())))
            .and_then(|i| {
                str_at(
                    &resources[*i],
                    &["spec", "source", "persistentVolumeClaimName"],
                )
            });
        let outcome = content(obj, index, source_pvc, options).map_err(|p| fail(index, p))?;
        if let Err(skip) = &outcome {
            skipped_contents.insert(skip.name.clone(), skip.reason.clone());
        }
        outcomes[index] = Some(outcome);
    }
    for (index, obj) in resources.iter().enumerate() {
        if kinds[index] != Kind::Snapshot {
            continue;
        }
        let outcome = snapshot(obj, index, resources, &kinds, &skipped_contents, options)
            .map_err(|p| fail(index, p))?;
        outcomes[index] = Some(outcome);
    }

    let mut batch = Batch::default();
    for outcome in outcomes.into_iter().flatten() {
        match outcome {
            Ok(done) => batch.retargeted.push(done),
            Err(skip) => batch.skipped.push(skip),
        }
    }
    Ok(batch)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Snapshot,
    Content,
}

impl Kind {
    fn of(obj: &Value) -> Result<Kind, Problem> {
        match str_at(obj, &["kind"]) {
            Some("VolumeSnapshot") => Ok(Kind::Snapshot),
            Some("VolumeSnapshotContent") => Ok(Kind::Content),
            other => Err(Problem::NotASnapshot {
                kind: other.unwrap_or_default().to_owned(),
            }),
        }
    }
}

/// One VolumeSnapshotContent: `Ok(Err(skip))` when it is left out.
fn content(
    obj: &Value,
    index: usize,
    source_pvc: Option<&str>,
    options: &SnapshotOptions,
) -> Result<Result<Retargeted, Skipped>, Problem> {
    let name = ObjectRef::of(obj).name;
    let skip = |reason: String| {
        Ok(Err(Skipped {
            name: name.clone(),
            reason,
        }))
    };
    let metadata_file = metadata_file(obj)?;
    let driver = required(obj, &["spec", "driver"], "spec.driver")?;
    if driver != CSI_NFS_DRIVER {
        let reason = format!("CSI driver {driver:?} is not {CSI_NFS_DRIVER}");
        return match options.non_nfs {
            NonNfs::Skip => skip(reason),
            NonNfs::Fail => Err(Problem::NotNfs(reason)),
        };
    }
    let ref_namespace = required(
        obj,
        &["spec", "volumeSnapshotRef", "namespace"],
        "spec.volumeSnapshotRef.namespace",
    )?;
    required(
        obj,
        &["spec", "volumeSnapshotRef", "name"],
        "spec.volumeSnapshotRef.name",
    )?;
    // Pre-provisioned contents carry the handle in spec; dynamic ones in status once ready.
    let Some(text) = str_at(obj, &["spec", "source", "snapshotHandle"])
        .or_else(|| str_at(obj, &["status", "snapshotHandle"]))
    else {
        return skip(
            "no snapshot handle yet (status.snapshotHandle): the snapshot is not ready".to_owned(),
        );
    };
    let handle = SnapshotHandle::parse(text)?;
    let source_share = paths::normalize(&handle.share())?;
    let dr_share = nfs_map::map(&source_share, &options.path_map, options.unmapped)?;
    let dr_handle = handle.with_location(&options.dr_nfs_server, &dr_share);
    let source_path = handle.archive_dir()?;
    let dr_path = dr_handle.archive_dir()?;

    let mut out = obj.clone();
    if let Some(spec) = map_at_mut(&mut out, &["spec"]) {
        spec.insert(
            "source".into(),
            json!({"snapshotHandle": dr_handle.to_string()}),
        );
        spec.insert("deletionPolicy".into(), json!("Retain"));
    }
    let (object, removed) = cleaned(out, options)?;
    Ok(Ok(Retargeted {
        index,
        object,
        removed,
        metadata_file,
        archive: Some(Volume {
            pv: name.clone(),
            pvc_namespace: Some(ref_namespace),
            pvc_name: source_pvc.map(str::to_owned),
            source_kind: SourceKind::Snapshot,
            source_server: handle.server.clone(),
            source_path,
            dr_server: options.dr_nfs_server.clone(),
            dr_path,
            archive: Some(handle.archive_name()),
        }),
    }))
}

/// One VolumeSnapshot: `Ok(Err(skip))` when it is left out.
fn snapshot(
    obj: &Value,
    index: usize,
    resources: &[Value],
    kinds: &[Kind],
    skipped_contents: &HashMap<String, String>,
    options: &SnapshotOptions,
) -> Result<Result<Retargeted, Skipped>, Problem> {
    let id = ObjectRef::of(obj);
    let metadata_file = metadata_file(obj)?;
    let referring_content = || {
        resources.iter().zip(kinds).find_map(|(other, kind)| {
            let refers = *kind == Kind::Content
                && str_at(other, &["spec", "volumeSnapshotRef", "name"]) == Some(&id.name)
                && str_at(other, &["spec", "volumeSnapshotRef", "namespace"])
                    == id.namespace.as_deref();
            refers.then(|| str_at(other, &["metadata", "name"]))?
        })
    };
    let content = str_at(obj, &["spec", "source", "volumeSnapshotContentName"])
        .or_else(|| str_at(obj, &["status", "boundVolumeSnapshotContentName"]))
        .or_else(referring_content);
    let Some(content) = content else {
        return Ok(Err(Skipped {
            name: id.name,
            reason:
                "not bound to a VolumeSnapshotContent (no status.boundVolumeSnapshotContentName, \
                     and no VolumeSnapshotContent in resources refers to it)"
                    .to_owned(),
        }));
    };
    if let Some(reason) = skipped_contents.get(content) {
        return Ok(Err(Skipped {
            name: id.name,
            reason: format!("its VolumeSnapshotContent {content} is skipped: {reason}"),
        }));
    }
    let mut out = obj.clone();
    let content = content.to_owned();
    if let Some(spec) = map_at_mut(&mut out, &["spec"]) {
        spec.insert(
            "source".into(),
            json!({"volumeSnapshotContentName": content}),
        );
    } else {
        return Err(Problem::MissingField { field: "spec" });
    }
    let (object, removed) = cleaned(out, options)?;
    Ok(Ok(Retargeted {
        index,
        object,
        removed,
        metadata_file,
        archive: None,
    }))
}

fn cleaned(
    obj: Value,
    options: &SnapshotOptions,
) -> Result<(Value, Option<clean::Removed>), Problem> {
    let Some(clean_options) = &options.clean else {
        return Ok((obj, None));
    };
    let mut clean_options = clean_options.clone();
    clean_options.drop_annotation_prefixes.extend(
        TRANSIENT_ANNOTATION_PREFIXES
            .iter()
            .map(|p| (*p).to_owned()),
    );
    let (cleaned, removed) = clean::clean(&obj, &clean_options)?;
    Ok((cleaned, Some(removed)))
}

fn required(obj: &Value, path: &[&str], field: &'static str) -> Result<String, Problem> {
    str_at(obj, path)
        .map(str::to_owned)
        .ok_or(Problem::MissingField { field })
}

#[cfg(test)]
mod tests;
