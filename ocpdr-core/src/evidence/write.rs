//! `write`: record a run, or add to a run recorded earlier.
//!
//! A new run gets a fresh directory `<root>/<YYYY-MM-DD>/<run_id>/`. Into it go the `data`
//! artifacts, the `files` (copied or moved), `evidence.log`, `report.json` (the structured
//! results, when given), `report.md` and `report.html`, then `SHA256SUMS`, `manifest.json` and,
//! last, `manifest.sha256`. Every file is written atomically ([`super::atomic`]); a crash part
//! way leaves a run that `verify` reports as incomplete or modified, never one that verifies.
//!
//! Naming an existing `run_id` adds to that run (a failover recording each phase as it goes):
//! new artifacts are added or replace ones of the same name, log lines are appended, status,
//! summary and finish time are updated, and the reports are rendered again. The run must still
//! verify before anything is added, so an edit made since the last write is never blessed by a
//! fresh manifest. Everything is validated before the first byte is written, and
//! [`plan`] does exactly that validation for check mode without writing anything.

use super::atomic::{self, Placement};
use super::data;
use super::error::{Error, Result};
use super::hash::hash_files;
use super::layout::{self, LOG, MANIFEST, MANIFEST_SUM, REPORT_HTML, REPORT_JSON, REPORT_MD, SUMS};
use super::manifest::{
    Artifact, MANIFEST_VERSION, Manifest, Redaction, Status, format_time, sort_keys,
};
use super::redact::{redact_json, redact_text};
use super::render::{render_html, render_markdown};
use super::report::Report;
use super::sumfile;
use super::verify::verify_run;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Retention when neither the caller nor an earlier write of the run says otherwise.
pub const DEFAULT_RETENTION_DAYS: u32 = 180;

/// One line for `evidence.log`.
#[derive(Debug, Clone, PartialEq)]
pub struct LogLine {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened; several lines are written as several log lines with the same time.
    pub message: String,
}

/// Everything `write` records.
#[derive(Debug, Clone)]
pub struct WriteRequest {
    /// The evidence root.
    pub root: PathBuf,
    /// The DR mode that ran ([`layout::validate_mode`]).
    pub mode: String,
    /// Add to this run if it exists, else create it under this id; `None`: a new generated id.
    pub run_id: Option<String>,
    /// The change ticket; on an existing run, `None` keeps the recorded one.
    pub change_id: Option<String>,
    /// How the run ended (so far).
    pub status: Status,
    /// `<playbook>@<collection>-<version>`.
    pub script_version: String,
    /// The host writing the evidence.
    pub host: String,
    /// When the run started; an existing run keeps its recorded start.
    pub started_at: DateTime<Utc>,
    /// When the run finished (now, usually).
    pub finished_at: DateTime<Utc>,
    /// Days to keep the run; `None`: the run's recorded value, else 180.
    pub retention_days: Option<u32>,
    /// Counts and failures; on an existing run, `None` keeps the recorded summary.
    pub summary: Option<Map<String, Value>>,
    /// Named in-memory artifacts (`*.json`, `*.csv`), in order.
    pub data: Vec<(String, Value)>,
    /// Files to take in under their base names.
    pub files: Vec<PathBuf>,
    /// Copy or move the files.
    pub placement: Placement,
    /// Lines to add to `evidence.log`.
    pub log: Vec<LogLine>,
    /// Structured results to render; on an existing run, `None` re-renders the recorded ones.
    pub report: Option<Report>,
}

/// What `write` did.
#[derive(Debug, Clone)]
pub struct Written {
    /// The run's id.
    pub run_id: String,
    /// Its directory.
    pub run_dir: PathBuf,
    /// Whether the run was created (`false`: added to).
    pub created: bool,
    /// The manifest as written.
    pub manifest: Manifest,
}

/// What `write` would do (check mode).
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The run's id (for a new run, one that would be tried first).
    pub run_id: String,
    /// Its directory.
    pub run_dir: PathBuf,
    /// Whether a run would be created (`false`: added to).
    pub created: bool,
    /// The artifact names the run would hold, sorted.
    pub artifacts: Vec<String>,
    /// Where values would be masked.
    pub redactions: Vec<Redaction>,
}

/// The validated, rendered inputs, ready to be written.
struct Prepared {
    data: Vec<(String, Vec<u8>)>,
    files: Vec<(String, PathBuf)>,
    log: Vec<LogLine>,
    summary: Option<Map<String, Value>>,
    report: Option<Report>,
    redactions: Vec<Redaction>,
}

