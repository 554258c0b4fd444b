//! The result of one volume and of the whole request, built from what the runs produced.
//!
//! The edge that runs rsync reports each attempt as an [`Attempt`]; [`VolumeResult::new`]
//! decides from the last one whether the volume failed, changed, or (in verify mode) is in
//! sync, and words the message a person reads. [`Totals::of`] adds the figures up.

use super::exit::{self, Verdict};
use super::options::Mode;
use super::output::{Change, Report, Stats};
use super::plan::PlannedVolume;
use serde::Serialize;
use std::time::Duration;

/// How many itemized changes each volume result lists (all are counted).
pub const CHANGES_KEPT: usize = 50;
/// How many lines of stderr a result keeps.
pub const STDERR_KEPT: usize = 20;

/// How one rsync attempt ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// rsync exited with this status.
    Exited(i32),
    /// The volume's time limit ran out and rsync was killed.
    TimedOut,
    /// rsync was ended by a signal it did not handle.
    Signaled(i32),
    /// rsync could not be started at all.
    NotStarted(String),
}

/// What one attempt produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// How it ended.
    pub ending: Ending,
    /// The first [`STDERR_KEPT`] lines of stderr.
    pub stderr: Vec<String>,
    /// The parsed stdout.
    pub report: Report,
}

impl Attempt {
    /// The verdict: exit statuses as [`exit::classify`] sees them; a timeout, a signal or a
    /// failure to start is final.
    pub fn verdict(&self) -> Verdict {
        match self.ending {
            Ending::Exited(code) => exit::classify(code, &self.stderr.join("\n")),
            _ => Verdict::Fail,
        }
    }
}

/// The result of one volume, as the module returns it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VolumeResult {
    /// The volume's name.
    pub name: String,
    /// The source as synced (`[user@host:]path`).
    pub source: String,
    /// The destination as synced.
    pub destination: String,
    /// The command, shell-quoted, for logs and evidence.
    pub command: String,
    /// rsync's exit status of the last attempt; `null` when it timed out, was killed or did
    /// not start.
    pub rc: Option<i32>,
    /// Whether the volume failed.
    pub failed: bool,
    /// Whether the destination changed (check mode: would change; verify: always false).
    pub changed: bool,
    /// How many attempts ran.
    pub attempts: u32,
    /// Wall-clock seconds for the volume, retries and waits included.
    pub duration_s: f64,
    /// The figures of the last attempt.
    #[serde(flatten)]
    pub stats: Stats,
    /// How many itemized changes (creations, updates, deletions) there were.
    pub changes_total: u64,
    /// The first [`CHANGES_KEPT`] of them.
    pub changes: Vec<Change>,
    /// Verify mode: whether the destination matches the source. `null` in sync mode.
    pub in_sync: Option<bool>,
    /// Verify mode: how many items differ (missing, changed, or extraneous with delete).
    pub differences: Option<u64>,
    /// What went wrong, or the warning (vanished files); `null` when all is well.
    pub msg: Option<String>,
    /// The first lines of stderr when the volume failed or warned.
    pub stderr: Vec<String>,
}

impl VolumeResult {
    /// The result of `volume` from its attempts (at least one) and its total time.
    pub fn new(
        volume: &PlannedVolume,
        mode: Mode,
        attempts: &[Attempt],
        duration: Duration,
    ) -> Self {
        let last = attempts.last();
        let verdict = last.map_or(Verdict::Fail, Attempt::verdict);
        let failed = matches!(verdict, Verdict::Fail | Verdict::Retry);
        let report = last.map(|a| a.report.clone()).unwrap_or_default();
        let verify = mode == Mode::Verify;
        let msg = last.and_then(|a| message(a, verdict, attempts.len()));
        VolumeResult {
            name: volume.name.clone(),
            source: volume.source.to_string(),
            destination: volume.destination.to_string(),
            command: volume.invocation.to_string(),
            rc: last.and_then(|a| match a.ending {
                Ending::Exited(code) => Some(code),
                _ => None,
            }),
            failed,
            changed: !verify && !failed && report.changed(),
            attempts: u32::try_from(attempts.len()).unwrap_or(u32::MAX),
            duration_s: (duration.as_secs_f64() * 1000.0).round() / 1000.0,
            stats: report.stats.clone(),
            changes_total: report.change_count,
            in_sync: verify.then_some(!failed && !report.changed()),
            differences: (verify && !failed).then_some(report.change_count),
            changes: report.changes,
            stderr: if msg.is_some() {
                last.map(|a| a.stderr.clone()).unwrap_or_default()
            } else {
                Vec::new()
            },
            msg,
        }
    }
}

