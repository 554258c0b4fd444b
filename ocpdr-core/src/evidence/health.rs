//! `health`: is the newest run (optionally of one mode) recent and successful?
//!
//! This replaces the seed's cron check (`stat` of a log file younger than 26 hours) with one
//! that reads the record itself: it finds the most recently started run, checks its manifest
//! still matches `manifest.sha256`, and that it finished less than `max_age` ago with status
//! `success`. Finding the run is IO ([`newest_run`]); judging it is pure ([`assess`]).

use super::error::Result;
use super::hash::hash_bytes;
use super::layout::{self, MANIFEST, MANIFEST_SUM};
use super::manifest::{Manifest, Status, format_time};
use super::sumfile;
use super::units::human_duration;
use chrono::{DateTime, Utc};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The most recently started run found.
#[derive(Debug, Clone, PartialEq)]
pub struct Newest {
    /// Its directory.
    pub run_dir: PathBuf,
    /// Its manifest.
    pub manifest: Manifest,
    /// Whether `manifest.sha256` matches `manifest.json`.
    pub intact: bool,
}

/// The judgement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Recent and successful.
    Healthy,
    /// No run (of the mode) at all.
    NoRuns,
    /// Its manifest no longer matches `manifest.sha256`.
    Tampered,
    /// Finished longer than `max_age` ago.
    Stale,
    /// Recent, but its status is not `success`.
    NotSuccessful,
}

/// What `health` reports.
#[derive(Debug, Clone, PartialEq)]
pub struct Health {
    /// The judgement.
    pub verdict: Verdict,
    /// One sentence for people, naming the run, its age and status, or what is wrong.
    pub message: String,
    /// The run judged.
    pub newest: Option<Newest>,
    /// How long ago it finished.
    pub age: Option<Duration>,
}

/// Finds the most recently started run under `root` (of `mode`, if given): date directories
/// newest first, and in the newest one holding a match, the latest `started_at`.
/// Runs whose manifest cannot be read are passed over; a root that does not exist holds none.
pub fn newest_run(root: &Path, mode: Option<&str>) -> Result<Option<Newest>> {
    if !root.exists() {
        return Ok(None);
    }
    for (_, date_dir) in layout::date_dirs(root)?.into_iter().rev() {
        let mut best: Option<(PathBuf, Manifest)> = None;
        for run_dir in layout::date_dir_entries(&date_dir)?.runs {
            let Ok(manifest) = Manifest::read(&run_dir.join(MANIFEST)) else {
                continue;
            };
            if mode.is_some_and(|m| m != manifest.mode) {
                continue;
            }
            if best.as_ref().is_none_or(|(_, b)| {
                (manifest.started_at, &manifest.run_id) > (b.started_at, &b.run_id)
            }) {
                best = Some((run_dir, manifest));
            }
        }
        if let Some((run_dir, manifest)) = best {
            let intact = intact(&run_dir);
            return Ok(Some(Newest {
                run_dir,
                manifest,
                intact,
            }));
        }
    }
    Ok(None)
}

fn intact(run_dir: &Path) -> bool {
    let (Ok(manifest), Ok(sum)) = (
        fs::read(run_dir.join(MANIFEST)),
        fs::read_to_string(run_dir.join(MANIFEST_SUM)),
    ) else {
        return false;
    };
    matches!(sumfile::parse(&sum).as_deref(),
             Ok([(name, sha256)]) if name == MANIFEST && *sha256 == hash_bytes(&manifest))
}

/// Judges `newest` at `now` against `max_age`; `what` names the runs looked for in messages
/// (e.g. `periodic-sync run`, `run`), `root` where they were looked for.
pub fn assess(
    newest: Option<Newest>,
    what: &str,
    root: &Path,
    max_age: Duration,
    now: DateTime<Utc>,
) -> Health {
    let Some(newest) = newest else {
        return Health {
            verdict: Verdict::NoRuns,
            message: format!("no {what} is recorded under {}", root.display()),
            newest: None,
            age: None,
        };
    };
    let m = &newest.manifest;
    let age = (now - m.finished_at).to_std().unwrap_or_default();
    let facts = format!(
        "the newest {what}, {}, finished {} ago (at {}) with status {}",
        m.run_id,
        human_duration(age),
        format_time(m.finished_at),
        m.status.as_str()
    );
    let (verdict, message) = if !newest.intact {
        (
            Verdict::Tampered,
            format!(
                "{facts}, but its manifest.json does not match manifest.sha256: run verify on {}",
                newest.run_dir.display()
            ),
        )
    } else if age > max_age {
        (
            Verdict::Stale,
            format!(
                "{facts}: older than max_age {}; the scheduled runs are late, failing before \
                 they record evidence, or not running",
                human_duration(max_age)
            ),
        )
    } else if m.status != Status::Success {
        (Verdict::NotSuccessful, format!("{facts}, not success"))
    } else {
        (
            Verdict::Healthy,
            format!("{facts}, within max_age {}", human_duration(max_age)),
        )
    };
    Health {
        verdict,
        message,
        newest: Some(newest),
        age: Some(age),
    }
}

#[cfg(test)]
mod tests;