/// Where the run goes.
enum Target {
    New {
        run_id: Option<String>,
    },
    Existing {
        run_dir: PathBuf,
        manifest: Box<Manifest>,
    },
}

impl Target {
    /// The run's start: the recorded one of an existing run, else the request's.
    fn started_at(&self, request: &WriteRequest) -> DateTime<Utc> {
        match self {
            Target::New { .. } => request.started_at,
            Target::Existing { manifest, .. } => manifest.started_at,
        }
    }
}

/// Validates `request` and says what `write` would do, without writing anything.
pub fn plan(request: &WriteRequest) -> Result<Plan> {
    let prepared = prepare(request)?;
    let target = resolve(request)?;
    check_order(target.started_at(request), request.finished_at)?;
    let (run_id, run_dir, created, mut names) = match target {
        Target::Existing { run_dir, manifest } => {
            let names = manifest.artifacts.iter().map(|a| a.path.clone()).collect();
            (manifest.run_id, run_dir, false, names)
        }
        Target::New { run_id } => {
            let id = run_id.unwrap_or_else(|| {
                layout::generate_run_id(&request.mode, request.started_at, layout::random_suffix())
            });
            let dir = request
                .root
                .join(layout::date_dir_name(request.started_at))
                .join(&id);
            (id, dir, true, Vec::new())
        }
    };
    names.extend(prepared.data.iter().map(|(n, _)| n.clone()));
    names.extend(prepared.files.iter().map(|(n, _)| n.clone()));
    names.extend([LOG, REPORT_MD, REPORT_HTML].map(String::from));
    if prepared.report.is_some() {
        names.push(REPORT_JSON.to_owned());
    }
    names.sort();
    names.dedup();
    Ok(Plan {
        run_id,
        run_dir,
        created,
        artifacts: names,
        redactions: prepared.redactions,
    })
}

/// Records the run (see the module docs).
pub fn write(request: WriteRequest) -> Result<Written> {
    let prepared = prepare(&request)?;
    let target = resolve(&request)?;
    let started_at = target.started_at(&request);
    check_order(started_at, request.finished_at)?;
    let (run_id, run_dir, previous) = match target {
        Target::New { run_id } => {
            let (id, dir) = layout::create_run_dir(
                &request.root,
                &request.mode,
                run_id.as_deref(),
                request.started_at,
                layout::random_suffix,
            )?;
            (id, dir, None)
        }
        Target::Existing { run_dir, manifest } => {
            (manifest.run_id.clone(), run_dir, Some(*manifest))
        }
    };

    let mut touched: Vec<String> = Vec::new();
    for (name, bytes) in &prepared.data {
        atomic::write_file(&run_dir, name, bytes)?;
        touched.push(name.clone());
    }
    for (name, source) in &prepared.files {
        atomic::place_file(source, &run_dir, name, request.placement)?;
        touched.push(name.clone());
    }

    let mut manifest = Manifest {
        manifest_version: MANIFEST_VERSION,
        run_id: run_id.clone(),
        mode: request.mode.clone(),
        change_id: request
            .change_id
            .clone()
            .or_else(|| previous.as_ref().and_then(|m| m.change_id.clone())),
        script_version: request.script_version.clone(),
        host: request.host.clone(),
        started_at,
        finished_at: request.finished_at,
        status: request.status,
        retention_days: request
            .retention_days
            .or(previous.as_ref().map(|m| m.retention_days))
            .unwrap_or(DEFAULT_RETENTION_DAYS),
        summary: prepared
            .summary
            .clone()
            .or_else(|| previous.as_ref().map(|m| m.summary.clone()))
            .unwrap_or_default(),
        redactions: previous
            .as_ref()
            .map(|m| m.redactions.clone())
            .unwrap_or_default(),
        artifacts: Vec::new(),
    };
    for redaction in &prepared.redactions {
        if !manifest.redactions.contains(redaction) {
            manifest.redactions.push(redaction.clone());
        }
    }

    let log = log_text(
        &run_dir,
        previous.is_none(),
        &manifest,
        &prepared.log,
        &touched,
    )?;
    atomic::write_file(&run_dir, LOG, log.as_bytes())?;
    touched.push(LOG.to_owned());

    let report = match &prepared.report {
        Some(report) => {
            let mut bytes = serde_json::to_vec_pretty(report).expect("a report serializes");
            bytes.push(b'\n');
            atomic::write_file(&run_dir, REPORT_JSON, &bytes)?;
            touched.push(REPORT_JSON.to_owned());
            report.clone()
        }
        None if previous
            .as_ref()
            .is_some_and(|m| m.artifacts.iter().any(|a| a.path == REPORT_JSON)) =>
        {
            recorded_report(&run_dir)?
        }
        None => Report::default(),
    };

    // Artifacts: the recorded ones, updated with what this write put down.
    let mut artifacts: BTreeMap<String, Artifact> = previous
        .as_ref()
        .map(|m| {
            m.artifacts
                .iter()
                .map(|a| (a.path.clone(), a.clone()))
                .collect()
        })
        .unwrap_or_default();
    hash_into(&run_dir, &touched, &mut artifacts)?;
    artifacts.remove(REPORT_MD);
    artifacts.remove(REPORT_HTML);
    manifest.artifacts = artifacts.values().cloned().collect();
    atomic::write_file(
        &run_dir,
        REPORT_MD,
        render_markdown(&manifest, &report)?.as_bytes(),
    )?;
    atomic::write_file(
        &run_dir,
        REPORT_HTML,
        render_html(&manifest, &report)?.as_bytes(),
    )?;
    hash_into(
        &run_dir,
        &[REPORT_MD.to_owned(), REPORT_HTML.to_owned()],
        &mut artifacts,
    )?;
    manifest.artifacts = artifacts.into_values().collect();

    seal(&run_dir, &manifest, previous.is_none())?;
    Ok(Written {
        run_id,
        run_dir,
        created: previous.is_none(),
        manifest,
    })
}

