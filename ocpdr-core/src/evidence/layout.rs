//! Where evidence lives: `<root>/YYYY-MM-DD/<run_id>/`, the file names every run holds, run ids,
//! and the names an artifact may have.
//!
//! The date is the UTC date the run started. A generated run id is
//! `<mode>-<YYYYMMDD>T<HHMMSS>Z-<4 hex>`, e.g. `periodic-sync-20250918T020000Z-7f3a`: it names the
//! mode and the start time, so an id quoted in a change ticket leads straight to its directory,
//! and stays unique across days. Uniqueness does not rest on the random suffix: the run
//! directory is created with an exclusive `mkdir`, and a taken name is retried with a new
//! suffix, so two runs started in the same second never share a directory.

use super::error::{Error, Result};
use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use std::collections::hash_map::RandomState;
use std::fs;
use std::hash::{BuildHasher, Hasher};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// The run's metadata: run id, mode, times, status, artifacts with their hashes.
pub const MANIFEST: &str = "manifest.json";
/// `sha256sum` line for [`MANIFEST`]: `sha256sum -c manifest.sha256` checks the manifest.
pub const MANIFEST_SUM: &str = "manifest.sha256";
/// `sha256sum` lines for every artifact: `sha256sum -c SHA256SUMS` checks them all.
pub const SUMS: &str = "SHA256SUMS";
/// Timestamped log lines of the run.
pub const LOG: &str = "evidence.log";
/// The structured results the report was rendered from, as given to `write`.
pub const REPORT_JSON: &str = "report.json";
/// The report for people, in Markdown.
pub const REPORT_MD: &str = "report.md";
/// The report for people, one self-contained HTML page.
pub const REPORT_HTML: &str = "report.html";

/// Files that describe the artifacts rather than being artifacts themselves.
pub const CONTROL_FILES: &[&str] = &[MANIFEST, MANIFEST_SUM, SUMS];

/// Names the evidence writer owns; data and files given by callers cannot take them.
pub const RESERVED_NAMES: &[&str] = &[
    MANIFEST,
    MANIFEST_SUM,
    SUMS,
    LOG,
    REPORT_JSON,
    REPORT_MD,
    REPORT_HTML,
];

const MAX_NAME: usize = 120;

/// Checks a run mode (`periodic-sync`, `event-sync`, `failover`): it becomes part of directory
/// names, so it is 1 to 40 lower-case letters, digits, `-` or `_`, starting with a letter.
pub fn validate_mode(mode: &str) -> Result<()> {
    let reason = if mode.is_empty() {
        Some("is empty")
    } else if mode.len() > 40 {
        Some("is longer than 40 characters")
    } else if !mode.starts_with(|c: char| c.is_ascii_lowercase()) {
        Some("must start with a lower-case letter")
    } else if !mode
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
    {
        Some("may only hold lower-case letters, digits, `-` and `_`")
    } else {
        None
    };
    match reason {
        Some(reason) => Err(Error::InvalidMode {
            mode: mode.to_owned(),
            reason,
        }),
        None => Ok(()),
    }
}

/// Checks a caller-chosen run id: a plain directory name of letters, digits, `.`, `-`, `_`,
/// not starting with `.`, at most 120 characters.
pub fn validate_run_id(run_id: &str) -> Result<()> {
    plain_name_problem(run_id).map_or(Ok(()), |reason| {
        Err(Error::InvalidRunId {
            run_id: run_id.to_owned(),
            reason,
        })
    })
}

/// Checks the name of an artifact a caller supplies (a `data` key or a file's base name): a
/// plain file name (letters, digits, `.`, `-`, `_`, not starting with `.`), not one of
/// [`RESERVED_NAMES`]. Such names need no escaping in `sha256sum` files, Markdown or HTML.
pub fn validate_artifact_name(name: &str) -> Result<()> {
    let reason = if RESERVED_NAMES.contains(&name) {
        Some("is reserved for the evidence writer's own files")
    } else {
        plain_name_problem(name)
    };
    reason.map_or(Ok(()), |reason| {
        Err(Error::InvalidArtifactName {
            name: name.to_owned(),
            reason,
        })
    })
}

/// Whether `name` may appear as an artifact path in a manifest: a plain file name directly in
/// the run directory (reserved names included, as the writer lists its own files).
pub fn is_plain_name(name: &str) -> bool {
    plain_name_problem(name).is_none()
}

fn plain_name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > MAX_NAME {
        Some("is longer than 120 characters")
    } else if name.starts_with('.') {
        Some("must not start with `.`")
    } else if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_'))
    {
        Some("may only hold letters, digits, `.`, `-` and `_` (no `/`, spaces or other characters)")
    } else {
        None
    }
}

