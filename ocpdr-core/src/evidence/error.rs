//! The ways an evidence operation can fail, each keeping the input that caused it.

use std::io;
use std::path::PathBuf;

/// Why an evidence operation could not be done. Verification findings (a missing or modified
/// file) are not errors: they are the result of [`super::verify`]; these are the cases where
/// the operation itself could not proceed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The run's mode is not usable in a directory name.
    #[error("invalid mode {mode:?}: {reason}")]
    InvalidMode {
        /// The mode as given.
        mode: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A caller-chosen run id is not usable as a directory name.
    #[error("invalid run_id {run_id:?}: {reason}")]
    InvalidRunId {
        /// The run id as given.
        run_id: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// An artifact would get a name that is unsafe, reserved or not a plain file name.
    #[error("invalid artifact name {name:?}: {reason}")]
    InvalidArtifactName {
        /// The name as given or derived from a file path.
        name: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Two inputs (data entries or files) would be written under the same name.
    #[error("two artifacts would be named {name:?} ({first} and {second}): rename one")]
    DuplicateArtifact {
        /// The clashing name.
        name: String,
        /// Where the first came from.
        first: String,
        /// Where the second came from.
        second: String,
    },
    /// A `data` entry cannot be written in the format its name asks for.
    #[error("data {name:?}: {reason}")]
    InvalidData {
        /// The data entry's name.
        name: String,
        /// What is wrong and what was expected.
        reason: String,
    },
    /// A file to take in is not a regular file.
    #[error("file {path}: {reason}")]
    InvalidFile {
        /// The path as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The structured report input is inconsistent.
    #[error("report: {0}")]
    InvalidReport(String),
    /// `finished_at` lies before `started_at`.
    #[error("finished_at {finished} is before started_at {started}")]
    TimeOrder {
        /// The start, RFC 3339.
        started: String,
        /// The finish, RFC 3339.
        finished: String,
    },
    /// Retention below one day would delete today's evidence.
    #[error("retention_days must be at least 1, got {0}")]
    InvalidRetention(u64),
    /// A duration such as `max_age` could not be read.
    #[error(
        "cannot read duration {text:?}: expected seconds or a number with a unit, e.g. 26h, 90m, 2d, 1h30m"
    )]
    InvalidDuration {
        /// The text as given.
        text: String,
    },
    /// A file system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What was being done, phrased to follow "cannot".
        action: &'static str,
        /// On which path.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },
    /// A `manifest.json` that should be read does not parse as an evidence manifest.
    #[error("{path} is not a valid evidence manifest: {reason}")]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// The parser's complaint.
        reason: String,
    },
    /// `write` was asked to add to an existing run of another mode.
    #[error("run {run_id} exists with mode {existing:?}, not {requested:?}")]
    ModeMismatch {
        /// The run.
        run_id: String,
        /// Its recorded mode.
        existing: String,
        /// The mode of this call.
        requested: String,
    },
    /// A run directory exists without a manifest: an interrupted write, or not ours.
    #[error(
        "run directory {run_dir} exists but has no manifest.json (an interrupted write?): \
         refusing to add to it; use another run_id"
    )]
    IncompleteRun {
        /// The run directory.
        run_dir: PathBuf,
    },
    /// `write` was asked to add to a run whose files no longer match its manifest.
    #[error("refusing to add to run {run_dir}: it fails verification ({problems})")]
    RunFailsVerification {
        /// The run directory.
        run_dir: PathBuf,
        /// What verification found.
        problems: String,
    },
    /// The path holds no evidence in the expected layout.
    #[error("{path} holds no evidence: no <YYYY-MM-DD>/<run_id>/manifest.json under it")]
    NoEvidence {
        /// The path given.
        path: PathBuf,
    },
    /// `prune` was pointed at a directory that does not look like an evidence root.
    #[error(
        "refusing to prune {path}: it does not look like an evidence root (no \
         <YYYY-MM-DD>/<run_id>/manifest.json with a valid evidence manifest under it)"
    )]
    NotEvidenceRoot {
        /// The root given.
        path: PathBuf,
    },
    /// No run id could be found that is not taken (practically impossible).
    #[error("could not allocate a unique run directory under {date_dir} after {attempts} attempts")]
    RunIdExhausted {
        /// The date directory.
        date_dir: PathBuf,
        /// How many ids were tried.
        attempts: u32,
    },
    /// The report template failed to render.
    #[error("cannot render the report: {0}")]
    Render(#[source] askama::Error),
}

impl Error {
    /// An [`Error::Io`] for `action` on `path`.
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }
}

/// Result of an evidence operation.
pub type Result<T, E = Error> = std::result::Result<T, E>;
