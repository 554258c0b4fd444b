//! The rules for removing DR copies of volume data: quarantine, delete, prune.
//!
//! When a PV (or snapshot) is deleted on the primary, its DR copy must go too, but a wrong
//! event, a bad path map or a mistyped variable must never destroy the only remaining copy of
//! a VM disk. So DR data is not deleted outright: it is moved into a dated quarantine directory
//! below the DR export root, `<quarantine_dir>/<YYYY-MM-DD>/<name>[-N]` (never overwriting
//! anything, with a small JSON note beside it saying what it was, when, why and which run moved
//! it), and the quarantine is pruned once the retention has run out. Deleting at once is a
//! separate, explicit state.
//!
//! This module is the pure part: [`check`] applies every textual guard before anything is
//! touched, [`destination`] picks a free name, [`note`] writes the note's content and
//! [`expired`] picks the date directories to prune. The file system edge (symlink resolution,
//! same-device check, rename, delete) is `modules/src/quarantine_fs.rs`, which checks the
//! guards again on resolved paths.
//!
//! Guards ([`check`]):
//! - `allowed_roots` must be given; none may be relative, hold `..` or be `/`;
//! - every path and the quarantine directory must lie strictly below an allowed root (a root
//!   itself would take every other volume with it);
//! - no path may be `/`, relative or hold `..`; paths may not nest in each other;
//! - the quarantine directory may not lie inside a path being moved (it would move itself),
//!   and no path may lie inside the quarantine directory (pruning is the only way out of it).

use crate::evidence::layout::{date_dir_name, parse_date_dir};
use crate::paths::{self, PathError};
use crate::rsync::shell_quote;
use chrono::{DateTime, Days, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// What to do with the paths.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum State {
    /// Move each path into the dated quarantine directory.
    #[default]
    Quarantine,
    /// Remove each path and everything below it.
    Delete,
    /// Remove the quarantine's date directories older than `retention_days`.
    Prune,
}

/// The suffix of the note written beside each quarantined directory.
pub const NOTE_SUFFIX: &str = ".quarantine.json";

/// How many `-N` suffixes [`destination`] tries before giving up.
pub const MAX_SUFFIX: u32 = 9999;

/// A request as the caller gives it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    /// What to do.
    pub state: State,
    /// Directories to quarantine or delete; must be empty for `prune`.
    pub paths: Vec<String>,
    /// The quarantine directory.
    pub quarantine_dir: String,
    /// Directories everything must lie strictly below.
    pub allowed_roots: Vec<String>,
    /// For `prune`: days a quarantined directory is kept.
    pub retention_days: Option<u32>,
}

/// A request that passed every textual guard, with normalised paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checked {
    /// What to do.
    pub state: State,
    /// The paths, normalised, in the order given.
    pub paths: Vec<String>,
    /// The quarantine directory, normalised.
    pub quarantine_dir: String,
    /// The allowed roots, normalised.
    pub allowed_roots: Vec<String>,
    /// For `prune`: the retention, at least 1.
    pub retention_days: Option<u32>,
}

