//! OADP/Velero backups: find the right one, stream its tarball, take out the objects DR needs.
//!
//! The format is Velero's own (see `velero-backup-format.md` in the planning references): a
//! gzip-compressed tar with `metadata/version` and `resources/<group-resource>/...` entries, and
//! beside it in the bucket a `velero-backup.json` Backup CR. Everything here is pure and works
//! on any [`std::io::Read`]; the S3 edge ([`s3`], cargo feature `s3`) lists a bucket and streams
//! a tarball into the same reader, never through a temporary file.
//!
//! - [`entry`]: entry-name safety and Velero's path layout.
//! - [`selection`]: which kinds and namespaces to keep.
//! - [`reader`]: [`read_backup`], the one-pass streaming reader with size limits.
//! - [`backup_cr`]: [`BackupInfo`] from `velero-backup.json`.
//! - [`select`]: the named or newest usable backup, and which were passed over.
//!
//! It deliberately does not restore anything or talk to Kubernetes.

pub mod backup_cr;
pub mod entry;
mod error;
pub mod reader;
#[cfg(feature = "s3")]
pub mod s3;
pub mod select;
pub mod selection;

pub use backup_cr::BackupInfo;
pub use error::{Error, Progress, Result, Skipped};
pub use reader::{ArchiveStats, BackupContents, Item, Limits, ReadOptions, read_backup};
pub use select::{Choice, Listed, Wanted, choose, summarize};
pub use selection::Selection;