/// The id of a new run of `mode` started at `started`, with `suffix` as its random part.
pub fn generate_run_id(mode: &str, started: DateTime<Utc>, suffix: u16) -> String {
    format!("{mode}-{}-{suffix:04x}", started.format("%Y%m%dT%H%M%SZ"))
}

/// The start date a generated run id carries, if `run_id` is one.
pub fn run_id_date(run_id: &str) -> Option<NaiveDate> {
    // `<mode>-YYYYMMDDTHHMMSSZ-xxxx`: the stamp is the 16 characters before the last `-xxxx`.
    let stamp = run_id.get(run_id.len().checked_sub(5 + 17)?..)?;
    let (stamp, suffix) = stamp.split_at(17);
    if !stamp.starts_with('-') || !suffix.starts_with('-') {
        return None;
    }
    if !suffix[1..].chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    NaiveDateTime::parse_from_str(&stamp[1..], "%Y%m%dT%H%M%SZ")
        .ok()
        .map(|t| t.date())
}

/// The name of the date directory for a run started at `started`: `YYYY-MM-DD` in UTC.
pub fn date_dir_name(started: DateTime<Utc>) -> String {
    started.format("%Y-%m-%d").to_string()
}

/// The date a directory name stands for, if it is exactly `YYYY-MM-DD`.
pub fn parse_date_dir(name: &str) -> Option<NaiveDate> {
    let shape = name.len() == 10
        && name.char_indices().all(|(i, c)| match i {
            4 | 7 => c == '-',
            _ => c.is_ascii_digit(),
        });
    shape
        .then(|| NaiveDate::parse_from_str(name, "%Y-%m-%d").ok())
        .flatten()
}

/// The date directories directly under `root` (real directories, not symlinks), oldest first.
pub fn date_dirs(root: &Path) -> Result<Vec<(NaiveDate, PathBuf)>> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(root).map_err(Error::io("read directory", root))? {
        let entry = entry.map_err(Error::io("read directory", root))?;
        let Some(date) = entry.file_name().to_str().and_then(parse_date_dir) else {
            continue;
        };
        let kind = entry
            .file_type()
            .map_err(Error::io("inspect", entry.path()))?;
        if kind.is_dir() {
            dirs.push((date, entry.path()));
        }
    }
    dirs.sort();
    Ok(dirs)
}

/// What a date directory holds: run directories (sorted by name) and anything else.
#[derive(Debug, Default)]
pub struct DateDirEntries {
    /// Sub-directories: runs, complete or not.
    pub runs: Vec<PathBuf>,
    /// Files, symlinks and the like, which no run owns.
    pub stray: Vec<PathBuf>,
}

/// Lists a date directory.
pub fn date_dir_entries(date_dir: &Path) -> Result<DateDirEntries> {
    let mut found = DateDirEntries::default();
    for entry in fs::read_dir(date_dir).map_err(Error::io("read directory", date_dir))? {
        let entry = entry.map_err(Error::io("read directory", date_dir))?;
        let kind = entry
            .file_type()
            .map_err(Error::io("inspect", entry.path()))?;
        if kind.is_dir() {
            found.runs.push(entry.path());
        } else {
            found.stray.push(entry.path());
        }
    }
    found.runs.sort();
    found.stray.sort();
    Ok(found)
}

/// The directory of run `run_id` under `root`, if it exists. A generated id names its date;
/// any other id is looked for in every date directory.
pub fn find_run(root: &Path, run_id: &str) -> Result<Option<PathBuf>> {
    validate_run_id(run_id)?;
    if let Some(date) = run_id_date(run_id) {
        let dir = root.join(date.format("%Y-%m-%d").to_string()).join(run_id);
        if dir.is_dir() {
            return Ok(Some(dir));
        }
    }
    if !root.is_dir() {
        return Ok(None);
    }
    for (_, date_dir) in date_dirs(root)?.into_iter().rev() {
        let dir = date_dir.join(run_id);
        if dir.is_dir() {
            return Ok(Some(dir));
        }
    }
    Ok(None)
}

/// Creates the directory of a new run under `<root>/<date>/` and returns its id and path.
///
/// With `run_id` given, that exact directory is created (it must not exist). Otherwise ids are
/// generated with suffixes from `suffix`, retrying while the directory is taken.
pub fn create_run_dir(
    root: &Path,
    mode: &str,
    run_id: Option<&str>,
    started: DateTime<Utc>,
    mut suffix: impl FnMut() -> u16,
) -> Result<(String, PathBuf)> {
    let date_dir = root.join(date_dir_name(started));
    fs::create_dir_all(&date_dir).map_err(Error::io("create directory", &date_dir))?;
    if let Some(run_id) = run_id {
        let dir = date_dir.join(run_id);
        fs::create_dir(&dir).map_err(Error::io("create run directory", &dir))?;
        return Ok((run_id.to_owned(), dir));
    }
    const ATTEMPTS: u32 = 64;
    for _ in 0..ATTEMPTS {
        let id = generate_run_id(mode, started, suffix());
        let dir = date_dir.join(&id);
        match fs::create_dir(&dir) {
            Ok(()) => return Ok((id, dir)),
            Err(err) if err.kind() == ErrorKind::AlreadyExists => continue,
            Err(err) => return Err(Error::io("create run directory", &dir)(err)),
        }
    }
    Err(Error::RunIdExhausted {
        date_dir,
        attempts: ATTEMPTS,
    })
}

