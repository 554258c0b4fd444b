//! The structured results of a run (the `report` option of `write`): its steps, the volumes it
//! synced, the objects it applied and the drift it found. `write` stores them as `report.json`
//! and renders `report.md` and `report.html` from them ([`super::render`]).
//!
//! This is the contract between the three DR modes and the evidence: every field is checked
//! (unknown keys are refused), times are RFC 3339 (or UTC without an offset, as Ansible's
//! `now(utc=true)` prints them), and every list may be empty or left out.

use super::error::{Error, Result};
use super::redact::redact_text;
use super::units::flexible_time;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// What a run did, section by section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Report {
    /// Heading of the report; default `<mode> run <run_id>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// The run's steps in order: the timeline.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// Volumes whose data was synced (or not).
    #[serde(default)]
    pub volumes: Vec<Volume>,
    /// Kubernetes objects applied to or deleted from the DR cluster.
    #[serde(default)]
    pub objects: Vec<ObjectResult>,
    /// Differences found between the primary and the DR site.
    #[serde(default)]
    pub drift: Vec<Drift>,
}

/// The outcome of one step or volume.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Done.
    Success,
    /// Partly done.
    Partial,
    /// Not done because of an error.
    Failed,
    /// Deliberately not done (check mode, not needed, disabled).
    Skipped,
}

impl Outcome {
    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Partial => "partial",
            Outcome::Failed => "failed",
            Outcome::Skipped => "skipped",
        }
    }
}

/// One step of the run, a bar on the timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Step {
    /// What the step did, e.g. `Final data sync`.
    pub name: String,
    /// When it started.
    #[serde(with = "flexible_time")]
    pub started_at: DateTime<Utc>,
    /// When it ended; not before `started_at`.
    #[serde(with = "flexible_time")]
    pub finished_at: DateTime<Utc>,
    /// How it ended.
    pub status: Outcome,
    /// One line of detail, e.g. the error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The data sync of one volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Volume {
    /// Which volume, e.g. `app-ns1/rhel9-vm-disk` (PVC) or the PV name.
    pub name: String,
    /// Where the data came from, e.g. `nfs-primary:/exports/app-ns1/rhel9-vm-disk`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Where it went.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination: Option<String>,
    /// How the sync ended.
    pub status: Outcome,
    /// Bytes transferred.
    #[serde(default)]
    pub bytes: u64,
    /// Size of the volume's data, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total_bytes: Option<u64>,
    /// Files transferred, if known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub files: Option<u64>,
    /// Wall-clock seconds the sync took.
    #[serde(default)]
    pub duration_seconds: f64,
    /// One line of detail, e.g. the rsync error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// What happened to a Kubernetes object.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ObjectAction {
    /// Did not exist, now does.
    Created,
    /// Existed and was changed.
    Configured,
    /// Existed and already matched.
    Unchanged,
    /// Was removed.
    Deleted,
    /// Left alone on purpose.
    Skipped,
    /// The apply or delete failed.
    Failed,
}

impl ObjectAction {
    /// All actions, in the order reports count them.
    pub const ALL: [ObjectAction; 6] = [
        ObjectAction::Created,
        ObjectAction::Configured,
        ObjectAction::Unchanged,
        ObjectAction::Deleted,
        ObjectAction::Skipped,
        ObjectAction::Failed,
    ];

    /// The word used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            ObjectAction::Created => "created",
            ObjectAction::Configured => "configured",
            ObjectAction::Unchanged => "unchanged",
            ObjectAction::Deleted => "deleted",
            ObjectAction::Skipped => "skipped",
            ObjectAction::Failed => "failed",
        }
    }
}

/// One object applied to or deleted from the DR cluster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ObjectResult {
    /// Kind, e.g. `PersistentVolumeClaim`.
    pub kind: String,
    /// Namespace; absent for cluster-scoped kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// What happened to it.
    pub action: ObjectAction,
    /// One line of detail, e.g. the API error.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// The kind of difference between the sites.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DriftIssue {
    /// On the primary, not on DR.
    MissingOnDr,
    /// On DR, no longer on the primary.
    ExtraOnDr,
    /// On both, different (spec, data, labels; say which in `detail`).
    Differs,
}

impl DriftIssue {
    /// The words used in reports.
    pub fn as_str(self) -> &'static str {
        match self {
            DriftIssue::MissingOnDr => "missing on DR",
            DriftIssue::ExtraOnDr => "extra on DR",
            DriftIssue::Differs => "differs",
        }
    }
}

/// One difference found between the primary and the DR site.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drift {
    /// Kind of the object (or `VolumeData` for a volume's files).
    pub kind: String,
    /// Namespace; absent for cluster-scoped kinds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub namespace: Option<String>,
    /// Name.
    pub name: String,
    /// What kind of difference.
    pub issue: DriftIssue,
    /// What differs, e.g. `spec.resources.requests.storage 10Gi vs 20Gi`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Whether this run fixed it.
    #[serde(default)]
    pub resolved: bool,
}

