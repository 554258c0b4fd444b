//! The domain library of ocpdr, disaster recovery for OpenShift Virtualization VMs on NFS.
//!
//! What lives here is pure: functions over [`serde_json::Value`], readers and bytes that
//! return data and typed errors. Nothing in this crate knows about Ansible, and the pure parts
//! never touch the network or spawn processes; the IO edges (S3, the Kubernetes API, rsync)
//! sit in their own clearly named modules behind cargo features.
//!
//! - [`evidence`]: the audit record of every run: manifest, hashes, log, report, retention.
//! - [`object`]: reading the identity (kind, namespace, name) of any Kubernetes object.
//! - [`clean`]: strip source-cluster state from objects so they can be applied elsewhere.
//! - [`paths`]: validation and prefix arithmetic for absolute paths on the NFS servers.
//! - [`nfs_map`]: the DR NFS server name and the path map from primary to DR exports.
//! - [`csi_nfs`]: the volume and snapshot handles of csi-driver-nfs.
//! - [`retarget`]: point NFS PersistentVolumes at the DR NFS server and mapped paths.
//! - [`snapshot`]: turn CSI NFS VolumeSnapshots/Contents into their pre-provisioned DR form.
//! - [`quarantine`]: guarded moves of DR volume directories into a dated quarantine, and prune.
//! - [`apply_order`]: the dependency order for applying and deleting objects on DR.
//! - [`changes`]: created / updated / unchanged, comparing what matters.
//! - [`readiness`]: when an applied PVC (Bound) or VolumeSnapshot (readyToUse) is usable.
//! - [`inventory`]: pairing PVCs with PVs and VolumeSnapshots with their contents.
//! - [`kubevirt`]: powering VMs on and off via `runStrategy` (or legacy `running`), VM status.
//! - [`restore`]: the Velero Restore of a failover, which always excludes the storage kinds.
//! - [`rsync`]: plan rsync runs for many volumes (guarded deletes) and read their output.
//! - [`velero`]: find, stream and parse OADP/Velero backups (S3 edge behind feature `s3`).

pub mod apply_order;
pub mod changes;
pub mod clean;
pub mod csi_nfs;
pub mod evidence;
pub mod inventory;
pub mod kubevirt;
pub mod nfs_map;
pub mod object;
pub mod paths;
pub mod quarantine;
pub mod readiness;
pub mod restore;
pub mod retarget;
pub mod rsync;
pub mod snapshot;
pub mod velero;