/// Why a request was refused. Nothing has been touched when one of these is returned.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// No allowed roots.
    #[error(
        "allowed_roots is empty: list the DR export roots that every path and the quarantine \
         directory must lie below"
    )]
    NoRoots,
    /// An allowed root is malformed or `/`.
    #[error("allowed_roots[{index}]: {source}")]
    BadRoot {
        /// Position in `allowed_roots`.
        index: usize,
        /// What is wrong.
        #[source]
        source: PathError,
    },
    /// A path is malformed or `/`.
    #[error("paths[{index}]: {source}")]
    BadPath {
        /// Position in `paths`.
        index: usize,
        /// What is wrong.
        #[source]
        source: PathError,
    },
    /// The quarantine directory is malformed or `/`.
    #[error("quarantine_dir: {0}")]
    BadQuarantineDir(#[source] PathError),
    /// A path or the quarantine directory is outside every allowed root.
    #[error("{what} {path:?} is not below any of allowed_roots ({roots})")]
    OutsideRoots {
        /// `paths[N]` or `quarantine_dir`.
        what: String,
        /// The normalised path.
        path: String,
        /// The allowed roots, comma-separated.
        roots: String,
    },
    /// A path or the quarantine directory is an allowed root itself.
    #[error(
        "{what} {path:?} is an allowed root itself: it holds every other volume; give a \
         directory below it"
    )]
    IsRoot {
        /// `paths[N]` or `quarantine_dir`.
        what: String,
        /// The path.
        path: String,
    },
    /// Two paths are the same or nested.
    #[error(
        "paths[{index}] {path:?} overlaps paths[{other}] {other_path:?}: give each directory once, \
         none inside another"
    )]
    Overlap {
        /// Position of the later path.
        index: usize,
        /// The later path.
        path: String,
        /// Position of the earlier path.
        other: usize,
        /// The earlier path.
        other_path: String,
    },
    /// The quarantine directory lies inside a path.
    #[error(
        "quarantine_dir {quarantine_dir:?} lies inside paths[{index}] {path:?}: it would be moved \
         or deleted with it"
    )]
    QuarantineInsidePath {
        /// Position in `paths`.
        index: usize,
        /// The path.
        path: String,
        /// The quarantine directory.
        quarantine_dir: String,
    },
    /// A path lies inside the quarantine directory.
    #[error(
        "paths[{index}] {path:?} lies inside quarantine_dir {quarantine_dir:?}: quarantined data \
         leaves only through state: prune"
    )]
    PathInsideQuarantine {
        /// Position in `paths`.
        index: usize,
        /// The path.
        path: String,
        /// The quarantine directory.
        quarantine_dir: String,
    },
    /// `prune` with paths.
    #[error(
        "state: prune removes expired date directories of quarantine_dir and takes no paths \
         (got {0}); use state: quarantine or delete for paths"
    )]
    PathsWithPrune(usize),
    /// `prune` without a usable retention.
    #[error("state: prune needs retention_days of at least 1 (got {0:?})")]
    Retention(Option<u32>),
    /// Every `-N` name is taken.
    #[error("no free name for {name:?} in {date_dir:?} after {MAX_SUFFIX} attempts")]
    NoFreeName {
        /// The base name.
        name: String,
        /// The date directory.
        date_dir: String,
    },
}