/// The report recorded by an earlier write of the run, to render it again.
fn recorded_report(run_dir: &Path) -> Result<Report> {
    let path = run_dir.join(REPORT_JSON);
    let bytes = std::fs::read(&path).map_err(Error::io("read", &path))?;
    serde_json::from_slice(&bytes).map_err(|err| {
        Error::InvalidReport(format!(
            "the recorded {} does not parse: {err}",
            path.display()
        ))
    })
}

/// Writes the files that vouch for the artifacts: `SHA256SUMS`, `manifest.json` and, last,
/// `manifest.sha256`, each after a barrier that makes what it vouches for durable.
fn seal(run_dir: &Path, manifest: &Manifest, new_run: bool) -> Result<()> {
    atomic::sync_dir(run_dir)?;
    let sums = sumfile::render(
        manifest
            .artifacts
            .iter()
            .map(|a| (a.path.as_str(), a.sha256.as_str())),
    );
    atomic::write_file(run_dir, SUMS, sums.as_bytes())?;
    let bytes = manifest.to_bytes();
    atomic::write_file(run_dir, MANIFEST, &bytes)?;
    atomic::sync_dir(run_dir)?;
    let manifest_sum = sumfile::render([(MANIFEST, super::hash::hash_bytes(&bytes).as_str())]);
    atomic::write_file(run_dir, MANIFEST_SUM, manifest_sum.as_bytes())?;
    atomic::sync_dir(run_dir)?;
    if new_run {
        // The new run directory's own entry, and its date directory's if that is new too.
        for dir in run_dir.ancestors().skip(1).take(2) {
            atomic::sync_dir(dir)?;
        }
    }
    Ok(())
}

/// Validates every input and renders what can be rendered in memory.
fn prepare(request: &WriteRequest) -> Result<Prepared> {
    layout::validate_mode(&request.mode)?;
    if let Some(run_id) = &request.run_id {
        layout::validate_run_id(run_id)?;
    }
    if request.retention_days == Some(0) {
        return Err(Error::InvalidRetention(0));
    }

    let mut redactions = Vec::new();
    let mut names: BTreeMap<String, String> = BTreeMap::new();
    let mut claim = |name: &str, origin: String| -> Result<()> {
        layout::validate_artifact_name(name)?;
        if let Some(first) = names.insert(name.to_owned(), origin.clone()) {
            return Err(Error::DuplicateArtifact {
                name: name.to_owned(),
                first,
                second: origin,
            });
        }
        Ok(())
    };

    let mut data = Vec::new();
    for (name, value) in &request.data {
        claim(name, format!("data {name:?}"))?;
        let rendered = data::render(name, value)?;
        redactions.extend(rendered.redacted.into_iter().map(|location| Redaction {
            artifact: name.clone(),
            location,
        }));
        data.push((name.clone(), rendered.bytes));
    }

    let mut files = Vec::new();
    for path in &request.files {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| Error::InvalidFile {
                path: path.clone(),
                reason: "has no usable file name",
            })?;
        claim(name, format!("file {}", path.display()))?;
        let meta = std::fs::metadata(path).map_err(Error::io("read", path))?;
        if !meta.is_file() {
            return Err(Error::InvalidFile {
                path: path.clone(),
                reason: "is not a regular file",
            });
        }
        files.push((name.to_owned(), path.clone()));
    }

    let mut log = Vec::new();
    for (index, line) in request.log.iter().enumerate() {
        let (message, masked) = redact_text(&line.message);
        if masked {
            redactions.push(Redaction {
                artifact: LOG.to_owned(),
                location: format!("log[{index}]"),
            });
        }
        log.push(LogLine {
            at: line.at,
            message,
        });
    }

    let summary = request.summary.as_ref().map(|summary| {
        let mut value = sort_keys(&Value::Object(summary.clone()));
        redactions.extend(
            redact_json(&mut value)
                .into_iter()
                .map(|location| Redaction {
                    artifact: "summary".to_owned(),
                    location,
                }),
        );
        match value {
            Value::Object(map) => map,
            _ => unreachable!("sorting keeps an object an object"),
        }
    });

    let report = match &request.report {
        Some(report) => {
            report.validate()?;
            let mut report = report.clone();
            redactions.extend(report.redact().into_iter().map(|location| Redaction {
                artifact: REPORT_JSON.to_owned(),
                location,
            }));
            Some(report)
        }
        None => None,
    };

    Ok(Prepared {
        data,
        files,
        log,
        summary,
        report,
        redactions,
    })
}

