//! Where filesystem changes come from: fanotify filesystem marks when possible, inotify
//! otherwise ([`Mechanism`]). Each source runs a thread that sends [`FsEvent`]s to the watcher.

use std::fmt;
use std::path::PathBuf;
use tokio::sync::mpsc;
use tracing::warn;

/// What a source reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FsEvent {
    /// Something at this path was written, created, deleted, renamed or had its attributes
    /// changed.
    Changed(PathBuf),
    /// The kernel dropped events: anything may have changed.
    Overflow,
    /// A change in a directory deleted before its path could be read (its deletion is reported
    /// separately).
    Unresolved,
    /// The source stopped.
    Failed(String),
}

/// Which kernel interface to use (`WATCH_MECHANISM`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mechanism {
    /// fanotify, else inotify with a warning.
    Auto,
    /// fanotify only.
    Fanotify,
    /// inotify only.
    Inotify,
}

impl fmt::Display for Mechanism {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Mechanism::Auto => "auto",
            Mechanism::Fanotify => "fanotify",
            Mechanism::Inotify => "inotify",
        })
    }
}

/// Starts the source for `roots`; returns the mechanism in use.
pub fn start(
    wanted: Mechanism,
    roots: &[PathBuf],
    tx: mpsc::Sender<FsEvent>,
) -> anyhow::Result<Mechanism> {
    if wanted != Mechanism::Inotify {
        match super::fanotify::start(roots, tx.clone()) {
            Ok(()) => return Ok(Mechanism::Fanotify),
            Err(e) if wanted == Mechanism::Auto => warn!(
                reason = %e,
                "fanotify is unavailable: falling back to inotify (one watch per directory, \
                 bounded by fs.inotify.max_user_watches)"
            ),
            Err(e) => anyhow::bail!("WATCH_MECHANISM=fanotify: {e}"),
        }
    }
    super::inotify::start(roots, tx)?;
    Ok(Mechanism::Inotify)
}