/// Applies every textual guard (listed in the module docs) and normalises the paths.
///
/// ```
/// use ocpdr_core::quarantine::{check, Request, State};
/// let request = Request {
///     state: State::Quarantine,
///     paths: vec!["/exports/app/disk-1/".into()],
///     quarantine_dir: "/exports/.quarantine".into(),
///     allowed_roots: vec!["/exports".into()],
///     retention_days: None,
/// };
/// assert_eq!(check(&request)?.paths, ["/exports/app/disk-1"]);
///
/// let root = Request { paths: vec!["/exports".into()], ..request.clone() };
/// assert!(check(&root).unwrap_err().to_string().contains("is an allowed root itself"));
/// let outside = Request { paths: vec!["/etc".into()], ..request };
/// assert!(check(&outside).unwrap_err().to_string().contains("not below any of allowed_roots"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn check(request: &Request) -> Result<Checked, GuardError> {
    if request.allowed_roots.is_empty() {
        return Err(GuardError::NoRoots);
    }
    let roots = request
        .allowed_roots
        .iter()
        .enumerate()
        .map(|(index, root)| {
            paths::normalize_target(root).map_err(|source| GuardError::BadRoot { index, source })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let quarantine_dir =
        paths::normalize_target(&request.quarantine_dir).map_err(GuardError::BadQuarantineDir)?;
    strictly_below_a_root("quarantine_dir", &quarantine_dir, &roots)?;

    match request.state {
        State::Prune => {
            if !request.paths.is_empty() {
                return Err(GuardError::PathsWithPrune(request.paths.len()));
            }
            if request.retention_days.is_none_or(|days| days == 0) {
                return Err(GuardError::Retention(request.retention_days));
            }
        }
        State::Quarantine | State::Delete => {}
    }

    let mut checked: Vec<String> = Vec::with_capacity(request.paths.len());
    for (index, path) in request.paths.iter().enumerate() {
        let path = paths::normalize_target(path)
            .map_err(|source| GuardError::BadPath { index, source })?;
        strictly_below_a_root(&format!("paths[{index}]"), &path, &roots)?;
        if paths::is_within(&quarantine_dir, &path) {
            return Err(GuardError::QuarantineInsidePath {
                index,
                path,
                quarantine_dir,
            });
        }
        if paths::is_within(&path, &quarantine_dir) {
            return Err(GuardError::PathInsideQuarantine {
                index,
                path,
                quarantine_dir,
            });
        }
        if let Some(other) = checked
            .iter()
            .position(|p| paths::is_within(p, &path) || paths::is_within(&path, p))
        {
            return Err(GuardError::Overlap {
                index,
                path,
                other,
                other_path: checked[other].clone(),
            });
        }
        checked.push(path);
    }
    Ok(Checked {
        state: request.state,
        paths: checked,
        quarantine_dir,
        allowed_roots: roots,
        retention_days: request.retention_days,
    })
}

fn strictly_below_a_root(what: &str, path: &str, roots: &[String]) -> Result<(), GuardError> {
    match roots.iter().find(|root| paths::is_within(path, root)) {
        None => Err(GuardError::OutsideRoots {
            what: what.to_owned(),
            path: path.to_owned(),
            roots: roots.join(", "),
        }),
        Some(root) if root == path => Err(GuardError::IsRoot {
            what: what.to_owned(),
            path: path.to_owned(),
        }),
        Some(_) => Ok(()),
    }
}

/// The date directory of a quarantine made at `now`: `<quarantine_dir>/YYYY-MM-DD` (UTC, as
/// the evidence directories).
pub fn date_dir(quarantine_dir: &str, now: DateTime<Utc>) -> String {
    format!("{quarantine_dir}/{}", date_dir_name(now))
}

/// The last component of a normalised path other than `/`.
pub fn base_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

/// The first free destination `<date_dir>/<name>`, `<name>-1`, `<name>-2`, ...: free when
/// neither it nor its note exists (`taken` answers for one path).
///
/// ```
/// use ocpdr_core::quarantine::destination;
/// let taken = ["/q/2026-01-02/disk", "/q/2026-01-02/disk-1.quarantine.json"];
/// let dest = destination("/q/2026-01-02", "disk", |p| taken.contains(&p))?;
/// assert_eq!(dest, "/q/2026-01-02/disk-2");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn destination(
    date_dir: &str,
    name: &str,
    mut taken: impl FnMut(&str) -> bool,
) -> Result<String, GuardError> {
    for n in 0..=MAX_SUFFIX {
        let candidate = if n == 0 {
            format!("{date_dir}/{name}")
        } else {
            format!("{date_dir}/{name}-{n}")
        };
        if !taken(&candidate) && !taken(&note_path(&candidate)) {
            return Ok(candidate);
        }
    }
    Err(GuardError::NoFreeName {
        name: name.to_owned(),
        date_dir: date_dir.to_owned(),
    })
}

/// Where the note of a quarantined directory goes.
pub fn note_path(destination: &str) -> String {
    format!("{destination}{NOTE_SUFFIX}")
}

/// What the note beside a quarantined directory says: what it was, where it is, when, why
/// and which run moved it, and how to put it back.
pub fn note(
    original: &str,
    destination: &str,
    now: DateTime<Utc>,
    reason: &str,
    run_id: Option<&str>,
) -> Value {
    json!({
        "original_path": original,
        "quarantined_path": destination,
        "quarantined_at": now.to_rfc3339_opts(SecondsFormat::Secs, true),
        "reason": reason,
        "run_id": run_id,
        "by": "ocpdr.dr.nfs_quarantine",
        "restore": format!("mv {} {}", shell_quote(destination.as_ref()),
                           shell_quote(original.as_ref())),
    })
}

/// The names among `names` (entries of the quarantine directory) that are date directories
/// older than `retention_days` on `today`: with 30 days on 2026-03-31, `2026-02-28` goes and
/// `2026-03-01` stays (the evidence retention rule). Other names are never selected.
pub fn expired<'a>(
    names: impl IntoIterator<Item = &'a str>,
    today: NaiveDate,
    retention_days: u32,
) -> Vec<&'a str> {
    let cutoff = today
        .checked_sub_days(Days::new(u64::from(retention_days)))
        .unwrap_or(NaiveDate::MIN);
    let mut old: Vec<&str> = names
        .into_iter()
        .filter(|name| parse_date_dir(name).is_some_and(|date| date < cutoff))
        .collect();
    old.sort_unstable();
    old
}

#[cfg(test)]
mod tests;
