//! Integration tests: each module binary run as ansible-core runs it.

mod util;

mod evidence;
mod nfs_sync;
mod protocol;
mod pv_retarget;
mod resource_clean;
