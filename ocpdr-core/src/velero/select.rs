//! Choosing the backup to restore from: the one named, or the newest usable one.
//!
//! Usable means: `velero-backup.json` readable, `status.phase` is `Completed`, not expired, and
//! the tarball is there. So `PartiallyFailed`, `Failed`, `InProgress`, `Finalizing`,
//! `WaitingForPluginOperations*` and any other phase are never taken, nor a backup whose
//! metadata was uploaded but whose tarball was not (Velero uploads the JSON first). Newest is
//! by `status.startTimestamp` as Velero's own `mostRecentCompletedBackup` does, ties broken by
//! name; a missing start sorts as the oldest. The result lists every newer backup passed over,
//! with the reason.

use super::backup_cr::BackupInfo;
use super::error::{Error, Result, Skipped};
use chrono::{DateTime, Utc};
use serde::Serialize;

/// One backup found in the bucket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    /// The backup's directory name under `backups/`.
    pub name: String,
    /// Its parsed `velero-backup.json`, or why that could not be read.
    pub info: std::result::Result<BackupInfo, String>,
    /// Whether `<name>.tar.gz` is there.
    pub has_tarball: bool,
}

impl Listed {
    fn start(&self) -> Option<DateTime<Utc>> {
        self.info.as_ref().ok().and_then(BackupInfo::start)
    }

    /// `Ok(())` when the backup may be restored from at `now`, else the reason it may not.
    pub fn usable(&self, now: DateTime<Utc>) -> std::result::Result<(), String> {
        let info = self
            .info
            .as_ref()
            .map_err(|e| format!("velero-backup.json unreadable: {e}"))?;
        match info.phase.as_deref() {
            Some("Completed") => {}
            Some(phase) => return Err(format!("phase is {phase}, not Completed")),
            None => return Err("no status.phase".to_owned()),
        }
        if info.is_expired(now) {
            return Err(format!(
                "expired at {}",
                info.expiration.as_deref().unwrap_or_default()
            ));
        }
        if !self.has_tarball {
            return Err(format!(
                "{}.tar.gz is missing (upload failed or still running)",
                self.name
            ));
        }
        Ok(())
    }

    fn skipped(&self, reason: String) -> Skipped {
        let info = self.info.as_ref().ok();
        Skipped {
            name: self.name.clone(),
            phase: info.and_then(|i| i.phase.clone()),
            start_timestamp: info.and_then(|i| i.start_timestamp.clone()),
            reason,
        }
    }

    fn schedule(&self) -> Option<&str> {
        self.info.as_ref().ok().and_then(|i| i.schedule.as_deref())
    }
}

/// Sorts newest first: by start time, then by name, both descending.
pub fn sort_newest_first(listed: &mut [Listed]) {
    listed.sort_by(|a, b| b.start().cmp(&a.start()).then_with(|| b.name.cmp(&a.name)));
}

/// Which backup to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wanted<'a> {
    /// This one, by name.
    Named(&'a str),
    /// The newest usable one, optionally only among those of one schedule.
    Newest {
        /// Value of the `velero.io/schedule-name` label to require.
        schedule: Option<&'a str>,
    },
}

/// The chosen backup and the newer ones passed over.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Choice {
    /// The backup to read.
    pub backup: BackupInfo,
    /// Newer backups (of the schedule, if one was asked for) not taken, and why.
    pub skipped: Vec<Skipped>,
}

/// Picks the backup `wanted` from `listed` at time `now`.
pub fn choose(listed: &[Listed], wanted: Wanted<'_>, now: DateTime<Utc>) -> Result<Choice> {
    let mut sorted = listed.to_vec();
    sort_newest_first(&mut sorted);
    match wanted {
        Wanted::Named(name) => {
            let Some(found) = sorted.iter().find(|l| l.name == name) else {
                return Err(Error::BackupNotFound {
                    name: name.to_owned(),
                    available: sorted.iter().map(|l| l.name.clone()).collect(),
                });
            };
            found.usable(now).map_err(|reason| Error::BackupNotUsable {
                name: name.to_owned(),
                reason,
            })?;
            let backup = found
                .info
                .clone()
                .map_err(|reason| Error::BackupNotUsable {
                    name: name.to_owned(),
                    reason,
                })?;
            Ok(Choice {
                backup,
                skipped: Vec::new(),
            })
        }
        Wanted::Newest { schedule } => {
            let mut skipped = Vec::new();
            for candidate in sorted
                .iter()
                .filter(|l| schedule.is_none() || l.schedule() == schedule)
            {
                match candidate.usable(now) {
                    Ok(()) => {
                        let backup =
                            candidate
                                .info
                                .clone()
                                .map_err(|reason| Error::BackupNotUsable {
                                    name: candidate.name.clone(),
                                    reason,
                                })?;
                        return Ok(Choice { backup, skipped });
                    }
                    Err(reason) => skipped.push(candidate.skipped(reason)),
                }
            }
            Err(Error::NoUsableBackup {
                schedule: schedule.map(str::to_owned),
                skipped,
            })
        }
    }
}

/// One line of the bucket listing (`list: true`), newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Backup name.
    pub name: String,
    /// `status.phase`.
    pub phase: Option<String>,
    /// `status.startTimestamp`.
    pub start_timestamp: Option<String>,
    /// `status.completionTimestamp`.
    pub completion_timestamp: Option<String>,
    /// `status.expiration`.
    pub expiration: Option<String>,
    /// Label `velero.io/schedule-name`.
    pub schedule: Option<String>,
    /// `spec.includedNamespaces`.
    pub included_namespaces: Vec<String>,
    /// Whether the tarball is there.
    pub has_tarball: bool,
    /// Whether it would be taken if named (Completed, not expired, tarball present).
    pub usable: bool,
    /// Why not, when not.
    pub reason: Option<String>,
}