/// A random run id suffix. Std's `RandomState` is seeded from the operating system's random
/// source; mixing in the clock and process id keeps successive calls apart. Collisions are
/// harmless anyway: [`create_run_dir`] retries.
pub fn random_suffix() -> u16 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u32(std::process::id());
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    // Truncation is the point: keep 16 bits of the hash.
    (hasher.finish() & 0xffff) as u16
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn generated_ids_name_mode_time_and_date() {
        let id = generate_run_id("periodic-sync", at("2025-09-18T02:00:00Z"), 0x7f3a);
        assert_eq!(id, "periodic-sync-20250918T020000Z-7f3a");
        assert_eq!(run_id_date(&id), NaiveDate::from_ymd_opt(2025, 9, 18));
        assert_eq!(run_id_date("aap-job-1234"), None);
        assert_eq!(run_id_date("x-20251318T020000Z-7f3a"), None);
        assert_eq!(run_id_date("x-20250918T020000Z-7g3a"), None);
        assert_eq!(
            date_dir_name(Utc.with_ymd_and_hms(2025, 1, 2, 23, 59, 59).unwrap()),
            "2025-01-02"
        );
    }

    #[test]
    fn modes_and_names_are_checked() {
        validate_mode("periodic-sync").unwrap();
        validate_mode("failover_2").unwrap();
        for bad in ["", "Failover", "9x", "a/b", "a b", &"x".repeat(41)] {
            assert!(validate_mode(bad).is_err(), "{bad:?}");
        }
        validate_artifact_name("pvcs.json").unwrap();
        validate_artifact_name("rsync-app-ns1_disk.log").unwrap();
        for bad in [
            "",
            ".hidden",
            "../x",
            "a/b",
            "a b.csv",
            "x\ny",
            "manifest.json",
            "SHA256SUMS",
        ] {
            assert!(validate_artifact_name(bad).is_err(), "{bad:?}");
        }
        let err = validate_artifact_name("evidence.log").unwrap_err();
        assert_eq!(
            err.to_string(),
            "invalid artifact name \"evidence.log\": is reserved for the evidence writer's own files"
        );
        assert!(is_plain_name("evidence.log"));
        assert!(!is_plain_name("../etc/passwd"));
    }

    #[test]
    fn date_dirs_are_exact() {
        assert!(parse_date_dir("2025-09-18").is_some());
        for bad in [
            "2025-9-18",
            "2025-09-31",
            "20250918",
            "2025-09-18x",
            "abcd-ef-gh",
        ] {
            assert!(parse_date_dir(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn same_second_same_suffix_still_gets_a_new_directory() {
        let root = tempfile::tempdir().unwrap();
        let started = at("2025-09-18T02:00:00Z");
        let mut suffixes = [1u16, 1, 1, 2].into_iter();
        let mut next = || suffixes.next().unwrap();
        let (a, dir_a) =
            create_run_dir(root.path(), "periodic-sync", None, started, &mut next).unwrap();
        let (b, dir_b) =
            create_run_dir(root.path(), "periodic-sync", None, started, &mut next).unwrap();
        assert_eq!(a, "periodic-sync-20250918T020000Z-0001");
        assert_eq!(b, "periodic-sync-20250918T020000Z-0002");
        assert_ne!(dir_a, dir_b);
        assert_eq!(dir_a.parent().unwrap(), root.path().join("2025-09-18"));
        assert_eq!(find_run(root.path(), &b).unwrap(), Some(dir_b));
        let (c, dir_c) = create_run_dir(
            root.path(),
            "failover",
            Some("aap-job-42"),
            started,
            random_suffix,
        )
        .unwrap();
        assert_eq!(c, "aap-job-42");
        assert_eq!(find_run(root.path(), "aap-job-42").unwrap(), Some(dir_c));
        assert_eq!(find_run(root.path(), "aap-job-43").unwrap(), None);
        assert!(
            create_run_dir(
                root.path(),
                "failover",
                Some("aap-job-42"),
                started,
                random_suffix
            )
            .is_err()
        );
    }
}
