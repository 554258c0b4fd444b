//! `prune`: delete date directories whose retention has run out.
//!
//! A date directory `YYYY-MM-DD` expires when it is older than `retention_days` (with 180 days
//! on 2026-11-28, `2026-05-31` goes and `2026-06-01` stays) *and* older than the
//! `retention_days` recorded in each of its manifests, so a run written with a longer
//! retention (a failover kept for a year) is never deleted early by a shorter default.
//!
//! Deleting is guarded: only directories named exactly `YYYY-MM-DD` directly under the root
//! are ever removed (never symlinks, never anything else), and the root must hold at least one
//! valid evidence manifest at `<root>/<YYYY-MM-DD>/<run_id>/manifest.json`, so pointing `root`
//! at a home directory or `/` by mistake refuses instead of deleting.

use super::error::{Error, Result};
use super::layout::{self, MANIFEST};
use super::manifest::Manifest;
use chrono::{Days, NaiveDate};
use std::fs;
use std::path::{Path, PathBuf};

/// What pruning will remove and keep.
#[derive(Debug, Clone, PartialEq)]
pub struct PrunePlan {
    /// The retention applied, in days.
    pub retention_days: u32,
    /// Date directories before this date are past `retention_days`.
    pub cutoff: NaiveDate,
    /// Date directories to remove, oldest first.
    pub expired: Vec<PathBuf>,
    /// Date directories past `retention_days` but kept for a longer retention recorded in one
    /// of their runs, with that retention.
    pub held: Vec<(PathBuf, u32)>,
    /// How many date directories stay.
    pub kept: usize,
}

/// Decides what to prune under `root` on `today` (UTC), after checking `root` is evidence.
pub fn plan(root: &Path, retention_days: u32, today: NaiveDate) -> Result<PrunePlan> {
    if retention_days == 0 {
        return Err(Error::InvalidRetention(0));
    }
    let resolved = fs::canonicalize(root).map_err(Error::io("resolve", root))?;
    if resolved.parent().is_none() {
        return Err(Error::NotEvidenceRoot {
            path: root.to_owned(),
        });
    }
    let dates = layout::date_dirs(root)?;
    if !dates.iter().rev().any(|(_, dir)| holds_a_manifest(dir)) {
        return Err(Error::NotEvidenceRoot {
            path: root.to_owned(),
        });
    }
    let cutoff = days_before(today, retention_days);
    let mut plan = PrunePlan {
        retention_days,
        cutoff,
        expired: Vec::new(),
        held: Vec::new(),
        kept: 0,
    };
    for (date, dir) in dates {
        if date >= cutoff {
            plan.kept += 1;
            continue;
        }
        let longest = recorded_retentions(&dir).into_iter().max().unwrap_or(0);
        if longest > retention_days && date >= days_before(today, longest) {
            plan.held.push((dir, longest));
            plan.kept += 1;
        } else {
            plan.expired.push(dir);
        }
    }
    Ok(plan)
}

/// Removes the expired date directories of `plan`.
pub fn execute(root: &Path, plan: &PrunePlan) -> Result<()> {
    for dir in &plan.expired {
        // Re-check at the last moment: a plain directory with a date name, directly in root.
        let meta = fs::symlink_metadata(dir).map_err(Error::io("inspect", dir))?;
        let named = dir
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(layout::parse_date_dir)
            .is_some();
        if !meta.is_dir() || !named || dir.parent() != Some(root) {
            return Err(Error::NotEvidenceRoot { path: dir.clone() });
        }
        fs::remove_dir_all(dir).map_err(Error::io("remove", dir))?;
    }
    if !plan.expired.is_empty() {
        super::atomic::sync_dir(root)?;
    }
    Ok(())
}

fn days_before(today: NaiveDate, days: u32) -> NaiveDate {
    today
        .checked_sub_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MIN)
}

/// Whether a date directory holds at least one run with a valid evidence manifest.
fn holds_a_manifest(date_dir: &Path) -> bool {
    layout::date_dir_entries(date_dir).is_ok_and(|entries| {
        entries
            .runs
            .iter()
            .any(|run| Manifest::read(&run.join(MANIFEST)).is_ok())
    })
}

/// The `retention_days` recorded by the runs of a date directory that can be read.
fn recorded_retentions(date_dir: &Path) -> Vec<u32> {
    layout::date_dir_entries(date_dir)
        .map(|entries| {
            entries
                .runs
                .iter()
                .filter_map(|run| Manifest::read(&run.join(MANIFEST)).ok())
                .map(|m| m.retention_days)
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests;