impl Report {
    /// Checks what serde cannot: steps end after they start, durations are real numbers.
    pub fn validate(&self) -> Result<()> {
        for (i, step) in self.steps.iter().enumerate() {
            if step.finished_at < step.started_at {
                return Err(Error::InvalidReport(format!(
                    "steps[{i}] ({:?}): finished_at {} is before started_at {}",
                    step.name,
                    step.finished_at.to_rfc3339(),
                    step.started_at.to_rfc3339()
                )));
            }
        }
        for (i, volume) in self.volumes.iter().enumerate() {
            if !volume.duration_seconds.is_finite() || volume.duration_seconds < 0.0 {
                return Err(Error::InvalidReport(format!(
                    "volumes[{i}] ({:?}): duration_seconds must be a number of seconds >= 0, got {}",
                    volume.name, volume.duration_seconds
                )));
            }
        }
        Ok(())
    }

    /// Masks secret-looking text in the free-text fields; returns the JSON pointers masked.
    pub fn redact(&mut self) -> Vec<String> {
        let mut found = Vec::new();
        let mut check = |text: &mut Option<String>, pointer: String| {
            if let Some(value) = text {
                let (clean, masked) = redact_text(value);
                if masked {
                    *value = clean;
                    found.push(pointer);
                }
            }
        };
        check(&mut self.title, "/title".into());
        for (i, s) in self.steps.iter_mut().enumerate() {
            check(&mut s.detail, format!("/steps/{i}/detail"));
        }
        for (i, v) in self.volumes.iter_mut().enumerate() {
            check(&mut v.detail, format!("/volumes/{i}/detail"));
        }
        for (i, o) in self.objects.iter_mut().enumerate() {
            check(&mut o.detail, format!("/objects/{i}/detail"));
        }
        for (i, d) in self.drift.iter_mut().enumerate() {
            check(&mut d.detail, format!("/drift/{i}/detail"));
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_schema_reads_what_roles_send_and_refuses_typos() {
        let report: Report = serde_json::from_value(json!({
            "steps": [{"name": "Sync", "started_at": "2025-09-18 02:00:00.000001",
                       "finished_at": "2025-09-18T02:01:00Z", "status": "success"}],
            "volumes": [{"name": "app/disk", "status": "failed", "bytes": 10,
                         "duration_seconds": 1.5, "detail": "rsync exit 23"}],
            "objects": [{"kind": "PersistentVolume", "name": "pv1", "action": "created"}],
            "drift": [{"kind": "PersistentVolumeClaim", "namespace": "app", "name": "disk",
                       "issue": "missing_on_dr", "resolved": true}],
        }))
        .unwrap();
        report.validate().unwrap();
        assert_eq!(report.steps[0].status, Outcome::Success);
        assert_eq!(report.volumes[0].total_bytes, None);
        assert_eq!(report.drift[0].issue.as_str(), "missing on DR");

        let typo = serde_json::from_value::<Report>(json!({"step": []})).unwrap_err();
        assert!(
            typo.to_string().starts_with("unknown field `step`"),
            "{typo}"
        );
        let bad_status = serde_json::from_value::<Report>(json!({"objects": [
            {"kind": "PV", "name": "x", "action": "applied"}]}))
        .unwrap_err();
        assert!(
            bad_status.to_string().contains("unknown variant `applied`"),
            "{bad_status}"
        );
        let bad_time = serde_json::from_value::<Report>(json!({"steps": [
            {"name": "x", "started_at": "soon", "finished_at": "2025-09-18T02:01:00Z", "status": "success"}]}))
        .unwrap_err();
        assert!(
            bad_time.to_string().contains("\"soon\" is not a time"),
            "{bad_time}"
        );
    }

    #[test]
    fn inconsistent_reports_are_refused_and_secrets_masked() {
        let mut report: Report = serde_json::from_value(json!({
            "steps": [{"name": "Sync", "started_at": "2025-09-18T02:01:00Z",
                       "finished_at": "2025-09-18T02:00:00Z", "status": "failed",
                       "detail": "login failed with password=hunter2"}],
        }))
        .unwrap();
        assert_eq!(
            report.validate().unwrap_err().to_string(),
            "report: steps[0] (\"Sync\"): finished_at 2025-09-18T02:00:00+00:00 is before \
             started_at 2025-09-18T02:01:00+00:00"
        );
        assert_eq!(report.redact(), ["/steps/0/detail"]);
        assert_eq!(
            report.steps[0].detail.as_deref(),
            Some("login failed with password=********")
        );
    }
}
