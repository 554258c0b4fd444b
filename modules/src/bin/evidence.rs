//! `ocpdr.dr.evidence`: the audit record of a run: write it, verify it, prune old ones, and
//! check that the newest is recent and successful.
//!
//! Options are read here (with the `CHANGE_ID` and `RETENTION_DAYS` environment fallbacks of
//! the seed design); all rules live in [`ocpdr_core::evidence`].

use chrono::Utc;
use ocpdr_core::evidence::{
    self, LogLine, Placement, Report, Status, WriteRequest, health, layout, prune, units,
};
use ocpdr_modules::{COLLECTION, COLLECTION_VERSION, Context, Failure, Module, Outcome};
use serde::de::{Deserializer, Error as _};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq, Debug)]
#[serde(rename_all = "lowercase")]
enum State {
    #[default]
    Write,
    Verify,
    Prune,
    Health,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    state: State,
    #[serde(default = "default_root")]
    root: PathBuf,
    mode: Option<String>,
    run_id: Option<String>,
    change_id: Option<String>,
    status: Option<Status>,
    playbook: Option<String>,
    started_at: Option<String>,
    finished_at: Option<String>,
    retention_days: Option<u32>,
    summary: Option<Map<String, Value>>,
    data: Option<Map<String, Value>>,
    files: Option<Vec<PathBuf>>,
    copy: Option<bool>,
    log: Option<Vec<LogEntry>>,
    report: Option<Report>,
    path: Option<PathBuf>,
    max_age: Option<MaxAge>,
}

fn default_root() -> PathBuf {
    PathBuf::from("artifacts")
}

/// A log line: plain text (stamped with the time of the write) or `{at, msg}`.
struct LogEntry {
    at: Option<String>,
    msg: String,
}

impl<'de> Deserialize<'de> for LogEntry {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(deny_unknown_fields)]
        struct Timed {
            at: String,
            msg: String,
        }
        match Value::deserialize(d)? {
            Value::String(msg) => Ok(LogEntry { at: None, msg }),
            value @ Value::Object(_) => serde_json::from_value::<Timed>(value)
                .map(|t| LogEntry {
                    at: Some(t.at),
                    msg: t.msg,
                })
                .map_err(|err| {
                    D::Error::custom(format!("{err}; expected a string or {{at, msg}}"))
                }),
            other => Err(D::Error::custom(format!(
                "got {other}, expected a string or {{at, msg}}"
            ))),
        }
    }
}

/// `max_age`: seconds, or text such as `26h`.
struct MaxAge(Duration);

impl<'de> Deserialize<'de> for MaxAge {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match Value::deserialize(d)? {
            Value::String(text) => text,
            Value::Number(n) => n.to_string(),
            other => {
                return Err(D::Error::custom(format!(
                    "got {other}, expected seconds or a duration such as 26h"
                )));
            }
        };
        units::parse_duration(&text)
            .map(MaxAge)
            .map_err(|err| D::Error::custom(err.to_string()))
    }
}

impl Options {
    /// Refuses options that mean nothing for the chosen state, so a misplaced option is not
    /// silently ignored.
    fn check_relevant(&self) -> Result<(), Failure> {
        let given: [(&str, bool); 16] = [
            ("mode", self.mode.is_some()),
            ("run_id", self.run_id.is_some()),
            ("change_id", self.change_id.is_some()),
            ("status", self.status.is_some()),
            ("playbook", self.playbook.is_some()),
            ("started_at", self.started_at.is_some()),
            ("finished_at", self.finished_at.is_some()),
            ("retention_days", self.retention_days.is_some()),
            ("summary", self.summary.is_some()),
            ("data", self.data.is_some()),
            ("files", self.files.is_some()),
            ("copy", self.copy.is_some()),
            ("log", self.log.is_some()),
            ("report", self.report.is_some()),
            ("path", self.path.is_some()),
            ("max_age", self.max_age.is_some()),
        ];
        let (state, valid): (&str, &[&str]) = match self.state {
            State::Write => (
                "write",
                &[
                    "mode",
                    "run_id",
                    "change_id",
                    "status",
                    "playbook",
                    "started_at",
                    "finished_at",
                    "retention_days",
                    "summary",
                    "data",
                    "files",
                    "copy",
                    "log",
                    "report",
                ],
            ),
            State::Verify => ("verify", &["path", "run_id"]),
            State::Prune => ("prune", &["retention_days"]),
            State::Health => ("health", &["mode", "max_age"]),
        };
        let stray: Vec<&str> = given
            .iter()
            .filter(|(name, is_given)| *is_given && !valid.contains(name))
            .map(|(name, _)| *name)
            .collect();
        if stray.is_empty() {
            return Ok(());
        }
        Err(Failure::new(format!(
            "option(s) {} do not apply to state={state}; it takes root, {}",
            stray.join(", "),
            valid.join(", ")
        )))
    }
}

