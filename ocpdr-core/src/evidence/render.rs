//! Renders a run's record for people: `report.md` and a self-contained `report.html` (inline
//! CSS, no scripts, no external assets, a Content-Security-Policy that forbids loading any).
//!
//! Both come from askama templates in `ocpdr-core/templates/evidence/`, compiled into the
//! binary, over one view model built here: the run's facts, its summary, a timeline of its
//! steps, a table per section of the [`Report`], and the artifacts with their hashes. All the
//! arithmetic (bar positions, durations, totals) happens here, so the templates only lay out
//! text. HTML escaping is askama's; Markdown table cells are escaped by [`md_cell`].

use super::error::{Error, Result};
use super::manifest::{Manifest, format_time};
use super::report::{ObjectAction, Outcome, Report};
use super::units::{human_bytes, human_duration};
use askama::Template;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::time::Duration;

/// Width of the text timeline in `report.md`, in characters.
const TEXT_BAR_WIDTH: usize = 48;
/// Narrowest bar drawn, in percent of the timeline, so instant steps stay visible.
const MIN_BAR_PERCENT: f64 = 0.6;

/// `report.md` for the run described by `manifest` (whose `artifacts` are listed in it).
pub fn render_markdown(manifest: &Manifest, report: &Report) -> Result<String> {
    let view = View::build(manifest, report, md_cell);
    MarkdownReport { v: &view }.render().map_err(Error::Render)
}

/// `report.html` for the run described by `manifest`.
pub fn render_html(manifest: &Manifest, report: &Report) -> Result<String> {
    let view = View::build(manifest, report, |s| s.to_owned());
    HtmlReport { v: &view }.render().map_err(Error::Render)
}

#[derive(Template)]
#[template(path = "evidence/report.md")]
struct MarkdownReport<'a> {
    v: &'a View,
}

#[derive(Template)]
#[template(path = "evidence/report.html")]
struct HtmlReport<'a> {
    v: &'a View,
}

