//! Integration tests: each module binary run as ansible-core runs it.

mod fake;
mod util;

mod evidence;
mod k8s_apply;
mod k8s_connection;
mod k8s_delete;
mod k8s_inventory;
mod nfs_quarantine;
mod nfs_sync;
mod oadp_backup;
mod oadp_restore;
mod protocol;
mod pv_retarget;
mod resource_clean;
mod snapshot_retarget;
mod vm_power;