struct Evidence;

impl Module for Evidence {
    type Options = Options;

    fn run(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
        options.check_relevant()?;
        let root = absolute(&options.root)?;
        match options.state {
            State::Write => write(options, root, ctx),
            State::Verify => verify(options, root),
            State::Prune => prune_old(options, root, ctx),
            State::Health => check_health(options, root),
        }
    }
}

fn write(options: Options, root: PathBuf, ctx: &Context) -> Result<Outcome, Failure> {
    let mode = options.mode.ok_or_else(|| {
        Failure::new("state=write needs `mode` (e.g. periodic-sync, event-sync, failover)")
    })?;
    let status = options
        .status
        .ok_or_else(|| Failure::new("state=write needs `status`: success, partial or failed"))?;
    let now = Utc::now();
    let time = |name: &str, text: Option<String>| match text {
        None => Ok(now),
        Some(text) => units::parse_time(&text).ok_or_else(|| {
            Failure::new(format!(
                "invalid value for option `{name}`: {text:?} is not a time; expected RFC 3339, \
                 e.g. 2025-09-18T02:00:00Z"
            ))
        }),
    };
    let started_at = time("started_at", options.started_at)?;
    let finished_at = time("finished_at", options.finished_at)?;
    let mut log = Vec::new();
    for (index, entry) in options.log.unwrap_or_default().into_iter().enumerate() {
        log.push(LogLine {
            at: time(&format!("log[{index}].at"), entry.at)?,
            message: entry.msg,
        });
    }
    let script_version = match &options.playbook {
        Some(playbook) => format!("{playbook}@{COLLECTION}-{COLLECTION_VERSION}"),
        None => format!("{COLLECTION}-{COLLECTION_VERSION}"),
    };
    let request = WriteRequest {
        root,
        mode,
        run_id: options.run_id,
        change_id: options.change_id.or_else(|| env_text("CHANGE_ID")),
        status,
        script_version,
        host: hostname(),
        started_at,
        finished_at,
        retention_days: match options.retention_days {
            Some(days) => Some(days),
            None => env_retention()?,
        },
        summary: options.summary,
        data: options
            .data
            .map(|d| d.into_iter().collect())
            .unwrap_or_default(),
        files: options.files.unwrap_or_default(),
        placement: if options.copy.unwrap_or(false) {
            Placement::Copy
        } else {
            Placement::Move
        },
        log,
        report: options.report,
    };

    if ctx.check_mode {
        let plan = evidence::plan(&request).map_err(fail)?;
        let artifacts: Vec<Value> = plan.artifacts.iter().map(|p| json!({"path": p})).collect();
        return Ok(redaction_warning(Outcome::new(true), &plan.redactions)
            .with("run_id", &plan.run_id)
            .with("run_dir", &plan.run_dir)
            .with("created", plan.created)
            .with("artifacts", artifacts)
            .with("redactions", &plan.redactions));
    }
    let written = evidence::write(request).map_err(fail)?;
    let manifest = &written.manifest;
    Ok(redaction_warning(Outcome::new(true), &manifest.redactions)
        .with("run_id", &written.run_id)
        .with("run_dir", &written.run_dir)
        .with("created", written.created)
        .with("manifest", manifest)
        .with("artifacts", &manifest.artifacts)
        .with("redactions", &manifest.redactions))
}

fn redaction_warning(outcome: Outcome, redactions: &[evidence::Redaction]) -> Outcome {
    if redactions.is_empty() {
        return outcome;
    }
    let places: Vec<String> = redactions
        .iter()
        .map(|r| format!("{} {}", r.artifact, r.location))
        .collect();
    outcome.warn(format!(
        "masked {} secret-looking value(s) before writing evidence: {}",
        redactions.len(),
        places.join(", ")
    ))
}

