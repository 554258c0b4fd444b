//! Point NFS PersistentVolumes at the DR NFS server and the mapped export path.
//!
//! The DR cluster must mount the DR copy of each volume, never the primary's export: a PV that
//! still names the primary server would boot the VM from the wrong data, or not at all when the
//! primary is gone. [`retarget`] rewrites the volume source of in-tree NFS PVs (`spec.nfs`) and
//! of CSI NFS PVs (`nfs.csi.k8s.io`: `volumeAttributes.server`/`share` and the `volumeHandle`,
//! which embeds both), forces a reclaim policy (`Retain` by default, so deleting the PV on DR
//! never asks a provisioner to delete the data), optionally cleans the object, and returns the
//! source/destination pair that the data sync needs.
//!
//! Paths are mapped by [`crate::nfs_map`] (longest prefix first; unmapped paths fail unless the
//! caller asks to keep them; a DR path that is relative, contains `..` or is `/` is always
//! refused); the CSI handle layout is in [`crate::csi_nfs`]. Both are shared with
//! [`crate::snapshot`], which does the same for CSI snapshots.

use crate::clean::{self, CleanOptions};
pub use crate::csi_nfs::{CSI_NFS_DRIVER, rewrite_volume_handle};
use crate::nfs_map::{self, ConfigError, MapError};
pub use crate::nfs_map::{NonNfs, PathMapping, Skipped, Unmapped};
use crate::object::{ObjectRef, str_at, value_at};
use crate::paths::{self, PathError};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `spec.persistentVolumeReclaimPolicy` values.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
pub enum ReclaimPolicy {
    /// Keep the data when the PV is deleted (the DR default).
    #[default]
    Retain,
    /// Let the provisioner delete the data with the PV.
    Delete,
    /// Deprecated scrub-and-reuse policy; accepted because the API accepts it.
    Recycle,
}

impl ReclaimPolicy {
    fn as_str(self) -> &'static str {
        match self {
            ReclaimPolicy::Retain => "Retain",
            ReclaimPolicy::Delete => "Delete",
            ReclaimPolicy::Recycle => "Recycle",
        }
    }
}

/// Everything [`retarget`] needs besides the PV.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RetargetOptions {
    /// Host name or address of the DR NFS server.
    pub dr_nfs_server: String,
    /// Path prefix mappings; longest `from` wins.
    pub path_map: Vec<PathMapping>,
    /// What to do with a path no mapping covers.
    pub unmapped: Unmapped,
    /// The reclaim policy forced on every retargeted PV.
    pub reclaim_policy: ReclaimPolicy,
    /// Clean the PV with these options after retargeting; `None` leaves it as is.
    pub clean: Option<CleanOptions>,
    /// What to do with a PV that is not NFS.
    pub non_nfs: NonNfs,
}

/// Where the data of a [`Volume`] comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceKind {
    /// A PV with in-tree `spec.nfs`.
    Nfs,
    /// A PV with CSI `spec.csi` of driver `nfs.csi.k8s.io`.
    Csi,
    /// The archive directory of a csi-driver-nfs snapshot ([`crate::snapshot`]).
    Snapshot,
}

/// The data-sync pair for one retargeted PV (or snapshot archive, see [`crate::snapshot`]). It
/// deserializes too, so `nfs_sync` accepts the `volumes` that `pv_retarget` (and the `archives`
/// that `snapshot_retarget`) returned as they are.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// PV name; for a snapshot archive, the VolumeSnapshotContent name.
    pub pv: String,
    /// Namespace of the PVC the PV was bound to on the primary (of the snapshot's source PVC
    /// for an archive), if known.
    pub pvc_namespace: Option<String>,
    /// Name of that PVC, if any.
    pub pvc_name: Option<String>,
    /// Which volume source was rewritten.
    pub source_kind: SourceKind,
    /// NFS server on the primary.
    pub source_server: String,
    /// Export path of the volume's data on the primary.
    pub source_path: String,
    /// NFS server on DR.
    pub dr_server: String,
    /// Path of the volume's data on DR.
    pub dr_path: String,
    /// For a snapshot archive: the archive's file name inside `source_path` and `dr_path`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive: Option<String>,
}

/// A retargeted PV with what cleaning removed and its data-sync pair.
#[derive(Debug, Clone, PartialEq)]
pub struct RetargetedPv {
    /// The PV as it should be applied on DR.
    pub pv: Value,
    /// What cleaning removed, when `clean` was asked for.
    pub removed: Option<clean::Removed>,
    /// The data-sync pair.
    pub volume: Volume,
}

/// The outcome for one PV.
#[derive(Debug, Clone, PartialEq)]
pub enum Retargeted {
    /// The PV was retargeted.
    Volume(Box<RetargetedPv>),
    /// Not an NFS PV, and `non_nfs` is `skip`.
    Skipped(Skipped),
}