/// Everything the templates show, as display-ready text (escaped for Markdown when rendering
/// Markdown).
struct View {
    title: String,
    status: &'static str,
    facts: Vec<(&'static str, String)>,
    summary: Vec<(String, String)>,
    timeline: Option<Timeline>,
    steps: Vec<StepRow>,
    volumes: Vec<VolumeRow>,
    volume_totals: String,
    objects: Vec<ObjectRow>,
    object_counts: String,
    drift: Vec<DriftRow>,
    drift_counts: String,
    artifacts: Vec<ArtifactRow>,
    redactions: Vec<String>,
}

struct Timeline {
    start: String,
    end: String,
    bars: Vec<Bar>,
    /// The whole timeline as fixed-width text lines, for `report.md`.
    text: Vec<String>,
}

struct Bar {
    name: String,
    status: &'static str,
    left: String,
    width: String,
    tooltip: String,
    duration: String,
}

struct StepRow {
    number: usize,
    name: String,
    status: &'static str,
    started: String,
    finished: String,
    duration: String,
    detail: String,
}

struct VolumeRow {
    name: String,
    status: &'static str,
    transferred: String,
    total: String,
    files: String,
    duration: String,
    rate: String,
    source: String,
    destination: String,
    detail: String,
}

struct ObjectRow {
    kind: String,
    namespace: String,
    name: String,
    action: &'static str,
    detail: String,
}

struct DriftRow {
    kind: String,
    namespace: String,
    name: String,
    issue: &'static str,
    resolved: &'static str,
    detail: String,
}

struct ArtifactRow {
    path: String,
    size: String,
    sha256: String,
}

impl View {
    fn build(m: &Manifest, r: &Report, esc: fn(&str) -> String) -> View {
        let opt = |s: &Option<String>| s.as_deref().map(esc).unwrap_or_default();
        let title = r
            .title
            .clone()
            .unwrap_or_else(|| format!("{} run {}", m.mode, m.run_id));
        let facts = vec![
            ("Run ID", esc(&m.run_id)),
            ("Mode", esc(&m.mode)),
            ("Status", m.status.as_str().to_owned()),
            ("Change", esc(m.change_id.as_deref().unwrap_or("none"))),
            ("Script version", esc(&m.script_version)),
            ("Host", esc(&m.host)),
            ("Started", format_time(m.started_at)),
            ("Finished", format_time(m.finished_at)),
            (
                "Duration",
                human_duration(elapsed(m.started_at, m.finished_at)),
            ),
            (
                "Retention",
                format!(
                    "{} days (until {})",
                    m.retention_days,
                    (m.started_at + chrono::Days::new(u64::from(m.retention_days)))
                        .format("%Y-%m-%d")
                ),
            ),
        ];
        let summary = m
            .summary
            .iter()
            .map(|(k, v)| {
                let text = match v {
                    Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (esc(k), esc(&text))
            })
            .collect();

        let steps = r
            .steps
            .iter()
            .enumerate()
            .map(|(i, s)| StepRow {
                number: i + 1,
                name: esc(&s.name),
                status: s.status.as_str(),
                started: format_time(s.started_at),
                finished: format_time(s.finished_at),
                duration: human_duration(elapsed(s.started_at, s.finished_at)),
                detail: opt(&s.detail),
            })
            .collect();

        let volumes: Vec<VolumeRow> = r
            .volumes
            .iter()
            .map(|v| VolumeRow {
                name: esc(&v.name),
                status: v.status.as_str(),
                transferred: human_bytes(v.bytes),
                total: v.total_bytes.map(human_bytes).unwrap_or_default(),
                files: v.files.map(|f| f.to_string()).unwrap_or_default(),
                duration: human_duration(Duration::from_secs_f64(v.duration_seconds)),
                rate: rate(v.bytes, v.duration_seconds),
                source: opt(&v.source),
                destination: opt(&v.destination),
                detail: opt(&v.detail),
            })
            .collect();
        let volume_totals = {
            let bytes: u64 = r.volumes.iter().map(|v| v.bytes).sum();
            let counts = count_outcomes(r.volumes.iter().map(|v| v.status));
            format!("Total: {counts}; {} transferred", human_bytes(bytes))
        };

        let objects = r
            .objects
            .iter()
            .map(|o| ObjectRow {
                kind: esc(&o.kind),
                namespace: opt(&o.namespace),
                name: esc(&o.name),
                action: o.action.as_str(),
                detail: opt(&o.detail),
            })
            .collect();
        let object_counts = ObjectAction::ALL
            .iter()
            .filter_map(|action| {
                let n = r.objects.iter().filter(|o| o.action == *action).count();
                (n > 0).then(|| format!("{n} {}", action.as_str()))
            })
            .collect::<Vec<_>>()
            .join(", ");

        let drift = r
            .drift
            .iter()
            .map(|d| DriftRow {
                kind: esc(&d.kind),
                namespace: opt(&d.namespace),
                name: esc(&d.name),
                issue: d.issue.as_str(),
                resolved: if d.resolved { "yes" } else { "no" },
                detail: opt(&d.detail),
            })
            .collect();
        let resolved = r.drift.iter().filter(|d| d.resolved).count();
        let drift_counts = format!("{} found, {resolved} resolved", r.drift.len());

        View {
            title: esc(&title),
            status: m.status.as_str(),
            facts,
            summary,
            timeline: Timeline::build(m, r, esc),
            steps,
            volumes,
            volume_totals,
            objects,
            object_counts,
            drift,
            drift_counts,
            artifacts: m
                .artifacts
                .iter()
                .map(|a| ArtifactRow {
                    path: esc(&a.path),
                    size: human_bytes(a.size),
                    sha256: a.sha256.clone(),
                })
                .collect(),
            redactions: m
                .redactions
                .iter()
                .map(|x| esc(&format!("{}: {}", x.artifact, x.location)))
                .collect(),
        }
    }
}

impl Timeline {
    /// Bars positioned on the span from the run's (or first step's) start to its (or the last
    /// step's) end; `None` without steps.
    fn build(m: &Manifest, r: &Report, esc: fn(&str) -> String) -> Option<Timeline> {
        let first = r.steps.iter().map(|s| s.started_at).min()?;
        let last = r.steps.iter().map(|s| s.finished_at).max()?;
        let start = first.min(m.started_at);
        let end = last.max(m.finished_at);
        let span = elapsed(start, end).as_secs_f64().max(0.001);
        let percent = |t: DateTime<Utc>| elapsed(start, t).as_secs_f64() / span * 100.0;

        let name_width = r
            .steps
            .iter()
            .map(|s| s.name.chars().count())
            .max()
            .unwrap_or(0)
            .clamp(4, 32);
        let (from, to) = (time_of_day(start), time_of_day(end));
        let gap = TEXT_BAR_WIDTH.saturating_sub(from.len() + to.len());
        let mut text = vec![format!("{:name_width$}   {from}{:gap$}{to}", "", "")];
        let mut bars = Vec::new();
        for s in &r.steps {
            let left = percent(s.started_at).clamp(0.0, 100.0 - MIN_BAR_PERCENT);
            // Not clamp: float rounding can put 100 - left a hair below the minimum width.
            let width = f64::min(
                (percent(s.finished_at) - left).max(MIN_BAR_PERCENT),
                100.0 - left,
            );
            let duration = human_duration(elapsed(s.started_at, s.finished_at));
            let offset = human_duration(elapsed(start, s.started_at));
            text.push(text_bar(
                &s.name, name_width, left, width, &duration, s.status,
            ));
            bars.push(Bar {
                name: esc(&s.name),
                status: s.status.as_str(),
                left: format!("{left:.2}"),
                width: format!("{width:.2}"),
                tooltip: esc(&format!(
                    "{}: {} at +{offset}, took {duration}",
                    s.name,
                    s.status.as_str()
                )),
                duration,
            });
        }
        Some(Timeline {
            start: format_time(start),
            end: format_time(end),
            bars,
            text,
        })
    }
}

/// One line of the text timeline: `name  |....####......|  1m 02s  success`.
fn text_bar(
    name: &str,
    name_width: usize,
    left: f64,
    width: f64,
    duration: &str,
    status: Outcome,
) -> String {
    let cells = TEXT_BAR_WIDTH as f64;
    // Rounding positions to whole characters is the point of a text bar.
    let from = ((left / 100.0 * cells).round() as usize).min(TEXT_BAR_WIDTH - 1);
    let len = ((width / 100.0 * cells).round() as usize).clamp(1, TEXT_BAR_WIDTH - from);
    let mark = match status {
        Outcome::Success => '#',
        Outcome::Partial => '%',
        Outcome::Failed => 'X',
        Outcome::Skipped => '-',
    };
    let bar: String = (0..TEXT_BAR_WIDTH)
        .map(|i| {
            if (from..from + len).contains(&i) {
                mark
            } else {
                '.'
            }
        })
        .collect();
    let mut label: String = name
        .chars()
        .map(|c| if c.is_control() || c == '`' { ' ' } else { c })
        .take(name_width)
        .collect();
    if name.chars().count() > name_width {
        label.pop();
        label.push('…');
    }
    format!(
        "{label:name_width$}  |{bar}|  {duration:>10}  {}",
        status.as_str()
    )
}

fn elapsed(from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
    (to - from).to_std().unwrap_or_default()
}

fn time_of_day(time: DateTime<Utc>) -> String {
    time.format("%H:%M:%SZ").to_string()
}

fn rate(bytes: u64, seconds: f64) -> String {
    if seconds <= 0.0 || bytes == 0 {
        return String::new();
    }
    // Display only: sizes far below 2^53 bytes convert exactly enough.
    format!("{}/s", human_bytes((bytes as f64 / seconds) as u64))
}

fn count_outcomes(outcomes: impl Iterator<Item = Outcome>) -> String {
    let all: Vec<Outcome> = outcomes.collect();
    [
        Outcome::Success,
        Outcome::Partial,
        Outcome::Failed,
        Outcome::Skipped,
    ]
    .iter()
    .filter_map(|o| {
        let n = all.iter().filter(|x| *x == o).count();
        (n > 0).then(|| format!("{n} {}", o.as_str()))
    })
    .collect::<Vec<_>>()
    .join(", ")
}

/// Escapes text for one Markdown table cell: `|`, `\`, `<`, `>` and backticks are
/// backslash-escaped, line breaks become spaces, other control characters are dropped.
pub fn md_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' | '\\' | '<' | '>' | '`' => {
                out.push('\\');
                out.push(c);
            }
            '\n' | '\r' | '\t' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests;
