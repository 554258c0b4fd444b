//! Running planned rsync volumes: a bounded pool of workers, retries with backoff for
//! connection-level failures, a per-volume time limit, and the local-path guard that needs the
//! filesystem.
//!
//! Planning, output parsing, exit-status meaning and result wording are in
//! [`ocpdr_core::rsync`]; processes are started by [`crate::exec`]. A failed volume never stops
//! the others: every volume gets a [`VolumeResult`], in the order given.

use crate::{exec, realpath};
use ocpdr_core::rsync::{
    Attempt, CHANGES_KEPT, Mode, OutputParser, PlannedVolume, STDERR_KEPT, Verdict, VolumeResult,
    backoff,
};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// How the volumes are run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunOptions {
    /// Volumes running at the same time.
    pub concurrency: usize,
    /// Time limit per volume, retries and waits included.
    pub timeout: Option<Duration>,
    /// Retries after a connection-level failure.
    pub retries: u32,
    /// Sync or verify (decides how results read).
    pub mode: Mode,
}

/// Runs every volume, at most `concurrency` at a time, and returns their results in order.
pub fn run_all(volumes: &[PlannedVolume], options: RunOptions) -> Vec<VolumeResult> {
    let next = AtomicUsize::new(0);
    let results: Mutex<Vec<Option<VolumeResult>>> = Mutex::new(vec![None; volumes.len()]);
    thread::scope(|scope| {
        for _ in 0..options.concurrency.clamp(1, volumes.len().max(1)) {
            scope.spawn(|| {
                loop {
                    let index = next.fetch_add(1, Ordering::Relaxed);
                    let Some(volume) = volumes.get(index) else {
                        break;
                    };
                    let result = run_volume(volume, options);
                    if let Ok(mut results) = results.lock() {
                        results[index] = Some(result);
                    }
                }
            });
        }
    });
    results
        .into_inner()
        .unwrap_or_default()
        .into_iter()
        .flatten()
        .collect()
}

/// One volume: attempts until success, a final failure, the retries are used up, or the time
/// limit would pass before the next attempt.
fn run_volume(volume: &PlannedVolume, options: RunOptions) -> VolumeResult {
    let started = Instant::now();
    let deadline = options.timeout.map(|t| started + t);
    let mut attempts: Vec<Attempt> = Vec::new();
    loop {
        let finished = exec::run(
            &volume.invocation,
            deadline,
            STDERR_KEPT,
            OutputParser::new(CHANGES_KEPT),
        );
        let attempt = Attempt {
            ending: finished.ending,
            stderr: finished.stderr,
            report: finished
                .stdout
                .map(OutputParser::finish)
                .unwrap_or_default(),
        };
        let verdict = attempt.verdict();
        attempts.push(attempt);
        let number = u32::try_from(attempts.len()).unwrap_or(u32::MAX);
        if verdict != Verdict::Retry || number > options.retries {
            break;
        }
        let wait = backoff(number + 1);
        if deadline.is_some_and(|d| Instant::now() + wait >= d) {
            break;
        }
        thread::sleep(wait);
    }
    VolumeResult::new(volume, options.mode, &attempts, started.elapsed())
}

/// Why a local destination was refused after resolving symlinks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Escape {
    /// The volume's name.
    pub name: String,
    /// The destination as given.
    pub destination: String,
    /// Where it really leads.
    pub resolved: PathBuf,
}

impl std::fmt::Display for Escape {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "volume {}: destination {} resolves to {} through a symlink, which is not below any \
             of allowed_roots (resolved the same way; with delete, strictly below)",
            self.name,
            self.destination,
            self.resolved.display()
        )
    }
}