/// Why a PV could not be retargeted.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The object is not a PersistentVolume.
    #[error("expected a PersistentVolume, got kind {kind:?}")]
    NotAPersistentVolume {
        /// The kind found.
        kind: String,
    },
    /// `dr_nfs_server` or `path_map` is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A required field of the volume source is missing.
    #[error("{pv}: {field} is missing or not a string")]
    MissingField {
        /// The PV.
        pv: String,
        /// The dotted path of the field.
        field: &'static str,
    },
    /// The source or mapped path is unacceptable.
    #[error("{pv}: {source}")]
    BadPath {
        /// The PV.
        pv: String,
        /// What is wrong with the path.
        #[source]
        source: PathError,
    },
    /// No mapping covers the path and `unmapped` is `fail`.
    #[error(
        "{pv}: no path_map entry covers {path:?} (known prefixes: {known}); add one, or set unmapped: keep"
    )]
    Unmapped {
        /// The PV.
        pv: String,
        /// The unmapped source path.
        path: String,
        /// The configured `from` prefixes, for the message.
        known: String,
    },
    /// The PV is not NFS and `non_nfs` is `fail`.
    #[error("{pv}: {reason}")]
    NotNfs {
        /// The PV.
        pv: String,
        /// What kind of volume it is.
        reason: String,
    },
    /// Cleaning failed.
    #[error(transparent)]
    Clean(#[from] clean::Error),
}

/// Checks the options once, before any PV is touched.
pub fn validate(options: &RetargetOptions) -> Result<(), Error> {
    Ok(nfs_map::validate(
        &options.dr_nfs_server,
        &options.path_map,
    )?)
}

/// Retargets one PV. Call [`validate`] on the options first.
///
/// ```
/// use ocpdr_core::retarget::{retarget, PathMapping, RetargetOptions, Retargeted};
/// let pv = serde_json::json!({"apiVersion": "v1", "kind": "PersistentVolume",
///     "metadata": {"name": "pv-1"},
///     "spec": {"nfs": {"server": "nfs-a", "path": "/exports/app/disk"},
///              "claimRef": {"namespace": "app", "name": "disk"}}});
/// let options = RetargetOptions {
///     dr_nfs_server: "nfs-dr".into(),
///     path_map: vec![PathMapping { from: "/exports".into(), to: "/dr/exports".into() }],
///     ..Default::default()
/// };
/// let Retargeted::Volume(done) = retarget(&pv, &options)? else { unreachable!() };
/// let (pv, volume) = (done.pv, done.volume);
/// assert_eq!(pv["spec"]["nfs"], serde_json::json!({"server": "nfs-dr", "path": "/dr/exports/app/disk"}));
/// assert_eq!(pv["spec"]["persistentVolumeReclaimPolicy"], "Retain");
/// assert_eq!(volume.source_path, "/exports/app/disk");
/// assert_eq!(volume.pvc_name.as_deref(), Some("disk"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn retarget(pv: &Value, options: &RetargetOptions) -> Result<Retargeted, Error> {
    let object = ObjectRef::of(pv);
    if object.kind != "PersistentVolume" {
        return Err(Error::NotAPersistentVolume { kind: object.kind });
    }
    let name = object.name;
    let pvc_namespace = str_at(pv, &["spec", "claimRef", "namespace"]).map(str::to_owned);
    let pvc_name = str_at(pv, &["spec", "claimRef", "name"]).map(str::to_owned);

    let mut out = pv.clone();
    let volume = if value_at(pv, &["spec", "nfs"]).is_some() {
        retarget_in_tree(&mut out, &name, options)?
    } else if let Some(driver) = str_at(pv, &["spec", "csi", "driver"]) {
        if driver != CSI_NFS_DRIVER {
            return not_nfs(
                name,
                format!("CSI driver {driver:?} is not {CSI_NFS_DRIVER}"),
                options,
            );
        }
        retarget_csi(&mut out, &name, options)?
    } else {
        let source = describe_source(pv);
        return not_nfs(name, format!("not an NFS volume ({source})"), options);
    };
    out["spec"]["persistentVolumeReclaimPolicy"] =
        Value::String(options.reclaim_policy.as_str().to_owned());

    let removed = match &options.clean {
        Some(clean_options) => {
            let (cleaned, removed) = clean::clean(&out, clean_options)?;
            out = cleaned;
            Some(removed)
        }
        None => None,
    };
    Ok(Retargeted::Volume(Box::new(RetargetedPv {
        pv: out,
        removed,
        volume: Volume {
            pv: name,
            pvc_namespace,
            pvc_name,
            ..volume
        },
    })))
}

