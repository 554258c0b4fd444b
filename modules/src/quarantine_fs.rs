//! The file system edge of `nfs_quarantine`: move into the quarantine, delete, prune.
//!
//! [`ocpdr_core::quarantine::check`] has applied the textual guards; here every path is looked
//! at without following symlinks and checked again on its real location, for all paths before
//! anything is touched:
//!
//! - a missing path is `unchanged` (the request is idempotent);
//! - a path that is a symlink, or not a directory, is refused (nothing is followed);
//! - the real location of each path (its parent resolved through `realpath`) and of the
//!   quarantine directory must still lie strictly below a resolved allowed root, and neither may
//!   lie inside the other;
//! - for a quarantine, each path must be on the same file system as the quarantine directory:
//!   the move is a `rename(2)`, never a copy of terabytes that could fail halfway.
//!
//! Then each path is renamed to a free name in the date directory (created if needed, and
//! checked to be a real directory) and its note is written beside it, created exclusively so
//! nothing is ever overwritten; or it is removed with `remove_dir_all`, which removes symlinks
//! inside the tree instead of following them. In check mode nothing is created, moved or
//! removed; the results say what would be.

use crate::realpath;
use chrono::{DateTime, Utc};
use ocpdr_core::quarantine::{self, Checked, State};
use serde::Serialize;
use std::collections::HashSet;
use std::fs::{self, OpenOptions};
use std::io::{ErrorKind, Write};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// What happened (or, in check mode, would happen) to one path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Action {
    /// Moved into the quarantine.
    Quarantined,
    /// Removed.
    Deleted,
    /// Not there: nothing to do.
    Unchanged,
}

/// The result for one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathResult {
    /// The path, normalised.
    pub path: String,
    /// What was done.
    pub action: Action,
    /// Where it was moved, for `quarantined`.
    pub destination: Option<String>,
    /// The note beside it, for `quarantined`.
    pub note: Option<String>,
}

/// Why and by whom, for the notes; and the clock.
#[derive(Debug, Clone)]
pub struct Context<'a> {
    /// Now, for the date directory and the note.
    pub now: DateTime<Utc>,
    /// Why the data is removed, for the note.
    pub reason: &'a str,
    /// The run that removes it, for the note.
    pub run_id: Option<&'a str>,
    /// Change nothing.
    pub check_mode: bool,
}

/// What was done, complete or up to a failure.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Done {
    /// Per path, in order, as far as it got.
    pub paths: Vec<PathResult>,
    /// Date directories pruned (or that would be).
    pub pruned: Vec<String>,
}

impl Done {
    /// Whether anything was (or would be) changed.
    pub fn changed(&self) -> bool {
        !self.pruned.is_empty() || self.paths.iter().any(|p| p.action != Action::Unchanged)
    }
}

/// A refusal or a failure, with what was done before it (nothing, for a refusal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stopped {
    /// What went wrong, naming the path.
    pub msg: String,
    /// What was done before.
    pub done: Done,
}

/// Carries out a checked request.
pub fn run(checked: &Checked, ctx: &Context) -> Result<Done, Stopped> {
    let refuse = |msg: String| Stopped {
        msg,
        done: Done::default(),
    };
    let roots = realpath::resolve_roots(&checked.allowed_roots);
    let quarantine_dir = realpath::resolve(Path::new(&checked.quarantine_dir));
    if !realpath::within_roots(&quarantine_dir, &roots, true) {
        return Err(refuse(format!(
            "quarantine_dir {} resolves to {} through a symlink, which is not strictly below any \
             of allowed_roots (resolved the same way)",
            checked.quarantine_dir,
            quarantine_dir.display()
        )));
    }
    match checked.state {
        State::Prune => prune(checked, ctx),
        State::Quarantine | State::Delete => {
            let present = preflight(checked, &roots, &quarantine_dir).map_err(refuse)?;
            remove(checked, ctx, &present)
        }
    }
}

/// Looks at every path before anything is touched: `None` for a missing one.
fn preflight(
    checked: &Checked,
    roots: &[PathBuf],
    quarantine_dir: &Path,
) -> Result<Vec<Option<PathBuf>>, String> {
    // The device the quarantine lives on: that of its deepest existing ancestor.
    let quarantine_dev = || {
        quarantine_dir
            .ancestors()
            .find_map(|p| fs::metadata(p).ok())
            .map(|m| m.dev())
    };
    let mut present = Vec::with_capacity(checked.paths.len());
    for path in &checked.paths {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            Err(err) if err.kind() == ErrorKind::NotFound => {
                present.push(None);
                continue;
            }
            Err(err) => return Err(format!("cannot inspect {path}: {err}")),
        };
        if meta.file_type().is_symlink() {
            return Err(format!(
                "{path} is a symlink: refusing, symlinks are never followed or moved; check what \
                 it points at and remove the link by hand if it is stale"
            ));
        }
        if !meta.is_dir() {
            return Err(format!(
                "{path} is not a directory: only volume directories are quarantined or deleted"
            ));
        }
        let resolved = real_location(Path::new(path))
            .map_err(|err| format!("cannot resolve {path}: {err}"))?;
        if !realpath::within_roots(&resolved, roots, true) {
            return Err(format!(
                "{path} resolves to {} through a symlink, which is not strictly below any of \
                 allowed_roots (resolved the same way)",
                resolved.display()
            ));
        }
        if resolved.starts_with(quarantine_dir) || quarantine_dir.starts_with(&resolved) {
            return Err(format!(
                "{path} (really {}) and quarantine_dir (really {}) lie inside one another",
                resolved.display(),
                quarantine_dir.display()
            ));
        }
        if checked.state == State::Quarantine && Some(meta.dev()) != quarantine_dev() {
            return Err(format!(
                "{path} is on another file system than quarantine_dir {}: a quarantine is a \
                 rename, never a copy; put quarantine_dir on the same export, or use state: delete",
                checked.quarantine_dir
            ));
        }
        present.push(Some(resolved));
    }
    Ok(present)
}