/// The textual guard of the planner cannot see symlinks. For destinations on this host, each
/// path is resolved (its deepest existing ancestor through `realpath`) and must still lie
/// below one of the resolved `allowed_roots` (strictly below when `delete` is set, as in the
/// planner), so `/exports-dr/app -> /etc` is refused before rsync could write or delete there.
/// Remote destinations cannot be resolved from here.
pub fn check_local_destinations(
    volumes: &[PlannedVolume],
    allowed_roots: &[String],
    delete: bool,
) -> Result<(), Escape> {
    if allowed_roots.is_empty() {
        return Ok(());
    }
    let roots = realpath::resolve_roots(allowed_roots);
    for volume in volumes.iter().filter(|v| !v.destination.is_remote()) {
        let resolved = realpath::resolve(Path::new(&volume.destination.path));
        if !realpath::within_roots(&resolved, &roots, delete) {
            return Err(Escape {
                name: volume.name.clone(),
                destination: volume.destination.path.clone(),
                resolved,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use ocpdr_core::rsync::{SyncOptions, plan};
    use std::os::unix::fs::symlink;

    fn planned(destination: &Path, root: &Path) -> Vec<PlannedVolume> {
        let options: SyncOptions = serde_json::from_value(serde_json::json!({
            "volumes": [{"name": "v", "source": "/src/v", "destination": destination}],
            "allowed_roots": [root]}))
        .unwrap();
        plan(&options, false).unwrap()
    }

    #[test]
    fn a_symlink_out_of_the_roots_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("dr");
        std::fs::create_dir_all(root.join("ns")).unwrap();
        let outside = dir.path().join("precious");
        std::fs::create_dir(&outside).unwrap();
        symlink(&outside, root.join("ns/escape")).unwrap();

        let fine = planned(&root.join("ns/new/vol"), &root);
        let roots = [root.display().to_string()];
        assert_eq!(check_local_destinations(&fine, &roots, true), Ok(()));
        let bad = planned(&root.join("ns/escape/vol"), &root);
        let err = check_local_destinations(&bad, &roots, true).unwrap_err();
        assert_eq!(err.resolved, outside.canonicalize().unwrap().join("vol"));
        assert!(err.to_string().contains("through a symlink"), "{err}");
        // A link back to the root itself would let --delete empty the whole root.
        symlink(&root, root.join("ns/to-root")).unwrap();
        let at_root = planned(&root.join("ns/to-root"), &root);
        assert!(check_local_destinations(&at_root, &roots, true).is_err());
        assert_eq!(check_local_destinations(&at_root, &roots, false), Ok(()));
    }

    #[test]
    fn a_root_that_is_itself_a_symlink_still_works() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real-dr");
        std::fs::create_dir(&real).unwrap();
        let root = dir.path().join("dr");
        symlink(&real, &root).unwrap();
        let volumes = planned(&root.join("vol"), &root);
        assert_eq!(
            check_local_destinations(&volumes, &[root.display().to_string()], true),
            Ok(())
        );
    }

    #[test]
    fn failures_do_not_stop_the_other_volumes_and_results_keep_their_order() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir_all(src.join("good")).unwrap();
        std::fs::write(src.join("good/file"), b"data").unwrap();
        let dr = dir.path().join("dr");
        let options: SyncOptions = serde_json::from_value(serde_json::json!({
            "volumes": [
                {"name": "missing", "source": src.join("missing"), "destination": dr.join("missing")},
                {"name": "good", "source": src.join("good"), "destination": dr.join("good")}],
            "allowed_roots": [dr]}))
        .unwrap();
        let volumes = plan(&options, false).unwrap();
        let results = run_all(
            &volumes,
            RunOptions {
                concurrency: 2,
                timeout: None,
                retries: 3,
                mode: Mode::Sync,
            },
        );
        assert_eq!(results[0].name, "missing");
        assert!(results[0].failed);
        assert_eq!(results[0].rc, Some(23));
        assert_eq!(results[0].attempts, 1, "a missing source is not retried");
        assert!(!results[1].failed && results[1].changed);
        assert_eq!(std::fs::read(dr.join("good/file")).unwrap(), b"data");
    }
}