fn not_nfs(pv: String, reason: String, options: &RetargetOptions) -> Result<Retargeted, Error> {
    match options.non_nfs {
        NonNfs::Skip => Ok(Retargeted::Skipped(Skipped { name: pv, reason })),
        NonNfs::Fail => Err(Error::NotNfs { pv, reason }),
    }
}

/// Names the first volume source key found in `spec`, for skip reasons.
fn describe_source(pv: &Value) -> String {
    const SOURCES: &[&str] = &[
        "hostPath",
        "local",
        "iscsi",
        "fc",
        "rbd",
        "cephfs",
        "glusterfs",
        "awsElasticBlockStore",
        "gcePersistentDisk",
        "azureDisk",
        "azureFile",
        "vsphereVolume",
    ];
    SOURCES
        .iter()
        .find(|s| value_at(pv, &["spec", s]).is_some())
        .map_or_else(
            || "no volume source found".to_owned(),
            |s| format!("spec.{s}"),
        )
}

fn retarget_in_tree(
    pv: &mut Value,
    name: &str,
    options: &RetargetOptions,
) -> Result<Volume, Error> {
    let server = required(pv, name, &["spec", "nfs", "server"], "spec.nfs.server")?;
    let path = required(pv, name, &["spec", "nfs", "path"], "spec.nfs.path")?;
    let source_path = source_path(name, &path)?;
    let dr_path = map_path(name, &source_path, options)?;
    pv["spec"]["nfs"]["server"] = Value::String(options.dr_nfs_server.clone());
    pv["spec"]["nfs"]["path"] = Value::String(dr_path.clone());
    Ok(Volume {
        pv: String::new(),
        pvc_namespace: None,
        pvc_name: None,
        source_kind: SourceKind::Nfs,
        source_server: server,
        source_path,
        dr_server: options.dr_nfs_server.clone(),
        dr_path,
        archive: None,
    })
}

/// csi-driver-nfs: the export is `share`, the volume's directory is `share/subdir`. The mapping
/// applies to the share; `subdir` stays relative to it.
fn retarget_csi(pv: &mut Value, name: &str, options: &RetargetOptions) -> Result<Volume, Error> {
    let attrs = ["spec", "csi", "volumeAttributes"];
    let server = required(
        pv,
        name,
        &[attrs[0], attrs[1], attrs[2], "server"],
        "spec.csi.volumeAttributes.server",
    )?;
    let share = required(
        pv,
        name,
        &[attrs[0], attrs[1], attrs[2], "share"],
        "spec.csi.volumeAttributes.share",
    )?;
    let subdir = str_at(pv, &[attrs[0], attrs[1], attrs[2], "subdir"])
        .unwrap_or_default()
        .trim_matches('/')
        .to_owned();
    let source_share = source_path(name, &share)?;
    let dr_share = map_path(name, &source_share, options)?;
    let join = |base: &str| nfs_map::join(base, &subdir);
    // The joined paths must be as safe as the share: `subdir` could hold `..`.
    let source_path = source_path(name, &join(&source_share))?;
    let dr_path = paths::normalize_target(&join(&dr_share)).map_err(|source| Error::BadPath {
        pv: name.to_owned(),
        source,
    })?;

    let csi = &mut pv["spec"]["csi"];
    csi["volumeAttributes"]["server"] = Value::String(options.dr_nfs_server.clone());
    csi["volumeAttributes"]["share"] = Value::String(dr_share.clone());
    if let Some(handle) = csi.get("volumeHandle").and_then(Value::as_str) {
        let rewritten = rewrite_volume_handle(handle, &server, &options.dr_nfs_server, &dr_share);
        csi["volumeHandle"] = Value::String(rewritten);
    }
    Ok(Volume {
        pv: String::new(),
        pvc_namespace: None,
        pvc_name: None,
        source_kind: SourceKind::Csi,
        source_server: server,
        source_path,
        dr_server: options.dr_nfs_server.clone(),
        dr_path,
        archive: None,
    })
}

fn required(pv: &Value, name: &str, path: &[&str], field: &'static str) -> Result<String, Error> {
    str_at(pv, path)
        .map(str::to_owned)
        .ok_or_else(|| Error::MissingField {
            pv: name.to_owned(),
            field,
        })
}

fn source_path(pv: &str, path: &str) -> Result<String, Error> {
    paths::normalize(path).map_err(|source| Error::BadPath {
        pv: pv.to_owned(),
        source,
    })
}

/// Maps a normalised source path through `path_map` and checks the result.
fn map_path(pv: &str, path: &str, options: &RetargetOptions) -> Result<String, Error> {
    nfs_map::map(path, &options.path_map, options.unmapped).map_err(|err| match err {
        MapError::Unmapped { path, known } => Error::Unmapped {
            pv: pv.to_owned(),
            path,
            known,
        },
        MapError::Path(source) => Error::BadPath {
            pv: pv.to_owned(),
            source,
        },
    })
}

#[cfg(test)]
mod tests;
