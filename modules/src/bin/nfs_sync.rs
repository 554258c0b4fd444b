//! `ocpdr.dr.nfs_sync`: rsync many NFS volumes, guarded, measured and idempotent.
//!
//! Options are [`SyncOptions`]; [`rsync::plan`] checks all of them before anything runs,
//! [`rsync_run`] runs the volumes with bounded concurrency and retries, and each volume
//! reports its figures. In check mode every rsync gets `--dry-run`; `mode: verify` always does
//! and reports `in_sync` instead of changing anything.

use ocpdr_core::rsync::{self, Mode, SyncOptions, Totals, VolumeResult};
use ocpdr_modules::rsync_run::{self, RunOptions};
use ocpdr_modules::{Context, Failure, Module, Outcome};
use serde_json::{Value, json};
use std::process::ExitCode;
use std::time::Duration;

struct NfsSync;

impl Module for NfsSync {
    type Options = SyncOptions;

    fn run(options: SyncOptions, ctx: &Context) -> Result<Outcome, Failure> {
        let volumes =
            rsync::plan(&options, ctx.check_mode).map_err(|err| Failure::new(err.to_string()))?;
        rsync_run::check_local_destinations(&volumes, &options.allowed_roots, options.delete)
            .map_err(|err| Failure::new(err.to_string()))?;
        let results = rsync_run::run_all(
            &volumes,
            RunOptions {
                concurrency: options.concurrency.get(),
                timeout: options.timeout.map(Duration::from_secs),
                retries: options.retries,
                mode: options.mode,
            },
        );
        let totals = Totals::of(&results);
        let changed = results.iter().any(|r| r.changed);
        let failed: Vec<&VolumeResult> = results.iter().filter(|r| r.failed).collect();
        let failed_names: Vec<&str> = failed.iter().map(|r| r.name.as_str()).collect();
        let verify = options.mode == Mode::Verify;
        let out_of_sync: Vec<&str> = results
            .iter()
            .filter(|r| r.in_sync == Some(false))
            .map(|r| r.name.as_str())
            .collect();

        if !failed.is_empty() {
            let reasons: Vec<String> = failed
                .iter()
                .map(|r| format!("{}: {}", r.name, r.msg.as_deref().unwrap_or("failed")))
                .collect();
            let mut failure = Failure::new(format!(
                "{} of {} volume(s) failed, the others ran: {}",
                failed.len(),
                results.len(),
                reasons.join("; ")
            ))
            .with("changed", changed)
            .with("failed_volumes", &failed_names)
            .with("totals", &totals);
            if verify {
                failure = failure
                    .with("in_sync", false)
                    .with("out_of_sync_volumes", &out_of_sync);
            }
            return Err(failure.with("volumes", &results));
        }

        let mut outcome = Outcome::new(changed)
            .with("failed_volumes", &failed_names)
            .with("totals", &totals);
        for r in results.iter().filter(|r| r.msg.is_some()) {
            outcome = outcome.warn(format!("{}: {}", r.name, r.msg.as_deref().unwrap_or("")));
        }
        if verify {
            outcome = outcome
                .with("in_sync", out_of_sync.is_empty())
                .with("out_of_sync_volumes", &out_of_sync);
            if !out_of_sync.is_empty() {
                outcome = outcome.warn(format!(
                    "{} of {} volume(s) differ from their source: {}",
                    out_of_sync.len(),
                    results.len(),
                    out_of_sync.join(", ")
                ));
            }
        }
        Ok(outcome
            .diff(diff(&results, verify))
            .with("volumes", &results))
    }
}

/// One prepared diff entry per volume that changed (or differs, in verify mode): the itemized
/// changes as rsync prints them, which `--diff` shows verbatim.
fn diff(results: &[VolumeResult], verify: bool) -> Value {
    let entries = results
        .iter()
        .filter(|r| r.changes_total > 0 && (r.changed || verify))
        .map(|r| {
            let mut text = format!(
                "{} ({} -> {}): {} change(s)\n",
                r.name, r.source, r.destination, r.changes_total
            );
            for change in &r.changes {
                text.push_str(&format!("{} {}\n", change.item, change.path));
            }
            if r.changes_total > r.changes.len() as u64 {
                text.push_str("...\n");
            }
            json!({ "prepared": text })
        })
        .collect();
    Value::Array(entries)
}

fn main() -> ExitCode {
    ocpdr_modules::run::<NfsSync>()
}