/// The message for a failed or warned attempt.
fn message(attempt: &Attempt, verdict: Verdict, attempts: usize) -> Option<String> {
    let first_line = attempt
        .stderr
        .iter()
        .map(|l| l.trim())
        .find(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
        .unwrap_or("no message on stderr");
    let tries = if attempts > 1 {
        format!(" after {attempts} attempts")
    } else {
        String::new()
    };
    match (&attempt.ending, verdict) {
        (_, Verdict::Success) => None,
        (Ending::Exited(code), Verdict::Vanished) => Some(format!(
            "warning: rsync exit {code} ({}): synced, but files vanished from the source while \
             it ran (a live volume): {first_line}",
            exit::meaning(*code)
        )),
        (Ending::Exited(code), _) => Some(format!(
            "rsync exit {code} ({}){tries}: {first_line}",
            exit::meaning(*code)
        )),
        (Ending::TimedOut, _) => Some(format!(
            "timed out{tries}: rsync was stopped when the volume's timeout ran out; a re-run \
             resumes from what was transferred"
        )),
        (Ending::Signaled(signal), _) => Some(format!("rsync was killed by signal {signal}")),
        (Ending::NotStarted(why), _) => Some(format!("cannot start rsync: {why}")),
    }
}

/// Figures summed over all volumes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Volumes in the request.
    pub volumes: u64,
    /// Volumes that changed (would change, in check mode).
    pub changed: u64,
    /// Volumes that failed.
    pub failed: u64,
    /// Regular files transferred.
    pub files_transferred: u64,
    /// Files deleted on destinations.
    pub files_deleted: u64,
    /// Bytes in all sources.
    pub total_size: u64,
    /// New data sent.
    pub literal_bytes: u64,
    /// Data reused from the destinations.
    pub matched_bytes: u64,
    /// Bytes sent on the wire.
    pub bytes_sent: u64,
    /// Bytes received on the wire.
    pub bytes_received: u64,
}

