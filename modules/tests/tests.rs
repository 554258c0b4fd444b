//! Integration tests: each module binary run as ansible-core runs it.

mod util;

mod evidence;
mod nfs_quarantine;
mod nfs_sync;
mod oadp_backup;
mod protocol;
mod pv_retarget;
mod resource_clean;
mod snapshot_retarget;
