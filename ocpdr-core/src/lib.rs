//! The domain library of ocpdr, disaster recovery for OpenShift Virtualization VMs on NFS.
//!
//! What lives here is pure: functions over [`serde_json::Value`], readers and bytes that
//! return data and typed errors. Nothing in this crate knows about Ansible, and the pure parts
//! never touch the network or spawn processes; the IO edges (S3, the Kubernetes API, rsync)
//! sit in their own clearly named modules behind cargo features.
//!
//! - [`object`]: reading the identity (kind, namespace, name) of any Kubernetes object.
//! - [`clean`]: strip source-cluster state from objects so they can be applied elsewhere.
//! - [`paths`]: validation and prefix arithmetic for absolute paths on the NFS servers.
//! - [`retarget`]: point NFS PersistentVolumes at the DR NFS server and mapped paths.
//! - [`velero`]: find, stream and parse OADP/Velero backups (S3 edge behind feature `s3`).

pub mod clean;
pub mod object;
pub mod paths;
pub mod retarget;
pub mod velero;
