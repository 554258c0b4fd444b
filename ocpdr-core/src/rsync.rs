//! rsync of many NFS volumes, as data: checked plans in, parsed figures out.
//!
//! Nothing here runs a process. [`plan`] checks a whole request (paths, the `allowed_roots`
//! guard for `--delete`, overlapping destinations, `extra_args`, ssh options) and returns one
//! [`Invocation`] per volume, program plus argv, never a shell string; its `Display` is the
//! shell-quoted command for logs and evidence. The `modules` crate runs the invocations
//! (`modules/src/exec.rs`) and hands each run back as an [`Attempt`]: [`OutputParser`] reads
//! the `--itemize-changes` and `--stats` output, [`classify`] says what an exit status means
//! (retry, warn, fail), and [`VolumeResult`] / [`Totals`] are what the module returns.
//!
//! The guards are listed on [`plan`]; the default flags and why they suit VM disk images on
//! NFS on [`DEFAULT_FLAGS`].

mod endpoint;
mod exit;
mod invocation;
mod options;
mod output;
mod plan;
mod result;

pub use endpoint::{Endpoint, EndpointError};
pub use exit::{Verdict, backoff, classify, meaning};
pub use invocation::{Invocation, rsh_quote, shell_quote};
pub use options::{
    Direction, HostKeyChecking, Mode, SshOptions, SyncOptions, VolumeEntry, VolumeSpec,
};
pub use output::{Change, OutputParser, Report, Stats, parse_output, unescape};
pub use plan::{DEFAULT_FLAGS, Error, PlannedVolume, SSH_DEFAULTS, plan};
pub use result::{Attempt, CHANGES_KEPT, Ending, STDERR_KEPT, Totals, VolumeResult};