/// The listing, newest first, with what makes each backup usable or not at `now`.
pub fn summarize(listed: &[Listed], now: DateTime<Utc>) -> Vec<Summary> {
    let mut sorted = listed.to_vec();
    sort_newest_first(&mut sorted);
    sorted
        .iter()
        .map(|l| {
            let info = l.info.as_ref().ok();
            let verdict = l.usable(now);
            Summary {
                name: l.name.clone(),
                phase: info.and_then(|i| i.phase.clone()),
                start_timestamp: info.and_then(|i| i.start_timestamp.clone()),
                completion_timestamp: info.and_then(|i| i.completion_timestamp.clone()),
                expiration: info.and_then(|i| i.expiration.clone()),
                schedule: info.and_then(|i| i.schedule.clone()),
                included_namespaces: info
                    .map(|i| i.included_namespaces.clone())
                    .unwrap_or_default(),
                has_tarball: l.has_tarball,
                usable: verdict.is_ok(),
                reason: verdict.err(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn listed(
        name: &str,
        phase: &str,
        start: &str,
        schedule: Option<&str>,
        has_tarball: bool,
    ) -> Listed {
        let mut labels = json!({});
        if let Some(s) = schedule {
            labels["velero.io/schedule-name"] = json!(s);
        }
        let cr = json!({"kind": "Backup", "apiVersion": "velero.io/v1",
                        "metadata": {"name": name, "labels": labels},
                        "status": {"phase": phase, "startTimestamp": start, "expiration": "2025-03-01T00:00:00Z"}});
        Listed {
            name: name.into(),
            info: BackupInfo::parse(cr.to_string().as_bytes(), name).map_err(|e| e.to_string()),
            has_tarball,
        }
    }

    fn now() -> DateTime<Utc> {
        "2025-01-20T00:00:00Z".parse().unwrap()
    }

    fn bucket() -> Vec<Listed> {
        vec![
            listed(
                "old-ok",
                "Completed",
                "2025-01-01T00:00:00Z",
                Some("nightly"),
                true,
            ),
            listed(
                "newer-ok",
                "Completed",
                "2025-01-05T00:00:00Z",
                Some("nightly"),
                true,
            ),
            listed(
                "partial",
                "PartiallyFailed",
                "2025-01-06T00:00:00Z",
                Some("nightly"),
                true,
            ),
            listed("running", "InProgress", "2025-01-07T00:00:00Z", None, false),
            listed("manual-ok", "Completed", "2025-01-04T00:00:00Z", None, true),
            listed(
                "no-tarball",
                "Completed",
                "2025-01-08T00:00:00Z",
                Some("nightly"),
                false,
            ),
            Listed {
                name: "broken".into(),
                info: Err("not JSON".into()),
                has_tarball: true,
            },
        ]
    }

    #[test]
    fn newest_completed_passes_over_newer_unusable_ones() {
        let choice = choose(&bucket(), Wanted::Newest { schedule: None }, now()).unwrap();
        assert_eq!(choice.backup.name, "newer-ok");
        let skipped: Vec<(&str, &str)> = choice
            .skipped
            .iter()
            .map(|s| (s.name.as_str(), s.reason.as_str()))
            .collect();
        assert_eq!(
            skipped,
            [
                (
                    "no-tarball",
                    "no-tarball.tar.gz is missing (upload failed or still running)"
                ),
                ("running", "phase is InProgress, not Completed"),
                ("partial", "phase is PartiallyFailed, not Completed"),
            ]
        );
    }

    #[test]
    fn schedule_filter_and_expiry() {
        let choice = choose(
            &bucket(),
            Wanted::Newest {
                schedule: Some("nightly"),
            },
            now(),
        )
        .unwrap();
        assert_eq!(choice.backup.name, "newer-ok");
        assert_eq!(choice.skipped.len(), 2);
        let later: DateTime<Utc> = "2025-04-01T00:00:00Z".parse().unwrap();
        let err = choose(
            &bucket(),
            Wanted::Newest {
                schedule: Some("nightly"),
            },
            later,
        )
        .unwrap_err();
        assert!(err.to_string().starts_with("no Completed backup of schedule \"nightly\" to use; passed over: no-tarball (expired"), "{err}");
        assert!(
            err.to_string()
                .contains("old-ok (expired at 2025-03-01T00:00:00Z)"),
            "{err}"
        );
    }

    #[test]
    fn named_backups_must_exist_and_be_usable() {
        assert_eq!(
            choose(&bucket(), Wanted::Named("old-ok"), now())
                .unwrap()
                .backup
                .name,
            "old-ok"
        );
        let err = choose(&bucket(), Wanted::Named("nope"), now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backup \"nope\" not found; backups in the bucket: no-tarball, running, partial, newer-ok, manual-ok, old-ok, broken"
        );
        let err = choose(&bucket(), Wanted::Named("partial"), now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backup \"partial\" cannot be used: phase is PartiallyFailed, not Completed"
        );
        let err = choose(&bucket(), Wanted::Named("broken"), now()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "backup \"broken\" cannot be used: velero-backup.json unreadable: not JSON"
        );
    }

    #[test]
    fn summary_is_newest_first_with_verdicts() {
        let summary = summarize(&bucket(), now());
        assert_eq!(summary[0].name, "no-tarball");
        assert!(!summary[0].usable);
        let ok = summary.iter().find(|s| s.name == "newer-ok").unwrap();
        assert!(ok.usable && ok.reason.is_none() && ok.has_tarball);
        assert_eq!(summary.last().unwrap().name, "broken");
    }
}
