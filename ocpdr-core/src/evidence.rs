//! Audit evidence that every run leaves: what ran, when, from which version, under which
//! change ticket, what it touched, whether it succeeded, and proof that the files were not
//! edited afterwards, checkable with coreutils alone.
//!
//! ```text
//! <root>/YYYY-MM-DD/<run_id>/      UTC start date; run_id = <mode>-<YYYYMMDDTHHMMSSZ>-<4 hex>
//!     evidence.log                 timestamped lines: start, the caller's lines, each write
//!     manifest.json                run_id, mode, change_id, script_version, host, times,
//!                                  status, retention_days, summary, redactions, artifacts
//!     manifest.sha256              `cd <run dir> && sha256sum -c manifest.sha256`
//!     SHA256SUMS                   `sha256sum -c SHA256SUMS` checks every artifact
//!     report.json                  the structured results given to write (optional)
//!     report.md, report.html       the run for people: facts, timeline, a table per section
//!     *.json, *.csv, ...           the caller's data and files
//! ```
//!
//! - [`write`]: record a run or add to one; [`plan`] says what it would do (check mode).
//! - [`verify()`]: recompute every hash; missing, modified and unlisted files, per run.
//! - [`prune`]: remove date directories past their retention, refusing non-evidence roots.
//! - [`health`]: the newest run must be recent and successful.
//!
//! The pure parts (manifest bytes, `sha256sum` files, data rendering, redaction, reports,
//! run ids, judging health) take and return data; the file system work is in `write`,
//! `verify`, `prune`, `health::newest_run` and `atomic`. Times come in as arguments, so
//! nothing here reads the clock except to make up a random run id suffix.

pub mod atomic;
pub mod data;
mod error;
pub mod hash;
pub mod health;
pub mod layout;
pub mod manifest;
pub mod prune;
pub mod redact;
pub mod render;
pub mod report;
pub mod sumfile;
#[cfg(test)]
mod testutil;
pub mod units;
pub mod verify;
pub mod write;

pub use atomic::Placement;
pub use error::{Error, Result};
pub use manifest::{Artifact, Manifest, Redaction, Status};
pub use report::Report;
pub use verify::{RunCheck, Verification, verify};
pub use write::{DEFAULT_RETENTION_DAYS, LogLine, Plan, WriteRequest, Written, plan, write};
