//! `verify`: recompute every hash and say precisely what no longer matches.
//!
//! For each run: `manifest.sha256` must match `manifest.json`; the manifest must parse and name
//! its own directory; `SHA256SUMS` must say exactly what the manifest says; every listed
//! artifact must exist with its recorded size and SHA-256; and nothing else may be in the
//! directory. Findings are sorted into `missing`, `modified` and `unlisted` file names, plus
//! `errors` for what is not about one file. A path can be one run directory, a date directory
//! or the whole root; files at the date level that belong to no run are `stray`.

use super::error::{Error, Result};
use super::hash::{Hashed, hash_bytes, hash_files};
use super::layout::{self, CONTROL_FILES, MANIFEST, MANIFEST_SUM, SUMS};
use super::manifest::{Manifest, Status};
use super::sumfile;
use serde::Serialize;
use std::collections::BTreeSet;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

/// What verification found for one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunCheck {
    /// The run's id (its directory name).
    pub run_id: String,
    /// The run's directory.
    pub run_dir: PathBuf,
    /// Nothing missing, modified, unlisted or otherwise wrong.
    pub ok: bool,
    /// The run's mode, if the manifest could be read.
    pub mode: Option<String>,
    /// The run's recorded status, if the manifest could be read.
    pub status: Option<Status>,
    /// Files the manifest lists (or control files) that are not there.
    pub missing: Vec<String>,
    /// Files whose content or size differs from what was recorded.
    pub modified: Vec<String>,
    /// Files present that the manifest does not list.
    pub unlisted: Vec<String>,
    /// Problems not about one file (an unreadable manifest, a wrong run id).
    pub errors: Vec<String>,
}

impl RunCheck {
    /// The findings in one line, e.g. `modified evidence.log; unlisted extra.txt`.
    pub fn problems(&self) -> String {
        let mut parts = Vec::new();
        for (label, names) in [
            ("missing", &self.missing),
            ("modified", &self.modified),
            ("unlisted", &self.unlisted),
        ] {
            if !names.is_empty() {
                parts.push(format!("{label} {}", names.join(", ")));
            }
        }
        parts.extend(self.errors.iter().cloned());
        parts.join("; ")
    }
}

/// What verification found under a path.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Verification {
    /// Each run, oldest date first, then by run id.
    pub runs: Vec<RunCheck>,
    /// Files in date directories that belong to no run.
    pub stray: Vec<PathBuf>,
}

impl Verification {
    /// Every run verified and nothing stray.
    pub fn ok(&self) -> bool {
        self.stray.is_empty() && self.runs.iter().all(|r| r.ok)
    }

    /// A message naming every run that failed and why.
    pub fn problems(&self) -> String {
        let mut parts: Vec<String> = self
            .runs
            .iter()
            .filter(|r| !r.ok)
            .map(|r| format!("{}: {}", r.run_id, r.problems()))
            .collect();
        if !self.stray.is_empty() {
            let stray: Vec<String> = self.stray.iter().map(|p| p.display().to_string()).collect();
            parts.push(format!("stray files outside any run: {}", stray.join(", ")));
        }
        parts.join(" | ")
    }
}

/// Verifies a run directory, a date directory, or a whole evidence root.
pub fn verify(path: &Path) -> Result<Verification> {
    let meta = fs::metadata(path).map_err(Error::io("read", path))?;
    if !meta.is_dir() {
        return Err(Error::io("verify", path)(std::io::Error::new(
            ErrorKind::NotADirectory,
            "not a directory: expected a run directory, a date directory or an evidence root",
        )));
    }
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let parent_is_date = path
        .parent()
        .and_then(Path::file_name)
        .and_then(|n| n.to_str())
        .and_then(layout::parse_date_dir)
        .is_some();
    let mut runs = Vec::new();
    let mut stray = Vec::new();
    if path.join(MANIFEST).exists() || parent_is_date {
        runs.push(path.to_owned());
    } else if layout::parse_date_dir(name).is_some() {
        let entries = layout::date_dir_entries(path)?;
        runs = entries.runs;
        stray = entries.stray;
    } else {
        for (_, date_dir) in layout::date_dirs(path)? {
            let entries = layout::date_dir_entries(&date_dir)?;
            runs.extend(entries.runs);
            stray.extend(entries.stray);
        }
    }
    if runs.is_empty() {
        return Err(Error::NoEvidence {
            path: path.to_owned(),
        });
    }
    Ok(Verification {
        runs: verify_runs(&runs),
        stray,
    })
}

/// Verifies one run directory.
pub fn verify_run(run_dir: &Path) -> RunCheck {
    verify_runs(&[run_dir.to_owned()])
        .pop()
        .expect("one result per run")
}