/// The real location of `path` without following `path` itself: its parent resolved, plus its
/// name.
fn real_location(path: &Path) -> std::io::Result<PathBuf> {
    let (Some(parent), Some(name)) = (path.parent(), path.file_name()) else {
        return Ok(path.to_path_buf());
    };
    Ok(parent.canonicalize()?.join(name))
}

fn remove(checked: &Checked, ctx: &Context, present: &[Option<PathBuf>]) -> Result<Done, Stopped> {
    let mut done = Done::default();
    let stop = |msg: String, done: Done| Stopped { msg, done };
    let date_dir = quarantine::date_dir(&checked.quarantine_dir, ctx.now);
    let mut planned: HashSet<String> = HashSet::new();
    let needs_date_dir = checked.state == State::Quarantine && present.iter().any(Option::is_some);
    if needs_date_dir
        && !ctx.check_mode
        && let Err(msg) = make_date_dir(&date_dir)
    {
        return Err(stop(msg, done));
    }
    for (path, real) in checked.paths.iter().zip(present) {
        if real.is_none() {
            done.paths.push(PathResult {
                path: path.clone(),
                action: Action::Unchanged,
                destination: None,
                note: None,
            });
            continue;
        }
        if checked.state == State::Delete {
            if !ctx.check_mode
                && let Err(err) = fs::remove_dir_all(path)
            {
                return Err(stop(format!("cannot delete {path}: {err}"), done));
            }
            done.paths.push(PathResult {
                path: path.clone(),
                action: Action::Deleted,
                destination: None,
                note: None,
            });
            continue;
        }
        let taken = |p: &str| planned.contains(p) || fs::symlink_metadata(p).is_ok();
        let destination =
            match quarantine::destination(&date_dir, quarantine::base_name(path), taken) {
                Ok(destination) => destination,
                Err(err) => return Err(stop(err.to_string(), done)),
            };
        let note = quarantine::note_path(&destination);
        if !ctx.check_mode
            && let Err(msg) = move_with_note(path, &destination, &note, ctx)
        {
            return Err(stop(msg, done));
        }
        planned.insert(destination.clone());
        done.paths.push(PathResult {
            path: path.clone(),
            action: Action::Quarantined,
            destination: Some(destination),
            note: Some(note),
        });
    }
    Ok(done)
}

/// Creates the date directory and makes sure it is a real directory, not a planted symlink.
fn make_date_dir(date_dir: &str) -> Result<(), String> {
    fs::create_dir_all(date_dir).map_err(|err| format!("cannot create {date_dir}: {err}"))?;
    let meta = fs::symlink_metadata(date_dir)
        .map_err(|err| format!("cannot inspect {date_dir}: {err}"))?;
    if !meta.is_dir() {
        return Err(format!(
            "{date_dir} is not a real directory (a symlink?): refusing to move data into it"
        ));
    }
    Ok(())
}

fn move_with_note(path: &str, destination: &str, note: &str, ctx: &Context) -> Result<(), String> {
    // rename(2) replaces an empty directory at the destination: make sure there is none.
    if fs::symlink_metadata(destination).is_ok() {
        return Err(format!(
            "{destination} appeared while moving {path}: refusing to overwrite"
        ));
    }
    fs::rename(path, destination)
        .map_err(|err| format!("cannot move {path} to {destination}: {err}"))?;
    let text = quarantine::note(path, destination, ctx.now, ctx.reason, ctx.run_id).to_string();
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(note)
        .and_then(|mut file| {
            file.write_all(text.as_bytes())?;
            file.write_all(b"\n")?;
            file.sync_all()
        });
    written.map_err(|err| {
        format!("moved {path} to {destination}, but cannot write the note {note}: {err}")
    })
}

fn prune(checked: &Checked, ctx: &Context) -> Result<Done, Stopped> {
    let mut done = Done::default();
    let dir = &checked.quarantine_dir;
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == ErrorKind::NotFound => return Ok(done),
        Err(err) => {
            return Err(Stopped {
                msg: format!("cannot read {dir}: {err}"),
                done,
            });
        }
    };
    let mut dated: Vec<String> = Vec::new();
    for entry in entries.flatten() {
        let is_dir = entry.file_type().is_ok_and(|t| t.is_dir());
        if let (true, Some(name)) = (is_dir, entry.file_name().to_str()) {
            dated.push(name.to_owned());
        }
    }
    let retention = checked.retention_days.unwrap_or(u32::MAX);
    let today = ctx.now.date_naive();
    for name in quarantine::expired(dated.iter().map(String::as_str), today, retention) {
        let path = format!("{dir}/{name}");
        if !ctx.check_mode
            && let Err(err) = fs::remove_dir_all(&path)
        {
            return Err(Stopped {
                msg: format!("cannot prune {path}: {err}"),
                done,
            });
        }
        done.pruned.push(path);
    }
    Ok(done)
}