impl Totals {
    /// Adds up `results`; figures a volume did not report count as 0.
    pub fn of(results: &[VolumeResult]) -> Self {
        let mut t = Totals::default();
        for r in results {
            let s = &r.stats;
            t.volumes += 1;
            t.changed += u64::from(r.changed);
            t.failed += u64::from(r.failed);
            t.files_transferred += s.files_transferred.unwrap_or(0);
            t.files_deleted += s.files_deleted.unwrap_or(0);
            t.total_size += s.total_size.unwrap_or(0);
            t.literal_bytes += s.literal_bytes.unwrap_or(0);
            t.matched_bytes += s.matched_bytes.unwrap_or(0);
            t.bytes_sent += s.bytes_sent.unwrap_or(0);
            t.bytes_received += s.bytes_received.unwrap_or(0);
        }
        t
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rsync::output::parse_output;
    use crate::rsync::{SyncOptions, plan};

    fn volume() -> PlannedVolume {
        let options: SyncOptions = serde_json::from_value(serde_json::json!({
            "volumes": [{"name": "disk", "source": "/exports/a", "destination": "nfs-dr:/dr/a"}],
            "allowed_roots": ["/dr"]}))
        .unwrap();
        plan(&options, false).unwrap().remove(0)
    }

    fn attempt(ending: Ending, stdout: &str, stderr: &[&str]) -> Attempt {
        Attempt {
            ending,
            stderr: stderr.iter().map(|s| (*s).to_owned()).collect(),
            report: parse_output(stdout, CHANGES_KEPT),
        }
    }

    #[test]
    fn a_successful_sync_reports_its_figures() {
        let out = ">f.st...... disk.img\n\nNumber of regular files transferred: 1\n\
                   Literal data: 4,096 bytes\nTotal bytes sent: 5,000\n";
        let r = VolumeResult::new(
            &volume(),
            Mode::Sync,
            &[attempt(Ending::Exited(0), out, &[])],
            Duration::from_millis(1234),
        );
        assert!(r.changed && !r.failed);
        assert_eq!(r.rc, Some(0));
        assert_eq!(r.stats.files_transferred, Some(1));
        assert_eq!(r.stats.literal_bytes, Some(4096));
        assert_eq!(r.duration_s, 1.234);
        assert_eq!(r.msg, None);
        assert!(r.in_sync.is_none());
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(
            json["bytes_sent"], 5000,
            "figures are flat in the result: {json}"
        );
        assert_eq!(json["changes"][0]["path"], "disk.img");
    }

    #[test]
    fn retries_exhausted_fail_with_ssh_message_and_count() {
        let refused = [
            "ssh: connect to host nfs-dr port 22: Connection refused",
            "rsync: connection unexpectedly closed (0 bytes received so far) [sender]",
        ];
        let a = attempt(Ending::Exited(255), "", &refused);
        let r = VolumeResult::new(
            &volume(),
            Mode::Sync,
            &[a.clone(), a],
            Duration::from_secs(3),
        );
        assert!(r.failed && !r.changed);
        assert_eq!(r.attempts, 2);
        assert_eq!(
            r.msg.as_deref(),
            Some(
                "rsync exit 255 (ssh failed (connection or authentication)) after 2 attempts: \
                 ssh: connect to host nfs-dr port 22: Connection refused"
            )
        );
        assert_eq!(r.stderr.len(), 2);
    }

    #[test]
    fn vanished_files_warn_without_failing() {
        let out = ">f+++++++++ new\n";
        let r = VolumeResult::new(
            &volume(),
            Mode::Sync,
            &[attempt(
                Ending::Exited(24),
                out,
                &["file has vanished: \"/exports/a/tmp\""],
            )],
            Duration::ZERO,
        );
        assert!(!r.failed && r.changed);
        assert!(r.msg.unwrap().starts_with("warning: rsync exit 24"));
    }

    #[test]
    fn verify_reports_sync_state_and_never_changed() {
        let differ = VolumeResult::new(
            &volume(),
            Mode::Verify,
            &[attempt(
                Ending::Exited(0),
                ">fc........ disk.img\n*deleting   stale\n",
                &[],
            )],
            Duration::ZERO,
        );
        assert_eq!(
            (differ.changed, differ.in_sync, differ.differences),
            (false, Some(false), Some(2))
        );
        let same = VolumeResult::new(
            &volume(),
            Mode::Verify,
            &[attempt(Ending::Exited(0), "", &[])],
            Duration::ZERO,
        );
        assert_eq!((same.in_sync, same.differences), (Some(true), Some(0)));
        let unreachable = VolumeResult::new(
            &volume(),
            Mode::Verify,
            &[attempt(Ending::TimedOut, "", &[])],
            Duration::ZERO,
        );
        assert_eq!(
            (
                unreachable.failed,
                unreachable.in_sync,
                unreachable.differences
            ),
            (true, Some(false), None)
        );
        assert!(unreachable.msg.unwrap().starts_with("timed out"));
    }

    #[test]
    fn totals_add_up() {
        let ok = VolumeResult::new(
            &volume(),
            Mode::Sync,
            &[attempt(
                Ending::Exited(0),
                ">f+++++++++ a\nTotal bytes sent: 10\nNumber of regular files transferred: 1\n",
                &[],
            )],
            Duration::ZERO,
        );
        let bad = VolumeResult::new(
            &volume(),
            Mode::Sync,
            &[attempt(Ending::NotStarted("not found".into()), "", &[])],
            Duration::ZERO,
        );
        let t = Totals::of(&[ok.clone(), ok, bad]);
        assert_eq!(
            (
                t.volumes,
                t.changed,
                t.failed,
                t.bytes_sent,
                t.files_transferred
            ),
            (3, 2, 1, 20, 2)
        );
    }
}