/// Verifies runs, hashing the artifacts of all of them in one parallel pass.
fn verify_runs(run_dirs: &[PathBuf]) -> Vec<RunCheck> {
    let mut checks = Vec::new();
    // (check index, artifact name, recorded sha256, recorded size)
    let mut jobs: Vec<(usize, String, String, u64)> = Vec::new();
    let mut paths = Vec::new();
    for run_dir in run_dirs {
        let (check, expected) = inspect(run_dir);
        for (name, sha256, size) in expected {
            paths.push(run_dir.join(&name));
            jobs.push((checks.len(), name, sha256, size));
        }
        checks.push(check);
    }
    for ((index, name, sha256, size), hashed) in jobs.into_iter().zip(hash_files(&paths, 0)) {
        let check = &mut checks[index];
        match hashed {
            Ok(Hashed {
                sha256: got,
                size: got_size,
            }) => {
                if got != sha256 || got_size != size {
                    check.modified.push(name);
                }
            }
            Err(Error::Io { source, .. }) if source.kind() == ErrorKind::NotFound => {
                check.missing.push(name);
            }
            Err(err) => check.errors.push(err.to_string()),
        }
    }
    for check in &mut checks {
        check.missing.sort();
        check.modified.sort();
        check.ok = check.missing.is_empty()
            && check.modified.is_empty()
            && check.unlisted.is_empty()
            && check.errors.is_empty();
    }
    checks
}

/// Everything but the artifact hashes: control files, the listing, the manifest. Returns the
/// check so far and the artifacts still to hash.
fn inspect(run_dir: &Path) -> (RunCheck, Vec<(String, String, u64)>) {
    let run_id = run_dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut check = RunCheck {
        run_id: run_id.clone(),
        run_dir: run_dir.to_owned(),
        ok: false,
        mode: None,
        status: None,
        missing: Vec::new(),
        modified: Vec::new(),
        unlisted: Vec::new(),
        errors: Vec::new(),
    };
    let present = match listing(run_dir) {
        Ok(present) => present,
        Err(err) => {
            check.errors.push(err.to_string());
            return (check, Vec::new());
        }
    };

    let manifest_bytes = match read_control(run_dir, MANIFEST, &mut check) {
        Control::Present(bytes) => bytes,
        Control::Unreadable => return (check, Vec::new()),
        Control::Absent => {
            check.missing.push(MANIFEST.to_owned());
            check.unlisted = present
                .into_iter()
                .filter(|n| !CONTROL_FILES.contains(&n.as_str()))
                .collect();
            return (check, Vec::new());
        }
    };
    match read_control(run_dir, MANIFEST_SUM, &mut check) {
        Control::Unreadable => {}
        Control::Absent => check.missing.push(MANIFEST_SUM.to_owned()),
        Control::Present(bytes) => {
            let entries = std::str::from_utf8(&bytes)
                .ok()
                .and_then(|t| sumfile::parse(t).ok());
            match entries.as_deref() {
                Some([(name, sha256)]) if name == MANIFEST => {
                    if *sha256 != hash_bytes(&manifest_bytes) {
                        check.modified.push(MANIFEST.to_owned());
                    }
                }
                _ => check.modified.push(MANIFEST_SUM.to_owned()),
            }
        }
    }

    let manifest = match Manifest::from_bytes(&manifest_bytes, &run_dir.join(MANIFEST)) {
        Ok(manifest) => manifest,
        Err(err) => {
            check.errors.push(err.to_string());
            return (check, Vec::new());
        }
    };
    check.mode = Some(manifest.mode.clone());
    check.status = Some(manifest.status);
    if manifest.run_id != run_id {
        check.errors.push(format!(
            "manifest.json names run {:?}, but the directory is {run_id:?}",
            manifest.run_id
        ));
    }

    let mut expected = Vec::new();
    let mut listed = BTreeSet::new();
    for artifact in &manifest.artifacts {
        if !layout::is_plain_name(&artifact.path) || CONTROL_FILES.contains(&artifact.path.as_str())
        {
            check.errors.push(format!(
                "manifest.json lists {:?}, which is not a plain artifact name",
                artifact.path
            ));
            continue;
        }
        listed.insert(artifact.path.clone());
        expected.push((
            artifact.path.clone(),
            artifact.sha256.clone(),
            artifact.size,
        ));
    }

    match read_control(run_dir, SUMS, &mut check) {
        Control::Unreadable => {}
        Control::Absent => check.missing.push(SUMS.to_owned()),
        Control::Present(bytes) => {
            let mut sorted = manifest.artifacts.clone();
            sorted.sort_by(|a, b| a.path.cmp(&b.path));
            let want = sumfile::render(sorted.iter().map(|a| (a.path.as_str(), a.sha256.as_str())));
            if bytes != want.as_bytes() {
                check.modified.push(SUMS.to_owned());
            }
        }
    }

    check.unlisted = present
        .into_iter()
        .filter(|n| !listed.contains(n) && !CONTROL_FILES.contains(&n.as_str()))
        .collect();
    (check, expected)
}

/// Names in the run directory, sorted; directories get a trailing `/`.
fn listing(run_dir: &Path) -> Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in fs::read_dir(run_dir).map_err(Error::io("read directory", run_dir))? {
        let entry = entry.map_err(Error::io("read directory", run_dir))?;
        let mut name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            name.push('/');
        }
        names.push(name);
    }
    names.sort();
    Ok(names)
}

/// A control file as read.
enum Control {
    Present(Vec<u8>),
    Absent,
    /// Exists but could not be read; the reason is in the check's `errors`.
    Unreadable,
}

fn read_control(run_dir: &Path, name: &str, check: &mut RunCheck) -> Control {
    let path = run_dir.join(name);
    match fs::read(&path) {
        Ok(bytes) => Control::Present(bytes),
        Err(err) if err.kind() == ErrorKind::NotFound => Control::Absent,
        Err(err) => {
            check.errors.push(Error::io("read", &path)(err).to_string());
            Control::Unreadable
        }
    }
}

#[cfg(test)]
mod tests;