fn verify(options: Options, root: PathBuf) -> Result<Outcome, Failure> {
    let path = match (&options.path, &options.run_id) {
        (Some(_), Some(_)) => {
            return Err(Failure::new("give `path` or `run_id` to verify, not both"));
        }
        (Some(path), None) => absolute(path)?,
        (None, Some(run_id)) => layout::find_run(&root, run_id)
            .map_err(fail)?
            .ok_or_else(|| Failure::new(format!("no run {run_id} under {}", root.display())))?,
        (None, None) => root,
    };
    let found = evidence::verify(&path).map_err(fail)?;
    let ok = found.ok();
    let values = |outcome: Outcome| {
        outcome
            .with("ok", ok)
            .with("path", &path)
            .with("runs", &found.runs)
            .with("stray", &found.stray)
    };
    if ok {
        return Ok(values(Outcome::new(false)));
    }
    let failed = found.runs.iter().filter(|r| !r.ok).count();
    Err(Failure::new(format!(
        "evidence under {} fails verification ({failed} of {} runs): {}",
        path.display(),
        found.runs.len(),
        found.problems()
    ))
    .with("ok", false)
    .with("path", &path)
    .with("runs", &found.runs)
    .with("stray", &found.stray))
}

fn prune_old(options: Options, root: PathBuf, ctx: &Context) -> Result<Outcome, Failure> {
    let retention_days = match options.retention_days {
        Some(days) => days,
        None => env_retention()?.unwrap_or(evidence::DEFAULT_RETENTION_DAYS),
    };
    let plan = prune::plan(&root, retention_days, Utc::now().date_naive()).map_err(fail)?;
    if !ctx.check_mode {
        prune::execute(&root, &plan).map_err(fail)?;
    }
    #[derive(Serialize)]
    struct Held<'a> {
        path: &'a Path,
        retention_days: u32,
    }
    let held: Vec<Held> = plan
        .held
        .iter()
        .map(|(path, days)| Held {
            path,
            retention_days: *days,
        })
        .collect();
    Ok(Outcome::new(!plan.expired.is_empty())
        .with("removed", &plan.expired)
        .with("held", held)
        .with("kept", plan.kept)
        .with("cutoff", plan.cutoff.to_string())
        .with("retention_days", plan.retention_days))
}

fn check_health(options: Options, root: PathBuf) -> Result<Outcome, Failure> {
    let max_age = options
        .max_age
        .map_or(Duration::from_secs(26 * 3600), |m| m.0);
    if let Some(mode) = &options.mode {
        layout::validate_mode(mode).map_err(fail)?;
    }
    let newest = health::newest_run(&root, options.mode.as_deref()).map_err(fail)?;
    let what = options
        .mode
        .as_ref()
        .map_or("run".to_owned(), |m| format!("{m} run"));
    let judged = health::assess(newest, &what, &root, max_age, Utc::now());
    let newest = judged.newest.as_ref();
    let manifest = newest.map(|n| &n.manifest);
    let values = json!({
        "healthy": judged.verdict == health::Verdict::Healthy,
        "run_id": manifest.map(|m| &m.run_id),
        "run_dir": newest.map(|n| &n.run_dir),
        "mode": manifest.map(|m| &m.mode),
        "status": manifest.map(|m| m.status),
        "finished_at": manifest.map(|m| evidence::manifest::format_time(m.finished_at)),
        "age_seconds": judged.age.map(|a| a.as_secs()),
        "age": judged.age.map(units::human_duration),
        "max_age_seconds": max_age.as_secs(),
    });
    let Value::Object(values) = values else {
        unreachable!("json! of an object literal is an object")
    };
    if judged.verdict == health::Verdict::Healthy {
        let mut outcome = Outcome::new(false).with("msg", &judged.message);
        for (key, value) in values {
            outcome = outcome.with(&key, value);
        }
        return Ok(outcome);
    }
    let mut failure = Failure::new(judged.message);
    for (key, value) in values {
        failure = failure.with(&key, value);
    }
    Err(failure)
}

fn fail(err: evidence::Error) -> Failure {
    Failure::new(err.to_string())
}

fn absolute(path: &Path) -> Result<PathBuf, Failure> {
    std::path::absolute(path)
        .map_err(|err| Failure::new(format!("cannot resolve path {}: {err}", path.display())))
}

fn env_text(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `RETENTION_DAYS` from the environment, if set.
fn env_retention() -> Result<Option<u32>, Failure> {
    env_text("RETENTION_DAYS")
        .map(|text| {
            text.trim().parse::<u32>().map_err(|_| {
                Failure::new(format!(
                    "environment variable RETENTION_DAYS={text:?} is not a whole number of days"
                ))
            })
        })
        .transpose()
}

/// The kernel's host name (the module runs on Linux), else `$HOSTNAME`.
fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| env_text("HOSTNAME"))
        .unwrap_or_else(|| "unknown".to_owned())
}

fn main() -> ExitCode {
    ocpdr_modules::run::<Evidence>()
}
