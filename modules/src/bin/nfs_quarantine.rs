//! `ocpdr.dr.nfs_quarantine`: move DR volume directories into a dated quarantine, delete them,
//! or prune the quarantine, on the host it runs on (the DR NFS server, by `delegate_to`).
//!
//! The guards are [`ocpdr_core::quarantine::check`] (textual) and
//! [`ocpdr_modules::quarantine_fs`] (real paths, symlinks, file systems); every one applies to
//! every path before anything is touched.

use chrono::Utc;
use ocpdr_core::quarantine::{self, Request, State};
use ocpdr_modules::quarantine_fs::{self, Context as FsContext};
use ocpdr_modules::{Context, Failure, Module, Outcome};
use serde::Deserialize;
use std::process::ExitCode;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Options {
    #[serde(default)]
    state: State,
    #[serde(default)]
    paths: Vec<String>,
    quarantine_dir: String,
    allowed_roots: Vec<String>,
    #[serde(default)]
    retention_days: Option<u32>,
    #[serde(default)]
    reason: String,
    #[serde(default)]
    run_id: Option<String>,
}

struct NfsQuarantine;

impl Module for NfsQuarantine {
    type Options = Options;

    fn run(options: Options, ctx: &Context) -> Result<Outcome, Failure> {
        let checked = quarantine::check(&Request {
            state: options.state,
            paths: options.paths,
            quarantine_dir: options.quarantine_dir,
            allowed_roots: options.allowed_roots,
            retention_days: options.retention_days,
        })
        .map_err(|err| Failure::new(err.to_string()))?;
        let now = Utc::now();
        let fs_context = FsContext {
            now,
            reason: &options.reason,
            run_id: options.run_id.as_deref(),
            check_mode: ctx.check_mode,
        };
        let date_dir = quarantine::date_dir(&checked.quarantine_dir, now);
        match quarantine_fs::run(&checked, &fs_context) {
            Ok(done) => Ok(Outcome::new(done.changed())
                .with("state", checked.state)
                .with("quarantine_dir", &checked.quarantine_dir)
                .with("date_dir", date_dir)
                .with("paths", &done.paths)
                .with("pruned", &done.pruned)),
            Err(stopped) => Err(Failure::new(stopped.msg)
                .with("changed", stopped.done.changed() && !ctx.check_mode)
                .with("paths", &stopped.done.paths)
                .with("pruned", &stopped.done.pruned)),
        }
    }
}

fn main() -> ExitCode {
    ocpdr_modules::run::<NfsQuarantine>()
}
