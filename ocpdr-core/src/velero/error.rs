//! [`Error`]: everything that can go wrong finding, reading or parsing a Velero backup.

use serde::Serialize;
use std::fmt;
use std::io;

/// How far a read got before it stopped: in every archive error, so an operator can tell a
/// cut-off download from a corrupt file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Progress {
    /// Tar entries fully read.
    pub entries: u64,
    /// Uncompressed tar bytes read.
    pub bytes: u64,
    /// The last entry whose header was read.
    pub last_entry: Option<String>,
}

impl fmt::Display for Progress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} entries ({} bytes uncompressed)",
            self.entries, self.bytes
        )?;
        if let Some(last) = &self.last_entry {
            write!(f, ", last entry {last:?}")?;
        }
        Ok(())
    }
}

/// One backup the selection passed over, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Backup name.
    pub name: String,
    /// `status.phase`, when `velero-backup.json` could be read.
    pub phase: Option<String>,
    /// `status.startTimestamp`, when known.
    pub start_timestamp: Option<String>,
    /// Why it was not taken.
    pub reason: String,
}

impl fmt::Display for Skipped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.reason)
    }
}

fn list<T: fmt::Display>(items: &[T]) -> String {
    if items.is_empty() {
        return "none".to_owned();
    }
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Why a backup could not be found, read or parsed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The input has no bytes at all.
    #[error("the backup archive is empty (0 bytes): expected a gzip-compressed tar archive")]
    Empty,
    /// The input is neither gzip nor tar.
    #[error("the backup archive is neither gzip nor tar: it starts with {start:?}")]
    NotAnArchive {
        /// The first bytes, printable characters kept, others escaped.
        start: String,
    },
    /// Reading the source (file, network) failed.
    #[error("reading the backup archive failed after {progress}: {source}")]
    Source {
        /// How far the read got.
        progress: Progress,
        /// The source's error.
        #[source]
        source: io::Error,
    },
    /// The archive ends in the middle of the gzip stream, of a header or of an entry.
    #[error("the backup archive is truncated: it ends after {progress}: {source}")]
    Truncated {
        /// How far the read got.
        progress: Progress,
        /// What noticed the end.
        #[source]
        source: io::Error,
    },
    /// The gzip or tar data is invalid.
    #[error("the backup archive is corrupt after {progress}: {source}")]
    Corrupt {
        /// How far the read got.
        progress: Progress,
        /// The decoder's complaint.
        #[source]
        source: io::Error,
    },
    /// One entry is larger than any Kubernetes object can be.
    #[error(
        "entry {path:?} is {size} bytes, more than the per-entry limit of {limit} bytes \
         (no Kubernetes object is that large; a gzip bomb?)"
    )]
    EntryTooLarge {
        /// The entry's path.
        path: String,
        /// Its declared size.
        size: u64,
        /// The limit.
        limit: u64,
    },
    /// The archive expands beyond the total limit.
    #[error(
        "the backup archive expands to more than the total limit of {limit} bytes after \
         {progress}; stopped reading (a gzip bomb, or raise the limit)"
    )]
    TotalTooLarge {
        /// The limit.
        limit: u64,
        /// How far the read got.
        progress: Progress,
    },
    /// An item that was asked for does not hold valid JSON.
    #[error("entry {path:?} is not valid JSON: {source}")]
    InvalidJson {
        /// The entry's path.
        path: String,
        /// The parser's complaint.
        #[source]
        source: serde_json::Error,
    },
    /// `metadata/version` names a format this reader does not understand.
    #[error(
        "the backup format version is {version:?}: only format 1 (\"1\", \"1.1.0\", ...) is understood"
    )]
    UnsupportedFormat {
        /// What the archive or the Backup CR says.
        version: String,
    },
    /// A kind asked for is not a resource name.
    #[error(
        "kind {given:?} is not a resource: expected pv, pvc, vs, vsc, a kind like PersistentVolume, \
         or a Velero group-resource directory like deployments.apps"
    )]
    InvalidKind {
        /// The kind as given.
        given: String,
    },
    /// `velero-backup.json` is not a Velero Backup.
    #[error("{source_name} is not a usable Velero Backup: {reason}")]
    InvalidBackupCr {
        /// Where it came from (bucket key or file).
        source_name: String,
        /// What is wrong.
        reason: String,
    },
    /// The named backup is not in the bucket.
    #[error(
        "backup {name:?} not found; backups in the bucket: {}",
        list(available)
    )]
    BackupNotFound {
        /// The name asked for.
        name: String,
        /// Every backup that is there, newest first.
        available: Vec<String>,
    },
    /// The named backup is there but must not be used.
    #[error("backup {name:?} cannot be used: {reason}")]
    BackupNotUsable {
        /// The name asked for.
        name: String,
        /// Why.
        reason: String,
    },
    /// No backup qualifies for "newest Completed".
    #[error(
        "no Completed backup{} to use; passed over: {}",
        schedule.as_ref().map(|s| format!(" of schedule {s:?}")).unwrap_or_default(),
        list(skipped)
    )]
    NoUsableBackup {
        /// The schedule asked for, if any.
        schedule: Option<String>,
        /// Every candidate and why it was not taken.
        skipped: Vec<Skipped>,
    },
}

/// `Result` with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