/// Finds the run a request adds to, checking it may be added to.
fn resolve(request: &WriteRequest) -> Result<Target> {
    let Some(run_id) = &request.run_id else {
        return Ok(Target::New { run_id: None });
    };
    let Some(run_dir) = layout::find_run(&request.root, run_id)? else {
        return Ok(Target::New {
            run_id: Some(run_id.clone()),
        });
    };
    let manifest_path = run_dir.join(MANIFEST);
    if !manifest_path.exists() {
        return Err(Error::IncompleteRun { run_dir });
    }
    let manifest = Manifest::read(&manifest_path)?;
    if manifest.mode != request.mode {
        return Err(Error::ModeMismatch {
            run_id: run_id.clone(),
            existing: manifest.mode,
            requested: request.mode.clone(),
        });
    }
    let check = verify_run(&run_dir);
    if !check.ok {
        return Err(Error::RunFailsVerification {
            run_dir,
            problems: check.problems(),
        });
    }
    Ok(Target::Existing {
        run_dir,
        manifest: Box::new(manifest),
    })
}

fn check_order(started: DateTime<Utc>, finished: DateTime<Utc>) -> Result<()> {
    if finished < started {
        return Err(Error::TimeOrder {
            started: format_time(started),
            finished: format_time(finished),
        });
    }
    Ok(())
}

/// The whole new `evidence.log`: the recorded lines, a start line for a new run, the caller's
/// lines, and a line recording this write and the artifacts it wrote (besides the log, the
/// reports and the control files, which every write rewrites).
fn log_text(
    run_dir: &Path,
    new_run: bool,
    manifest: &Manifest,
    lines: &[LogLine],
    written: &[String],
) -> Result<String> {
    let path = run_dir.join(LOG);
    let mut text = if new_run {
        String::new()
    } else {
        std::fs::read_to_string(&path).map_err(Error::io("read", &path))?
    };
    let mut push = |at: DateTime<Utc>, message: &str| {
        for line in message.lines() {
            text.push_str(&at.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
            text.push(' ');
            text.push_str(line);
            text.push('\n');
        }
    };
    if new_run {
        push(
            manifest.started_at,
            &format!(
                "run {} started: mode {}, change {}, {} on {}",
                manifest.run_id,
                manifest.mode,
                manifest.change_id.as_deref().unwrap_or("none"),
                manifest.script_version,
                manifest.host
            ),
        );
    }
    for line in lines {
        push(line.at, &line.message);
    }
    let written = if written.is_empty() {
        "none".to_owned()
    } else {
        written.join(", ")
    };
    push(
        manifest.finished_at,
        &format!(
            "recorded status {}; artifacts written: {written}",
            manifest.status.as_str()
        ),
    );
    Ok(text)
}

/// Hashes `names` in `run_dir` (in parallel) into `artifacts`.
fn hash_into(
    run_dir: &Path,
    names: &[String],
    artifacts: &mut BTreeMap<String, Artifact>,
) -> Result<()> {
    let paths: Vec<PathBuf> = names.iter().map(|n| run_dir.join(n)).collect();
    for (name, hashed) in names.iter().zip(hash_files(&paths, 0)) {
        let hashed = hashed?;
        artifacts.insert(
            name.clone(),
            Artifact {
                path: name.clone(),
                sha256: hashed.sha256,
                size: hashed.size,
            },
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests;
